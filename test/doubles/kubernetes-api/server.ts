/**
 * A Kubernetes API double on 127.0.0.1: the namespace paths `@kubernetes/client-node` 1.4 calls, with the real
 * wire shapes (NamespaceList, Status objects, JSON merge patch per RFC 7386, resourceVersion bumps), a request log
 * and fault injection. Enough for the controller's site directory; not a general API server.
 *
 * Watch speaks the API server's protocol: `GET /api/v1/namespaces?watch=1&resourceVersion=N` (or `watch=true`)
 * streams newline-delimited `{"type": "ADDED|MODIFIED|DELETED", "object": {...}}` events for every change after N,
 * replayed from a bounded history when N is recent; when N is older than the history, the stream carries one
 * `ERROR` event with a 410 `Expired` Status and ends, as the real API server's watch cache does (or, with
 * `expiredWatch: "status"`, the request is answered `410 Gone` outright), so the client must list again. Without
 * N (or with N = 0) the stream starts with an `ADDED` event per namespace. `timeoutSeconds` ends the stream.
 * Every change produces an event, whether it came through PATCH, `seed`, `remove` or the `namespaces` map.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface NamespaceSeed {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface NamespaceObject {
  apiVersion: "v1";
  kind: "Namespace";
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec: { finalizers: string[] };
  status: { phase: "Active" };
  [key: string]: unknown;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
  status: number;
}

export interface Fault {
  /** Only requests with this method (GET, PATCH) fail; any when absent. */
  method?: string;
  /** Only requests for this namespace fail; any when absent. */
  namespace?: string;
  /** true: only watch requests fail; false: only other requests; any when absent. */
  watch?: boolean;
  status: 409 | 500 | 503 | 429;
  /** How many matching requests fail before the fault is used up. */
  times: number;
}

export interface KubernetesDoubleOptions {
  namespaces?: NamespaceSeed[];
  /** When set, requests must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** How many events a watch can be resumed over (default 1000); older resourceVersions get 410. */
  watchHistory?: number;
  /**
   * How a watch from a too-old resourceVersion is refused: `"error-event"` (default, as the API server's watch
   * cache does it: 200, one `ERROR` event carrying a 410 Status, end of stream) or `"status"` (a `410 Gone` answer).
   */
  expiredWatch?: "error-event" | "status";
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType | string;
  object: unknown;
}

export interface WatchControl {
  /** Watch streams open right now. */
  readonly open: number;
  /** Every event recorded so far (resumable or not), oldest first. */
  readonly events: ReadonlyArray<{ resourceVersion: string; type: WatchEventType; name: string }>;
  /** Cuts every open watch connection, as a restarting API server or a broken network would; returns how many. */
  drop(): number;
  /** Forgets the event history: a watch resuming from any version before now gets 410 and must list again. */
  compact(): void;
  /** Writes a raw event to every open watch without changing any namespace (stale or malformed events, ERRORs). */
  send(event: WatchEvent): number;
}

export interface KubernetesDouble {
  url: string;
  token: string | undefined;
  /** The namespaces by name; tests may read and mutate them directly. */
  namespaces: Map<string, NamespaceObject>;
  requests: LoggedRequest[];
  faults: {
    add(fault: Fault): void;
    clear(): void;
    readonly pending: Fault[];
  };
  /** Adds or replaces a namespace (an ADDED or MODIFIED event). */
  seed(ns: NamespaceSeed): NamespaceObject;
  /** Deletes a namespace (a DELETED event); false when there was none. */
  remove(name: string): boolean;
  /** The latest resourceVersion handed out. */
  resourceVersion(): string;
  watch: WatchControl;
  /** A deep copy of every namespace, for before/after comparisons. */
  snapshot(): Record<string, NamespaceObject>;
  annotations(name: string): Record<string, string>;
  close(): Promise<void>;
}

const NAMESPACE_PATH = /^\/api\/v1\/namespaces\/([^/]+)$/;
const LIST_PATH = "/api/v1/namespaces";

interface OpenWatch {
  res: http.ServerResponse;
  selector: string;
  timer: NodeJS.Timeout | undefined;
}

export async function startKubernetesDouble(options: KubernetesDoubleOptions = {}): Promise<KubernetesDouble> {
  const requests: LoggedRequest[] = [];
  const faults: Fault[] = [];
  let resourceVersion = 1000;
  const nextVersion = () => String(++resourceVersion);

  const historyLimit = options.watchHistory ?? 1000;
  const history: Array<{ rv: number; type: WatchEventType; name: string; object: NamespaceObject }> = [];
  const allEvents: Array<{ resourceVersion: string; type: WatchEventType; name: string }> = [];
  /** Watches from a version below this cannot be resumed (the history before it is gone). */
  let resumableFrom = resourceVersion;
  const watches = new Set<OpenWatch>();

  function record(type: WatchEventType, object: NamespaceObject): void {
    const copy = JSON.parse(JSON.stringify(object)) as NamespaceObject;
    const rv = Number(copy.metadata.resourceVersion);
    history.push({ rv, type, name: copy.metadata.name, object: copy });
    allEvents.push({ resourceVersion: copy.metadata.resourceVersion, type, name: copy.metadata.name });
    while (history.length > historyLimit) resumableFrom = history.shift()?.rv ?? resumableFrom;
    for (const w of watches) deliver(w, type, copy);
  }

  function deliver(w: OpenWatch, type: string, object: NamespaceObject): void {
    if (!matchesSelector(object.metadata.labels ?? {}, w.selector)) return;
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  /**
   * The namespaces by name. Every write through the map (tests may use it directly) is a change the API server
   * would make: the object gets a new resourceVersion and watchers get the event.
   */
  class NamespaceStore extends Map<string, NamespaceObject> {
    override set(name: string, ns: NamespaceObject): this {
      const existed = super.has(name);
      ns.metadata.resourceVersion = nextVersion();
      super.set(name, ns);
      record(existed ? "MODIFIED" : "ADDED", ns);
      return this;
    }
    override delete(name: string): boolean {
      const ns = super.get(name);
      if (!ns) return false;
      super.delete(name);
      record("DELETED", { ...ns, metadata: { ...ns.metadata, resourceVersion: nextVersion() } });
      return true;
    }
    override clear(): void {
      for (const name of [...super.keys()]) this.delete(name);
    }
  }
  const namespaces = new NamespaceStore();

  function seed(s: NamespaceSeed): NamespaceObject {
    const ns: NamespaceObject = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: s.name,
        uid: namespaces.get(s.name)?.metadata.uid ?? randomUUID(),
        resourceVersion: "",
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        labels: { "kubernetes.io/metadata.name": s.name, ...s.labels },
        ...(s.annotations ? { annotations: { ...s.annotations } } : {}),
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    };
    namespaces.set(s.name, ns);
    return ns;
  }
  for (const s of options.namespaces ?? []) seed(s);

  function takeFault(method: string, name: string | undefined, watch: boolean): Fault | undefined {
    const i = faults.findIndex(
      (f) =>
        (!f.method || f.method === method) &&
        (!f.namespace || f.namespace === name) &&
        (f.watch === undefined || f.watch === watch) &&
        f.times > 0,
    );
    if (i < 0) return undefined;
    const fault = faults[i];
    fault.times -= 1;
    if (fault.times <= 0) faults.splice(i, 1);
    return fault;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://double");
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw text; the handler answers 400
      }
      const entry: LoggedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers["content-type"],
        authorization: req.headers.authorization,
        body,
        status: 0,
      };
      requests.push(entry);
      const send = (status: number, payload: unknown) => {
        entry.status = status;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      try {
        handle(entry, raw, send, res);
      } catch (err) {
        send(500, status(500, "InternalError", `double: ${(err as Error).message}`));
      }
    });
  });

  function handle(
    entry: LoggedRequest,
    raw: string,
    send: (status: number, payload: unknown) => void,
    res: http.ServerResponse,
  ): void {
    if (options.token !== undefined && entry.authorization !== `Bearer ${options.token}`) {
      send(401, status(401, "Unauthorized", "Unauthorized"));
      return;
    }
    const match = NAMESPACE_PATH.exec(entry.path);
    const name = match ? decodeURIComponent(match[1]) : undefined;
    if (entry.path !== LIST_PATH && !match) {
      send(404, status(404, "NotFound", "the server could not find the requested resource"));
      return;
    }
    const watching = entry.path === LIST_PATH && isWatch(entry.query.watch);
    const fault = takeFault(entry.method, name, watching);
    if (fault) {
      const reason = fault.status === 409 ? "Conflict" : fault.status === 429 ? "TooManyRequests" : "InternalError";
      const message =
        fault.status === 409
          ? `Operation cannot be fulfilled on namespaces "${name ?? ""}": the object has been modified; please apply your changes to the latest version and try again`
          : `injected fault ${fault.status}`;
      send(fault.status, status(fault.status, reason, message, name));
      return;
    }

    if (watching && entry.method === "GET") {
      startWatch(entry, send, res);
      return;
    }
    if (entry.path === LIST_PATH && entry.method === "GET") {
      const selector = entry.query.labelSelector ?? "";
      let items = [...namespaces.values()].filter((ns) => matchesSelector(ns.metadata.labels ?? {}, selector));
      items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      const limit = Number(entry.query.limit ?? "0");
      if (limit > 0) items = items.slice(0, limit);
      send(200, {
        kind: "NamespaceList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(resourceVersion) },
        items,
      });
      return;
    }
    if (!name) {
      send(405, status(405, "MethodNotAllowed", `method ${entry.method} not allowed on ${entry.path}`));
      return;
    }
    const ns = namespaces.get(name);
    if (entry.method === "GET") {
      if (!ns) send(404, notFound(name));
      else send(200, ns);
      return;
    }
    if (entry.method === "PATCH") {
      if (!entry.contentType?.startsWith("application/merge-patch+json")) {
        send(
          415,
          status(415, "UnsupportedMediaType", `the double only speaks merge patch, got ${entry.contentType ?? "none"}`),
        );
        return;
      }
      if (!ns) {
        send(404, notFound(name));
        return;
      }
      const patch = entry.body;
      if (typeof patch !== "object" || patch === null || Array.isArray(patch) || typeof raw !== "string") {
        send(400, status(400, "BadRequest", "the patch is not a JSON object"));
        return;
      }
      const wantVersion = (patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
      if (wantVersion !== undefined && wantVersion !== null && wantVersion !== ns.metadata.resourceVersion) {
        send(409, status(409, "Conflict", `Operation cannot be fulfilled on namespaces "${name}"`, name));
        return;
      }
      const merged = mergePatch(ns, patch) as NamespaceObject;
      if (merged.metadata?.name !== name) {
        send(400, status(400, "BadRequest", "metadata.name cannot be changed"));
        return;
      }
      merged.metadata.uid = ns.metadata.uid;
      namespaces.set(name, merged); // assigns the new resourceVersion and tells the watchers
      send(200, merged);
      return;
    }
    send(405, status(405, "MethodNotAllowed", `method ${entry.method} not allowed on ${entry.path}`));
  }

  function startWatch(
    entry: LoggedRequest,
    send: (status: number, payload: unknown) => void,
    res: http.ServerResponse,
  ) {
    const from = entry.query.resourceVersion ?? "";
    const selector = entry.query.labelSelector ?? "";
    const since = from === "" || from === "0" ? undefined : Number(from);
    if (since !== undefined && !Number.isInteger(since)) {
      send(400, status(400, "BadRequest", `invalid resourceVersion ${JSON.stringify(from)}`));
      return;
    }
    const expired = since !== undefined && since < resumableFrom;
    const expiredStatus = () => status(410, "Expired", `too old resource version: ${from} (${resumableFrom})`);
    if (expired && options.expiredWatch === "status") {
      send(410, { ...expiredStatus(), reason: "Gone" });
      return;
    }
    entry.status = 200;
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    if (expired) {
      res.end(`${JSON.stringify({ type: "ERROR", object: expiredStatus() })}\n`);
      return;
    }
    const w: OpenWatch = { res, selector, timer: undefined };
    if (since === undefined) {
      const current = [...namespaces.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      for (const ns of current) deliver(w, "ADDED", ns);
    } else {
      for (const e of history) if (e.rv > since) deliver(w, e.type, e.object);
    }
    watches.add(w);
    const timeout = Number(entry.query.timeoutSeconds ?? "0");
    if (timeout > 0) w.timer = setTimeout(() => res.end(), timeout * 1000);
    res.on("close", () => {
      clearTimeout(w.timer);
      watches.delete(w);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    namespaces,
    requests,
    faults: {
      add: (f) => faults.push({ ...f }),
      clear: () => {
        faults.length = 0;
      },
      get pending() {
        return faults;
      },
    },
    seed,
    remove: (name) => namespaces.delete(name),
    resourceVersion: () => String(resourceVersion),
    watch: {
      get open() {
        return watches.size;
      },
      events: allEvents,
      drop() {
        const n = watches.size;
        for (const w of [...watches]) {
          clearTimeout(w.timer);
          watches.delete(w);
          w.res.socket?.destroy();
        }
        return n;
      },
      compact() {
        history.length = 0;
        resumableFrom = resourceVersion;
      },
      send(event) {
        for (const w of watches) w.res.write(`${JSON.stringify(event)}\n`);
        return watches.size;
      },
    },
    snapshot: () => JSON.parse(JSON.stringify(Object.fromEntries(namespaces))),
    annotations: (name) => ({ ...(namespaces.get(name)?.metadata.annotations ?? {}) }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of watches) clearTimeout(w.timer);
        watches.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function status(code: number, reason: string, message: string, name?: string): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(name ? { details: { name, kind: "namespaces" } } : {}),
    code,
  };
}

function isWatch(value: string | undefined): boolean {
  return value === "1" || value === "true";
}

function notFound(name: string): Record<string, unknown> {
  return status(404, "NotFound", `namespaces "${name}" not found`, name);
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated (all must hold). */
export function matchesSelector(labels: Record<string, string>, selector: string): boolean {
  const terms = selector
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  for (const term of terms) {
    const notEqual = /^([^!=]+)!=(.*)$/.exec(term);
    const equal = /^([^!=]+)==?(.*)$/.exec(term);
    if (notEqual) {
      if (labels[notEqual[1].trim()] === notEqual[2].trim()) return false;
    } else if (equal) {
      if (labels[equal[1].trim()] !== equal[2].trim()) return false;
    } else if (term.startsWith("!")) {
      if (term.slice(1).trim() in labels) return false;
    } else if (!(term in labels)) return false;
  }
  return true;
}
