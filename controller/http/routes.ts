/**
 * The API as a table: method, path, schemas, responses and a thin handler per route. `app.ts` registers exactly
 * these with Express and `openapi.ts` describes exactly these, so the two cannot disagree.
 */
import type { Request } from "express";
import type { z } from "zod";
import type { MailboxService } from "../mailboxes/mailbox-service";
import type { MailcowApi } from "../mailcow/api";
import type { Reconciler } from "../reconciler/reconciler";
import type { Redactor } from "../redact";
import type { SiteDirectory } from "../sites/site";
import { HttpError } from "./errors";
import type { ControllerMetrics } from "./metrics";
import {
  emptyBody,
  enableBody,
  errorResponse,
  healthResponse,
  mailboxListResponse,
  mailboxParams,
  mailboxResponse,
  mailStatusResponse,
  newMailboxBody,
  purgeBody,
  readyResponse,
  siteParams,
} from "./schemas";

export type Method = "get" | "post" | "delete";

export interface RouteResult {
  status: number;
  body?: unknown;
  /** For non-JSON answers (metrics). */
  text?: { contentType: string; body: string };
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteSpec {
  method: Method;
  /** Express path, e.g. `/sites/:slug/mail/enable`. */
  path: string;
  operationId: string;
  summary: string;
  /** No bearer token needed (health and metrics). */
  public?: boolean;
  params?: z.ZodObject;
  body?: z.ZodObject;
  responses: Record<number, ResponseSpec>;
  /** Values the error messages must never show (e.g. the password of a new mailbox). */
  secretsOf?: (body: unknown) => string[];
  handle(input: { params: Record<string, string>; body: unknown; req: Request }): Promise<RouteResult>;
}

export interface RouteDeps {
  reconciler: Reconciler;
  mailboxes: MailboxService;
  sites: SiteDirectory;
  mailcow: MailcowApi;
  metrics: ControllerMetrics;
  /** The OpenAPI document, served as built (set after the table exists, since it describes the table). */
  openapi: () => unknown;
  readinessTimeoutMs?: number;
  /** Scrubs the readiness checks' failure messages: `/readyz` answers without a token. */
  redact: Redactor;
}

const err = (description: string): ResponseSpec => ({ description, schema: errorResponse });
const COMMON_ERRORS = {
  400: err("Invalid slug, parameter or body (the message names the field)."),
  401: err("Missing or wrong bearer token."),
  404: err("No such site."),
  409: err(
    "The site's domain belongs to another site or was not created by the controller, the controller's mail-domain " +
      "annotation names another domain than the site's, or two namespaces claim the slug.",
  ),
  415: err("The body is not JSON."),
  503: err("Mailcow or the Kubernetes API is unavailable, or the controller is shutting down."),
};
const OWNERSHIP = COMMON_ERRORS[409].description;

export function buildRoutes(deps: RouteDeps): RouteSpec[] {
  const { reconciler, mailboxes } = deps;
  return [
    {
      method: "post",
      path: "/sites/:slug/mail/enable",
      operationId: "enableMail",
      summary: "Turn mail on for a site (asynchronous: poll the status).",
      params: siteParams,
      body: enableBody,
      responses: {
        202: {
          description: "Accepted; the desired state is recorded and a run is queued.",
          schema: mailStatusResponse,
        },
        ...COMMON_ERRORS,
        409: err(`The domain is not the site's, the site has no domain, or the domain is not allowed. ${OWNERSHIP}`),
        413: err("The body is too large."),
      },
      handle: async ({ params, body }) => ({
        status: 202,
        body: await reconciler.requestEnable(params.slug, body as z.infer<typeof enableBody>),
      }),
    },
    {
      method: "post",
      path: "/sites/:slug/mail/disable",
      operationId: "disableMail",
      summary: "Turn mail off for a site: DNS records removed, Mailcow domain inactive, mailboxes kept.",
      params: siteParams,
      body: emptyBody,
      responses: {
        202: { description: "Accepted; a run is queued.", schema: mailStatusResponse },
        ...COMMON_ERRORS,
        413: err("The body is too large."),
      },
      handle: async ({ params }) => ({ status: 202, body: await reconciler.requestDisable(params.slug) }),
    },
    {
      method: "get",
      path: "/sites/:slug/mail/status",
      operationId: "getMailStatus",
      summary: "The site's mail state, DNS records and the current run's progress.",
      params: siteParams,
      responses: { 200: { description: "The status.", schema: mailStatusResponse }, ...COMMON_ERRORS },
      handle: async ({ params }) => ({ status: 200, body: await reconciler.status(params.slug) }),
    },
    {
      method: "get",
      path: "/sites/:slug/mail/mailboxes",
      operationId: "listMailboxes",
      summary: "The site's mailboxes.",
      params: siteParams,
      responses: { 200: { description: "The mailboxes.", schema: mailboxListResponse }, ...COMMON_ERRORS },
      handle: async ({ params }) => ({ status: 200, body: { mailboxes: await mailboxes.list(params.slug) } }),
    },
    {
      method: "post",
      path: "/sites/:slug/mail/mailboxes",
      operationId: "addMailbox",
      summary: "Add a mailbox to the site's mail domain (mail must be ready).",
      params: siteParams,
      body: newMailboxBody,
      secretsOf: (body) => {
        const pw = (body as { password?: unknown } | null)?.password;
        return typeof pw === "string" ? [pw] : [];
      },
      responses: {
        201: { description: "Created (the password is never echoed).", schema: mailboxResponse },
        ...COMMON_ERRORS,
        409: err(`Mail is not enabled or not ready, or the mailbox exists. ${OWNERSHIP}`),
        413: err("The body is too large."),
        422: err("Mailcow refused the mailbox (e.g. password policy, quota)."),
      },
      handle: async ({ params, body }) => ({
        status: 201,
        body: await mailboxes.add(params.slug, body as z.infer<typeof newMailboxBody>),
      }),
    },
    {
      method: "delete",
      path: "/sites/:slug/mail/mailboxes/:localPart",
      operationId: "deleteMailbox",
      summary: "Delete one mailbox and its mail.",
      params: mailboxParams,
      responses: {
        204: { description: "Deleted." },
        ...COMMON_ERRORS,
        404: err("No such site or mailbox."),
      },
      handle: async ({ params }) => {
        await mailboxes.remove(params.slug, params.localPart);
        return { status: 204 };
      },
    },
    {
      method: "post",
      path: "/sites/:slug/mail/purge",
      operationId: "purgeMail",
      summary: "Delete the site's mail for good: every mailbox, the Mailcow domain, its DKIM key and DNS stack.",
      params: siteParams,
      body: purgeBody,
      responses: {
        202: { description: "Accepted; a purge run is queued.", schema: mailStatusResponse },
        ...COMMON_ERRORS,
        413: err("The body is too large."),
      },
      handle: async ({ params, body }) => {
        const { confirm } = body as z.infer<typeof purgeBody>;
        if (confirm !== params.slug) {
          throw new HttpError(
            400,
            "confirmation_mismatch",
            `confirm ${JSON.stringify(confirm)}: must repeat the slug ${JSON.stringify(params.slug)} to purge its mail`,
          );
        }
        return { status: 202, body: await reconciler.requestPurge(params.slug) };
      },
    },
    {
      method: "get",
      path: "/healthz",
      operationId: "health",
      summary: "Liveness: the process answers.",
      public: true,
      responses: { 200: { description: "Alive.", schema: healthResponse } },
      handle: async () => ({ status: 200, body: { status: "ok" } }),
    },
    {
      method: "get",
      path: "/readyz",
      operationId: "ready",
      summary: "Readiness: the Kubernetes API and Mailcow answer, and the controller accepts requests.",
      public: true,
      responses: {
        200: { description: "Ready.", schema: readyResponse },
        503: { description: "Not ready; `checks` says which dependency failed.", schema: readyResponse },
      },
      handle: async () => readiness(deps),
    },
    {
      method: "get",
      path: "/metrics",
      operationId: "metrics",
      summary: "Prometheus metrics.",
      public: true,
      responses: { 200: { description: "Prometheus text format.", contentType: "text/plain" } },
      handle: async () => ({ status: 200, text: await deps.metrics.render() }),
    },
    {
      method: "get",
      path: "/openapi.json",
      operationId: "openapi",
      summary: "This API's OpenAPI 3.1 description.",
      responses: {
        200: { description: "The OpenAPI document.", contentType: "application/json" },
        401: COMMON_ERRORS[401],
      },
      handle: async () => ({ status: 200, body: deps.openapi() }),
    },
  ];
}

async function readiness(deps: RouteDeps): Promise<RouteResult> {
  const timeout = deps.readinessTimeoutMs ?? 3000;
  const check = async (fn: () => Promise<void>): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
        }),
      ]);
      return "ok";
    } catch (e) {
      return deps.redact(e instanceof Error ? e.message : String(e));
    } finally {
      clearTimeout(timer);
    }
  };
  const [kubernetes, mailcow] = await Promise.all([check(() => deps.sites.ping()), check(() => deps.mailcow.ping())]);
  const checks: Record<string, string> = {
    kubernetes,
    mailcow,
    accepting: deps.reconciler.isAccepting() ? "ok" : "shutting down",
  };
  const ready = Object.values(checks).every((v) => v === "ok");
  return { status: ready ? 200 : 503, body: { status: ready ? "ready" : "not-ready", checks } };
}
