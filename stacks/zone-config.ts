/**
 * The zone stack's settings: one zod schema, parsed once from Pulumi config into a typed `ZoneConfig`.
 *
 * Pulumi hands config over as strings keyed `<project>:<key>`; structured values (maps, lists, numbers, booleans)
 * arrive as JSON text. `parseZoneConfig` is pure so it can be tested without Pulumi; `loadZoneConfig` feeds it the
 * running stack's config. Every problem is reported at once, each naming the key, the value and what is expected.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { backupSettingsSchema } from "../components/backup-settings";
import { controllerSettingsSchema } from "../components/controller-settings";
import { mailcowSettingsSchema } from "../components/mailcow/settings";
import { isTimezone } from "../components/setting-values";

export const DEFAULT_PROJECT = "mail-zone";

// ---------------------------------------------------------------------------------------------------------------
// Value schemas

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A lowercase fully qualified domain name with at least two labels, no trailing dot. */
export function isFqdn(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split(".");
  return labels.length >= 2 && labels.every((l) => DNS_LABEL.test(l)) && !/^[0-9]+$/.test(labels.at(-1) ?? "");
}

const IPV4 = z.ipv4();
const IPV6 = z.ipv6();

/** An IPv4 or IPv6 CIDR; IPv4 ones must be network addresses (host bits zero), which catches `10.42.0.1/16` typos. */
export function isCidr(value: string): boolean {
  if (z.cidrv6().safeParse(value).success) return true;
  if (!z.cidrv4().safeParse(value).success) return false;
  const [address, bitsText] = value.split("/");
  const bits = Number(bitsText);
  const n = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const hostSize = 2 ** (32 - bits);
  return n % hostSize === 0;
}

/** A string checked by `test`; a wrong type and a wrong value both say what is expected. */
function text(what: string, test: (value: string) => boolean) {
  return z.string({ error: `expected ${what}` }).refine(test, { error: `expected ${what}` });
}

const fqdn = text("a lowercase fully qualified domain name like mail.example.com", isFqdn);
const dnsLabel = text("a Kubernetes name: lowercase letters, digits and '-', at most 63", (v) => DNS_LABEL.test(v));
const dnsSubdomain = text(
  "a Kubernetes object name: lowercase letters, digits, '-' and '.'",
  (v) => v.length <= 253 && v.split(".").every((l) => DNS_LABEL.test(l)),
);
const cidr = text("a CIDR with host bits zero, like 10.42.0.0/16 or 2001:db8::/64", isCidr);
const ipv4 = text("an IPv4 address like 203.0.113.10", (v) => IPV4.safeParse(v).success);
const ipv6 = text("an IPv6 address like 2001:db8::10", (v) => IPV6.safeParse(v).success);
const timezone = text("an IANA time zone like Europe/Berlin", isTimezone);
/** Traefik container ports must not need NET_BIND_SERVICE and must stay clear of the chart's own ports. */
const TRAEFIK_RESERVED_PORTS = [8000, 8080, 8443, 9000, 9100];
const containerPort = z
  .number()
  .int()
  .refine((p) => p >= 1024 && p <= 65535 && !TRAEFIK_RESERVED_PORTS.includes(p), {
    error: `expected an integer port from 1024 to 65535, not one of Traefik's own (${TRAEFIK_RESERVED_PORTS.join(", ")})`,
  });
const labelMap = z
  .record(z.string().min(1), z.string())
  .refine((m) => Object.keys(m).length > 0, { error: "expected at least one label" });

// ---------------------------------------------------------------------------------------------------------------
// Sections

export const DEFAULT_CONTAINER_PORTS = {
  smtp: 2525,
  submissions: 4465,
  submission: 2587,
  imap: 2143,
  imaps: 2993,
  pop3: 2110,
  pop3s: 2995,
  sieve: 4190,
} as const;

const containerPortsSchema = z
  .strictObject({
    smtp: containerPort.default(DEFAULT_CONTAINER_PORTS.smtp),
    submissions: containerPort.default(DEFAULT_CONTAINER_PORTS.submissions),
    submission: containerPort.default(DEFAULT_CONTAINER_PORTS.submission),
    imap: containerPort.default(DEFAULT_CONTAINER_PORTS.imap),
    imaps: containerPort.default(DEFAULT_CONTAINER_PORTS.imaps),
    pop3: containerPort.default(DEFAULT_CONTAINER_PORTS.pop3),
    pop3s: containerPort.default(DEFAULT_CONTAINER_PORTS.pop3s),
    sieve: containerPort.default(DEFAULT_CONTAINER_PORTS.sieve),
  })
  .prefault({})
  .refine((ports) => new Set(Object.values(ports)).size === Object.values(ports).length, {
    error: "expected a different container port for every entrypoint",
  });

export const traefikSettingsSchema = z
  .strictObject({
    /** Write k3s's `HelmChartConfig` `traefik` in kube-system; false when the operator manages Traefik's values. */
    manageHelmChartConfig: z.boolean().default(true),
    /** Entrypoints beyond smtp, submissions, submission, imap and imaps. */
    optionalEntrypoints: z
      .strictObject({
        pop3: z.boolean().default(false),
        pop3s: z.boolean().default(false),
        sieve: z.boolean().default(false),
      })
      .prefault({}),
    /** Ports Traefik listens on inside its pod (unprivileged); the public ports are the Service's `exposedPort`s. */
    containerPorts: containerPortsSchema,
    /**
     * How Traefik sends PROXY v2 to Mailcow: `serversTransport` (a ServersTransportTCP, Traefik ≥ 3.5.2) or
     * `service` (per-service `proxyProtocol` on each IngressRouteTCP, deprecated since 3.5.2).
     */
    proxyProtocolMode: z.enum(["serversTransport", "service"]).default("serversTransport"),
    /** Where Traefik's pods run, for the NetworkPolicies that let only Traefik in. */
    namespace: dnsLabel.default("kube-system"),
    podSelector: labelMap.default({ "app.kubernetes.io/name": "traefik" }),
    /** Extra chart values merged under the zone's own (for operators who already customise k3s's Traefik). */
    additionalValues: z.record(z.string(), z.unknown()).default({}),
  })
  .prefault({});

export const webSettingsSchema = z
  .strictObject({
    /** The cert-manager ClusterIssuer that signs the mail host's certificate. */
    clusterIssuer: dnsSubdomain.default("letsencrypt-prod"),
    /** The Traefik entrypoint serving HTTPS. */
    entrypoint: text("a Traefik entrypoint name", (v) => v.length > 0).default("websecure"),
    /** Source CIDRs allowed to the Mailcow UI and API, on top of the cluster's pod and service CIDRs. */
    adminAllowList: z.array(cidr).default([]),
  })
  .prefault({});

export const clusterSettingsSchema = z
  .strictObject({
    podCidr: cidr.default("10.42.0.0/16"),
    serviceCidr: cidr.default("10.43.0.0/16"),
  })
  .prefault({});

const dnsProviderSchema = z.discriminatedUnion("provider", [
  z.strictObject({ provider: z.literal("none") }),
  z.strictObject({
    provider: z.literal("cloudflare"),
    /** The Cloudflare zone holding the mail host, e.g. `example.com`. */
    zone: fqdn,
    /** Narrows the zone lookup to one account when the token sees several. */
    accountId: text("a 32-character hex Cloudflare account id", (v) => /^[0-9a-f]{32}$/.test(v)).optional(),
  }),
]);

export const dnsSettingsSchema = dnsProviderSchema.prefault({ provider: "none" });

export const zoneConfigSchema = z
  .strictObject({
    hostname: fqdn,
    namespace: dnsLabel.default("mail-zone"),
    platformNamespace: dnsLabel.default("platform"),
    controllerSecretName: dnsSubdomain.default("mail-zone-controller"),
    publicIPv4: ipv4,
    publicIPv6: ipv6.optional(),
    timezone: timezone.default("Etc/UTC"),
    traefik: traefikSettingsSchema,
    web: webSettingsSchema,
    cluster: clusterSettingsSchema,
    dns: dnsSettingsSchema,
    mailcow: mailcowSettingsSchema.prefault({}),
    backup: backupSettingsSchema.prefault({}),
    controller: controllerSettingsSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.dns.provider === "cloudflare") {
      const zone = config.dns.zone;
      if (config.hostname !== zone && !config.hostname.endsWith(`.${zone}`)) {
        ctx.addIssue({
          code: "custom",
          path: ["dns", "zone"],
          message: `expected the Cloudflare zone that holds the mail host ${config.hostname}`,
        });
      }
    }
  });

export type ZoneConfig = z.infer<typeof zoneConfigSchema>;
export type TraefikSettings = ZoneConfig["traefik"];
export type WebSettings = ZoneConfig["web"];
export type ClusterSettings = ZoneConfig["cluster"];
export type DnsSettings = ZoneConfig["dns"];

/** Top-level keys whose value is plain text in Pulumi config; every other key holds JSON. */
const TEXT_KEYS = new Set([
  "hostname",
  "namespace",
  "platformNamespace",
  "controllerSecretName",
  "publicIPv4",
  "publicIPv6",
  "timezone",
]);

export const ZONE_CONFIG_KEYS: readonly string[] = Object.keys(zoneConfigSchema.shape);

// ---------------------------------------------------------------------------------------------------------------
// Parsing and errors

/** A RunError, so `pulumi up` prints the problems without a stack trace. */
export class ZoneConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(`invalid zone configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ZoneConfigError";
  }
}

type PathItem = PropertyKey;

function formatPath(project: string, path: readonly PathItem[]): string {
  let out = `${project}:`;
  path.forEach((item, i) => {
    if (typeof item === "number") out += `[${item}]`;
    else out += i === 0 ? String(item) : `.${String(item)}`;
  });
  return out;
}

function valueAt(root: unknown, path: readonly PathItem[]): unknown {
  let cur: unknown = root;
  for (const item of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[item];
  }
  return cur;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const TYPE_WORDS: Record<string, string> = {
  int: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "a map (YAML mapping, JSON object)",
  array: "a list",
  record: "a map (YAML mapping, JSON object)",
};

function expectation(issue: z.core.$ZodIssue): string {
  if (issue.message.startsWith("expected ")) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator) {
        return `expected ${issue.discriminator} to be one of the documented values`;
      }
      return "expected one of the documented shapes";
    default:
      return `expected ${issue.message.replace(/^Invalid input:\s*/i, "").replace(/^expected\s+/i, "")}`;
  }
}

const DNS_PROVIDERS = dnsProviderSchema.options.map((o) => o.shape.provider.value);

/**
 * Parses zone config as Pulumi holds it (`<project>:<key>` → string). Keys of other namespaces (e.g.
 * `cloudflare:apiToken`, `kubernetes:context`) are ignored; unknown keys under `<project>:` are rejected as typos.
 */
export function parseZoneConfig(
  raw: Record<string, string>,
  project: string = DEFAULT_PROJECT,
  secretKeys: readonly string[] = [],
): ZoneConfig {
  const prefix = `${project}:`;
  const secret = new Set(secretKeys);
  const problems: string[] = [];
  const input: Record<string, unknown> = {};
  const shown = (key: string, value: unknown) => (secret.has(`${prefix}${key}`) ? "[secret]" : show(value));

  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (!ZONE_CONFIG_KEYS.includes(key)) {
      problems.push(
        `${fullKey}: got ${shown(key, text)} — expected no such key; known keys: ${ZONE_CONFIG_KEYS.join(", ")}`,
      );
      continue;
    }
    if (TEXT_KEYS.has(key)) {
      input[key] = text;
      continue;
    }
    try {
      input[key] = JSON.parse(text);
    } catch {
      problems.push(`${fullKey}: got ${shown(key, text)} — expected JSON (a YAML map or list in the stack file)`);
    }
  }

  const result = zoneConfigSchema.safeParse(input);
  if (result.success && problems.length === 0) return result.data;
  for (const issue of result.error?.issues ?? []) {
    const top = String(issue.path[0] ?? "");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        problems.push(
          `${formatPath(project, path)}: got ${shown(top || key, valueAt(input, path))} — expected no such key`,
        );
      }
      continue;
    }
    let expected = expectation(issue);
    if (issue.code === "invalid_union" && top === "dns") {
      expected = `expected one of ${DNS_PROVIDERS.map((p) => JSON.stringify(p)).join(", ")}`;
    }
    const path = issue.code === "invalid_union" && top === "dns" ? ["dns", "provider"] : issue.path;
    problems.push(`${formatPath(project, path)}: got ${shown(top, valueAt(input, path))} — ${expected}`);
  }
  throw new ZoneConfigError(problems);
}

/** Parses the running stack's config (under `pulumi up`, the preview CLI or a test's mock engine). */
export function loadZoneConfig(): ZoneConfig {
  const raw = pulumi.runtime.allConfig();
  // `isConfigSecret` is exported by the runtime but not typed; it only decides whether errors print `[secret]`.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  const secretKeys = Object.keys(raw).filter((k) => isSecret?.(k) ?? false);
  return parseZoneConfig(raw, pulumi.getProject(), secretKeys);
}
