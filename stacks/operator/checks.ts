/**
 * Preflight and doctor checks: pure functions over injected probes (a kubectl runner, a DNS resolver, a TCP
 * connector), so they are tested without a cluster or a network. Every failure carries a `fix`: what to do next.
 * A check whose probe got no answer (resolver unreachable, timeout, SERVFAIL…) is `unchecked`, never `fail`: it
 * found nothing wrong, so it must not send the operator off to publish records that may well be there.
 */
import { type MailEntrypoint, PROXY_LISTENERS } from "../../components/mailcow-endpoints";

/** `unchecked`: the check could not get an answer, so it says nothing about what it checks. */
export type CheckStatus = "pass" | "fail" | "unchecked" | "warn" | "skip";

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, for fail, unchecked and warn. */
  fix?: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command-line tool; `missing` when the binary is not on PATH. */
export type CommandRunner = (args: string[]) => Promise<CommandResult & { missing?: boolean }>;

export interface DnsProbe {
  /** PTR names of an address (`dns.reverse`). */
  reverse(ip: string): Promise<string[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

/** Resolves when a TCP connection to host:port opens within the timeout; rejects with the reason otherwise. */
export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<void>;

export interface Probes {
  kubectl: CommandRunner;
  dns: DnsProbe;
  tcp: TcpProbe;
}

export interface PreflightSettings {
  /** The mail host (`mail-zone:hostname`). */
  mailHost: string;
  publicIPv4: string;
  publicIPv6?: string;
  /** cert-manager ClusterIssuer for the mail host's certificate. */
  clusterIssuer: string;
  /** Where k3s's Traefik runs. */
  traefikNamespace: string;
  /** A smarthost Postfix relays through (then outbound port 25 is not needed). */
  relay?: { host: string; port: number };
  /** A well-known MX to test outbound port 25 against. */
  port25Probe: { host: string; port: number; timeoutMs: number };
}

export interface ZoneCheckSettings extends PreflightSettings {
  namespace: string;
  entrypoints: readonly MailEntrypoint[];
  mailcowPodSelector: Record<string, string>;
}

export const DEFAULT_PORT25_PROBE = { host: "gmail-smtp-in.l.google.com", port: 25, timeoutMs: 5000 } as const;

export const TRAEFIK_CRDS = [
  "ingressroutetcps.traefik.io",
  "serverstransporttcps.traefik.io",
  "middlewares.traefik.io",
] as const;
export const CERT_MANAGER_CRDS = ["certificates.cert-manager.io", "clusterissuers.cert-manager.io"] as const;

const hostKey = (h: string) => h.replace(/\.$/, "").toLowerCase();
const firstLine = (s: string) => s.trim().split("\n")[0] ?? "";
const errText = (err: unknown) =>
  err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);

/**
 * DNS error codes that are an answer: the name does not exist (NXDOMAIN → ENOTFOUND) or has no record of that
 * type (NODATA → ENODATA). Every other failure (ECONNREFUSED, ETIMEOUT, EAI_AGAIN, ESERVFAIL, EREFUSED, no code at
 * all…) means the question went unanswered.
 */
const DNS_ANSWERS: ReadonlySet<string> = new Set(["ENOTFOUND", "ENODATA"]);

const errCode = (err: unknown): string | undefined =>
  err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;

/** What a DNS question got: records, a checked "there are none", or no answer at all. */
export type DnsAnswer<T> = { found: T } | { absent: string } | { unanswered: string };

export async function askDns<T>(question: () => Promise<T>): Promise<DnsAnswer<T>> {
  try {
    return { found: await question() };
  } catch (err) {
    const code = errCode(err);
    return code !== undefined && DNS_ANSWERS.has(code) ? { absent: code } : { unanswered: errText(err) };
  }
}

/** True when a TCP connect failed before connecting because the host name could not be resolved. */
function isLookupFailure(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.syscall === "getaddrinfo" || (e?.code ?? "").startsWith("EAI_") || e?.code === "ENOTFOUND";
}

const resolverFix = (names: string) =>
  `nothing was found wrong, since this machine's resolver did not answer. Check its DNS (\`cat /etc/resolv.conf\`, \`dig ${names}\`) and network, then run the check again`;

function result(id: string, title: string, status: CheckStatus, detail: string, fix?: string): CheckResult {
  return fix === undefined ? { id, title, status, detail } : { id, title, status, detail, fix };
}

// ---------------------------------------------------------------------------------------------------------------
// Tools and cluster

export async function checkPulumi(pulumi: CommandRunner): Promise<CheckResult> {
  const title = "Pulumi CLI";
  const r = await pulumi(["version"]);
  if (r.missing) {
    return result("pulumi", title, "fail", "`pulumi` is not on PATH", PULUMI_INSTALL_HINT);
  }
  if (r.code !== 0) return result("pulumi", title, "fail", firstLine(r.stderr), PULUMI_INSTALL_HINT);
  return result("pulumi", title, "pass", `pulumi ${r.stdout.trim()}`);
}

export const PULUMI_INSTALL_HINT =
  "install the Pulumi CLI: `curl -fsSL https://get.pulumi.com | sh` (or `brew install pulumi/tap/pulumi`), open a new shell, then `pulumi login` (or set PULUMI_BACKEND_URL)";

export async function checkKubectl(kubectl: CommandRunner): Promise<CheckResult> {
  const id = "kubectl";
  const title = "kubectl and the current context";
  const client = await kubectl(["version", "--client=true"]);
  if (client.missing) {
    return result(
      id,
      title,
      "fail",
      "`kubectl` is not on PATH",
      "install kubectl (on the k3s node: `k3s kubectl`, or symlink it) and retry",
    );
  }
  const ctx = await kubectl(["config", "current-context"]);
  if (ctx.code !== 0 || !ctx.stdout.trim()) {
    return result(
      id,
      title,
      "fail",
      `no current context (${firstLine(ctx.stderr) || "empty"})`,
      "point KUBECONFIG at the cluster (k3s: /etc/rancher/k3s/k3s.yaml) or run `kubectl config use-context <name>`",
    );
  }
  const context = ctx.stdout.trim();
  const reach = await kubectl(["get", "namespace", "kube-system", "-o", "name"]);
  if (reach.code !== 0) {
    return result(
      id,
      title,
      "fail",
      `context ${context} is not reachable: ${firstLine(reach.stderr)}`,
      "check that the API server is up and that the kubeconfig's server address is reachable from here (`kubectl cluster-info`)",
    );
  }
  return result(id, title, "pass", `context ${context} reachable`);
}

/** CRD names among `wanted` that the cluster does not have. */
async function missingCrds(kubectl: CommandRunner, wanted: readonly string[]): Promise<string[] | string> {
  const r = await kubectl(["get", "crd", ...wanted, "-o", "name", "--ignore-not-found"]);
  if (r.code !== 0) return firstLine(r.stderr);
  const found = new Set(
    r.stdout.split("\n").map((l) => l.trim().replace(/^customresourcedefinition\.apiextensions\.k8s\.io\//, "")),
  );
  return wanted.filter((c) => !found.has(c));
}

export async function checkTraefik(
  kubectl: CommandRunner,
  settings: Pick<PreflightSettings, "traefikNamespace">,
): Promise<CheckResult> {
  const id = "traefik";
  const title = "k3s Traefik and its CRDs";
  const ns = settings.traefikNamespace;
  const deploy = await kubectl(["-n", ns, "get", "deployment", "traefik", "-o", "name"]);
  if (deploy.code !== 0) {
    return result(
      id,
      title,
      "fail",
      `no deployment traefik in ${ns}: ${firstLine(deploy.stderr)}`,
      "use k3s with its bundled Traefik (do not start k3s with --disable traefik), or install Traefik v3 and set mail-zone:traefik.namespace",
    );
  }
  const missing = await missingCrds(kubectl, TRAEFIK_CRDS);
  if (typeof missing === "string")
    return result(id, title, "fail", `cannot list CRDs: ${missing}`, "run as a cluster admin");
  if (missing.length > 0) {
    return result(
      id,
      title,
      "fail",
      `Traefik runs but CRDs are missing: ${missing.join(", ")}`,
      "upgrade to a k3s release shipping Traefik v3 (traefik.io CRDs), or install the Traefik CRDs chart",
    );
  }
  return result(id, title, "pass", `deployment traefik in ${ns}; CRDs ${TRAEFIK_CRDS.join(", ")}`);
}

export async function checkCertManager(
  kubectl: CommandRunner,
  settings: Pick<PreflightSettings, "clusterIssuer">,
): Promise<CheckResult> {
  const id = "cert-manager";
  const title = "cert-manager and the ClusterIssuer";
  const install =
    "install cert-manager: `kubectl apply -f https://github.com/cert-manager/cert-manager/releases/latest/download/cert-manager.yaml`";
  const missing = await missingCrds(kubectl, CERT_MANAGER_CRDS);
  if (typeof missing === "string") return result(id, title, "fail", `cannot list CRDs: ${missing}`, install);
  if (missing.length > 0) return result(id, title, "fail", `cert-manager CRDs missing: ${missing.join(", ")}`, install);
  const issuer = settings.clusterIssuer;
  const r = await kubectl([
    "get",
    "clusterissuer",
    issuer,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  if (r.code !== 0) {
    return result(
      id,
      title,
      "fail",
      `ClusterIssuer ${issuer} not found`,
      `create the ClusterIssuer ${issuer} (an ACME issuer with an HTTP-01 solver for class traefik; docs/operations.md), or set mail-zone:web.clusterIssuer`,
    );
  }
  if (r.stdout.trim() !== "True") {
    return result(
      id,
      title,
      "fail",
      `ClusterIssuer ${issuer} is not Ready`,
      `see \`kubectl describe clusterissuer ${issuer}\` (ACME account registration, e-mail, server URL)`,
    );
  }
  return result(id, title, "pass", `CRDs present; ClusterIssuer ${issuer} Ready`);
}

// ---------------------------------------------------------------------------------------------------------------
// DNS and network

export async function checkReverseDns(dns: DnsProbe, settings: PreflightSettings): Promise<CheckResult> {
  const id = "rdns";
  const title = "Reverse DNS (PTR) of the public IP";
  const want = hostKey(settings.mailHost);
  const ips = [settings.publicIPv4, ...(settings.publicIPv6 ? [settings.publicIPv6] : [])];
  const problems: string[] = [];
  const unanswered: string[] = [];
  for (const ip of ips) {
    const answer = await askDns(() => dns.reverse(ip));
    if ("unanswered" in answer) unanswered.push(`could not look up the PTR of ${ip} (${answer.unanswered})`);
    else if ("absent" in answer) problems.push(`${ip} has no PTR record (${answer.absent})`);
    else {
      const names = answer.found.map(hostKey);
      if (!names.includes(want)) problems.push(`${ip} → ${names.join(", ") || "nothing"}`);
    }
  }
  if (problems.length > 0) {
    return result(
      id,
      title,
      "fail",
      `${[...problems, ...unanswered].join("; ")}; expected ${want}`,
      `ask the owner of the IP (your hosting or cloud provider's panel: "reverse DNS"/"PTR") to set the PTR of ${ips.join(" and ")} to ${want}; most receivers reject or junk mail from an IP whose PTR does not match`,
    );
  }
  if (unanswered.length > 0) {
    return result(id, title, "unchecked", unanswered.join("; "), resolverFix(`-x ${ips[0]}`));
  }
  return result(id, title, "pass", `${ips.join(", ")} → ${want}`);
}

export async function checkMailHostAddress(dns: DnsProbe, settings: PreflightSettings): Promise<CheckResult> {
  const id = "mail-host-a";
  const title = "A/AAAA record of the mail host";
  const host = hostKey(settings.mailHost);
  const problems: string[] = [];
  const unanswered: string[] = [];
  const v4 = await askDns(() => dns.resolve4(host));
  if ("unanswered" in v4) unanswered.push(`could not look up the A record (${v4.unanswered})`);
  else if ("absent" in v4) problems.push(`no A record (${v4.absent})`);
  else if (v4.found.length !== 1 || v4.found[0] !== settings.publicIPv4)
    problems.push(`A is ${v4.found.join(", ")}, expected only ${settings.publicIPv4}`);
  if (settings.publicIPv6) {
    const v6 = await askDns(() => dns.resolve6(host));
    if ("unanswered" in v6) unanswered.push(`could not look up the AAAA record (${v6.unanswered})`);
    else if ("absent" in v6) problems.push(`no AAAA record (${v6.absent})`);
    else if (!v6.found.includes(settings.publicIPv6))
      problems.push(`AAAA is ${v6.found.join(", ")}, expected ${settings.publicIPv6}`);
  }
  if (problems.length > 0) {
    return result(
      id,
      title,
      "fail",
      `${host}: ${[...problems, ...unanswered].join("; ")}`,
      `publish ${host} A ${settings.publicIPv4}${settings.publicIPv6 ? ` and AAAA ${settings.publicIPv6}` : ""} (with mail-zone:dns.provider cloudflare, \`pulumi up\` does it), then wait for the TTL`,
    );
  }
  if (unanswered.length > 0)
    return result(id, title, "unchecked", `${host}: ${unanswered.join("; ")}`, resolverFix(host));
  return result(
    id,
    title,
    "pass",
    `${host} → ${[settings.publicIPv4, settings.publicIPv6].filter(Boolean).join(", ")}`,
  );
}

export async function checkOutboundSmtp(tcp: TcpProbe, settings: PreflightSettings): Promise<CheckResult> {
  const id = "port-25";
  const title = "Outbound SMTP (port 25) or a relay";
  const { relay, port25Probe: probe } = settings;
  if (relay) {
    try {
      await tcp(relay.host, relay.port, probe.timeoutMs);
      return result(id, title, "pass", `relay ${relay.host}:${relay.port} reachable; outbound port 25 not needed`);
    } catch (err) {
      if (isLookupFailure(err) && errCode(err) !== "ENOTFOUND") {
        return result(
          id,
          title,
          "unchecked",
          `could not resolve the relay ${relay.host} (${errText(err)}), so its port was not tried`,
          resolverFix(relay.host),
        );
      }
      return result(
        id,
        title,
        "fail",
        `relay ${relay.host}:${relay.port} not reachable (${errText(err)})`,
        "check the relay's host and port (587 for submission with STARTTLS, 465 for implicit TLS) and any egress firewall",
      );
    }
  }
  try {
    await tcp(probe.host, probe.port, probe.timeoutMs);
    return result(id, title, "pass", `connected to ${probe.host}:${probe.port} (probed from this machine)`);
  } catch (err) {
    // The probe MX is only a stand-in for "any receiver": not finding its address says nothing about port 25.
    if (isLookupFailure(err)) {
      return result(
        id,
        title,
        "unchecked",
        `could not resolve the probe MX ${probe.host} (${errText(err)}), so port 25 was not tried`,
        `${resolverFix(probe.host)} (or pass --probe-mx with another receiver's MX)`,
      );
    }
    return result(
      id,
      title,
      "fail",
      `cannot open ${probe.host}:${probe.port} (${errText(err)}); many providers block outbound port 25`,
      "ask the provider to unblock outbound port 25 for this server, or send through a relay (smarthost) and pass --relay host:port (docs/operations.md, 'Port 25 blocks and relays'). Run this on the mail node: the probe tests the machine it runs on",
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Installed zone (doctor)

export async function checkZoneNamespace(
  kubectl: CommandRunner,
  settings: Pick<ZoneCheckSettings, "namespace">,
): Promise<CheckResult> {
  const r = await kubectl(["get", "namespace", settings.namespace, "-o", "name"]);
  if (r.code !== 0) {
    return result(
      "zone-namespace",
      "Zone namespace",
      "fail",
      `namespace ${settings.namespace} not found`,
      "install the zone: `npm run zone:install -- --stack <stack>`",
    );
  }
  return result("zone-namespace", "Zone namespace", "pass", `namespace ${settings.namespace} exists`);
}

interface PodList {
  items?: {
    metadata?: { name?: string };
    status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
  }[];
}

/** Runs `kubectl get ... -o json`; a failed command or an answer that is not JSON becomes the check's failure. */
async function kubectlList<T>(
  kubectl: CommandRunner,
  args: string[],
  check: { id: string; title: string; what: string; hint: string },
): Promise<{ list: T } | { failed: CheckResult }> {
  const r = await kubectl(args);
  if (r.code !== 0) {
    return {
      failed: result(check.id, check.title, "fail", `cannot list ${check.what}: ${firstLine(r.stderr)}`, check.hint),
    };
  }
  try {
    return { list: JSON.parse(r.stdout) as T };
  } catch {
    return {
      failed: result(
        check.id,
        check.title,
        "fail",
        "kubectl returned something that is not JSON",
        "run the same command by hand to see why",
      ),
    };
  }
}

export async function checkMailcowReady(
  kubectl: CommandRunner,
  settings: Pick<ZoneCheckSettings, "namespace" | "mailcowPodSelector">,
): Promise<CheckResult> {
  const id = "mailcow-ready";
  const title = "Mailcow pod ready";
  const selector = Object.entries(settings.mailcowPodSelector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const got = await kubectlList<PodList>(
    kubectl,
    ["-n", settings.namespace, "get", "pods", "-l", selector, "-o", "json"],
    { id, title, what: "pods", hint: "check access to the zone namespace" },
  );
  if ("failed" in got) return got.failed;
  const list = got.list;
  const pods = list.items ?? [];
  const why = `kubectl -n ${settings.namespace} describe pods -l ${selector}`;
  if (pods.length === 0)
    return result(id, title, "fail", `no pods match ${selector}`, `check the Mailcow workloads: ${why}`);
  const notReady = pods.filter((p) => !p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  if (notReady.length > 0) {
    const names = notReady.map((p) => `${p.metadata?.name ?? "?"} (${p.status?.phase ?? "unknown"})`).join(", ");
    return result(id, title, "fail", `not ready: ${names}`, `see \`${why}\` and the container logs`);
  }
  return result(id, title, "pass", `${pods.length} pod(s) ready`);
}

interface RouteList {
  items?: {
    metadata?: { name?: string };
    spec?: {
      entryPoints?: string[];
      routes?: {
        services?: { name?: string; port?: number | string; serversTransport?: string; proxyProtocol?: unknown }[];
      }[];
    };
  }[];
}

export async function checkProxyRoutes(
  kubectl: CommandRunner,
  settings: Pick<ZoneCheckSettings, "namespace" | "entrypoints">,
): Promise<CheckResult> {
  const id = "proxy-routes";
  const title = "Traefik PROXY routes to Mailcow";
  const got = await kubectlList<RouteList>(
    kubectl,
    ["-n", settings.namespace, "get", "ingressroutetcps.traefik.io", "-o", "json"],
    { id, title, what: "IngressRouteTCPs", hint: "check the Traefik CRDs" },
  );
  if ("failed" in got) return got.failed;
  const list = got.list;
  const problems: string[] = [];
  for (const entrypoint of settings.entrypoints) {
    const listener = PROXY_LISTENERS[entrypoint];
    const routes = (list.items ?? []).filter((i) => i.spec?.entryPoints?.includes(entrypoint));
    const services = routes.flatMap((i) => i.spec?.routes?.flatMap((rt) => rt.services ?? []) ?? []);
    const match = services.find((s) => s.name === listener.service && Number(s.port) === listener.port);
    if (!match) problems.push(`${entrypoint}: no route to ${listener.service}:${listener.port}`);
    else if (!match.serversTransport && !match.proxyProtocol)
      problems.push(`${entrypoint}: route without PROXY protocol`);
  }
  if (problems.length > 0) {
    return result(
      id,
      title,
      "fail",
      problems.join("; "),
      "run `pulumi up` for the zone again; without PROXY protocol Mailcow sees Traefik's address instead of the client's (open-relay risk)",
    );
  }
  return result(id, title, "pass", `${settings.entrypoints.join(", ")} → PROXY listeners`);
}

// ---------------------------------------------------------------------------------------------------------------
// Running and printing

const skipped = (id: string, title: string, because: string): CheckResult => ({
  id,
  title,
  status: "skip",
  detail: `skipped: ${because}`,
});

/** The install preflight: tools and cluster first; cluster checks are skipped when kubectl cannot reach it. */
export async function preflightChecks(probes: Probes, settings: PreflightSettings): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const kubectl = await checkKubectl(probes.kubectl);
  results.push(kubectl);
  if (kubectl.status === "pass") {
    results.push(await checkTraefik(probes.kubectl, settings));
    results.push(await checkCertManager(probes.kubectl, settings));
  } else {
    results.push(skipped("traefik", "k3s Traefik and its CRDs", "no cluster access"));
    results.push(skipped("cert-manager", "cert-manager and the ClusterIssuer", "no cluster access"));
  }
  results.push(await checkMailHostAddress(probes.dns, settings));
  results.push(await checkReverseDns(probes.dns, settings));
  results.push(await checkOutboundSmtp(probes.tcp, settings));
  return results;
}

/** The doctor: the preflight plus the installed zone. */
export async function doctorChecks(probes: Probes, settings: ZoneCheckSettings): Promise<CheckResult[]> {
  const results = await preflightChecks(probes, settings);
  const reachable = results[0]?.status === "pass";
  if (!reachable) {
    results.push(skipped("zone-namespace", "Zone namespace", "no cluster access"));
    return results;
  }
  const ns = await checkZoneNamespace(probes.kubectl, settings);
  results.push(ns);
  if (ns.status !== "pass") {
    results.push(skipped("mailcow-ready", "Mailcow pod ready", "no zone namespace"));
    results.push(skipped("proxy-routes", "Traefik PROXY routes to Mailcow", "no zone namespace"));
    return results;
  }
  results.push(await checkMailcowReady(probes.kubectl, settings));
  results.push(await checkProxyRoutes(probes.kubectl, settings));
  return results;
}

const MARK: Record<CheckStatus, string> = { pass: "ok  ", fail: "FAIL", unchecked: "????", warn: "warn", skip: "skip" };

export function formatResults(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`[${MARK[r.status]}] ${r.title}: ${r.detail}`);
    if (r.fix && r.status !== "pass") lines.push(`       → ${r.fix}`);
  }
  const failed = results.filter((r) => r.status === "fail").length;
  const unchecked = results.filter((r) => r.status === "unchecked").length;
  const summary = [
    ...(failed > 0 ? [`${failed} check(s) failed.`] : []),
    ...(unchecked > 0 ? [`${unchecked} check(s) could not be run (no answer: see above).`] : []),
  ];
  lines.push(summary.length === 0 ? "All checks passed." : summary.join(" "));
  return lines.join("\n");
}

export const anyFailed = (results: readonly CheckResult[]): boolean => results.some((r) => r.status === "fail");
export const anyUnchecked = (results: readonly CheckResult[]): boolean => results.some((r) => r.status === "unchecked");

/** Exit code of the operator commands: 1 when something is wrong, 3 when nothing is but something went unchecked. */
export function exitCodeFor(results: readonly CheckResult[]): 0 | 1 | 3 {
  if (anyFailed(results)) return 1;
  return anyUnchecked(results) ? 3 : 0;
}
