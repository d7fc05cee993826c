/**
 * An HTTP stand-in for Mailcow's `/api/v1` (mailcow-notes §2, and Mailcow 2026-07a as measured in issue 12): the same
 * auth answers (401, 403 for the read-only key), 405 for a wrong method, 404 for an unknown route, HTTP 200 with
 * `danger` for business errors, `{}` for missing objects, HTTP 200 with an empty body for an uncaught PHP exception,
 * and one PHP session (cookie `MCSESSID`) per call that does not bring one back. Faults can be injected per route;
 * every request is recorded; with `checkContract` each request is also checked against Mailcow's OpenAPI description
 * and refused (HTTP 400) when it does not conform.
 */

import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type ContractViolation, OpenApiContract } from "../../contract/openapi-contract";
import { type Entry, MailcowDoubleState, UncaughtPhpError } from "./state";

export type FaultKind =
  /** HTTP 500 with an HTML page (DB down, dockerapi unreachable). */
  | "html-500"
  /** Never answers; the socket stays open until the client gives up or the double closes. */
  | "hang"
  /** Destroys the socket without an answer (the client sees ECONNRESET / socket hang up). */
  | "reset"
  /** HTTP 200 with a truncated JSON text. */
  | "malformed-json"
  /** HTTP 200 with an empty body. */
  | "empty-body"
  /** HTTP 200 `[{type:"danger", msg}]` without touching the state. */
  | "danger"
  /** A canned answer: `status`, `body`, `contentType`. */
  | "respond";

export interface FaultRule {
  kind: FaultKind;
  /** Only requests with this method (default: any). */
  method?: "GET" | "POST";
  /** Route after `/api/v1/`: a string matches as a prefix (`"add/"`, `"get/domain/a.com"`), a RegExp is tested. */
  route?: string | RegExp;
  /** How many matching requests it hits; default: every one until `faults.clear()`. */
  times?: number;
  /** Run the real handler first (the write happens), then fail the answer: a write whose reply was lost. */
  afterApply?: boolean;
  /** For `danger`: the msg array (default `["fault_injected"]`). */
  msg?: string[];
  /** For `respond`. */
  status?: number;
  body?: string;
  contentType?: string;
}

export interface RecordedRequest {
  method: string;
  /** URL path without the query, e.g. `/api/v1/get/domain/a.com`. */
  path: string;
  /** Route after `/api/v1/`, e.g. `get/domain/a.com`. */
  route: string;
  query: string;
  /** Lower-cased header names. */
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /** Which key was presented: the read-write one, the read-only one, an unknown one, or none. */
  key: "rw" | "ro" | "bad" | "none";
  /** The session the request ran in, and whether it was opened for it (no known `MCSESSID` cookie came with it). */
  session: string;
  newSession: boolean;
  /** The HTTP status sent back (undefined for hang/reset). */
  status?: number;
  /** The body sent back, as text ("" for an empty body; undefined for hang/reset). */
  response?: string;
  fault?: FaultKind;
  /** Contract problems found for this request (only with `checkContract`). */
  contract?: ContractViolation[];
}

export interface MailcowDoubleOptions {
  apiKey?: string;
  readOnlyKey?: string;
  /** `MAILCOW_HOSTNAME`; add/domain refuses this name. Default `mail.example.net`. */
  hostname?: string;
  /** Answer of `get/status/version`. Default `2026-07a`. */
  version?: string;
  /** Check every request against `../shared/reference/mailcow/openapi.yaml` and answer 400 on a violation. */
  checkContract?: boolean;
  /** One RSA key per size for every domain (fast, for benchmarks and the sandbox). Default false. */
  reuseDkimKeys?: boolean;
  /**
   * `API_ALLOW_FROM` as exact source addresses: a key presented from any other address is answered 401
   * `api access denied for ip …`. Default: every address (the key's `skip_ip_check`).
   */
  allowFrom?: readonly string[];
}

export class FaultControl {
  private rules: (FaultRule & { left: number })[] = [];

  /** Adds a fault; returns a function that removes it. */
  inject(rule: FaultRule): () => void {
    const entry = { ...rule, left: rule.times ?? Number.POSITIVE_INFINITY };
    this.rules.push(entry);
    return () => {
      this.rules = this.rules.filter((r) => r !== entry);
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The first matching fault with hits left, consuming one hit. */
  take(method: string, route: string): FaultRule | undefined {
    const rule = this.rules.find(
      (r) =>
        r.left > 0 &&
        (r.method === undefined || r.method === method) &&
        (r.route === undefined || (typeof r.route === "string" ? route.startsWith(r.route) : r.route.test(route))),
    );
    if (rule) rule.left -= 1;
    return rule;
  }
}

export interface RequestFilter {
  method?: "GET" | "POST";
  /** Route after `/api/v1/`: string = prefix, RegExp = test. */
  route?: string | RegExp;
}

export interface MailcowDouble {
  /** Base URL to give the client, e.g. `http://127.0.0.1:40123` (no `/api/v1`). */
  url: string;
  apiKey: string;
  readOnlyKey: string;
  state: MailcowDoubleState;
  /** Every request, in arrival order (a live array). */
  requests: RecordedRequest[];
  faults: FaultControl;
  /** Whether requests are being checked against the OpenAPI file (false when asked but the file is absent). */
  contractChecked: boolean;
  /** Every contract problem seen so far. */
  contractViolations: ContractViolation[];
  /** PHP sessions in Redis: id → last activity (ms). Mailcow keeps each about 3 hours (`SESSION_LIFETIME` 10800 s). */
  sessions: Map<string, number>;
  /** Number of recorded requests matching the filter. */
  count(filter?: RequestFilter): number;
  /** Forgets recorded requests and contract violations (state and faults stay). */
  clearRequests(): void;
  close(): Promise<void>;
}

const API_PREFIX = "/api/v1/";
/** Say once per process, not once per test, that the OpenAPI file is missing. */
let warnedMissingSpec = false;

function matches(req: RecordedRequest, filter: RequestFilter): boolean {
  if (filter.method && req.method !== filter.method) return false;
  if (filter.route === undefined) return true;
  return typeof filter.route === "string" ? req.route.startsWith(filter.route) : filter.route.test(req.route);
}

export async function startMailcowDouble(options: MailcowDoubleOptions = {}): Promise<MailcowDouble> {
  const apiKey = options.apiKey ?? "RW-DOUBLE-KEY-0123456789abcdef";
  const readOnlyKey = options.readOnlyKey ?? "RO-DOUBLE-KEY-0123456789abcdef";
  const state = new MailcowDoubleState({
    hostname: options.hostname ?? "mail.example.net",
    reuseDkimKeys: options.reuseDkimKeys ?? false,
  });
  const requests: RecordedRequest[] = [];
  const contractViolations: ContractViolation[] = [];
  const faults = new FaultControl();
  const sessions = new Map<string, number>();
  /**
   * `$_SESSION['return']` left behind by an uncaught exception: its handler stores a `mysql_error` entry and the
   * request dies before json_api.php unsets it, so the next write in that session answers it in front of its own
   * (measured on 2026-07a). Any other finished request clears it.
   */
  const staleReturns = new Map<string, Entry[]>();
  let contract: OpenApiContract | null = null;
  if (options.checkContract) {
    contract = OpenApiContract.load();
    if (!contract && !warnedMissingSpec) {
      warnedMissingSpec = true;
      console.warn(
        "mailcow double: checkContract asked but ../shared/reference/mailcow/openapi.yaml is absent; not checking",
      );
    }
  }
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, "text/plain", `double failed: ${String(err)}`);
      });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
    res.setHeader("Content-Type", contentType);
    res.setHeader("Content-Length", Buffer.byteLength(body));
    res.writeHead(status);
    res.end(body);
  }

  /** session_start(): reuses the session a known `MCSESSID` names, otherwise opens one and sets the cookie. */
  function startSession(req: http.IncomingMessage, res: http.ServerResponse): { id: string; fresh: boolean } {
    const presented = /(?:^|;\s*)MCSESSID=([^;\s]+)/.exec(req.headers.cookie ?? "")?.[1];
    if (presented && sessions.has(presented)) {
      sessions.set(presented, Date.now());
      return { id: presented, fresh: false };
    }
    const id = randomBytes(16).toString("hex");
    sessions.set(id, Date.now());
    res.setHeader("Set-Cookie", `MCSESSID=${id}; path=/; HttpOnly; SameSite=Lax`);
    return { id, fresh: true };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://double");
    const method = (req.method ?? "GET").toUpperCase();
    const route = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length).replace(/\/+$/, "") : "";
    // Mailcow strips characters outside [a-zA-Z0-9-] before the lookup.
    const presented = typeof req.headers["x-api-key"] === "string" ? req.headers["x-api-key"] : undefined;
    const cleaned = presented?.replace(/[^a-zA-Z0-9-]/g, "");
    const key: RecordedRequest["key"] =
      presented === undefined ? "none" : cleaned === apiKey ? "rw" : cleaned === readOnlyKey ? "ro" : "bad";
    let body: unknown;
    let bodyIsJson = false;
    if (raw !== "") {
      try {
        body = JSON.parse(raw);
        bodyIsJson = true;
      } catch {
        body = raw;
      }
    }
    const session = startSession(req, res);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      route,
      query: url.search,
      headers: { ...req.headers },
      body,
      key,
      session: session.id,
      newSession: session.fresh,
    };
    requests.push(record);
    const reply = (status: number, payload: unknown, contentType = "application/json"): void => {
      record.status = status;
      record.response = typeof payload === "string" ? payload : JSON.stringify(payload);
      send(res, status, contentType, record.response);
    };

    if (contract) {
      const result = contract.check({ method, path: url.pathname, body: bodyIsJson ? body : undefined });
      if (!result.ok) {
        record.contract = result.violations;
        contractViolations.push(...result.violations);
        reply(400, {
          type: "error",
          msg: `contract violation: ${result.violations.map((v) => v.problem).join("; ")}`,
        });
        return;
      }
    }

    const fault = faults.take(method, route);
    if (fault && !fault.afterApply) {
      record.fault = fault.kind;
      applyFault(fault, res, record);
      return;
    }

    let status: number;
    let payload: unknown;
    try {
      [status, payload] = await answer(method, route, key, req, body, bodyIsJson);
      const stale = staleReturns.get(session.id);
      staleReturns.delete(session.id);
      const write = /^(add|edit|delete)\//.test(route) && status === 200;
      if (stale && write && payload !== undefined) {
        // process_*_return echoes $_SESSION['return'] whenever it is set, instead of its generic answer.
        payload = [...stale, ...(Array.isArray(payload) ? payload : [])];
      }
    } catch (err) {
      if (!(err instanceof UncaughtPhpError)) throw err;
      [status, payload] = [200, undefined];
      const entry: Entry = {
        type: "danger",
        log: ["exception_handler"],
        msg: ["mysql_error", { errorInfo: ["42S02", 1146, err.message] }],
      };
      staleReturns.set(session.id, [...(staleReturns.get(session.id) ?? []), entry]);
    }
    if (fault) {
      record.fault = fault.kind;
      applyFault(fault, res, record);
      return;
    }
    if (payload === undefined) {
      record.status = status;
      record.response = "";
      send(res, status, "application/json", "");
    } else if (typeof payload === "string") {
      reply(status, payload, "text/html");
    } else {
      reply(status, payload);
    }
  }

  function applyFault(fault: FaultRule, res: http.ServerResponse, record: RecordedRequest): void {
    const set = (status: number, contentType: string, body: string) => {
      record.status = status;
      record.response = body;
      send(res, status, contentType, body);
    };
    switch (fault.kind) {
      case "html-500":
        set(
          500,
          "text/html",
          "<html><head><title>500 Internal Server Error</title></head><body>Connection to database failed</body></html>",
        );
        return;
      case "hang":
        return; // the socket is destroyed by the client's timeout or by close()
      case "reset":
        res.socket?.destroy();
        return;
      case "malformed-json":
        set(200, "application/json", '[{"type":"success","msg":["domain_');
        return;
      case "empty-body":
        set(200, "application/json", "");
        return;
      case "danger":
        set(200, "application/json", JSON.stringify([{ type: "danger", msg: fault.msg ?? ["fault_injected"] }]));
        return;
      case "respond":
        set(fault.status ?? 200, fault.contentType ?? "application/json", fault.body ?? "");
        return;
    }
  }

  /** Mailcow's routing (`json_api.php`): returns [status, JSON payload | undefined for an empty body]. */
  async function answer(
    method: string,
    route: string,
    key: RecordedRequest["key"],
    req: http.IncomingMessage,
    body: unknown,
    bodyIsJson: boolean,
  ): Promise<[number, unknown]> {
    const headers = req.headers;
    // Every page of the web container talks to dockerapi at start-up; unreachable, PHP dies with an HTML page.
    if (state.dockerapi === "unreachable") {
      return [500, "<html><body><b>Fatal error</b>: dockerapi unreachable</body></html>"];
    }
    if (key === "bad") return [401, { type: "error", msg: "authentication failed" }];
    const remote = req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "";
    if (key !== "none" && options.allowFrom && !options.allowFrom.includes(remote)) {
      return [401, { type: "error", msg: `api access denied for ip ${remote}` }];
    }
    const fetchDest = headers["sec-fetch-dest"];
    // json_api.php sends the 403 status and exits: no body.
    if (fetchDest !== undefined && fetchDest !== "empty") return [403, undefined];
    const [action = "", category = "", ...rest] = route.split("/");
    // `search` exists upstream but is not modelled: answered like an unknown route.
    if (!["get", "add", "edit", "delete"].includes(action)) {
      return [404, { type: "error", msg: "route not found" }];
    }
    const denied: [number, unknown] = [403, { type: "error", msg: "API read/write access denied" }];
    if (action === "get") {
      if (method !== "GET") return [405, { type: "error", msg: "only GET method is allowed" }];
      // No key and no session: json_api.php prints nothing.
      if (key === "none") return [200, undefined];
      return getRoute(category, rest);
    }
    // edit/delete refuse a caller without a session user; add lets it through to the access check (below).
    if (key === "ro" || (key === "none" && action !== "add")) return denied;
    const contentType = headers["content-type"] ?? "";
    const jsonBody = contentType.includes("application/json");
    if (jsonBody && !bodyIsJson) return [400, { type: "error", msg: "Request body doesn't contain valid json!" }];
    // The attributes are looked for before the method: a GET without a JSON body is "incomplete", not 405.
    if (!jsonBody) return [200, { type: "error", msg: "Cannot find attributes in post data" }];
    if (method !== "POST") return [405, { type: "error", msg: "only POST method is allowed" }];
    const data = (body !== null && typeof body === "object" && !Array.isArray(body) ? body : {}) as Record<
      string,
      unknown
    >;
    const envelope = (entries: Entry[], fallback: string): [number, unknown] =>
      entries.length > 0 ? [200, entries] : [200, { type: "error", msg: fallback }];
    // A delete that returned without a message (an empty list) gets the generic success.
    const deleted = (entries: Entry[]): [number, unknown] =>
      entries.length > 0 ? [200, entries] : [200, { type: "success", msg: "Task completed" }];

    if (action === "add") {
      // Without a key every add reaches the access check of its function and fails it.
      if (key === "none") return [200, [{ type: "danger", log: [category, "add"], msg: "access_denied" }]];
      if (category === "domain") return envelope(await state.addDomain(data), "Cannot add item");
      if (category === "dkim") return envelope(await state.addDkim(data), "Cannot add item");
      if (category === "mailbox") return envelope(state.addMailbox(data), "Cannot add item");
    }
    if (action === "edit") {
      const items = data.items;
      const attr = data.attr;
      if (items === undefined || attr === null || typeof attr !== "object" || Array.isArray(attr)) {
        return [200, { type: "error", msg: "Cannot find attributes in post data" }];
      }
      const attrs = attr as Record<string, unknown>;
      if (category === "domain") return envelope(state.editDomain(items, attrs), "Cannot edit item");
      if (category === "rl-domain") return envelope(state.editDomainRateLimit(items, attrs), "Cannot edit item");
    }
    if (action === "delete") {
      // The whole body is the item list; {items:[…]} becomes one item that is a list (an uncaught TypeError).
      if (category === "domain") return deleted(state.deleteDomains(body));
      if (category === "dkim") return deleted(state.deleteDkim(body));
      if (category === "mailbox") return deleted(state.deleteMailboxes(body));
    }
    return [404, { type: "error", msg: "route not found" }];
  }

  function getRoute(category: string, rest: string[]): [number, unknown] {
    const id = decodeURIComponent(rest[0] ?? "").toLowerCase();
    const listOrEmpty = (list: unknown[]): unknown => (list.length > 0 ? list : {});
    switch (category) {
      case "domain": {
        state.query("domain");
        if (id === "all") return [200, listOrEmpty([...state.domains.values()].map((d) => state.domainView(d)))];
        const d = state.domains.get(id);
        return [200, d ? state.domainView(d) : {}];
      }
      case "dkim": {
        const k = state.dkim.get(id);
        return [200, k ? state.dkimView(k) : {}];
      }
      case "rl-domain": {
        if (id === "all") {
          return [
            200,
            listOrEmpty([...state.domains.values()].filter((d) => d.rl).map((d) => ({ ...d.rl, domain: d.domain }))),
          ];
        }
        const rl = state.domains.get(id)?.rl;
        return [200, rl ? { ...rl } : {}];
      }
      case "mailbox": {
        // The mailbox listing joins the domain table.
        state.query("domain");
        if (id === "all") {
          const only = rest[1] ? decodeURIComponent(rest[1]).toLowerCase().split(",") : undefined;
          const boxes = [...state.mailboxes.values()].filter((m) => !only || only.includes(m.domain));
          return [200, listOrEmpty(boxes.map((m) => state.mailboxView(m)))];
        }
        const m = state.mailboxes.get(id);
        return [200, m ? state.mailboxView(m) : {}];
      }
      case "status":
        if (id === "version") return [200, { version: options.version ?? "2026-07a" }];
        break;
    }
    return [404, { type: "error", msg: "route not found" }];
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    readOnlyKey,
    state,
    requests,
    faults,
    contractChecked: contract !== null,
    contractViolations,
    sessions,
    count: (filter = {}) => requests.filter((r) => matches(r, filter)).length,
    clearRequests: () => {
      requests.length = 0;
      contractViolations.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
