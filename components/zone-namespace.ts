/** The namespace the shared Mailcow lives in; nothing else of the zone is created before it. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { zoneLabels } from "./labels";

export interface ZoneNamespaceArgs {
  name: string;
}

export class ZoneNamespace extends pulumi.ComponentResource {
  /** The namespace name, resolved once the Namespace exists (so children wait for it). */
  readonly name: pulumi.Output<string>;
  readonly namespace: k8s.core.v1.Namespace;

  constructor(name: string, args: ZoneNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:zone:ZoneNamespace", name, {}, opts);
    this.namespace = new k8s.core.v1.Namespace(
      name,
      { metadata: { name: args.name, labels: zoneLabels("zone") } },
      { parent: this },
    );
    this.name = this.namespace.metadata.name;
    this.registerOutputs({ name: this.name });
  }
}
