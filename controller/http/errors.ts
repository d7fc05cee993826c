/**
 * Every failure becomes `{"error": {"code", "message"}}` with a fitting status. Bad input is always a 4xx; a 5xx
 * means something behind the controller failed (Mailcow, the Kubernetes API) or a bug, never the caller's input.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { z } from "zod";
import { MailcowError } from "../mailcow/errors";
import { RequestRejected } from "../reconciler/reconciler";
import { errorMessage, type Redactor, shortMessage } from "../redact";
import { SiteNotFoundError, SiteStoreError, SlugConflictError } from "../sites/site";

export interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ path: string; message: string }> };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Array<{ path: string; message: string }>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A zod failure on `what` (params, body) as a 400 naming each field, the value given and what is expected. */
export function validationError(what: "params" | "body", error: z.ZodError, input: unknown): HttpError {
  const details = error.issues.map((issue) => {
    const path = issue.path.map(String).join(".") || what;
    return { path, message: issue.message };
  });
  const first = error.issues[0];
  const firstPath = first?.path.map(String).join(".") ?? "";
  const code =
    what === "params" ? (firstPath === "slug" ? "invalid_slug" : `invalid_${firstPath || "params"}`) : "invalid_body";
  const shown = describeValue(valueAt(input, first?.path ?? []), firstPath === "password");
  const message =
    first?.code === "unrecognized_keys"
      ? `${what}: unknown field(s) ${first.keys.map((k) => JSON.stringify(k)).join(", ")}; expected only ${expectedKeys(what)}`
      : `${firstPath || what}${shown}: ${first?.message ?? "invalid"}`;
  return new HttpError(400, code, message, details);
}

function expectedKeys(what: string): string {
  return what === "body" ? "the documented fields (see /openapi.json)" : "the documented parameters";
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let cur = input;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describeValue(value: unknown, secret: boolean): string {
  if (value === undefined) return " (missing)";
  if (secret) return "";
  const text = JSON.stringify(value) ?? String(value);
  return ` ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

/** Maps anything thrown by a route to an HttpError. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof RequestRejected) return new HttpError(err.status, err.code, err.message);
  if (err instanceof SiteNotFoundError) {
    return new HttpError(404, "site_not_found", `site ${JSON.stringify(err.slug)} does not exist`);
  }
  if (err instanceof SlugConflictError) return new HttpError(409, "slug_conflict", err.message);
  if (err instanceof MailcowError) return mailcowHttpError(err);
  if (err instanceof SiteStoreError) {
    return new HttpError(503, "kubernetes_unavailable", err.message, undefined, { "Retry-After": "5" });
  }
  const parserError = bodyParserError(err);
  if (parserError) return parserError;
  // The router's decodeURIComponent of a path parameter (e.g. `/sites/%E0%A4%A/...`).
  if (err instanceof URIError) {
    return new HttpError(400, "invalid_path", "the path is not valid percent-encoding");
  }
  // zlib failing on a body whose Content-Encoding claims a compression it does not have.
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (code.startsWith("Z_") || /^ERR_.*(?:BROTLI|_ERROR_FORMAT)/.test(code))) {
    return new HttpError(400, "invalid_body_encoding", "the body does not match its Content-Encoding");
  }
  // Anything else that already says it is the client's fault stays a 4xx.
  const status =
    (err as { status?: unknown; statusCode?: unknown } | null)?.status ??
    (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new HttpError(status, "bad_request", "the request could not be read");
  }
  return new HttpError(500, "internal", "internal error; the controller log has the details");
}

function mailcowHttpError(err: MailcowError): HttpError {
  switch (err.kind) {
    case "validation":
      if (err.msgKey === "object_exists") return new HttpError(409, "mailbox_exists", err.message);
      return new HttpError(422, "mailcow_rejected", err.message);
    case "not-found":
      return new HttpError(404, "mailcow_not_found", err.message);
    case "transient":
      return new HttpError(503, "mailcow_unavailable", err.message, undefined, { "Retry-After": "5" });
    case "auth":
      return new HttpError(502, "mailcow_auth_failed", err.message);
    default:
      return new HttpError(502, "mailcow_protocol_error", err.message);
  }
}

/** body-parser's errors carry `type` and `status`; they are all the caller's doing. */
function bodyParserError(err: unknown): HttpError | undefined {
  const e = err as { type?: unknown; status?: unknown } | null;
  if (!e || typeof e.type !== "string") return undefined;
  switch (e.type) {
    case "entity.parse.failed":
      return new HttpError(400, "malformed_json", "the body is not valid JSON");
    case "entity.too.large":
      return new HttpError(413, "body_too_large", "the body is larger than the configured limit (BODY_LIMIT)");
    case "charset.unsupported":
      return new HttpError(415, "unsupported_charset", "expected a UTF-8 JSON body");
    case "encoding.unsupported":
      return new HttpError(415, "unsupported_encoding", "expected an uncompressed (identity) body");
    case "request.aborted":
      return new HttpError(400, "request_aborted", "the request was aborted while its body was read");
    case "request.size.invalid":
      return new HttpError(400, "request_size_invalid", "the body did not match its Content-Length");
    case "stream.encoding.set":
    case "stream.not.readable":
      return new HttpError(400, "unreadable_body", "the body could not be read");
    default:
      return typeof e.status === "number" && e.status >= 400 && e.status < 500
        ? new HttpError(e.status, "bad_request", "the request could not be read")
        : undefined;
  }
}

export function errorBody(err: HttpError, redact: Redactor): ErrorBody {
  return {
    error: {
      code: err.code,
      message: shortMessage(err.message, redact, 1024),
      ...(err.details
        ? { details: err.details.map((d) => ({ ...d, message: shortMessage(d.message, redact, 512) })) }
        : {}),
    },
  };
}

export interface ErrorLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The last handler: answers every error in the one shape, logs server-side failures. */
export function errorHandler(
  redact: (req: Parameters<RequestHandler>[0]) => Redactor,
  logger?: ErrorLogger,
): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const httpError = toHttpError(err);
    const r = redact(req);
    if (httpError.status >= 500) {
      logger?.error(
        {
          method: req.method,
          path: req.path,
          status: httpError.status,
          code: httpError.code,
          err: r(errorMessage(err)),
        },
        "request failed",
      );
    }
    for (const [k, v] of Object.entries(httpError.headers)) res.setHeader(k, v);
    res.status(httpError.status).json(errorBody(httpError, r));
  };
}
