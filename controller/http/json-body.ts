/**
 * JSON request bodies. The common request (an uncompressed `application/json` body in UTF-8, with a Content-Length
 * within the limit) is read here in one pass; every other request goes to `express.json`, so each refusal (a body
 * over the limit, another charset, a compressed or chunked body, another type) keeps body-parser's rules and errors.
 * body-parser's general path (type-is, content-type, iconv, raw-body) was the largest single part of an enable's time
 * under load (docs/decisions/0164). Both paths give the same `req.body` and raise errors of the same `type`, which
 * `toHttpError` maps to one answer.
 */
import { AsyncResource } from "node:async_hooks";
import type { IncomingMessage } from "node:http";
import express, { type RequestHandler } from "express";

/** The media types read here; anything else (other parameters included) is body-parser's to judge. */
const PLAIN_JSON = /^application\/json(?:[ \t]*;[ \t]*charset=(?:utf-8|"utf-8"))?$/i;
const DIGITS = /^\d{1,15}$/;
const BOM = "\uFEFF";
const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };
/** BODY_LIMIT's form (the settings check it with this): a whole number of bytes, kilobytes or megabytes. */
export const BODY_LIMIT_FORM = /^(\d+)(b|kb|mb)$/i;

/** A body that could not be read, with body-parser's `type` and `status` so both paths fail alike. */
export class BodyReadError extends Error {
  constructor(
    readonly type: "entity.parse.failed" | "request.aborted",
    readonly status: 400,
    message: string,
  ) {
    super(message);
    this.name = "BodyReadError";
  }
}

/** `16kb` → 16384, as body-parser counts (1 kb = 1024 bytes); the settings have checked the form. */
export function bodyLimitBytes(limit: string): number {
  const m = BODY_LIMIT_FORM.exec(limit);
  if (!m) throw new TypeError(`body limit ${JSON.stringify(limit)} is not a size like 16kb`);
  return Number(m[1]) * UNITS[m[2].toLowerCase()];
}

/** What body-parser's strict JSON parser makes of a decoded body: `{}` for an empty one, else an object or array. */
export function parseStrictJson(text: string): unknown {
  const body = text.startsWith(BOM) ? text.slice(1) : text;
  if (body.length === 0) return {};
  // Any leading space JSON does not allow fails in JSON.parse below, with the same error type.
  const first = body.trimStart()[0];
  if (first !== "{" && first !== "[") {
    throw new BodyReadError("entity.parse.failed", 400, "a JSON body must be an object or an array");
  }
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new BodyReadError("entity.parse.failed", 400, (err as Error).message);
  }
}

/** Whether this request's body is read here rather than by body-parser. */
function readsDirectly(req: IncomingMessage, limitBytes: number): boolean {
  const { headers } = req;
  // A body already read (or a request already gone) would never end here; body-parser passes it on at once.
  if (!req.readable) return false;
  // Node refuses Transfer-Encoding with a Content-Length itself; this is a second guard.
  if (headers["content-encoding"] !== undefined || headers["transfer-encoding"] !== undefined) return false;
  const type = headers["content-type"];
  const length = headers["content-length"];
  return (
    type !== undefined &&
    PLAIN_JSON.test(type) &&
    length !== undefined &&
    DIGITS.test(length) &&
    Number(length) <= limitBytes
  );
}

export interface JsonBodyOptions {
  limitBytes: number;
  /** For every request not read directly; `express.json` with the same limit unless given (tests). */
  fallback?: RequestHandler;
}

/** Middleware setting `req.body` to the parsed JSON body, or leaving it undefined for a body of another type. */
export function jsonBody({ limitBytes, fallback }: JsonBodyOptions): RequestHandler {
  const others = fallback ?? express.json({ limit: limitBytes, strict: true, type: "application/json" });
  return (req, res, next) => {
    if (!readsDirectly(req, limitBytes)) {
      others(req, res, next);
      return;
    }
    // Inline listeners and a flag, not named closures removed with `off`: tsx names each named closure it creates
    // (an Object.defineProperty per request each), which showed in the profile beside the reading itself.
    const chunks: Buffer[] = [];
    let settled = false;
    // `next` runs in the request's async context, not the stream event's (as raw-body does), so request-scoped
    // AsyncLocalStorage survives the body read.
    const scope = new AsyncResource("jsonBody");
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
    });
    req.once("end", () => {
      if (settled) return;
      settled = true;
      // Node's parser has framed exactly Content-Length bytes, which is within the limit.
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString("utf8");
      // The listener stays on the request; the bytes need not.
      chunks.length = 0;
      let body: unknown;
      try {
        body = parseStrictJson(text);
      } catch (err) {
        scope.runInAsyncScope(next, null, err);
        return;
      }
      req.body = body;
      scope.runInAsyncScope(next, null);
    });
    // A request torn down before its end is destroyed with ECONNRESET "aborted".
    req.once("error", () => {
      if (settled) return;
      settled = true;
      scope.runInAsyncScope(next, null, new BodyReadError("request.aborted", 400, "request aborted"));
    });
  };
}
