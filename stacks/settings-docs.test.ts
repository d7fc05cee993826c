/**
 * Keeps the operator's references in step with the zone config schema: every key path the schema accepts (walked
 * from its JSON Schema, so optional keys without a default count too) must have a row in docs/settings.md showing
 * its default, and must appear in Pulumi.example.yaml, set to its default or shown commented out.
 *
 * stacks/zone-config.test.ts checks the non-Mailcow keys the example sets; this file adds the schema walk, the
 * Mailcow section, keys without defaults, the documented default values and the example's commented-out values.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { type Document, isMap, isScalar, parse, parseDocument } from "yaml";
import { z } from "zod";
import { DEFAULT_RESOURCES, DEFAULT_VOLUME_SIZES } from "../components/mailcow/pod";
import { readStackConfigFile } from "./preview/config-file";
import { DEFAULT_PROJECT, parseZoneConfig, zoneConfigSchema } from "./zone-config";

const root = path.resolve(__dirname, "..");
const EXAMPLE = path.join(root, "Pulumi.example.yaml");
const DOCS = path.join(root, "docs/settings.md");
const required = { "mail-zone:hostname": "mail.example.com", "mail-zone:publicIPv4": "203.0.113.10" };

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  propertyNames?: { enum?: string[] };
}

/**
 * Dotted key paths down to the leaves. A map whose keys are a fixed list (per-container resources, per-volume sizes)
 * yields one path per key; a free-form map (label selectors, chart values) and a list count as one setting.
 */
function keyPaths(schema: JsonSchema, prefix = ""): string[] {
  const join = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (schema.properties) return Object.entries(schema.properties).flatMap(([k, s]) => keyPaths(s, join(k)));
  const variants = [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])].filter((v) => v.properties);
  if (variants.length > 0) return [...new Set(variants.flatMap((v) => keyPaths(v, prefix)))];
  if (schema.propertyNames?.enum) return schema.propertyNames.enum.map(join);
  return [prefix];
}

function valueAt(root: unknown, dotted: string): unknown {
  let cur: unknown = root;
  for (const key of dotted.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function hasPath(root: unknown, dotted: string): boolean {
  const keys = dotted.split(".");
  const parent = keys.length === 1 ? root : valueAt(root, keys.slice(0, -1).join("."));
  return parent !== null && typeof parent === "object" && Object.hasOwn(parent, keys.at(-1) ?? "");
}

const parentOf = (dotted: string) => dotted.split(".").slice(0, -1).join(".");

/** Config keys (`mail-zone:x`) to their values, as structured data keyed by the setting name. */
function settingsOf(config: Record<string, unknown>): Record<string, unknown> {
  const prefix = `${DEFAULT_PROJECT}:`;
  return Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

/** Pulumi's string form of config values, as parseZoneConfig takes them. */
function asPulumiConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/**
 * The example with its commented-out settings switched on: a comment line whose text is `key:` (lowercase key,
 * optionally `mail-zone:`-qualified) loses its `# `. A commented block placed after `key: ...` (an alternative,
 * or the entries of a `{}` map) then repeats that key; the last one wins, as when the operator swaps them.
 */
function uncomment(text: string): Document {
  const setting = /^(\s*)# (\s*(?:[a-z][\w-]*:)?[a-z][\w-]*:(?:\s|$))/;
  const lines = text.split("\n").map((line) => line.replace(setting, "$1$2"));
  const doc = parseDocument(lines.join("\n"), { uniqueKeys: false });
  if (doc.errors.length > 0) throw new Error(`the uncommented example is not YAML: ${doc.errors[0].message}`);
  return doc;
}

/** Every key path written in a document's `config`, alternatives included (`mail-zone:` dropped). */
function writtenPaths(doc: Document): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, prefix: string) => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const here = prefix ? `${prefix}.${key}` : key.replace(`${DEFAULT_PROJECT}:`, "");
      out.add(here);
      walk(pair.value, here);
    }
  };
  walk(doc.get("config", true), "");
  return out;
}

const schemaPaths = keyPaths(z.toJSONSchema(zoneConfigSchema, { io: "input", unrepresentable: "any" }) as JsonSchema);
const mailcowPaths = schemaPaths.filter((p) => p.startsWith("mailcow."));
const defaults = parseZoneConfig(required);

/** The default of a key path: the schema's, or for per-container and per-volume maps the component's table. */
function defaultOf(dotted: string): unknown {
  const [, container] = /^mailcow\.resources\.(.+)$/.exec(dotted) ?? [];
  if (container) return DEFAULT_RESOURCES[container as keyof typeof DEFAULT_RESOURCES];
  const [, volume] = /^mailcow\.storage\.sizes\.(.+)$/.exec(dotted) ?? [];
  if (volume) return DEFAULT_VOLUME_SIZES[volume as keyof typeof DEFAULT_VOLUME_SIZES];
  if (dotted === "hostname" || dotted === "publicIPv4") return undefined; // required: no default
  return valueAt(defaults, dotted);
}

describe("the schema walk", () => {
  it("finds the settings of every section, including keys without a default and fixed-key maps", () => {
    expect(schemaPaths).toEqual(
      expect.arrayContaining([
        "hostname",
        "publicIPv6",
        "traefik.containerPorts.smtp",
        "traefik.podSelector",
        "dns.provider",
        "dns.accountId",
        "mailcow.mode",
        "mailcow.releaseSha256",
        "mailcow.optional.olefy",
        "mailcow.storage.sizes.vmail",
        "mailcow.resources.fetch-release",
        "mailcow.external.apiUrl",
      ]),
    );
    expect(schemaPaths).not.toContain("mailcow.resources");
    expect(new Set(schemaPaths).size).toBe(schemaPaths.length);
  });
});

describe("docs/settings.md", () => {
  const docs = readFileSync(DOCS, "utf8");
  /** The table row of a key: its cells, split at pipes that are not escaped. */
  const rowOf = (dotted: string): string[] | undefined => {
    const line = docs.split("\n").find((l) => l.startsWith(`| \`${DEFAULT_PROJECT}:${dotted}\` `));
    return line?.split(/(?<!\\)\|/).map((cell) => cell.trim());
  };

  it("has a table row for every zone setting, Mailcow's included", () => {
    const missing = schemaPaths.filter((p) => rowOf(p) === undefined);
    expect(missing).toEqual([]);
  });

  it("shows each setting's real default in its default column", () => {
    const wrong: string[] = [];
    for (const p of schemaPaths) {
      const expected = defaultOf(p);
      if (expected === undefined) continue;
      const cell = rowOf(p)?.[3] ?? "";
      const shown = /`([^`]*)`/.exec(cell)?.[1];
      const documented = shown === undefined ? undefined : parse(shown);
      if (JSON.stringify(documented) !== JSON.stringify(expected)) {
        wrong.push(`${p}: documents ${cell || "nothing"}, default is ${JSON.stringify(expected)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("Pulumi.example.yaml", () => {
  const text = readFileSync(EXAMPLE, "utf8");
  const loaded = readStackConfigFile(EXAMPLE);
  const example = parseZoneConfig(loaded.config, DEFAULT_PROJECT, loaded.secretKeys);
  const raw = settingsOf(parse(text).config as Record<string, unknown>);
  const uncommented = uncomment(text);
  const written = writtenPaths(uncommented);
  const shown = settingsOf(uncommented.toJS().config as Record<string, unknown>);

  it("leaves the Mailcow section at exactly the schema defaults when read as the preview reads it", () => {
    expect(example.mailcow).toEqual(defaults.mailcow);
    expect(example.mailcow).toEqual(parseZoneConfig({ ...required, "mail-zone:mailcow": "{}" }).mailcow);
  });

  it("sets every setting that has a default, rather than leaving it out", () => {
    // A fixed-key map (resources, storage.sizes) defaults to {} as a whole: the map itself must be set.
    const unset = schemaPaths
      .map((p) => (valueAt(defaults, p) !== undefined ? p : parentOf(p)))
      .filter((p) => valueAt(defaults, p) !== undefined && !hasPath(raw, p));
    expect([...new Set(unset)]).toEqual([]);
  });

  it("shows every zone setting, set or commented out", () => {
    const missing = schemaPaths.filter((p) => !written.has(p));
    expect(missing).toEqual([]);
  });

  it("covers the whole Mailcow section", () => {
    expect(mailcowPaths.filter((p) => !written.has(p))).toEqual([]);
    expect(mailcowPaths.length).toBeGreaterThan(60);
  });

  it("comments out only valid values, so uncommenting one is valid input", () => {
    expect(() => parseZoneConfig(asPulumiConfig(uncommented.toJS().config))).not.toThrow();
  });

  it("lists every container's default requests and limits and every volume's default size in its comments", () => {
    const mailcow = shown.mailcow as { resources: unknown; storage: { sizes: unknown } };
    expect(mailcow.resources).toEqual(DEFAULT_RESOURCES);
    expect(mailcow.storage.sizes).toEqual(DEFAULT_VOLUME_SIZES);
  });
});
