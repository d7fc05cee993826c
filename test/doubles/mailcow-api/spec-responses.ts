/**
 * Checks the double's answers against Mailcow's own OpenAPI description (`../shared/reference/mailcow/openapi.yaml`,
 * read at test time only, never copied): where the spec gives a response schema the answer must validate against it
 * (objects closed, as for requests); where it gives only an example, the answer must have the example's top-level
 * keys with the same JSON types, and no key the example lacks. Where the real server (Mailcow 2026-07a as measured in
 * issue 12, and its source) answers otherwise, `RESPONSE_DIFFERENCES` says so and why; nothing else may differ.
 */
import fs from "node:fs";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import { parse as parseYaml } from "yaml";
import {
  closeObjects,
  isObject,
  type JsonObject,
  MAILCOW_OPENAPI_PATH,
  OpenApiContract,
  resolveRefs,
} from "../../contract/openapi-contract";

export interface ResponseDifference {
  method: "GET" | "POST";
  /** The spec's path template, e.g. `/api/v1/get/domain/{id}`. */
  path: string;
  /** JSON pointer into the answer, array indexes written `*` (`/*\/msg`); `""` for the answer itself. */
  at: string;
  /** `schema:<ajv keyword>`, or against the example `example:type`, `example:missing`, `example:extra`. */
  what: string;
  /** What the real server does and how we know. */
  reason: string;
}

const ENVELOPE_MSG =
  "a key without arguments comes as a bare string ('msg' => 'domain_invalid' upstream; measured for domain_invalid, " +
  "access_denied, password_complexity, mailbox_invalid, rl_timeframe, the add/domain quota errors, the cleanup warnings)";
const ENVELOPE_ARRAY = "every write answers an array of {type, log, msg} entries (json_encode($_SESSION['return']))";
const ABSENT = "nothing there answers {} (process_get_return in json_api.php; measured), never an empty body";
const COLUMN = "a tinyint/int column comes as a JSON number (measured on 2026-07a; the example shows strings)";
const NEWER = "set by the 2026-07a code (functions.mailbox.inc.php, measured); the example predates it";

/** One entry per key: `at` is `${prefix}/${key}`. */
function each(
  method: ResponseDifference["method"],
  path: string,
  prefix: string,
  what: string,
  keys: readonly string[],
  reason: string,
): ResponseDifference[] {
  return keys.map((key) => ({ method, path, at: `${prefix}/${key}`, what, reason }));
}

const DOMAIN = "/api/v1/get/domain/{id}";
const MAILBOXES = "/api/v1/get/mailbox/all/{domain}";

/** Where the real server's answers depart from `openapi.yaml`. Keep it short; every entry is a measured fact. */
export const RESPONSE_DIFFERENCES: readonly ResponseDifference[] = [
  ...[DOMAIN, "/api/v1/get/dkim/{domain}", MAILBOXES].map(
    (path): ResponseDifference => ({ method: "GET", path, at: "", what: "example:empty", reason: ABSENT }),
  ),
  ...["/api/v1/add/mailbox", "/api/v1/add/dkim", "/api/v1/delete/mailbox", "/api/v1/delete/dkim"].map(
    (path): ResponseDifference => ({ method: "POST", path, at: "", what: "schema:type", reason: ENVELOPE_ARRAY }),
  ),
  { method: "POST", path: "/api/v1/edit/rl-domain/", at: "", what: "schema:type", reason: ENVELOPE_ARRAY },
  { method: "POST", path: "/api/v1/edit/domain", at: "/*/msg", what: "schema:type", reason: ENVELOPE_MSG },
  { method: "POST", path: "/api/v1/delete/domain", at: "/*/msg", what: "schema:type", reason: ENVELOPE_MSG },
  {
    method: "POST",
    path: "/api/v1/delete/domain",
    at: "/*/type",
    what: "schema:enum",
    reason: "without dockerapi a warning 'Could not move mail storage to garbage collector: ' precedes domain_removed",
  },
  {
    method: "POST",
    path: "/api/v1/delete/mailbox",
    at: "/msg",
    what: "schema:type",
    reason: "an empty list answers the generic {type: 'success', msg: 'Task completed'}, msg a string (measured)",
  },
  {
    method: "GET",
    path: DOMAIN,
    at: "",
    what: "example:type",
    reason: "one domain by name answers one object (the example shows get/domain/all's array)",
  },
  ...each("GET", DOMAIN, "", "example:type", ["active", "backupmx", "gal", "relay_all_recipients"], COLUMN),
  ...each("GET", DOMAIN, "", "example:type", ["bytes_total", "msgs_total"], COLUMN),
  {
    method: "GET",
    path: DOMAIN,
    at: "/rl",
    what: "example:type",
    reason: "rl is false without a limit and {value, frame} with one (ratelimit('get', 'domain'))",
  },
  ...each("GET", DOMAIN, "", "example:missing", ["tags"], "a domain without tags has no tags key (measured)"),
  ...each(
    "GET",
    DOMAIN,
    "",
    "example:extra",
    [
      "active_int",
      "backupmx_int",
      "gal_int",
      "relay_all_recipients_int",
      "relay_unknown_only",
      "relay_unknown_only_int",
      "domain_h_name",
      "created",
      "modified",
      "domain_admins",
    ],
    `${NEWER} (modified null until the first edit, domain_admins '-')`,
  ),
  ...each("GET", MAILBOXES, "/*", "example:type", ["active"], COLUMN),
  ...each("GET", MAILBOXES, "/*", "example:type", ["custom_attributes"], "PHP encodes the empty array as []"),
  {
    method: "GET",
    path: MAILBOXES,
    at: "/*/rl",
    what: "example:type",
    reason: "a mailbox without its own limit shows its domain's ({value, frame}, rl_scope 'domain') or false",
  },
  ...each("GET", MAILBOXES, "/*", "example:missing", ["tags"], "a mailbox without tags has no tags key (measured)"),
  ...each(
    "GET",
    MAILBOXES,
    "/*",
    "example:extra",
    [
      "active_int",
      "created",
      "modified",
      "authsource",
      "last_imap_login",
      "last_smtp_login",
      "last_pop3_login",
      "last_sso_login",
      "pushover_active",
      "rl_scope",
    ],
    NEWER,
  ),
];

export interface CheckedResponse {
  method: string;
  /** URL path, e.g. `/api/v1/get/domain/a.com`. */
  path: string;
  status: number;
  /** The parsed JSON answer. */
  body: unknown;
}

export interface ResponseCheck {
  operation?: string;
  /** What the spec had to check against. */
  against: "schema" | "example" | "nothing";
  violations: string[];
  differences: ResponseDifference[];
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** `/0/msg` → `/*\/msg`. */
function pattern(pointer: string): string {
  return pointer.replace(/\/\d+(?=\/|$)/g, "/*");
}

interface Finding {
  at: string;
  what: string;
  text: string;
}

export class SpecResponses {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction | null>();

  private constructor(
    private readonly spec: JsonObject,
    private readonly contract: OpenApiContract,
    readonly differences: readonly ResponseDifference[],
  ) {}

  /** `null` when `../shared` does not hold the spec (the caller skips and says why). */
  static load(differences: readonly ResponseDifference[] = RESPONSE_DIFFERENCES): SpecResponses | null {
    const contract = OpenApiContract.load();
    if (!contract || !fs.existsSync(MAILCOW_OPENAPI_PATH)) return null;
    const spec = parseYaml(fs.readFileSync(MAILCOW_OPENAPI_PATH, "utf8")) as JsonObject;
    return new SpecResponses(spec, contract, differences);
  }

  check(res: CheckedResponse): ResponseCheck {
    const method = res.method.toUpperCase();
    const operation = this.contract.matchPath(res.path);
    const none: ResponseCheck = { against: "nothing", violations: [], differences: [] };
    if (!operation) return { ...none, violations: [`${res.path}: not in the spec`] };
    const op = this.operation(method, operation);
    const response =
      op && isObject(op.responses) ? resolveRefs(this.spec, op.responses[String(res.status)]) : undefined;
    const media = isObject(response) && isObject(response.content) ? response.content["application/json"] : undefined;
    if (!isObject(media)) return { ...none, operation };
    let against: ResponseCheck["against"] = "nothing";
    let findings: Finding[] = [];
    if (isObject(media.schema)) {
      against = "schema";
      findings = this.schemaFindings(method, operation, res.status, media.schema, res.body);
    } else {
      const example = firstExample(media);
      if (example !== undefined) {
        against = "example";
        findings = exampleFindings(res.body, example, "");
      }
    }
    const violations: string[] = [];
    const used = new Set<ResponseDifference>();
    for (const f of findings) {
      const known = this.differences.find(
        (d) => d.method === method && d.path === operation && d.at === pattern(f.at) && d.what === f.what,
      );
      if (known) used.add(known);
      else violations.push(`${method} ${operation} ${res.status}: ${f.text}`);
    }
    return { operation, against, violations, differences: [...used] };
  }

  private operation(method: string, template: string): JsonObject | undefined {
    const paths = isObject(this.spec.paths) ? this.spec.paths : {};
    const item = paths[template];
    const op = isObject(item) ? item[method.toLowerCase()] : undefined;
    return isObject(op) ? op : undefined;
  }

  private schemaFindings(method: string, template: string, status: number, schema: JsonObject, body: unknown) {
    const key = `${method} ${template} ${status}`;
    let validate = this.validators.get(key);
    if (validate === undefined) {
      validate = this.ajv.compile(closeObjects(resolveRefs(this.spec, schema)) as JsonObject);
      this.validators.set(key, validate);
    }
    if (!validate || validate(body)) return [];
    return (validate.errors ?? []).map((e: ErrorObject) => ({
      at: e.instancePath,
      what: `schema:${e.keyword}`,
      text: `${e.instancePath || "answer"} ${e.message ?? e.keyword}${extra(e)}`,
    }));
  }
}

function extra(e: ErrorObject): string {
  const p = e.params as { additionalProperty?: string; allowedValues?: unknown[] };
  if (p.additionalProperty) return ` (${p.additionalProperty})`;
  if (p.allowedValues) return ` (${p.allowedValues.join(", ")})`;
  return "";
}

function firstExample(media: JsonObject): unknown {
  if (media.example !== undefined) return media.example;
  if (!isObject(media.examples)) return undefined;
  const first = Object.values(media.examples)[0];
  return isObject(first) ? first.value : undefined;
}

/** Top-level shape against the example: the same container, the example's keys with their types, no other keys. */
function exampleFindings(answer: unknown, example: unknown, at: string): Finding[] {
  if (at === "" && isObject(answer) && Object.keys(answer).length === 0) {
    return [{ at, what: "example:empty", text: "answer is {} (nothing there), the spec shows only a full answer" }];
  }
  if (Array.isArray(example) && Array.isArray(answer)) {
    const model = example[0];
    if (model === undefined) return [];
    return answer.flatMap((item, i) => exampleFindings(item, model, `${at}/${i}`));
  }
  // One object where the example lists several: say so, then compare it with the example's first.
  if (Array.isArray(example) && isObject(answer) && at === "") {
    const type: Finding = { at, what: "example:type", text: "answer is an object, the example an array" };
    const inner = exampleFindings(answer, example[0], "/0");
    return [type, ...inner.map((f) => ({ ...f, at: f.at.slice(2), text: f.text.replace(/^\/0/, "") }))];
  }
  if (jsonType(answer) !== jsonType(example)) {
    return [
      { at, what: "example:type", text: `${at || "answer"} is ${jsonType(answer)}, the example ${jsonType(example)}` },
    ];
  }
  if (!isObject(example) || !isObject(answer) || at.split("/").length > 2) return [];
  const out: Finding[] = [];
  for (const [key, value] of Object.entries(example)) {
    if (!(key in answer)) out.push({ at: `${at}/${key}`, what: "example:missing", text: `${at}/${key} is missing` });
    else if (jsonType(answer[key]) !== jsonType(value)) {
      out.push({
        at: `${at}/${key}`,
        what: "example:type",
        text: `${at}/${key} is ${jsonType(answer[key])}, the example ${jsonType(value)}`,
      });
    }
  }
  for (const key of Object.keys(answer)) {
    if (!(key in example))
      out.push({ at: `${at}/${key}`, what: "example:extra", text: `${at}/${key} is not in the example` });
  }
  return out;
}
