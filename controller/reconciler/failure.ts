/**
 * Sorting failures into the two kinds the reconciler acts on: transient (retry with backoff) and permanent (stop at
 * `error` with the message). Adapters mark their errors; anything unrecognised counts as transient, bounded by the
 * maximum number of attempts.
 */
import { isTransient, MailcowError } from "../mailcow/errors";
import { errorMessage } from "../redact";

export interface Failure {
  transient: boolean;
  message: string;
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

export function classifyFailure(err: unknown): Failure {
  const message = errorMessage(err);
  if (err instanceof PermanentFailure) return { transient: false, message };
  // Mailcow: only 5xx, timeouts and connection errors are worth retrying; validation, auth and protocol are not.
  if (err instanceof MailcowError) return { transient: isTransient(err), message };
  const marked = err as { transient?: unknown } | null;
  // SiteStoreError and StackRunError carry the decision themselves.
  if (marked && typeof marked.transient === "boolean") return { transient: marked.transient, message };
  return { transient: true, message };
}
