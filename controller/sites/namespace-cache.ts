/**
 * An in-memory copy of every Namespace's metadata, kept current the way client-go's reflector (and so
 * controller-runtime's cache) does it: one list, then a watch from the list's resourceVersion. A watch that ends is
 * resumed from the last version it delivered; a 410 (that version is older than the API server's history) means list
 * again; failed lists and watches back off (capped, with jitter) and never stop trying.
 *
 * The controller's own writes go in at once from the API's answer (`observe`), so it always reads what it wrote.
 * An entry only ever moves forward: an object no newer than the one held, by resourceVersion, is ignored, whether it
 * comes from the watch, a list or a write's answer; deletions leave a tombstone so a late answer cannot bring a
 * deleted namespace back. resourceVersion is opaque by contract but a decimal etcd revision in practice; values that
 * are not decimal are taken as newer whenever they differ (last one seen wins).
 *
 * Secondary indexes (`addIndex`) map keys to namespace names, so a lookup by slug is O(1) over any number of
 * namespaces.
 */

import { CoreV1Api, type KubeConfig, Watch } from "@kubernetes/client-node";
import type { ControllerLogger } from "../logger";
import { backoffDelay } from "../reconciler/backoff";
import { errorMessage } from "../redact";
import type { NamespaceMeta } from "./annotation-layout";

/** What the cache keeps of a Namespace: its name, labels, annotations and the version they are from. */
export interface CachedNamespace extends NamespaceMeta {
  resourceVersion: string;
}

export interface NamespaceCacheOptions {
  kubeConfig: KubeConfig;
  logger?: ControllerLogger;
  /** Delay after a failed list or watch: doubles per failure from baseMs up to capMs, half of it random. */
  backoff?: { baseMs: number; capMs: number };
  /** Asked of the API server for each watch (client-go asks 5–10 min); the watch is resumed when it ends. */
  watchTimeoutSeconds?: number;
  /** How long `start()` waits for the first list (the cache keeps trying after that; reads go to the API meanwhile). */
  syncTimeoutMs?: number;
  /** `health()` reports a problem once the watch has been down this long (the cache may be missing changes). */
  staleAfterMs?: number;
  random?: () => number;
}

export const NAMESPACE_CACHE_DEFAULTS = {
  backoff: { baseMs: 200, capMs: 30_000 },
  watchTimeoutSeconds: 300,
  syncTimeoutMs: 120_000,
  staleAfterMs: 60_000,
} as const;

const NAMESPACES_PATH = "/api/v1/namespaces";
/** A watch that lived this long (or delivered an event) was healthy: resume at once, and reset the backoff. */
const HEALTHY_WATCH_MS = 5_000;
/** A watch silent for its timeout plus this is taken for a dead connection and replaced. */
const IDLE_GRACE_MS = 30_000;
/** Tombstones only guard against answers in flight; a bounded number is plenty. */
const MAX_TOMBSTONES = 1_000;

type WatchEnd =
  | { kind: "closed"; progress: boolean }
  | { kind: "expired"; progress: boolean }
  | { kind: "error"; progress: boolean; reason: string }
  | { kind: "stopped" };

interface Index {
  keysOf: (ns: NamespaceMeta) => string[];
  names: Map<string, Set<string>>;
}

export class NamespaceCache {
  private readonly items = new Map<string, CachedNamespace>();
  private readonly tombstones = new Map<string, string>();
  private readonly indexes = new Map<string, Index>();
  private readonly core: CoreV1Api;
  private readonly watcher: Watch;
  private readonly backoff: { baseMs: number; capMs: number };
  private readonly watchTimeoutSeconds: number;
  private readonly syncTimeoutMs: number;
  private readonly staleAfterMs: number;
  private readonly random: () => number;
  /** The version of the last complete list: a namespace not held and no newer than this does not exist. */
  private listedVersion = "";
  /** Where the next watch resumes. */
  private watchVersion = "";
  private needList = true;
  private synced = false;
  private readonly firstSync: Promise<void>;
  private resolveFirstSync: () => void = () => {};
  private running: Promise<void> | undefined;
  private stopped = false;
  private watchAbort: AbortController | undefined;
  private wake: (() => void) | undefined;
  /** Since when neither a list nor a watch has been working (undefined while the watch is open). */
  private downSince: number | undefined = Date.now();
  private lastProblem = "not started";

  /** For tests and logs: lists made, watches opened, 410s met, stale objects ignored. */
  readonly counters = { lists: 0, watches: 0, expired: 0, staleIgnored: 0 };

  constructor(private readonly options: NamespaceCacheOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.watcher = new Watch(options.kubeConfig);
    this.backoff = options.backoff ?? NAMESPACE_CACHE_DEFAULTS.backoff;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? NAMESPACE_CACHE_DEFAULTS.watchTimeoutSeconds;
    this.syncTimeoutMs = options.syncTimeoutMs ?? NAMESPACE_CACHE_DEFAULTS.syncTimeoutMs;
    this.staleAfterMs = options.staleAfterMs ?? NAMESPACE_CACHE_DEFAULTS.staleAfterMs;
    this.random = options.random ?? Math.random;
    this.firstSync = new Promise((resolve) => {
      this.resolveFirstSync = resolve;
    });
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** True once the first list is in: from then on the cache holds every namespace. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Starts listing and watching (once; later calls only wait). Resolves when the first list is in, or after
   * `syncTimeoutMs` with the cache still trying: starting never fails because the API is slow or down.
   */
  async start(): Promise<void> {
    if (!this.running) {
      this.stopped = false;
      this.running = this.loop();
    }
    if (this.synced) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      this.firstSync.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.syncTimeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (!waited) {
      this.options.logger?.warn(
        { waitedMs: this.syncTimeoutMs, problem: this.lastProblem },
        "namespace cache not synced yet; reading from the Kubernetes API until it is",
      );
    }
  }

  /** Stops watching; the entries stay (a later `start` resumes from where the watch was). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watchAbort?.abort();
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /**
   * Whether the cache's own watch is established (its response arrived). The API server counts a watch as open a
   * moment earlier, when the request arrives: tests that wait for the watch wait for this, not for the server's view.
   */
  get watching(): boolean {
    return this.downSince === undefined;
  }

  /** Undefined while the cache can be trusted; otherwise why not (not synced yet, or the watch down too long). */
  health(): string | undefined {
    if (!this.synced) return `not synced yet (${this.lastProblem})`;
    if (this.downSince !== undefined && Date.now() - this.downSince >= this.staleAfterMs) {
      return `watch down for ${Math.round((Date.now() - this.downSince) / 1000)} s (${this.lastProblem})`;
    }
    return undefined;
  }

  /** The resourceVersion the watch has reached. */
  get version(): string {
    return this.watchVersion;
  }

  // ---- reads ----------------------------------------------------------------------------------------------------

  get(name: string): CachedNamespace | undefined {
    return this.items.get(name);
  }

  list(): CachedNamespace[] {
    return [...this.items.values()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Adds (or replaces) an index: `keysOf` names the keys a namespace is found under. */
  addIndex(name: string, keysOf: (ns: NamespaceMeta) => string[]): void {
    const index: Index = { keysOf, names: new Map() };
    this.indexes.set(name, index);
    for (const ns of this.items.values()) indexAdd(index, ns);
  }

  byIndex(name: string, key: string): CachedNamespace[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`namespace cache has no index ${name}`);
    const names = index.names.get(key);
    if (!names) return [];
    const found: CachedNamespace[] = [];
    for (const n of names) {
      const ns = this.items.get(n);
      if (ns) found.push(ns);
    }
    return found;
  }

  // ---- writes from the controller -------------------------------------------------------------------------------

  /** Takes in a namespace read or written through the API (write-through); ignored when not newer than the held one. */
  observe(ns: CachedNamespace): boolean {
    return this.put(ns, this.synced ? this.listedVersion : undefined);
  }

  /** The API said the namespace is gone: drop it now rather than wait for the watch's DELETED. */
  forget(name: string): void {
    const held = this.items.get(name);
    if (held) this.remove(name, held.resourceVersion);
  }

  // ---- list and watch -------------------------------------------------------------------------------------------

  private async loop(): Promise<void> {
    let failures = 0;
    // What /readyz shows until the first list is in (a failure replaces it with the reason).
    if (!this.synced && this.lastProblem === "not started") this.lastProblem = "first list in progress";
    while (!this.stopped) {
      let end: WatchEnd;
      try {
        if (this.needList) await this.relist();
        if (this.stopped) break;
        end = await this.watchOnce();
      } catch (err) {
        end = { kind: "error", progress: false, reason: errorMessage(err) };
      }
      if (end.kind === "stopped") break;
      this.downSince ??= Date.now();
      if (end.kind === "expired") {
        this.counters.expired++;
        this.needList = true;
        this.lastProblem = `resourceVersion ${this.watchVersion} expired`;
        this.options.logger?.info(
          { resourceVersion: this.watchVersion },
          "namespace watch expired (410); listing again",
        );
      } else if (end.kind === "error") {
        this.lastProblem = end.reason;
      } else {
        this.lastProblem = "watch ended";
      }
      if (end.progress) {
        failures = 0;
        continue;
      }
      failures++;
      const delay = this.delayFor(failures);
      if (end.kind === "error") {
        this.options.logger?.warn(
          { err: end.reason.slice(0, 300), failures, retryInMs: delay },
          "namespace list/watch failed; retrying",
        );
      }
      await this.sleep(delay);
    }
  }

  private async relist(): Promise<void> {
    this.counters.lists++;
    const list = await this.core.listNamespace();
    const version = list.metadata?.resourceVersion ?? "";
    const present = new Set<string>();
    for (const item of list.items) {
      const ns = namespaceRecord(item);
      if (!ns) continue;
      present.add(ns.name);
      this.put(ns, undefined);
    }
    for (const [name, ns] of this.items) {
      // Gone at the list's version, unless we hold a version newer than the list (a write that overtook it).
      if (!present.has(name) && (version === "" || !isNewer(ns.resourceVersion, version))) this.remove(name);
    }
    for (const [name, deletedAt] of this.tombstones) {
      if (version !== "" && !isNewer(deletedAt, version)) this.tombstones.delete(name);
    }
    this.listedVersion = version;
    this.watchVersion = version;
    this.needList = false;
    if (!this.synced) {
      // Between the first list and the watch's answer the cache is synced but not yet watching.
      if (this.lastProblem === "not started") this.lastProblem = "watch not open yet";
      this.synced = true;
      this.resolveFirstSync();
      this.options.logger?.info({ namespaces: this.items.size, resourceVersion: version }, "namespace cache synced");
    } else {
      this.options.logger?.debug({ namespaces: this.items.size, resourceVersion: version }, "namespaces listed again");
    }
  }

  private async watchOnce(): Promise<WatchEnd> {
    this.counters.watches++;
    const started = Date.now();
    let events = 0;
    let expired = false;
    let errorEvent: string | undefined;
    let idleTimedOut = false;
    let done = false;
    let abort: AbortController | undefined;
    let finish: (err: unknown) => void = () => {};
    const ended = new Promise<unknown>((resolve) => {
      finish = resolve;
    });
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => {
          idleTimedOut = true;
          abort?.abort();
        },
        this.watchTimeoutSeconds * 1000 + IDLE_GRACE_MS,
      );
      idle.unref();
    };
    armIdle();
    try {
      abort = await this.watcher.watch(
        NAMESPACES_PATH,
        {
          resourceVersion: this.watchVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.watchTimeoutSeconds,
        },
        (type: string, object: unknown) => {
          events++;
          armIdle();
          if (type === "ERROR") {
            const status = object as { code?: unknown; message?: unknown } | null;
            if (status?.code === 410) expired = true;
            else errorEvent = `watch error event: ${String(status?.code ?? "")} ${String(status?.message ?? "")}`;
            abort?.abort();
            return;
          }
          this.onEvent(type, object);
        },
        (err: unknown) => {
          done = true;
          finish(err ?? null);
        },
      );
      this.watchAbort = abort;
      if (this.stopped) abort.abort();
      if (!done) this.downSince = undefined;
      const err = await ended;
      const progress = events > 0 || Date.now() - started >= HEALTHY_WATCH_MS;
      if (this.stopped) return { kind: "stopped" };
      if (expired || statusCodeOf(err) === 410) return { kind: "expired", progress };
      if (errorEvent) return { kind: "error", progress, reason: errorEvent };
      if (err && !idleTimedOut) return { kind: "error", progress, reason: `watch: ${errorMessage(err)}` };
      return { kind: "closed", progress };
    } finally {
      clearTimeout(idle);
      this.watchAbort = undefined;
    }
  }

  private onEvent(type: string, object: unknown): void {
    const version = versionOf(object);
    if (type === "ADDED" || type === "MODIFIED") {
      const ns = namespaceRecord(object);
      if (ns) this.put(ns, this.listedVersion);
    } else if (type === "DELETED") {
      const name = (object as { metadata?: { name?: unknown } } | null)?.metadata?.name;
      if (typeof name === "string") this.remove(name, version);
    } else if (type !== "BOOKMARK") {
      return;
    }
    if (version && (this.watchVersion === "" || isNewer(version, this.watchVersion))) this.watchVersion = version;
  }

  // ---- the store ------------------------------------------------------------------------------------------------

  /** Puts `ns` in when it is newer than what is known of its name (`floor`: the version a missing name is known at). */
  private put(ns: CachedNamespace, floor: string | undefined): boolean {
    const held = this.items.get(ns.name);
    const known = held?.resourceVersion ?? this.tombstones.get(ns.name) ?? floor;
    if (known !== undefined && known !== "" && !isNewer(ns.resourceVersion, known)) {
      if (ns.resourceVersion !== known) this.counters.staleIgnored++;
      return false;
    }
    this.items.set(ns.name, ns);
    this.tombstones.delete(ns.name);
    for (const index of this.indexes.values()) {
      if (held) indexRemove(index, held);
      indexAdd(index, ns);
    }
    return true;
  }

  /** Removes a namespace deleted at `version` (unless what is held is newer), leaving a tombstone at that version. */
  private remove(name: string, version?: string): void {
    const held = this.items.get(name);
    if (held && version && !isNewer(version, held.resourceVersion) && version !== held.resourceVersion) {
      this.counters.staleIgnored++;
      return;
    }
    if (held) {
      this.items.delete(name);
      for (const index of this.indexes.values()) indexRemove(index, held);
    }
    if (version) {
      const previous = this.tombstones.get(name);
      if (previous === undefined || isNewer(version, previous)) {
        this.tombstones.delete(name);
        this.tombstones.set(name, version);
      }
      if (this.tombstones.size > MAX_TOMBSTONES) {
        const oldest = this.tombstones.keys().next().value;
        if (oldest !== undefined) this.tombstones.delete(oldest);
      }
    }
  }

  private delayFor(failures: number): number {
    // The one backoff rule (equal jitter, capped), with no attempt limit: the cache retries without end.
    return backoffDelay(failures, { ...this.backoff, maxAttempts: Number.POSITIVE_INFINITY }, this.random);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }
}

/** The cached form of a Namespace from the API (a client object or a raw watch event's object); undefined if unnamed. */
export function namespaceRecord(object: unknown): CachedNamespace | undefined {
  const metadata = (object as { metadata?: Record<string, unknown> } | null)?.metadata;
  const name = metadata?.name;
  if (typeof name !== "string" || name === "") return undefined;
  return {
    name,
    resourceVersion: typeof metadata?.resourceVersion === "string" ? metadata.resourceVersion : "",
    labels: stringMap(metadata?.labels),
    annotations: stringMap(metadata?.annotations),
  };
}

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

function versionOf(object: unknown): string | undefined {
  const version = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof version === "string" && version !== "" ? version : undefined;
}

const DECIMAL = /^\d+$/;

/** Whether resourceVersion `a` is newer than `b`: numerically for etcd's decimal revisions, else whenever they differ. */
export function isNewer(a: string, b: string): boolean {
  if (DECIMAL.test(a) && DECIMAL.test(b)) {
    const x = a.replace(/^0+(?=\d)/, "");
    const y = b.replace(/^0+(?=\d)/, "");
    return x.length !== y.length ? x.length > y.length : x > y;
  }
  return a !== b;
}

function statusCodeOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  if (typeof e?.statusCode === "number") return e.statusCode;
  return typeof e?.code === "number" ? e.code : undefined;
}

function indexAdd(index: Index, ns: NamespaceMeta): void {
  for (const key of index.keysOf(ns)) {
    let names = index.names.get(key);
    if (!names) {
      names = new Set();
      index.names.set(key, names);
    }
    names.add(ns.name);
  }
}

function indexRemove(index: Index, ns: NamespaceMeta): void {
  for (const key of index.keysOf(ns)) {
    const names = index.names.get(key);
    if (!names) continue;
    names.delete(ns.name);
    if (names.size === 0) index.names.delete(key);
  }
}
