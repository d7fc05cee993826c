/**
 * Doubles for the operator checks' probes: a kubectl that answers from a described cluster state, a DNS probe with
 * overridable answers, and check settings for a healthy single-node zone. The healthy routes are written out by hand
 * from Mailcow's PROXY listeners (Postfix master.cf 10025/10465/10587, Dovecot's haproxy listeners 10143/10993), not
 * built with the zone's own route builder, so the route check is tested against facts rather than against itself.
 */
import { MAILCOW_POD_LABELS } from "../../../components/labels";
import {
  type CommandRunner,
  type DnsProbe,
  TRAEFIK_CRDS,
  type ZoneCheckSettings,
} from "../../../stacks/operator/checks";

/** What the fake cluster holds; every field can be knocked out by a test. */
export interface FakeCluster {
  kubectlMissing?: boolean;
  context?: string;
  reachable?: boolean;
  traefik?: boolean;
  crds?: string[];
  issuers?: Record<string, boolean>;
  namespaces?: string[];
  pods?: { name: string; ready: boolean }[];
  routes?: unknown[];
}

/** One IngressRouteTCP as `kubectl get -o json` lists it. */
export interface ListedRoute {
  metadata: { name: string };
  spec: {
    entryPoints: string[];
    routes: {
      match: string;
      services: { name: string; port: number; serversTransport?: string; proxyProtocol?: { version: number } }[];
    }[];
    tls?: { passthrough: boolean };
  };
}

function route(entrypoint: string, service: string, port: number, passthrough: boolean): ListedRoute {
  return {
    metadata: { name: `mail-${entrypoint}` },
    spec: {
      entryPoints: [entrypoint],
      routes: [{ match: "HostSNI(`*`)", services: [{ name: service, port, serversTransport: "mailcow-proxy-v2" }] }],
      ...(passthrough ? { tls: { passthrough: true } } : {}),
    },
  };
}

/** The five routes of a healthy zone, PROXY v2 through a ServersTransportTCP. */
export function healthyRoutes(): ListedRoute[] {
  return [
    route("smtp", "mailcow-postfix", 10025, false),
    route("submissions", "mailcow-postfix", 10465, true),
    route("submission", "mailcow-postfix", 10587, false),
    route("imap", "mailcow-dovecot", 10143, false),
    route("imaps", "mailcow-dovecot", 10993, true),
  ];
}

export const ALL_CRDS = [...TRAEFIK_CRDS, "certificates.cert-manager.io", "clusterissuers.cert-manager.io"];

export function healthyCluster(): FakeCluster {
  return {
    context: "default",
    reachable: true,
    traefik: true,
    crds: [...ALL_CRDS],
    issuers: { "letsencrypt-prod": true },
    namespaces: ["kube-system", "mail-zone"],
    pods: [{ name: "mailcow-0", ready: true }],
    routes: healthyRoutes(),
  };
}

/** A kubectl that answers the commands the checks send from the fake cluster's state. */
export function fakeKubectl(c: FakeCluster): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const ok = (stdout: string) => ({ code: 0, stdout, stderr: "" });
  const err = (stderr: string) => ({ code: 1, stdout: "", stderr });
  const runner = async (args: string[]) => {
    calls.push(args);
    if (c.kubectlMissing) return { code: 127, stdout: "", stderr: "kubectl: not found", missing: true };
    const a = args.join(" ");
    if (a === "version --client=true") return ok("Client Version: v1.31.0");
    if (a === "config current-context")
      return c.context ? ok(`${c.context}\n`) : err("error: current-context is not set");
    if (!c.reachable) return err("The connection to the server 127.0.0.1:6443 was refused");
    if (args[0] === "get" && args[1] === "namespace") {
      return c.namespaces?.includes(args[2]) ? ok(`namespace/${args[2]}`) : err(`namespaces "${args[2]}" not found`);
    }
    if (a.startsWith("-n kube-system get deployment traefik")) {
      return c.traefik ? ok("deployment.apps/traefik") : err('deployments.apps "traefik" not found');
    }
    if (args[0] === "get" && args[1] === "crd") {
      const wanted = args.slice(2, args.indexOf("-o"));
      return ok(
        wanted
          .filter((w) => c.crds?.includes(w))
          .map((w) => `customresourcedefinition.apiextensions.k8s.io/${w}`)
          .join("\n"),
      );
    }
    if (args[0] === "get" && args[1] === "clusterissuer") {
      const ready = c.issuers?.[args[2]];
      if (ready === undefined) return err(`clusterissuers.cert-manager.io "${args[2]}" not found`);
      return ok(ready ? "True" : "False");
    }
    if (a.startsWith("-n mail-zone get pods")) {
      return ok(
        JSON.stringify({
          items: (c.pods ?? []).map((p) => ({
            metadata: { name: p.name },
            status: { phase: "Running", conditions: [{ type: "Ready", status: p.ready ? "True" : "False" }] },
          })),
        }),
      );
    }
    if (a.startsWith("-n mail-zone get ingressroutetcps.traefik.io"))
      return ok(JSON.stringify({ items: c.routes ?? [] }));
    return err(`unexpected kubectl ${a}`);
  };
  return Object.assign(runner, { calls });
}

/** An error as Node's resolver raises it: `code` is what the checks read. */
export function dnsError(code: string, syscall = "queryA"): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code} mail.example.test`), { code, syscall });
}

export function fakeDns(over: Partial<Record<"ptr" | "a" | "aaaa", string[] | Error>> = {}): DnsProbe {
  const answer = async (v: string[] | Error | undefined, fallback: string[]) => {
    if (v instanceof Error) throw v;
    return v ?? fallback;
  };
  return {
    reverse: () => answer(over.ptr, ["mail.example.test"]),
    resolve4: () => answer(over.a, ["203.0.113.10"]),
    resolve6: () => answer(over.aaaa, []),
  };
}

export const SETTINGS: ZoneCheckSettings = {
  mailHost: "mail.example.test",
  publicIPv4: "203.0.113.10",
  clusterIssuer: "letsencrypt-prod",
  traefikNamespace: "kube-system",
  port25Probe: { host: "mx.probe.test", port: 25, timeoutMs: 1000 },
  namespace: "mail-zone",
  entrypoints: ["smtp", "submissions", "submission", "imap", "imaps"],
  mailcowPodSelector: { ...MAILCOW_POD_LABELS },
};
