/**
 * The operator commands' inputs: command-line flags plus the zone settings read from the stack file
 * (`Pulumi.<stack>.yaml`) through the zone's own schema, so install and doctor check what `pulumi up` will deploy.
 */
import * as path from "node:path";
import { MAILCOW_POD_LABELS } from "../../components/labels";
import { enabledEntrypoints } from "../../components/traefik-values";
import { readStackConfigFile } from "../preview/config-file";
import { DEFAULT_PROJECT, parseZoneConfig } from "../zone-config";
import { DEFAULT_PORT25_PROBE, type ZoneCheckSettings } from "./checks";

export interface OperatorArgs {
  stack: string;
  /** Stack file; default `Pulumi.<stack>.yaml` in the working directory. */
  configFile: string;
  relay?: { host: string; port: number };
  probe: { host: string; port: number; timeoutMs: number };
  /** install: run `pulumi up` even when checks fail. */
  force: boolean;
  /** install: pass `--yes` to `pulumi up`. */
  yes: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function hostPort(flag: string, value: string | undefined, defaultPort: number): { host: string; port: number } {
  if (!value) throw new UsageError(`${flag} needs a value: host or host:port`);
  const m = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
  const port = m?.[2] ? Number(m[2]) : defaultPort;
  if (!m || port < 1 || port > 65535)
    throw new UsageError(`${flag} ${value}: expected host or host:port (port 1-65535)`);
  return { host: m[1], port };
}

export function parseOperatorArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): OperatorArgs {
  let stack = env.PULUMI_STACK ?? "";
  let configFile = "";
  let relay: OperatorArgs["relay"];
  const probe: { host: string; port: number; timeoutMs: number } = { ...DEFAULT_PORT25_PROBE };
  let force = false;
  let yes = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "--stack":
        stack = next();
        break;
      case "--config":
        configFile = next();
        break;
      case "--relay":
        relay = hostPort(arg, next(), 587);
        break;
      case "--probe-mx":
        Object.assign(probe, hostPort(arg, next(), 25));
        break;
      case "--probe-timeout-ms": {
        const ms = Number(next());
        if (!Number.isInteger(ms) || ms < 100) throw new UsageError("--probe-timeout-ms: expected an integer ≥ 100");
        probe.timeoutMs = ms;
        break;
      }
      case "--force":
        force = true;
        break;
      case "--yes":
        yes = true;
        break;
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  if (!stack) throw new UsageError("--stack <name> is required (or set PULUMI_STACK)");
  return { stack, configFile: configFile || path.resolve(`Pulumi.${stack}.yaml`), relay, probe, force, yes };
}

/** Reads the stack file and turns the zone config into check settings. Throws the zone's own config errors. */
export function loadCheckSettings(args: OperatorArgs, project = DEFAULT_PROJECT): ZoneCheckSettings {
  const { config, secretKeys } = readStackConfigFile(args.configFile);
  const zone = parseZoneConfig(config, project, secretKeys);
  return {
    mailHost: zone.hostname,
    publicIPv4: zone.publicIPv4,
    publicIPv6: zone.publicIPv6,
    clusterIssuer: zone.web.clusterIssuer,
    traefikNamespace: zone.traefik.namespace,
    relay: args.relay,
    port25Probe: args.probe,
    namespace: zone.namespace,
    entrypoints: enabledEntrypoints(zone.traefik),
    mailcowPodSelector: { ...MAILCOW_POD_LABELS },
  };
}

export const OPERATOR_USAGE = `Options:
  --stack NAME            the zone stack (or PULUMI_STACK)
  --config FILE           stack file (default Pulumi.<stack>.yaml)
  --relay HOST[:PORT]     Postfix sends through this relay (port 587 by default); outbound 25 is then not needed
  --probe-mx HOST[:PORT]  MX used to test outbound port 25 (default ${DEFAULT_PORT25_PROBE.host}:25)
  --probe-timeout-ms N    timeout of that probe (default ${DEFAULT_PORT25_PROBE.timeoutMs})`;
