/**
 * Scrubbing of secret values from text that leaves the process: annotations, error bodies, log lines. Known secrets
 * (settings values, a request's password) are replaced verbatim; common credential shapes are masked as well, in
 * case an upstream error echoes a value the controller never saw.
 */

export type Redactor = (text: string) => string;

const REDACTED = "[redacted]";

const CREDENTIAL_PATTERNS: RegExp[] = [
  /(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /(\bx-api-key["']?\s*[:=]\s*["']?)[^\s"',;]+/gi,
  // key=value and "key":"value" shapes only (no space after the separator), so prose such as "password: too short"
  // stays readable.
  /(\b(?:password|passphrase|passwd|secret|token|api[_-]?key)["']?[:=]["']?)[^\s"',;&]+/gi,
];

/** A redactor for a fixed set of secret values (empty or very short values are ignored: they would mask noise). */
export function createRedactor(secrets: readonly string[]): Redactor {
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const value of values) out = out.split(value).join(REDACTED);
    for (const pattern of CREDENTIAL_PATTERNS) out = out.replace(pattern, `$1${REDACTED}`);
    return out;
  };
}

/** Adds request-scoped secrets (e.g. a mailbox password) to an existing redactor. */
export function withSecrets(redact: Redactor, extra: readonly string[]): Redactor {
  const more = createRedactor(extra);
  return (text) => more(redact(text));
}

/** One line, at most `max` characters, secrets removed: what fits in an annotation or a status field. */
export function shortMessage(text: string, redact: Redactor, max = 256): string {
  const oneLine = redact(text).replace(/\s+/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
