/**
 * The readable plan: pure functions from planned resources to text, grouped the way an operator reads a mail zone
 * (namespace, workloads, services, mail entrypoints, web routes, secrets, DNS). Works on redacted inputs only; a
 * Secret contributes its key names, never its values.
 */
import { parse as parseYaml } from "yaml";
import { isWrappedSecret, type PlannedResource, redactSecrets } from "./engine";
import { type KubernetesObject, toKubernetesObject } from "./validate";

/** One DNS record of a site preview (structurally `MailDnsRecord` from components/site-records.ts). */
export interface SiteRecordView {
  name: string;
  type: string;
  content: string;
  chunks?: string[];
  priority?: number;
  ttl?: number;
  purpose?: string;
}

export interface TextPlanInput {
  /** `<project>/<stack>`. */
  stack: string;
  resources: readonly PlannedResource[];
  /** Stack outputs (secret values still wrapped; they print as `[secret]`). */
  outputs?: unknown;
  /** Site previews: the records the site stack publishes (or that an operator publishes by hand). */
  site?: { provider: string; records: readonly SiteRecordView[] };
}

type Obj = Record<string, unknown>;

const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"];
const SHOWN_KINDS = new Set([
  "Namespace",
  ...WORKLOAD_KINDS,
  "PersistentVolumeClaim",
  "Service",
  "HelmChartConfig",
  "IngressRouteTCP",
  "ServersTransportTCP",
  "IngressRoute",
  "Middleware",
  "Certificate",
  "Issuer",
  "ClusterIssuer",
  "NetworkPolicy",
  "ConfigMap",
  "Secret",
]);

function asObj(value: unknown): Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export function objectName(object: KubernetesObject): string {
  const { name, namespace } = object.metadata;
  return namespace ? `${namespace}/${name ?? "?"}` : (name ?? "?");
}

interface Entry {
  resource: PlannedResource;
  /** The object with secrets replaced by `[secret]`: safe to print any field of. */
  object: KubernetesObject;
}

function entries(resources: readonly PlannedResource[]): Entry[] {
  return resources
    .filter((r) => r.custom && r.type.startsWith("kubernetes:"))
    .map((resource) => ({
      resource,
      object: toKubernetesObject({ ...resource, inputs: redactSecrets(resource.inputs) as Obj }),
    }));
}

function ofKind(list: Entry[], ...kinds: string[]): Entry[] {
  return list.filter((e) => kinds.includes(e.object.kind));
}

function section(title: string, lines: string[], empty = "(none)"): string {
  return [title, ...(lines.length > 0 ? lines : [`  ${empty}`])].join("\n");
}

function labelsText(labels: unknown): string {
  const pairs = Object.entries(asObj(labels)).map(([k, v]) => `${k}=${str(v)}`);
  return pairs.length > 0 ? pairs.join(", ") : "";
}

// ---- workloads ----------------------------------------------------------------------------------------------

/** The pod spec of a workload object (`spec.template.spec`, `spec.jobTemplate.spec.template.spec`, a Pod's spec). */
export function podSpecOf(object: KubernetesObject): Obj | undefined {
  const spec = asObj(object.spec);
  switch (object.kind) {
    case "Pod":
      return spec;
    case "CronJob":
      return asObj(asObj(asObj(asObj(spec.jobTemplate).spec).template).spec);
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return asObj(asObj(spec.template).spec);
    default:
      return undefined;
  }
}

export function volumeSource(volume: Obj): string {
  const v = volume;
  if (v.persistentVolumeClaim) return `pvc ${str(asObj(v.persistentVolumeClaim).claimName)}`;
  if (v.configMap) return `configmap ${str(asObj(v.configMap).name)}`;
  if (v.secret) return `secret ${str(asObj(v.secret).secretName)}`;
  if (v.emptyDir) {
    const medium = str(asObj(v.emptyDir).medium);
    return medium ? `emptyDir (${medium})` : "emptyDir";
  }
  if (v.hostPath) return `hostPath ${str(asObj(v.hostPath).path)}`;
  if (v.projected) {
    const sources = asArray(asObj(v.projected).sources).map((s) => {
      const so = asObj(s);
      if (so.secret) return `secret ${str(asObj(so.secret).name)}`;
      if (so.configMap) return `configmap ${str(asObj(so.configMap).name)}`;
      return Object.keys(so).join("+");
    });
    return `projected (${sources.join(", ")})`;
  }
  const kinds = Object.keys(v).filter((k) => k !== "name");
  return kinds.join("+") || "?";
}

function containerLines(container: Obj, volumes: Map<string, string>, role: string): string[] {
  const lines = [`    ${role} ${str(container.name)}: ${str(container.image)}`];
  const ports = asArray(container.ports).map((p) => {
    const po = asObj(p);
    const name = po.name ? ` (${str(po.name)})` : "";
    return `${str(po.containerPort)}/${str(po.protocol) || "TCP"}${name}`;
  });
  if (ports.length > 0) lines.push(`      ports: ${ports.join(", ")}`);
  for (const m of asArray(container.volumeMounts)) {
    const mo = asObj(m);
    const source = volumes.get(str(mo.name)) ?? "?";
    const sub = mo.subPath ? ` [${str(mo.subPath)}]` : "";
    const ro = mo.readOnly === true ? " (read-only)" : "";
    lines.push(`      mount ${str(mo.mountPath)} ← ${str(mo.name)}: ${source}${sub}${ro}`);
  }
  return lines;
}

/**
 * Whether the pod's containers get the ServiceAccount's API token (an attacker in any container holds its rights),
 * and which containers mount a projected one instead. The ServiceAccount's own `automountServiceAccountToken` is
 * not consulted: a pod that leaves it unset is shown as the Kubernetes default.
 */
export function tokenLine(pod: Obj): string {
  const account = str(pod.serviceAccountName) || "default";
  const projected = new Set(
    asArray(pod.volumes)
      .map(asObj)
      .filter((v) => asArray(asObj(v.projected).sources).some((s) => asObj(s).serviceAccountToken !== undefined))
      .map((v) => str(v.name)),
  );
  const holders = [...asArray(pod.initContainers), ...asArray(pod.containers)]
    .map(asObj)
    .filter((c) => asArray(c.volumeMounts).some((m) => projected.has(str(asObj(m).name))))
    .map((c) => str(c.name));
  const automount =
    pod.automountServiceAccountToken === false
      ? "not mounted (automountServiceAccountToken: false)"
      : pod.automountServiceAccountToken === true
        ? "mounted in every container"
        : "mounted in every container (Kubernetes default)";
  const only = holders.length > 0 ? `; projected token only in ${holders.join(", ")}` : "";
  return `    service account ${account}: API token ${automount}${only}`;
}

export function workloadLines(object: KubernetesObject): string[] {
  const spec = asObj(object.spec);
  const facts: string[] = [];
  if (spec.replicas !== undefined) facts.push(`replicas ${str(spec.replicas)}`);
  const strategy = asObj(spec.strategy).type ?? asObj(spec.updateStrategy).type;
  if (strategy) facts.push(`strategy ${str(strategy)}`);
  if (spec.schedule) facts.push(`schedule "${str(spec.schedule)}"`);
  // The restore templates are suspended CronJobs: without this they read like a second backup schedule.
  if (spec.suspend === true) facts.push("suspended: never runs on its own");
  const pod = podSpecOf(object) ?? {};
  const volumes = new Map<string, string>();
  for (const v of asArray(pod.volumes)) volumes.set(str(asObj(v).name), volumeSource(asObj(v)));
  for (const t of asArray(spec.volumeClaimTemplates)) {
    const meta = asObj(asObj(t).metadata);
    volumes.set(str(meta.name), `claim template ${str(meta.name)}`);
  }
  const lines = [`  ${object.kind} ${objectName(object)}${facts.length ? `  (${facts.join(", ")})` : ""}`];
  lines.push(tokenLine(pod));
  for (const c of asArray(pod.initContainers)) lines.push(...containerLines(asObj(c), volumes, "init container"));
  for (const c of asArray(pod.containers)) lines.push(...containerLines(asObj(c), volumes, "container"));
  return lines;
}

function pvcLine(object: KubernetesObject): string {
  const spec = asObj(object.spec);
  const size = str(asObj(asObj(spec.resources).requests).storage) || "?";
  const modes = asArray(spec.accessModes).map(str).join(",");
  const cls = spec.storageClassName ? `, class ${str(spec.storageClassName)}` : ", default class";
  return `  PersistentVolumeClaim ${objectName(object)}  ${size} ${modes}${cls}`;
}

// ---- services -------------------------------------------------------------------------------------------------

export function serviceLine(object: KubernetesObject): string {
  const spec = asObj(object.spec);
  const type = str(spec.type) || "ClusterIP";
  const ports = asArray(spec.ports).map((p) => {
    const po = asObj(p);
    const target = po.targetPort !== undefined && str(po.targetPort) !== str(po.port) ? `→${str(po.targetPort)}` : "";
    const name = po.name ? ` (${str(po.name)})` : "";
    return `${str(po.port)}${target}/${str(po.protocol) || "TCP"}${name}`;
  });
  const external = spec.externalName ? ` → ${str(spec.externalName)}` : "";
  return `  ${objectName(object)}  ${type}${external}  ${ports.join(", ") || "no ports"}`;
}

// ---- Traefik -------------------------------------------------------------------------------------------------

/** The chart values of a HelmChartConfig (parsed `spec.valuesContent`), or `{}`. */
export function helmValues(object: KubernetesObject): Obj {
  const text = asObj(object.spec).valuesContent;
  if (typeof text !== "string") return {};
  try {
    return asObj(parseYaml(text));
  } catch {
    return {};
  }
}

export function entrypointLines(object: KubernetesObject): string[] {
  const values = helmValues(object);
  const lines = [`  HelmChartConfig ${objectName(object)}`];
  for (const [name, port] of Object.entries(asObj(values.ports))) {
    const p = asObj(port);
    if (p.exposedPort === undefined && p.port === undefined) continue;
    const expose = p.expose === false || asObj(p.expose).default === false ? " (not exposed)" : "";
    lines.push(
      `    entrypoint ${name}: public ${str(p.exposedPort) || "-"} → container ${str(p.port)}/${str(p.protocol) || "TCP"}${expose}`,
    );
  }
  const policy = asObj(asObj(asObj(values.service).spec)).externalTrafficPolicy;
  if (policy) lines.push(`    service externalTrafficPolicy: ${str(policy)}`);
  return lines;
}

export function tcpRouteLines(object: KubernetesObject, transports: Map<string, string>): string[] {
  const spec = asObj(object.spec);
  const eps = asArray(spec.entryPoints).map(str).join(", ") || "(all)";
  const passthrough = asObj(spec.tls).passthrough === true;
  const lines = [
    `  IngressRouteTCP ${objectName(object)}  entrypoint ${eps}, TLS passthrough: ${passthrough ? "yes" : "no"}`,
  ];
  for (const route of asArray(spec.routes)) {
    const ro = asObj(route);
    const services = asArray(ro.services).map((s) => {
      const so = asObj(s);
      let proxy = "PROXY: off";
      const direct = asObj(so.proxyProtocol).version;
      if (direct !== undefined) proxy = `PROXY v${str(direct)}`;
      else if (so.serversTransport) {
        const via = transports.get(str(so.serversTransport));
        proxy = via ? `${via} via ${str(so.serversTransport)}` : `serversTransport ${str(so.serversTransport)}`;
      }
      return `${str(so.name)}:${str(so.port)} (${proxy})`;
    });
    lines.push(`    ${str(ro.match)} → ${services.join(", ")}`);
  }
  return lines;
}

function transportText(object: KubernetesObject): string {
  const version = asObj(asObj(object.spec).proxyProtocol).version;
  return version !== undefined ? `PROXY v${str(version)}` : "PROXY: off";
}

// ---- web -----------------------------------------------------------------------------------------------------

export function webRouteLines(object: KubernetesObject): string[] {
  const spec = asObj(object.spec);
  const eps = asArray(spec.entryPoints).map(str).join(", ") || "(all)";
  const tls = asObj(spec.tls);
  const tlsText = tls.secretName ? `, TLS from secret ${str(tls.secretName)}` : spec.tls ? ", TLS" : "";
  const lines = [`  IngressRoute ${objectName(object)}  entrypoint ${eps}${tlsText}`];
  for (const route of asArray(spec.routes)) {
    const ro = asObj(route);
    const services = asArray(ro.services)
      .map((s) => `${str(asObj(s).name)}:${str(asObj(s).port)}`)
      .join(", ");
    const mws = asArray(ro.middlewares).map((m) => str(asObj(m).name));
    const via = mws.length > 0 ? `  [middlewares: ${mws.join(", ")}]` : "";
    lines.push(`    ${str(ro.match)} → ${services || "?"}${via}`);
  }
  return lines;
}

export function middlewareLine(object: KubernetesObject): string {
  const spec = asObj(object.spec);
  const parts = Object.entries(spec).map(([kind, conf]) => {
    const ranges = asObj(conf).sourceRange;
    if (Array.isArray(ranges)) return `${kind} ${ranges.length > 0 ? ranges.map(str).join(", ") : "(empty)"}`;
    return kind;
  });
  return `  Middleware ${objectName(object)}  ${parts.join("; ")}`;
}

function certificateLine(object: KubernetesObject): string {
  const spec = asObj(object.spec);
  const issuer = asObj(spec.issuerRef);
  return `  Certificate ${objectName(object)}  ${asArray(spec.dnsNames).map(str).join(", ")}  issuer ${str(issuer.kind) || "Issuer"}/${str(issuer.name)}  → secret ${str(spec.secretName)}`;
}

// ---- secrets ---------------------------------------------------------------------------------------------------

/** Key names of a Secret; reads the unwrapped inputs for the names only. */
export function secretKeyNames(resource: PlannedResource): string[] {
  const object = toKubernetesObject(resource);
  return [...new Set([...Object.keys(asObj(object.data)), ...Object.keys(asObj(object.stringData))])].sort();
}

function generatedLine(resource: PlannedResource): string {
  const kind = resource.type.split(":").pop() ?? resource.type;
  const length = typeof resource.inputs.length === "number" ? `, ${resource.inputs.length} characters` : "";
  return `  generated ${kind} "${resource.name}"${length}`;
}

// ---- DNS -------------------------------------------------------------------------------------------------------

function cloudflareRecordLine(resource: PlannedResource): string {
  const i = asObj(redactSecrets(resource.inputs));
  const data = asObj(i.data);
  const content =
    i.content !== undefined
      ? str(i.content)
      : Object.keys(data).length > 0
        ? [data.priority, data.weight, data.port, data.target]
            .filter((v) => v !== undefined)
            .map(str)
            .join(" ")
        : "";
  const priority = i.priority !== undefined ? ` priority ${str(i.priority)}` : "";
  const proxied = i.proxied !== undefined ? ` proxied: ${str(i.proxied)}` : "";
  const ttl = i.ttl !== undefined ? ` ttl ${str(i.ttl)}` : "";
  return `  ${str(i.name)}  ${str(i.type)}  ${content}${priority}  (${[proxied.trim(), ttl.trim()].filter(Boolean).join(", ")})`;
}

/** A TXT record's content as one string (chunks joined), else the content as is. */
export function recordContent(record: SiteRecordView): string {
  return record.chunks && record.chunks.length > 0 ? record.chunks.join("") : record.content;
}

export function siteRecordLine(record: SiteRecordView): string {
  // An SRV record's content already starts with its priority ("prio weight port target").
  const priority = record.priority !== undefined && record.type !== "SRV" ? ` ${record.priority}` : "";
  const purpose = record.purpose ? `  (${record.purpose})` : "";
  return `  ${record.name}  ${record.type}${priority}  ${recordContent(record)}${purpose}`;
}

// ---- outputs ---------------------------------------------------------------------------------------------------

function outputLines(outputs: unknown): string[] {
  if (typeof outputs !== "object" || outputs === null || isWrappedSecret(outputs)) return [];
  return Object.entries(redactSecrets(outputs) as Obj)
    .filter(([key]) => key !== "records")
    .map(([key, value]) => `  ${key}: ${str(value).trimEnd().replace(/\n/g, "\n      ")}`);
}

// ---- the plan --------------------------------------------------------------------------------------------------

/** The whole readable plan. */
export function formatTextPlan(input: TextPlanInput): string {
  const list = entries(input.resources);
  const custom = input.resources.filter((r) => r.custom);
  const dnsRecords = custom.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord");
  const generated = custom.filter((r) => r.type.startsWith("random:"));
  const transports = new Map(
    ofKind(list, "ServersTransportTCP").map((e) => [e.object.metadata.name ?? "", transportText(e.object)]),
  );

  const header = `Plan for ${input.stack}: ${custom.length} resources (${list.length} Kubernetes objects, ${generated.length} generated secrets, ${dnsRecords.length} DNS records)`;
  const sections: string[] = [header];
  // A site plan has no Kubernetes objects; its empty Kubernetes sections would only be noise.
  const k8sSections: string[] = [];

  k8sSections.push(
    section(
      "Namespaces",
      ofKind(list, "Namespace").map((e) => {
        const labels = labelsText(e.object.metadata.labels);
        return `  ${e.object.metadata.name}${labels ? `  (${labels})` : ""}`;
      }),
    ),
  );

  const workloadLinesAll = ofKind(list, ...WORKLOAD_KINDS).flatMap((e) => workloadLines(e.object));
  workloadLinesAll.push(...ofKind(list, "PersistentVolumeClaim").map((e) => pvcLine(e.object)));
  k8sSections.push(section("Workloads and images", workloadLinesAll));

  k8sSections.push(
    section(
      "Services and ports",
      ofKind(list, "Service").map((e) => serviceLine(e.object)),
    ),
  );

  const routeLines = [
    ...ofKind(list, "HelmChartConfig").flatMap((e) => entrypointLines(e.object)),
    ...ofKind(list, "IngressRouteTCP").flatMap((e) => tcpRouteLines(e.object, transports)),
    ...ofKind(list, "ServersTransportTCP").map(
      (e) => `  ServersTransportTCP ${objectName(e.object)}  ${transportText(e.object)}`,
    ),
  ];
  k8sSections.push(section("Mail entrypoints and TCP routes (Traefik)", routeLines));

  const webLines = [
    ...ofKind(list, "IngressRoute").flatMap((e) => webRouteLines(e.object)),
    ...ofKind(list, "Middleware").map((e) => middlewareLine(e.object)),
    ...ofKind(list, "Certificate").map((e) => certificateLine(e.object)),
    ...ofKind(list, "Issuer", "ClusterIssuer").map((e) => `  ${e.object.kind} ${objectName(e.object)}`),
  ];
  k8sSections.push(section("Web routes and TLS", webLines));

  k8sSections.push(
    section(
      "Network policies",
      ofKind(list, "NetworkPolicy").map((e) => {
        const spec = asObj(e.object.spec);
        const selector = labelsText(asObj(spec.podSelector).matchLabels) || "all pods";
        const types = asArray(spec.policyTypes).map(str).join("+") || "Ingress";
        return `  ${objectName(e.object)}  ${types} for ${selector}: ${asArray(spec.ingress).length} ingress rule(s), ${asArray(spec.egress).length} egress rule(s)`;
      }),
    ),
  );

  k8sSections.push(
    section(
      "Config maps (keys)",
      ofKind(list, "ConfigMap").map(
        (e) => `  ${objectName(e.object)}  ${Object.keys(asObj(e.object.data)).sort().join(", ") || "(no keys)"}`,
      ),
    ),
  );

  const secretLines = [
    ...ofKind(list, "Secret").map(
      (e) => `  Secret ${objectName(e.object)}  keys: ${secretKeyNames(e.resource).join(", ") || "(none)"}`,
    ),
    ...generated.map(generatedLine),
  ];
  k8sSections.push(section("Secrets (names and keys only)", secretLines));
  if (list.length > 0 || generated.length > 0) sections.push(...k8sSections);

  const dnsLines: string[] = [];
  if (input.site) {
    dnsLines.push(`  records to publish (provider ${input.site.provider}):`);
    dnsLines.push(...input.site.records.map((r) => `  ${siteRecordLine(r)}`));
  }
  if (dnsRecords.length > 0) {
    dnsLines.push("  Cloudflare DnsRecord resources:");
    dnsLines.push(...dnsRecords.map((r) => `  ${cloudflareRecordLine(r)}`));
  }
  sections.push(section("DNS records", dnsLines));

  const others = list.filter((e) => !SHOWN_KINDS.has(e.object.kind));
  if (others.length > 0) {
    sections.push(
      section(
        "Other Kubernetes objects",
        others.map((e) => `  ${e.object.kind} ${objectName(e.object)}`),
      ),
    );
  }
  const otherResources = custom.filter(
    (r) =>
      !r.type.startsWith("kubernetes:") &&
      !r.type.startsWith("random:") &&
      r.type !== "cloudflare:index/dnsRecord:DnsRecord",
  );
  if (otherResources.length > 0) {
    sections.push(
      section(
        "Other resources",
        otherResources.map((r) => `  ${r.type} "${r.name}"`),
      ),
    );
  }

  const outputs = outputLines(input.outputs);
  if (outputs.length > 0) sections.push(section("Outputs", outputs));
  return `${sections.join("\n\n")}\n`;
}
