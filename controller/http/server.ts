/**
 * The HTTP server an Express app is served by. Express gives every request and response its app's prototypes
 * (`Object.setPrototypeOf` in `app.handle`). On the plain `IncomingMessage` and `ServerResponse` Node builds, that
 * changes each object's shape on every request, and measured here (bench/RESULTS.md) it kept about 2 MB of every
 * young generation alive: scavenges of 2–4 ms instead of 0.5 ms, which made the slowest 1 % of requests. This server
 * builds both objects with the app's prototypes from the start, so Express's call finds nothing to change (the
 * approach of expressjs/express#5998).
 */
import * as http from "node:http";
import type { Express } from "express";

/** Node's constructors called on an object made elsewhere (they are plain functions in Node, not classes). */
type Initialiser = (this: object, ...args: unknown[]) => void;
const initRequest = http.IncomingMessage as unknown as Initialiser;
const initResponse = http.ServerResponse as unknown as Initialiser;

export function createHttpServer(app: Express): http.Server {
  // Explicit parameters rather than rest arguments: this runs twice per request. The test of this module fails
  // should a Node release make the constructors classes, which cannot be called this way.
  function AppRequest(this: object, socket: unknown): void {
    initRequest.call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: object, req: unknown, options: unknown): void {
    initResponse.call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return http.createServer(
    {
      IncomingMessage: AppRequest as unknown as typeof http.IncomingMessage,
      ServerResponse: AppResponse as unknown as typeof http.ServerResponse,
    },
    app,
  );
}
