/**
 * A Kubernetes API double on 127.0.0.1: the namespace paths `@kubernetes/client-node` 1.4 calls, with the real
 * wire shapes (NamespaceList, Status objects, JSON merge patch per RFC 7386, resourceVersion bumps), a request log
 * and fault injection. Enough for the controller's site directory; not a general API server.
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
  status: 409 | 500 | 503 | 429;
  /** How many matching requests fail before the fault is used up. */
  times: number;
}

export interface KubernetesDoubleOptions {
  namespaces?: NamespaceSeed[];
  /** When set, requests must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
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
  /** Adds or replaces a namespace. */
  seed(ns: NamespaceSeed): NamespaceObject;
  /** A deep copy of every namespace, for before/after comparisons. */
  snapshot(): Record<string, NamespaceObject>;
  annotations(name: string): Record<string, string>;
  close(): Promise<void>;
}

const NAMESPACE_PATH = /^\/api\/v1\/namespaces\/([^/]+)$/;
const LIST_PATH = "/api/v1/namespaces";

export async function startKubernetesDouble(options: KubernetesDoubleOptions = {}): Promise<KubernetesDouble> {
  const namespaces = new Map<string, NamespaceObject>();
  const requests: LoggedRequest[] = [];
  const faults: Fault[] = [];
  let resourceVersion = 1000;
  const nextVersion = () => String(++resourceVersion);

  function seed(s: NamespaceSeed): NamespaceObject {
    const ns: NamespaceObject = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: s.name,
        uid: randomUUID(),
        resourceVersion: nextVersion(),
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

  function takeFault(method: string, name: string | undefined): Fault | undefined {
    const i = faults.findIndex(
      (f) => (!f.method || f.method === method) && (!f.namespace || f.namespace === name) && f.times > 0,
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
        handle(entry, raw, send);
      } catch (err) {
        send(500, status(500, "InternalError", `double: ${(err as Error).message}`));
      }
    });
  });

  function handle(entry: LoggedRequest, raw: string, send: (status: number, payload: unknown) => void): void {
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
    const fault = takeFault(entry.method, name);
    if (fault) {
      const reason = fault.status === 409 ? "Conflict" : fault.status === 429 ? "TooManyRequests" : "InternalError";
      const message =
        fault.status === 409
          ? `Operation cannot be fulfilled on namespaces "${name ?? ""}": the object has been modified; please apply your changes to the latest version and try again`
          : `injected fault ${fault.status}`;
      send(fault.status, status(fault.status, reason, message, name));
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
      merged.metadata.resourceVersion = nextVersion();
      merged.metadata.uid = ns.metadata.uid;
      namespaces.set(name, merged);
      send(200, merged);
      return;
    }
    send(405, status(405, "MethodNotAllowed", `method ${entry.method} not allowed on ${entry.path}`));
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
    snapshot: () => JSON.parse(JSON.stringify(Object.fromEntries(namespaces))),
    annotations: (name) => ({ ...(namespaces.get(name)?.metadata.annotations ?? {}) }),
    close: () =>
      new Promise<void>((resolve) => {
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
