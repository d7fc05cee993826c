/**
 * Reads a Pulumi stack file (`Pulumi.<stack>.yaml`) into the config map the mock planner takes. Pulumi holds every
 * config value as a string: scalars as their text, structured values (YAML objects and lists) as JSON. `secure:`
 * values are ciphertext only the Pulumi CLI can decrypt, so the preview stands in a placeholder and marks the key
 * secret, which is how the program will see it under `pulumi up`.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, type Node, parseDocument } from "yaml";

/** What a `secure:` value becomes in a preview. Obviously fake, and long enough to pass "non-empty" checks. */
export const SECURE_PLACEHOLDER = "preview-secure-value-from-stack-file";

export interface StackConfig {
  /** Fully qualified keys (`<namespace>:<key>`) to Pulumi's string form of the value. */
  config: Record<string, string>;
  /** Keys whose value is secret (a `secure:` value anywhere inside it). */
  secretKeys: string[];
}

export class StackFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "StackFileError";
  }
}

/** The stack a stack file is for: `Pulumi.prod.yaml` → `prod`; any other file name → `fallback`. */
export function stackNameFromFile(file: string, fallback = "preview"): string {
  const match = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file));
  return match ? match[1] : fallback;
}

export function readStackConfigFile(file: string): StackConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new StackFileError(file, `cannot read the stack file (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return parseStackConfig(text, file);
}

/** Parses the text of a stack file; `file` only names the source in errors. */
export function parseStackConfig(text: string, file: string): StackConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const where = first.linePos ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}` : "";
    throw new StackFileError(file, `invalid YAML${where}: ${first.message.split("\n")[0]}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { config: {}, secretKeys: [] };
  if (!isMap(root)) throw new StackFileError(file, "expected a mapping at the top level (with a `config:` key)");
  const configNode = root.get("config", true) as Node | undefined;
  if (configNode === undefined || configNode === null || (isScalar(configNode) && configNode.value === null)) {
    return { config: {}, secretKeys: [] };
  }
  if (!isMap(configNode)) throw new StackFileError(file, "`config` must be a mapping of `<namespace>:<key>` to values");

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const pair of configNode.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!/^[^:\s]+:[^\s]+$/.test(key)) {
      throw new StackFileError(
        file,
        `config key "${key}" must be namespaced as <namespace>:<key> (e.g. mail-zone:${key})`,
      );
    }
    const value = (pair.value as Node | null) ?? null;
    const plain = value === null ? null : value.toJSON();
    const converted = convertValue(plain, file, key);
    config[key] = converted.text;
    if (converted.secret) secretKeys.push(key);
  }
  return { config, secretKeys };
}

function isSecureValue(value: unknown): value is { secure: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    "secure" in value
  );
}

/** Pulumi's string form of one config value, and whether it carries a secret. */
function convertValue(value: unknown, file: string, key: string): { text: string; secret: boolean } {
  if (value === null || value === undefined) {
    throw new StackFileError(file, `config key "${key}" has no value (write "" for an empty string)`);
  }
  const placeholder = (secure: { secure: unknown }): string => {
    if (typeof secure.secure !== "string") {
      throw new StackFileError(file, `config key "${key}": \`secure:\` must hold the ciphertext string`);
    }
    return SECURE_PLACEHOLDER;
  };
  if (isSecureValue(value)) return { text: placeholder(value), secret: true };
  if (typeof value === "object") {
    let secret = false;
    const replaced = replaceSecure(value, (inner) => {
      secret = true;
      return placeholder(inner);
    });
    return { text: JSON.stringify(replaced), secret };
  }
  return { text: String(value), secret: false };
}

/** Structured values may hold `secure:` leaves; Pulumi then treats the whole key as secret. */
function replaceSecure(value: unknown, onSecure: (v: { secure: unknown }) => string): unknown {
  if (isSecureValue(value)) return onSecure(value);
  if (Array.isArray(value)) return value.map((v) => replaceSecure(v, onSecure));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecure(v, onSecure)]));
  }
  return value;
}
