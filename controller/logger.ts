/**
 * The controller's pino logger: JSON lines, auth headers and key-like fields removed by path, and every string that
 * reaches a line passed through the secret redactor as a second guard.
 */
import pino, { type Logger } from "pino";
import type { Redactor } from "./redact";

export type ControllerLogger = Logger;

const REDACT_PATHS = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "*.authorization",
  "apiKey",
  "*.apiKey",
  "password",
  "*.password",
  "token",
  "*.token",
  "tokens",
  "passphrase",
  "*.passphrase",
  '["x-api-key"]',
  '*["x-api-key"]',
];

function scrub(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, redact, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, redact, depth + 1)]));
}

export function createLogger(
  level: string,
  redact: Redactor,
  destination?: pino.DestinationStream,
  base: Record<string, unknown> = { name: "mail-zone-controller" },
): ControllerLogger {
  return pino(
    {
      level,
      base,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((a) => scrub(a, redact)) as Parameters<typeof method>;
          method.apply(this, cleaned);
        },
      },
    },
    destination,
  );
}
