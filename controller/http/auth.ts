/**
 * Bearer-token authentication against every configured token (several, so a token can be rotated without
 * downtime). Comparison is constant-time over SHA-256 digests, so neither the token's content nor its length leaks
 * through timing, and every configured token is checked whatever matched.
 */
import { createHash, hash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { HttpError } from "./errors";

// One-shot `hash` (Node 20.12+) makes no Hash object per request; an older Node 20 takes the long way.
const digest: (value: string) => Buffer =
  typeof hash === "function"
    ? (value) => hash("sha256", value, "buffer")
    : (value) => createHash("sha256").update(value, "utf8").digest();

export function tokenMatcher(tokens: readonly string[]): (presented: string) => boolean {
  const digests = tokens.map(digest);
  return (presented) => {
    const d = digest(presented);
    let ok = false;
    for (const known of digests) ok = timingSafeEqual(d, known) || ok;
    return ok;
  };
}

export function bearerAuth(tokens: readonly string[]): RequestHandler {
  const matches = tokenMatcher(tokens);
  const challenge = { "WWW-Authenticate": 'Bearer realm="mail-zone-controller"' };
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header) : null;
    if (!m) {
      next(
        new HttpError(
          401,
          "unauthorized",
          "missing bearer token: send Authorization: Bearer <token>",
          undefined,
          challenge,
        ),
      );
      return;
    }
    if (!matches(m[1])) {
      next(new HttpError(401, "unauthorized", "the bearer token is not valid", undefined, challenge));
      return;
    }
    next();
  };
}
