/**
 * Typed failures of the Mailcow API. Every `MailcowApi` method rejects with a `MailcowError` whose `kind` says what
 * went wrong and whose `retryable` says whether the same call may succeed later. The client never retries itself:
 * the reconciler is the one retry layer and decides from `retryable` alone. Messages are built only from our own
 * words and Mailcow's message keys, and pass through `redact` so the API key (and any other secret the client names)
 * can never leak into logs or status annotations.
 */

export type MailcowErrorKind =
  /** Mailcow answered with a `danger`/`error` entry (HTTP 200): bad input or a business rule. Permanent. */
  | "validation"
  /** 401 (unknown key, source IP not allowed) or 403 (read-only key, Sec-Fetch-Dest). Permanent. */
  | "auth"
  /**
   * The object the call names does not exist: a domain `add/mailbox` was aimed at, a mailbox to delete (both found
   * out by re-reading after Mailcow's `access_denied`), or `domain_not_found`. Permanent; the API answers 404.
   */
  | "not-found"
  /** 5xx, timeouts, connection refused/reset, a database error Mailcow reported. Retryable. */
  | "transient"
  /**
   * An answer we cannot use: HTML, non-JSON, a shape we do not understand, HTTP 404/405 (a wrong base URL), an
   * untrusted certificate. Permanent, except an empty 200 body: that is an uncaught PHP exception upstream
   * (e.g. a database error), so it is retryable.
   */
  | "protocol";

/** Whether a failure of `kind` may go away by itself, when the client knows nothing more specific. */
export function retryableByDefault(kind: MailcowErrorKind): boolean {
  return kind === "transient";
}

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
  /** Overrides the kind's default (`retryableByDefault`), e.g. an empty 200 body is a retryable protocol error. */
  retryable?: boolean;
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
  /** Whether the same call may succeed later (the reconciler retries only these). */
  readonly retryable: boolean;

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
    this.retryable = init.retryable ?? retryableByDefault(init.kind);
  }

  /** Same as `retryable` (the name the reconciler's failure classification reads). */
  get transient(): boolean {
    return this.retryable;
  }

  /** What is safe to store (status annotation, API response, log line). */
  toJSON(): {
    name: string;
    kind: MailcowErrorKind;
    retryable: boolean;
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
      retryable: this.retryable,
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

/** True for Mailcow failures worth retrying (`retryable`); false for everything else. */
export function isTransient(err: unknown): boolean {
  return err instanceof MailcowError && err.retryable;
}

/** Mailcow message keys that mean "the object you named does not exist". */
const NOT_FOUND_KEYS = new Set(["domain_not_found"]);

/**
 * Keys of entries Mailcow's exception handler writes for a database failure (`prerequisites.inc.php`): not a
 * verdict on the input. They reach an answer only through a session that outlived the failed call.
 */
const TRANSIENT_KEYS = new Set(["mysql_error"]);

/** The kind for a `danger`/`error` entry of an HTTP 200 answer. */
export function kindForMessageKey(msgKey: string): MailcowErrorKind {
  if (NOT_FOUND_KEYS.has(msgKey)) return "not-found";
  // add/mailbox puts a PDOException's own message ("SQLSTATE[…]") in `msg`.
  if (TRANSIENT_KEYS.has(msgKey) || /^(SQLSTATE\[|An unknown error occured)/.test(msgKey)) return "transient";
  return "validation";
}

/**
 * The kind for a non-200 HTTP status. Mailcow answers 200 with `{}` or a `danger` entry for objects that do not
 * exist, so a 404 (`route not found`) or 405 means the client is talking to the wrong URL: a protocol error.
 */
export function kindForStatus(status: number): MailcowErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status >= 500) return "transient";
  return "protocol";
}
