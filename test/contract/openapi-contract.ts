/**
 * Checks HTTP requests against Mailcow's own OpenAPI description (`../shared/reference/mailcow/openapi.yaml`, read
 * at test time only: it is upstream GPL text and is never copied into this repo).
 *
 * A request passes when its method and path exist in the spec and its JSON body validates against the operation's
 * requestBody schema, made stricter in one way: an object schema that lists `properties` accepts no other property,
 * so a misspelt field fails instead of passing silently. Where the real server differs from its spec (mailcow-notes
 * §2), `KNOWN_DIFFERENCES` lists the exact schema complaint to ignore and why.
 */
import fs from "node:fs";
import path from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";

/** The repo sits beside `shared/` (see the brief); tests read the reference from there. */
export const MAILCOW_OPENAPI_PATH = path.resolve(__dirname, "../..", "../shared/reference/mailcow/openapi.yaml");

export interface ContractRequest {
  method: string;
  /** URL path, e.g. `/api/v1/get/domain/a.com` (a query string is ignored). */
  path: string;
  /** Parsed JSON body; `undefined` for none. */
  body?: unknown;
}

export interface KnownDifference {
  method: "GET" | "POST";
  /** The spec's path template, e.g. `/api/v1/delete/domain`. */
  path: string;
  /** JSON pointer into the body where ajv complains (`""` for the body itself). */
  instancePath: string;
  /** The ajv keyword of the complaint: `type`, `additionalProperties`, … */
  keyword: string;
  /** For `additionalProperties`: the property the spec does not list. */
  property?: string;
  /** Why the client sends what it sends. */
  reason: string;
}

/** Where the real server (and so our client) departs from `openapi.yaml`. Keep it short and every entry justified. */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    method: "POST",
    path: "/api/v1/delete/domain",
    instancePath: "",
    keyword: "type",
    reason: "json_api.php takes the whole body as the list of items: a bare array; {items:[…]} gives domain_invalid",
  },
  {
    method: "POST",
    path: "/api/v1/delete/mailbox",
    instancePath: "",
    keyword: "type",
    reason: "json_api.php takes the whole body as the list of items: a bare array of usernames",
  },
  {
    method: "POST",
    path: "/api/v1/add/domain",
    instancePath: "",
    keyword: "additionalProperties",
    property: "dkim_selector",
    reason: "add/domain makes a DKIM key unless dkim_selector is empty; we make DKIM separately (not in the spec)",
  },
  {
    method: "POST",
    path: "/api/v1/add/domain",
    instancePath: "",
    keyword: "additionalProperties",
    property: "key_size",
    reason: "key_size 0 also stops the implicit DKIM key of add/domain (read by the code, not in the spec)",
  },
  {
    method: "POST",
    path: "/api/v1/add/domain",
    instancePath: "/active",
    keyword: "type",
    reason: 'PHP reads flags with intval(); the spec says boolean but its own example sends "1"; we send 0/1',
  },
  {
    method: "POST",
    path: "/api/v1/add/mailbox",
    instancePath: "/active",
    keyword: "type",
    reason: 'PHP reads flags with intval(); the spec says boolean but its own example sends "1"; we send 0/1',
  },
  {
    method: "POST",
    path: "/api/v1/edit/domain",
    instancePath: "/attr/active",
    keyword: "type",
    reason: 'PHP reads flags with intval(); the spec says boolean but its own example sends "1"; we send 0/1',
  },
  {
    method: "POST",
    path: "/api/v1/edit/rl-domain/",
    instancePath: "/items",
    keyword: "type",
    reason: "items is a list of domains (the spec's own example is an array; its schema says object)",
  },
  {
    method: "POST",
    path: "/api/v1/edit/rl-domain/",
    instancePath: "/attr/rl_value",
    keyword: "type",
    reason: 'the code treats rl_value as text (empty/0 clears); the spec\'s own example sends "10"',
  },
];

export interface ContractViolation {
  method: string;
  path: string;
  problem: string;
}

export interface ContractResult {
  ok: boolean;
  /** The spec's path template that matched, when one did. */
  operation?: string;
  violations: ContractViolation[];
  /** Known differences this request relied on. */
  differences: KnownDifference[];
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** nginx/PHP split the route on `/` and ignore an empty last part, so `edit/rl-domain/` and `edit/rl-domain` are one. */
function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") : p;
}

interface Route {
  template: string;
  regex: RegExp;
  literalSegments: number;
  methods: Map<string, JsonObject>;
}

const loaded = new Map<string, OpenApiContract>();

export class OpenApiContract {
  private readonly routes: Route[];
  private readonly validators = new Map<string, ValidateFunction | null>();
  private readonly ajv: Ajv2020;

  constructor(
    private readonly spec: JsonObject,
    readonly knownDifferences: readonly KnownDifference[] = KNOWN_DIFFERENCES,
  ) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    const paths = isObject(spec.paths) ? spec.paths : {};
    this.routes = Object.entries(paths).map(([template, item]) => {
      const parts = trimSlash(template).split("/");
      const pattern = parts.map((p) => (/^\{[^}]+\}$/.test(p) ? "[^/]+" : p.replace(/[.*+?^$()|[\]\\]/g, "\\$&")));
      const methods = new Map<string, JsonObject>();
      if (isObject(item)) {
        for (const [m, op] of Object.entries(item)) if (isObject(op)) methods.set(m.toUpperCase(), op);
      }
      return {
        template,
        regex: new RegExp(`^${pattern.join("/")}$`),
        literalSegments: parts.filter((p) => !p.startsWith("{")).length,
        methods,
      };
    });
  }

  /** Loads the spec (parsed once per process and file); `null` when the file is absent (the caller skips and says why). */
  static load(file: string = MAILCOW_OPENAPI_PATH): OpenApiContract | null {
    if (!fs.existsSync(file)) return null;
    let contract = loaded.get(file);
    if (!contract) {
      contract = new OpenApiContract(parseYaml(fs.readFileSync(file, "utf8")) as JsonObject);
      loaded.set(file, contract);
    }
    return contract;
  }

  /** The spec path template a concrete path maps to; literal segments beat parameters (`all/{domain}` vs `{id}`). */
  matchPath(urlPath: string): string | undefined {
    const p = trimSlash(urlPath.split("?")[0] ?? urlPath);
    const hits = this.routes.filter((r) => r.regex.test(p)).sort((a, b) => b.literalSegments - a.literalSegments);
    return hits[0]?.template;
  }

  check(req: ContractRequest): ContractResult {
    const method = req.method.toUpperCase();
    const where = { method, path: req.path };
    const template = this.matchPath(req.path);
    if (!template) return { ok: false, violations: [{ ...where, problem: "path not in the spec" }], differences: [] };
    const route = this.routes.find((r) => r.template === template);
    const op = route?.methods.get(method);
    if (!op) {
      return {
        ok: false,
        operation: template,
        violations: [{ ...where, problem: `${method} not allowed on ${template} by the spec` }],
        differences: [],
      };
    }
    if (req.body === undefined) return { ok: true, operation: template, violations: [], differences: [] };
    const validate = this.validator(method, template, op);
    if (!validate) {
      return {
        ok: false,
        operation: template,
        violations: [{ ...where, problem: `${template} takes no request body in the spec` }],
        differences: [],
      };
    }
    if (validate(req.body)) return { ok: true, operation: template, violations: [], differences: [] };
    const violations: ContractViolation[] = [];
    const differences = new Set<KnownDifference>();
    for (const error of validate.errors ?? []) {
      const known = this.knownDifference(method, template, error);
      if (known) differences.add(known);
      else violations.push({ ...where, problem: describeError(error) });
    }
    return { ok: violations.length === 0, operation: template, violations, differences: [...differences] };
  }

  private knownDifference(method: string, template: string, error: ErrorObject): KnownDifference | undefined {
    return this.knownDifferences.find(
      (d) =>
        d.method === method &&
        trimSlash(d.path) === trimSlash(template) &&
        d.instancePath === error.instancePath &&
        d.keyword === error.keyword &&
        (d.property === undefined ||
          d.property === (error.params as { additionalProperty?: string }).additionalProperty),
    );
  }

  private validator(method: string, template: string, op: JsonObject): ValidateFunction | null {
    const key = `${method} ${template}`;
    const cached = this.validators.get(key);
    if (cached !== undefined) return cached;
    const body = isObject(op.requestBody) ? resolveRefs(this.spec, op.requestBody) : undefined;
    const content = isObject(body) && isObject(body.content) ? body.content : undefined;
    const media = content && isObject(content["application/json"]) ? content["application/json"] : undefined;
    const schema = media && isObject(media.schema) ? closeObjects(resolveRefs(this.spec, media.schema)) : undefined;
    const compiled = schema ? this.ajv.compile(schema as JsonObject) : null;
    this.validators.set(key, compiled);
    return compiled;
  }
}

/** Inlines the spec's local `$ref`s (`#/components/...`, JSON-pointer escapes undone) so a schema stands alone. */
export function resolveRefs(spec: JsonObject, node: unknown, depth = 0): unknown {
  if (depth > 32) throw new Error("openapi.yaml: $ref nesting too deep");
  if (Array.isArray(node)) return node.map((n) => resolveRefs(spec, n, depth + 1));
  if (!isObject(node)) return node;
  if (typeof node.$ref === "string" && node.$ref.startsWith("#/")) {
    const target = node.$ref
      .slice(2)
      .split("/")
      .reduce<unknown>((at, seg) => (isObject(at) ? at[seg.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), spec);
    return resolveRefs(spec, target, depth + 1);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveRefs(spec, v, depth + 1)]));
}

/** Object schemas that list `properties` get `additionalProperties: false` unless they say otherwise. */
export function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    // Leave `example`/`examples` alone: they are data, not schemas.
    out[k] = k === "example" || k === "examples" ? v : closeObjects(v);
  }
  if (isObject(out.properties) && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function describeError(error: ErrorObject): string {
  const at = error.instancePath === "" ? "body" : `body${error.instancePath}`;
  const extra = (error.params as { additionalProperty?: string }).additionalProperty;
  return `${at} ${error.message ?? error.keyword}${extra ? ` (${extra})` : ""}`;
}
