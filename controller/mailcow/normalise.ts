/**
 * Pure functions that turn Mailcow's loosely typed answers into the typed values of `api.ts`. No I/O here: the
 * client feeds raw bodies in and turns a `ShapeError` into a `protocol` MailcowError.
 *
 * What they paper over (mailcow-notes §2.1): write answers are an array of `{type, msg, log}` entries, or a single
 * such object; a failure is any `danger`/`error` entry even with HTTP 200; GETs answer `{}` (or `[]`, or an empty
 * body) for "nothing"; numbers come as int or string; domain quotas come in bytes.
 */
import type { DkimKey, DomainLimits, Mailbox, MailcowDomain, RateLimit } from "./api";
import { redact } from "./errors";
import { ownerFromDescription } from "./ownership";

/** Mailcow answered with something whose shape we do not understand. */
export class ShapeError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${field}: expected ${expected}, got ${describe(got)}`);
    this.name = "ShapeError";
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "object") return "an object";
  return String(value);
}

export type MessageType = "success" | "danger" | "error" | "warning" | "info";

export interface MailcowMessage {
  type: MessageType;
  /** First element of `msg` (a translation key such as `domain_added`), or the whole `msg` when it is a sentence. */
  key: string;
  /** The rest of `msg`, as strings. */
  args: string[];
}

export type WriteOutcome =
  | { ok: true; messages: MailcowMessage[]; warnings: MailcowMessage[] }
  | { ok: false; failure: MailcowMessage; messages: MailcowMessage[] };

const MESSAGE_TYPES = new Set<MessageType>(["success", "danger", "error", "warning", "info"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function argToString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? "";
}

/** `msg` is `"key"` or `["key", arg…]`; args can be numbers, or occasionally objects. */
export function parseMsg(msg: unknown): { key: string; args: string[] } {
  if (typeof msg === "string") return { key: msg, args: [] };
  if (Array.isArray(msg) && msg.length > 0) {
    return { key: argToString(msg[0]), args: msg.slice(1).map(argToString) };
  }
  if (msg === undefined || msg === null || (Array.isArray(msg) && msg.length === 0)) return { key: "", args: [] };
  throw new ShapeError("msg", "a string or an array", msg);
}

/** A write answer (`add|edit|delete`): object → array of entries, each checked. */
export function normaliseEnvelope(body: unknown): MailcowMessage[] {
  const entries = Array.isArray(body) ? body : [body];
  if (entries.length === 0) throw new ShapeError("response", "at least one entry", body);
  return entries.map((entry, i) => {
    if (!isRecord(entry)) throw new ShapeError(`response[${i}]`, "an object with type and msg", entry);
    const type = entry.type;
    if (typeof type !== "string" || !MESSAGE_TYPES.has(type as MessageType)) {
      throw new ShapeError(`response[${i}].type`, "success, danger, error, warning or info", type);
    }
    return { type: type as MessageType, ...parseMsg(entry.msg) };
  });
}

/** Success means no `danger`/`error` entry; warnings are kept so the caller can log or surface them. */
export function writeOutcome(body: unknown): WriteOutcome {
  const messages = normaliseEnvelope(body);
  const failure = messages.find((m) => m.type === "danger" || m.type === "error");
  if (failure) return { ok: false, failure, messages };
  return { ok: true, messages, warnings: messages.filter((m) => m.type === "warning") };
}

/** `{}`, `[]`, `null`, `false` and an absent (empty) body all mean "nothing there" for a GET. */
export function isEmptyGet(body: unknown): boolean {
  if (body === undefined || body === null || body === false || body === "") return true;
  if (Array.isArray(body)) return body.length === 0;
  return isRecord(body) && Object.keys(body).length === 0;
}

export type ParsedBody = { kind: "empty" } | { kind: "json"; value: unknown } | { kind: "not-json"; snippet: string };

/**
 * Parses a response body; an HTML error page or a truncated JSON text becomes `not-json` with a short snippet.
 * Secrets are removed before the snippet is cut, so a cut can never leave part of one behind.
 */
export function parseBody(text: string, secrets: readonly string[] = []): ParsedBody {
  if (text.trim() === "") return { kind: "empty" };
  try {
    return { kind: "json", value: JSON.parse(text) };
  } catch {
    return { kind: "not-json", snippet: snippet(redact(text, secrets)) };
  }
}

/** First characters of a body, tags dropped and whitespace collapsed, for error messages. */
export function snippet(text: string, max = 80): string {
  const flat = text
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** number | numeric string → number. */
export function toNumber(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  throw new ShapeError(field, "a number or a numeric string", value);
}

/** 1 | "1" | true → true; 0 | "0" | false → false. */
export function toBool(value: unknown, field: string): boolean {
  if (value === 1 || value === "1" || value === true) return true;
  if (value === 0 || value === "0" || value === false) return false;
  throw new ShapeError(field, "0 or 1", value);
}

function toText(value: unknown, field: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  throw new ShapeError(field, "a string", value);
}

const MIB = 1024 * 1024;

/** Mailcow reports domain and mailbox quotas in bytes; we speak MiB like its write endpoints. */
export function bytesToMiB(bytes: number): number {
  return Math.round(bytes / MIB);
}

const FRAMES = new Set<RateLimit["frame"]>(["s", "m", "h", "d"]);

/** `rl` is `false` (no limit) or `{value, frame}` with value as a string. */
export function rateLimitFromApi(raw: unknown, field = "rl"): RateLimit | null {
  if (raw === false || raw === null || raw === undefined || isEmptyGet(raw)) return null;
  if (!isRecord(raw)) throw new ShapeError(field, "false or {value, frame}", raw);
  const value = toNumber(raw.value, `${field}.value`);
  const frame = raw.frame;
  if (typeof frame !== "string" || !FRAMES.has(frame as RateLimit["frame"])) {
    throw new ShapeError(`${field}.frame`, "one of s, m, h, d", frame);
  }
  return value === 0 ? null : { value, frame: frame as RateLimit["frame"] };
}

/** One entry of `get/domain/{id}`. */
export function domainFromApi(raw: unknown): MailcowDomain {
  if (!isRecord(raw)) throw new ShapeError("domain", "an object", raw);
  const name = toText(raw.domain_name, "domain_name").toLowerCase();
  // Some releases render `active` for the UI; `active_int` is the raw column when present.
  const active = toBool(raw.active_int ?? raw.active, "active");
  const limits: DomainLimits = {
    description: typeof raw.description === "string" ? raw.description : "",
    aliases: toNumber(raw.max_num_aliases_for_domain, "max_num_aliases_for_domain"),
    mailboxes: toNumber(raw.max_num_mboxes_for_domain, "max_num_mboxes_for_domain"),
    defquotaMb: bytesToMiB(toNumber(raw.def_quota_for_mbox, "def_quota_for_mbox")),
    maxquotaMb: bytesToMiB(toNumber(raw.max_quota_for_mbox, "max_quota_for_mbox")),
    quotaMb: bytesToMiB(toNumber(raw.max_quota_for_domain, "max_quota_for_domain")),
  };
  return {
    name,
    active,
    mailboxCount: toNumber(raw.mboxes_in_domain ?? 0, "mboxes_in_domain"),
    limits,
    rateLimit: rateLimitFromApi(raw.rl),
    owner: ownerFromDescription(limits.description),
  };
}

/** `get/dkim/{domain}`: `{pubkey, length, dkim_txt, dkim_selector, privkey}`; `length` may read `">= 8192"`. */
export function dkimFromApi(raw: unknown): DkimKey {
  if (!isRecord(raw)) throw new ShapeError("dkim", "an object", raw);
  const txt = toText(raw.dkim_txt, "dkim_txt");
  if (!/^v=DKIM1;/i.test(txt) || !/p=[A-Za-z0-9+/=]+/.test(txt)) {
    throw new ShapeError("dkim_txt", "a DKIM record v=DKIM1;…;p=<key>", txt);
  }
  const selector = toText(raw.dkim_selector, "dkim_selector");
  if (selector === "") throw new ShapeError("dkim_selector", "a non-empty selector", selector);
  const lengthText = toText(raw.length, "length");
  const digits = /\d+/.exec(lengthText);
  if (!digits) throw new ShapeError("length", "a key length in bits", raw.length);
  return { selector, txt, length: Number(digits[0]) };
}

/** One entry of `get/mailbox/…`; quota in bytes (0 = unlimited). */
export function mailboxFromApi(raw: unknown): Mailbox {
  if (!isRecord(raw)) throw new ShapeError("mailbox", "an object", raw);
  const username = toText(raw.username, "username").toLowerCase();
  const at = username.lastIndexOf("@");
  const localPart = typeof raw.local_part === "string" ? raw.local_part : username.slice(0, Math.max(at, 0));
  const domain = (typeof raw.domain === "string" ? raw.domain : username.slice(at + 1)).toLowerCase();
  return {
    username,
    localPart,
    domain,
    name: typeof raw.name === "string" ? raw.name : "",
    active: toBool(raw.active_int ?? raw.active, "active"),
    quotaMb: bytesToMiB(toNumber(raw.quota ?? 0, "quota")),
  };
}

/** A GET that may answer one object, an array, or "nothing" → always an array. */
export function toList(body: unknown): unknown[] {
  if (isEmptyGet(body)) return [];
  return Array.isArray(body) ? body : [body];
}
