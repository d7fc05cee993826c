/**
 * Sorting failures into the two kinds the reconciler acts on: transient (retry with backoff) and permanent (stop at
 * `error` with the message). Each adapter marks its own errors with a typed reason (Mailcow's `MailcowError.kind`,
 * the site store's and the stack runner's `transient` flag); the reconciler never reads the message to decide.
 * Anything unrecognised counts as transient, bounded by the maximum number of attempts.
 */
import { isTransient, MailcowError } from "../mailcow/errors";
import { errorMessage } from "../redact";

export interface Failure {
  transient: boolean;
  message: string;
  /** Set when the failure says the site's stack lock may be stale (a crashed run, a conflict no run of ours holds). */
  staleLock: boolean;
}

/** A failure no retry can fix: a bad domain, a missing annotation, a setting that does not fit the site. */
export class PermanentFailure extends Error {
  constructor(
    message: string,
    readonly code = "permanent",
  ) {
    super(message);
    this.name = "PermanentFailure";
  }
}

/**
 * A request or run the controller refuses before changing anything: `status` is the HTTP status to answer with.
 * In a run it is permanent (the run stops at `error` with the message).
 */
export class RequestRejected extends PermanentFailure {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(message, code);
    this.name = "RequestRejected";
  }
}

export function classifyFailure(err: unknown): Failure {
  const message = errorMessage(err);
  const marked = err as { transient?: unknown; reason?: unknown } | null;
  const staleLock = marked?.reason === "stack-locked";
  if (err instanceof PermanentFailure) return { transient: false, message, staleLock };
  // Mailcow: only 5xx, timeouts and connection errors are worth retrying; validation, auth and protocol are not.
  if (err instanceof MailcowError) return { transient: isTransient(err), message, staleLock };
  // SiteStoreError and StackRunError carry the decision themselves.
  if (marked && typeof marked.transient === "boolean") return { transient: marked.transient, message, staleLock };
  return { transient: true, message, staleLock };
}
