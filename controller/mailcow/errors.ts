/**
 * Typed failures of the Mailcow API. Every `MailcowApi` method rejects with a `MailcowError`, whose `kind` tells the
 * caller what to do: retry (`transient`), stop and report (`validation`, `auth`, `protocol`), or treat the object as
 * absent (`not-found`). Messages are built only from our own words and Mailcow's message keys, and pass through
 * `redact` so the API key (and any other secret the client names) can never leak into logs or status annotations.
 */

export type MailcowErrorKind =
  /** Mailcow answered with a `danger`/`error` entry (HTTP 200): bad input or a business rule. Permanent. */
  | "validation"
  /** 401 (unknown key, source IP not allowed) or 403 (read-only key, Sec-Fetch-Dest). Permanent. */
  | "auth"
  /** The route or object does not exist (HTTP 404, `domain_not_found`). */
  | "not-found"
  /** 5xx, timeouts, connection refused/reset. Worth retrying later. */
  | "transient"
  /** HTML, non-JSON, an empty body or a shape we do not understand: a proxy in the way or an API change. */
  | "protocol";

export interface MailcowErrorInit {
  kind: MailcowErrorKind;
  /** The client operation, e.g. `ensureDomain`. */
  operation: string;
  /** Human-readable detail (already free of secrets; it is redacted again anyway). */
  detail: string;
  status?: number;
  /** Mailcow's message key, e.g. `domain_exists` (or the whole `msg` when Mailcow sent a plain sentence). */
  msgKey?: string;
  /** The rest of Mailcow's `msg` array, e.g. `["a.com"]`. */
  msgArgs?: readonly string[];
  /** Node's error code for connection failures (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, …). */
  code?: string;
  /** Strings that must never appear in the message (the API key, a mailbox password). */
  secrets?: readonly string[];
}

const REDACTED = "[redacted]";

/** Replaces every occurrence of each secret (of at least 4 characters, so short strings do not blank out text). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

export class MailcowError extends Error {
  readonly kind: MailcowErrorKind;
  readonly operation: string;
  readonly status: number | undefined;
  readonly msgKey: string | undefined;
  readonly msgArgs: readonly string[];
  readonly code: string | undefined;

  constructor(init: MailcowErrorInit) {
    const secrets = init.secrets ?? [];
    const msgArgs = (init.msgArgs ?? []).map((a) => redact(a, secrets));
    const msgKey = init.msgKey === undefined ? undefined : redact(init.msgKey, secrets);
    super(redact(`mailcow ${init.operation}: ${init.detail}`, secrets));
    this.name = "MailcowError";
    this.kind = init.kind;
    this.operation = init.operation;
    this.status = init.status;
    this.msgKey = msgKey;
    this.msgArgs = msgArgs;
    this.code = init.code;
  }

  /** Whether retrying the same call later may succeed. */
  get transient(): boolean {
    return this.kind === "transient";
  }

  /** What is safe to store (status annotation, API response, log line). */
  toJSON(): {
    name: string;
    kind: MailcowErrorKind;
    operation: string;
    message: string;
    status?: number;
    msgKey?: string;
    msgArgs: readonly string[];
    code?: string;
  } {
    return {
      name: this.name,
      kind: this.kind,
      operation: this.operation,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.msgKey === undefined ? {} : { msgKey: this.msgKey }),
      msgArgs: this.msgArgs,
      ...(this.code === undefined ? {} : { code: this.code }),
    };
  }
}

export function isMailcowError(err: unknown): err is MailcowError {
  return err instanceof MailcowError;
}

/** True for failures worth retrying (Mailcow 5xx, timeouts, connection errors); false for everything else. */
export function isTransient(err: unknown): boolean {
  return err instanceof MailcowError && err.kind === "transient";
}

/** Mailcow message keys that mean "the object you named does not exist". */
const NOT_FOUND_KEYS = new Set(["domain_not_found"]);

/** The kind for a `danger`/`error` entry of an HTTP 200 answer. */
export function kindForMessageKey(msgKey: string): MailcowErrorKind {
  return NOT_FOUND_KEYS.has(msgKey) ? "not-found" : "validation";
}

/** The kind for a non-200 HTTP status. */
export function kindForStatus(status: number): MailcowErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not-found";
  if (status >= 500) return "transient";
  return "protocol";
}
