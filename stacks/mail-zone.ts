// The entry `Pulumi.yaml` names: `pulumi up` runs the zone program and exports its outputs.
import { zoneProgram } from "./zone-program";

export = zoneProgram;
