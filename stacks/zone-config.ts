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
import { clusterSettingsSchema } from "../components/cluster-settings";
import { controllerSettingsSchema } from "../components/controller-settings";
import { DNS_PROVIDERS, dnsSettingsSchema } from "../components/dns-settings";
import { mailcowSettingsSchema } from "../components/mailcow/settings";
import { didYouMean, editDistance, typoBudget } from "../components/nearest-name";
import { described, dnsLabel, dnsSubdomain, fqdn, isTimezone } from "../components/setting-values";
import { traefikSettingsSchema } from "../components/traefik-settings";
import { adminAllowListProblems, webSettingsSchema } from "../components/web-settings";

export const DEFAULT_PROJECT = "mail-zone";

// ---------------------------------------------------------------------------------------------------------------
// The top-level values; each section's schema lives beside the component that owns it (components/*-settings.ts).

const IPV4 = z.ipv4();
const IPV6 = z.ipv6();

const ipv4 = described("an IPv4 address like 203.0.113.10", (v) => IPV4.safeParse(v).success);
const ipv6 = described("an IPv6 address like 2001:db8::10", (v) => IPV6.safeParse(v).success);
const timezone = described("an IANA time zone like Europe/Berlin", isTimezone);

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
    for (const problem of adminAllowListProblems(config.web, config.cluster)) {
      ctx.addIssue({ code: "custom", path: ["web", "adminAllowList", problem.index], message: problem.message });
    }
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

/** The parsed config; zone-program.ts hands it to MailZone, whose `MailZoneSettings` it must satisfy. */
export type ZoneConfig = z.infer<typeof zoneConfigSchema>;

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

const SIZE_WORDS: Record<string, [string, string]> = {
  number: ["a number of", ""],
  int: ["a number of", ""],
  bigint: ["a number of", ""],
  array: ["a list of", " entries"],
  set: ["a list of", " entries"],
  string: ["text of", " characters"],
};

/** `expected a number of at least 1`, `expected a list of at most 3 entries`: the bound in the zone's own words. */
function sizeExpectation(origin: string, bound: "at least" | "at most", limit: unknown, inclusive: boolean): string {
  const [what, unit] = SIZE_WORDS[origin] ?? ["a value", ""];
  const n = Number(limit);
  if (inclusive) return `expected ${what} ${bound} ${n}${unit}`;
  return `expected ${what.replace(/ of$/, "")} ${bound === "at least" ? "above" : "below"} ${n}${unit}`;
}

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
    case "too_small":
      return sizeExpectation(issue.origin, "at least", issue.minimum, issue.inclusive ?? true);
    case "too_big":
      return sizeExpectation(issue.origin, "at most", issue.maximum, issue.inclusive ?? true);
    default:
      return `expected ${issue.message.replace(/^Invalid input:\s*/i, "").replace(/^expected\s+/i, "")}`;
  }
}

type AnySchema = z.core.$ZodType;

/** The schema under wrappers that do not change the shape (defaults, optional, pipes). */
function unwrap(schema: AnySchema): AnySchema {
  let cur = schema;
  for (;;) {
    const def = cur._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema };
    if (def.innerType && ["default", "prefault", "optional", "nullable", "readonly", "catch"].includes(def.type)) {
      cur = def.innerType;
    } else if (def.type === "pipe" && def.in) cur = def.in;
    else return cur;
  }
}

/** The keys a map in the schema knows at `path` (every variant's, for a union), for "did you mean". */
function knownKeysAt(schema: AnySchema, path: readonly PathItem[]): string[] {
  const keysOf = (s: AnySchema): string[] => {
    const def = unwrap(s)._zod.def as { type: string; shape?: Record<string, AnySchema>; options?: AnySchema[] };
    if (def.type === "object" && def.shape) return Object.keys(def.shape);
    if (def.type === "union" && def.options) return [...new Set(def.options.flatMap(keysOf))];
    return [];
  };
  const childAt = (s: AnySchema, item: PathItem): AnySchema[] => {
    const def = unwrap(s)._zod.def as {
      type: string;
      shape?: Record<string, AnySchema>;
      options?: AnySchema[];
      element?: AnySchema;
      valueType?: AnySchema;
    };
    if (def.type === "object" && def.shape) return def.shape[String(item)] ? [def.shape[String(item)]] : [];
    if (def.type === "union" && def.options) return def.options.flatMap((o) => childAt(o, item));
    if (def.type === "array" && def.element) return [def.element];
    if (def.type === "record" && def.valueType) return [def.valueType];
    return [];
  };
  let current: AnySchema[] = [schema];
  for (const item of path) current = current.flatMap((s) => childAt(s, item));
  return [...new Set(current.flatMap(keysOf))];
}

/** Separators and case aside, or within two edits: `mailzone`, `mail_zone`, `mial-zone` for `mail-zone`. */
function isNamespaceTypo(namespace: string, project: string): boolean {
  if (namespace === project) return false;
  const squash = (t: string) => t.toLowerCase().replace(/[^a-z0-9]/g, "");
  return squash(namespace) === squash(project) || editDistance(namespace, project) <= Math.min(2, typoBudget(project));
}

/**
 * Parses zone config as Pulumi holds it (`<project>:<key>` → string). Keys of other namespaces (e.g.
 * `cloudflare:apiToken`, `kubernetes:context`) belong to providers and are ignored, except a namespace that is a
 * typo of the project's (`mailzone:`), which is refused by name. Unknown keys at any depth are refused as typos,
 * with the nearest known key.
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
  const shownFull = (fullKey: string, value: unknown) => (secret.has(fullKey) ? "[secret]" : show(value));
  const shown = (key: string, value: unknown) => shownFull(`${prefix}${key}`, value);
  /** Zone keys set under a misspelt namespace: `hostname` → `mailzone:hostname`. */
  const strays = new Map<string, string>();

  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(prefix)) {
      const colon = fullKey.indexOf(":");
      const namespace = colon < 0 ? "" : fullKey.slice(0, colon);
      if (colon > 0 && isNamespaceTypo(namespace, project)) {
        const key = fullKey.slice(colon + 1);
        const top = key.split(".")[0];
        const meant = ZONE_CONFIG_KEYS.includes(top) ? `${prefix}${key}` : undefined;
        if (meant) strays.set(top, fullKey);
        problems.push(
          `${fullKey}: got ${shownFull(fullKey, text)} — expected no such namespace: the zone's settings are under ${prefix}${meant ? `; did you mean ${meant}?` : ""}`,
        );
      }
      continue;
    }
    const key = fullKey.slice(prefix.length);
    if (!ZONE_CONFIG_KEYS.includes(key)) {
      const near = didYouMean(key, ZONE_CONFIG_KEYS, (k) => `${prefix}${k}`);
      problems.push(
        `${fullKey}: got ${shown(key, text)} — expected no such key${near || `; known keys: ${ZONE_CONFIG_KEYS.join(", ")}`}`,
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
      const known = knownKeysAt(zoneConfigSchema, issue.path);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const near = didYouMean(key, known, (k) => formatPath(project, [...issue.path, k]));
        problems.push(
          `${formatPath(project, path)}: got ${shown(top || key, valueAt(input, path))} — expected no such key${near}`,
        );
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      // A map's key (a pod label's name) is what is wrong: name it, with the key schema's own expectation.
      const inner = issue.issues[0] as z.core.$ZodIssue | undefined;
      const key = JSON.stringify(String(issue.path.at(-1)));
      problems.push(
        `${formatPath(project, issue.path)}: got the key ${key} — ${inner ? expectation(inner) : "expected another key"}`,
      );
      continue;
    }
    let expected = expectation(issue);
    if (issue.code === "invalid_union" && top === "dns") {
      expected = `expected one of ${DNS_PROVIDERS.map((p) => JSON.stringify(p)).join(", ")}`;
    }
    const path = issue.code === "invalid_union" && top === "dns" ? ["dns", "provider"] : issue.path;
    const value = valueAt(input, path);
    const stray = value === undefined && path.length === 1 ? strays.get(top) : undefined;
    const hint = stray ? `; ${stray} is set instead: did you mean ${prefix}${top}?` : "";
    problems.push(`${formatPath(project, path)}: got ${shown(top, value)} — ${expected}${hint}`);
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
