/**
 * The Express app: the route table registered with its auth, body parsing and validation, one error shape for
 * everything, metrics per route. Routes stay thin; the reconciler and the mailbox service do the work.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type { MailboxService } from "../mailboxes/mailbox-service";
import type { MailcowApi } from "../mailcow/api";
import type { Reconciler } from "../reconciler/reconciler";
import { createRedactor, type Redactor, withSecrets } from "../redact";
import type { SiteDirectory } from "../sites/site";
import { bearerAuth } from "./auth";
import { type ErrorLogger, errorHandler, HttpError, validationError } from "./errors";
import { frozenJsonBytes } from "./json-answer";
import { bodyLimitBytes, jsonBody } from "./json-body";
import type { ControllerMetrics } from "./metrics";
import { buildOpenApi, openApiPath } from "./openapi";
import { buildRoutes, type RouteSpec } from "./routes";

export interface AppLogger extends ErrorLogger {
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface AppDeps {
  reconciler: Reconciler;
  mailboxes: MailboxService;
  sites: SiteDirectory;
  mailcow: MailcowApi;
  metrics: ControllerMetrics;
  tokens: readonly string[];
  /** e.g. `16kb` (BODY_LIMIT). */
  bodyLimit: string;
  redact?: Redactor;
  logger?: AppLogger;
  version?: string;
  readinessTimeoutMs?: number;
}

const ROUTE_KEY = Symbol("route");
const SECRETS_KEY = Symbol("secrets");
type TaggedRequest = Request & { [ROUTE_KEY]?: string; [SECRETS_KEY]?: string[] };

export interface ControllerApp {
  app: express.Express;
  routes: RouteSpec[];
  openapi: Record<string, unknown>;
}

export function createApp(deps: AppDeps): ControllerApp {
  const redact = deps.redact ?? createRedactor([...deps.tokens]);
  let openapi: Record<string, unknown> = {};
  const routes = buildRoutes({
    reconciler: deps.reconciler,
    mailboxes: deps.mailboxes,
    sites: deps.sites,
    mailcow: deps.mailcow,
    metrics: deps.metrics,
    openapi: () => openapi,
    readinessTimeoutMs: deps.readinessTimeoutMs,
    redact,
  });
  openapi = buildOpenApi(routes, { version: deps.version ?? "1" });

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use((req: TaggedRequest, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const route = req[ROUTE_KEY] ?? "unmatched";
      deps.metrics.countRequest(req.method, route, res.statusCode);
      const quiet = route === "/healthz" || route === "/readyz" || route === "/metrics";
      const entry = {
        method: req.method,
        route,
        status: res.statusCode,
        ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
      };
      if (quiet) deps.logger?.debug(entry, "request");
      else deps.logger?.info(entry, "request");
    });
    next();
  });

  const auth = bearerAuth(deps.tokens);
  const json = jsonBody({ limitBytes: bodyLimitBytes(deps.bodyLimit) });
  const byPath = new Map<string, RouteSpec[]>();

  for (const route of routes) {
    byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
    const tag = (req: TaggedRequest, _res: Response, next: NextFunction) => {
      req[ROUTE_KEY] = route.path;
      next();
    };
    const chain: express.RequestHandler[] = [tag];
    if (!route.public) chain.push(auth);
    if (route.body) chain.push(json, requireJson);
    chain.push(async (req: TaggedRequest, res, next) => {
      try {
        const params = route.params ? route.params.safeParse(req.params) : undefined;
        if (params && !params.success) throw validationError("params", params.error, req.params);
        let body: unknown;
        if (route.body) {
          const raw = req.body === undefined ? {} : req.body;
          req[SECRETS_KEY] = route.secretsOf?.(raw) ?? [];
          const parsed = route.body.safeParse(raw);
          if (!parsed.success) throw validationError("body", parsed.error, raw);
          body = parsed.data;
        }
        const result = await route.handle({
          params: (params?.data ?? {}) as Record<string, string>,
          body,
          req,
        });
        res.status(result.status);
        if (result.text) res.type(result.text.contentType).send(result.text.body);
        else if (result.body === undefined) res.end();
        else {
          const bytes = frozenJsonBytes(result.body);
          if (bytes) res.set("Content-Type", "application/json; charset=utf-8").send(bytes);
          else res.json(result.body);
        }
      } catch (err) {
        next(err);
      }
    });
    app[route.method](route.path, ...chain);
  }

  // A known path with another method: 405 naming the allowed ones.
  for (const [path, specs] of byPath) {
    const allowed = specs.map((s) => s.method.toUpperCase());
    if (allowed.includes("GET")) allowed.push("HEAD");
    app.all(path, (req: TaggedRequest, _res, next) => {
      req[ROUTE_KEY] = path;
      next(
        new HttpError(405, "method_not_allowed", `${req.method} is not allowed on ${openApiPath(path)}`, undefined, {
          Allow: allowed.join(", "),
        }),
      );
    });
  }

  app.use((req, _res, next) => {
    next(new HttpError(404, "route_not_found", `no route for ${req.method} ${req.path}; see /openapi.json`));
  });
  app.use(errorHandler((req: TaggedRequest) => withSecrets(redact, req[SECRETS_KEY] ?? []), deps.logger));

  return { app, routes, openapi };
}

/**
 * 415 for a body that is not JSON; an empty body (no Content-Length or 0) counts as `{}`. Runs after the JSON
 * parser, which reads only `application/json` bodies: a body it left unread has another type.
 */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const length = req.headers["content-length"];
  const hasBody = req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
  if (hasBody && req.body === undefined) {
    next(
      new HttpError(
        415,
        "unsupported_media_type",
        `expected Content-Type: application/json, got ${JSON.stringify(req.headers["content-type"] ?? "none")}`,
      ),
    );
    return;
  }
  next();
}
