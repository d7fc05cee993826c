/**
 * `SiteDirectory` over namespace metadata through `@kubernetes/client-node` 1.4. Reads locate the site's namespace
 * by the layout's rules; writes are JSON merge patches of the site's mail keys only, so the controller never
 * overwrites what the platform keeps in other annotations.
 *
 * With a `NamespaceCache` (what `npm start` uses), reads come from memory once the cache has synced: a site is found
 * through the cache's slug index (O(1)), and a request whose desired state is already recorded costs no API call.
 * Writes still go to the API, and the namespace it answers with goes into the cache at once, so the controller reads
 * its own writes; a write of values the cache already shows is skipped (as a controller-runtime reconciler compares
 * with its cached object before it patches). Before the first sync, and when the cache does not hold the site (a namespace created a moment ago
 * may not have arrived by watch yet), the API is asked as without a cache.
 */
import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions, type V1Namespace } from "@kubernetes/client-node";
import type { ControllerLogger } from "../logger";
import { errorMessage, type Redactor, shortMessage } from "../redact";
import { type AnnotationLayout, mailAnnotations, type NamespaceMeta, readMailState } from "./annotation-layout";
import { type CachedNamespace, NamespaceCache, type NamespaceCacheOptions, namespaceRecord } from "./namespace-cache";
import {
  type MailState,
  type Site,
  type SiteDirectory,
  SiteNotFoundError,
  SiteStoreError,
  SlugConflictError,
} from "./site";

export interface KubernetesSiteDirectoryOptions {
  core: CoreV1Api;
  layout: AnnotationLayout;
  /** Scrubs secrets from the last error before it becomes an annotation. */
  redact: Redactor;
  /** Serves reads once synced and takes in every namespace the directory reads or writes through the API. */
  cache?: NamespaceCache;
}

/** The directory `npm start` uses: over a `NamespaceCache` of the same KubeConfig. Start the cache (`cache.start()`). */
export function cachedSiteDirectory(options: {
  kubeConfig: KubeConfig;
  layout: AnnotationLayout;
  redact: Redactor;
  logger?: ControllerLogger;
  cache?: Omit<NamespaceCacheOptions, "kubeConfig" | "logger">;
}): { sites: KubernetesSiteDirectory; cache: NamespaceCache } {
  const cache = new NamespaceCache({ ...options.cache, kubeConfig: options.kubeConfig, logger: options.logger });
  const sites = new KubernetesSiteDirectory({
    core: options.kubeConfig.makeApiClient(CoreV1Api),
    layout: options.layout,
    redact: options.redact,
    cache,
  });
  return { sites, cache };
}

const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const LAST_ERROR_MAX = 256;
const WRITE_TRUST_MS = 5000;

export class KubernetesSiteDirectory implements SiteDirectory {
  /**
   * slug → namespace name, so repeated reads skip the search. Reads verify it every time; a write trusts it for a few
   * seconds after the last verification (a request's read is followed at once by its write).
   */
  private readonly located = new Map<string, { name: string; verifiedAt: number }>();

  /** The cache index from slug to the namespaces naming it explicitly (label or domain annotation). */
  private readonly slugIndex: string;

  constructor(private readonly options: KubernetesSiteDirectoryOptions) {
    const { layout, cache } = options;
    this.slugIndex = `site-slugs/${layout.kind}/${layout.domainKey("{slug}")}`;
    cache?.addIndex(this.slugIndex, (ns) =>
      layout
        .slugsIn(ns)
        .filter((s) => s.explicit)
        .map((s) => s.slug),
    );
  }

  async find(slug: string): Promise<Site | null> {
    const ns = this.cached(slug) ?? (await this.locate(slug));
    return ns ? this.toSite(slug, ns) : null;
  }

  async patchMail(slug: string, patch: Partial<MailState>): Promise<void> {
    const recent = this.located.get(slug);
    const held = this.cached(slug);
    const name =
      held?.name ??
      (recent && Date.now() - recent.verifiedAt < WRITE_TRUST_MS ? recent.name : (await this.locate(slug))?.name);
    if (!name) throw new SiteNotFoundError(slug);
    const clean: Partial<MailState> = { ...patch };
    if (clean.lastError !== undefined)
      clean.lastError = shortMessage(clean.lastError, this.options.redact, LAST_ERROR_MAX);
    const annotations = mailAnnotations(clean, this.options.layout.mailKeys(slug));
    if (Object.keys(annotations).length === 0) return;
    // The cache holds only what the API answered: when it already shows these values, the write would change nothing.
    if (held && Object.entries(annotations).every(([key, value]) => held.annotations[key] === value)) return;
    try {
      const updated = await this.call(`patch namespace ${name}`, () =>
        this.options.core.patchNamespace({ name, body: { metadata: { annotations } } }, MERGE_PATCH),
      );
      this.remember(updated);
    } catch (err) {
      if (err instanceof SiteStoreError && err.status === 404) {
        this.located.delete(slug);
        this.options.cache?.forget(name);
        throw new SiteNotFoundError(slug);
      }
      throw err;
    }
  }

  async listSites(): Promise<Site[]> {
    const cache = this.syncedCache();
    const namespaces: NamespaceMeta[] = cache
      ? cache.list().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      : (await this.call("list namespaces", () => this.options.core.listNamespace())).items.map(meta);
    const claims = new Map<string, NamespaceMeta[]>();
    for (const ns of namespaces) {
      for (const { slug } of this.options.layout.slugsIn(ns)) claims.set(slug, [...(claims.get(slug) ?? []), ns]);
    }
    const sites: Site[] = [];
    const now = Date.now();
    for (const [slug, holders] of claims) {
      // A slug claimed twice belongs to neither: the resync leaves it alone and requests answer `slug_conflict`.
      if (holders.length !== 1) continue;
      sites.push(this.toSite(slug, holders[0]));
      this.located.set(slug, { name: holders[0].name, verifiedAt: now });
    }
    return sites;
  }

  /** The API answers, and the cache (if any) has synced and its watch is not broken. */
  async ping(): Promise<void> {
    const problem = this.options.cache?.health();
    if (problem) throw new SiteStoreError(`namespace cache: ${problem}`, true);
    await this.call("list namespaces", () => this.options.core.listNamespace({ limit: 1 }));
  }

  private syncedCache(): NamespaceCache | undefined {
    const cache = this.options.cache;
    return cache?.hasSynced ? cache : undefined;
  }

  /** The site's namespace from the synced cache, by the layout's rules: a namespace naming the slug, else the template. */
  private cached(slug: string): CachedNamespace | undefined {
    const cache = this.syncedCache();
    if (!cache) return undefined;
    const { layout } = this.options;
    const holders = new Map<string, CachedNamespace>();
    for (const ns of cache.byIndex(this.slugIndex, slug)) if (layout.holds(ns, slug)) holders.set(ns.name, ns);
    const fallback = layout.fallbackName(slug);
    const named = fallback ? cache.get(fallback) : undefined;
    if (named && layout.holds(named, slug)) holders.set(named.name, named);
    return soleHolder(slug, [...holders.values()]);
  }

  /** Hands a namespace read or written through the API to the cache. */
  private remember(ns: V1Namespace): NamespaceMeta {
    const record = namespaceRecord(ns);
    if (record) this.options.cache?.observe(record);
    return meta(ns);
  }

  private toSite(slug: string, ns: NamespaceMeta): Site {
    const { layout } = this.options;
    const domain = ns.annotations[layout.domainKey(slug)];
    return {
      slug,
      namespace: ns.name,
      domain: domain ? domain.trim().toLowerCase().replace(/\.$/, "") : null,
      mail: readMailState(ns.annotations, layout.mailKeys(slug)),
    };
  }

  private async locate(slug: string): Promise<NamespaceMeta | null> {
    const { layout, core } = this.options;
    const cached = this.located.get(slug);
    if (cached) {
      const ns = await this.read(cached.name);
      if (ns && layout.holds(ns, slug)) {
        cached.verifiedAt = Date.now();
        return ns;
      }
      this.located.delete(slug);
    }
    // Every namespace claiming the slug, so that a second claim is a conflict rather than "the first one wins".
    const holders = new Map<string, NamespaceMeta>();
    const selector = layout.selectorFor(slug);
    const fallback = layout.fallbackName(slug);
    const take = (ns: NamespaceMeta | null) => {
      if (ns && layout.holds(ns, slug)) holders.set(ns.name, ns);
    };
    if (selector) {
      const list = await this.call("list namespaces", () => core.listNamespace({ labelSelector: selector }));
      for (const item of list.items) take(this.remember(item));
    }
    if (fallback) take(await this.read(fallback));
    if (!selector && !fallback) {
      const list = await this.call("list namespaces", () => core.listNamespace());
      for (const item of list.items) take(this.remember(item));
    }
    const found = soleHolder(slug, [...holders.values()]) ?? null;
    if (found) this.located.set(slug, { name: found.name, verifiedAt: Date.now() });
    return found;
  }

  private async read(name: string): Promise<NamespaceMeta | null> {
    try {
      return this.remember(await this.options.core.readNamespace({ name }));
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw this.wrap(`read namespace ${name}`, err);
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.wrap(what, err);
    }
  }

  private wrap(what: string, err: unknown): SiteStoreError {
    const status = statusOf(err);
    const transient = status === undefined || status === 409 || status === 429 || status >= 500;
    const detail = status === undefined ? errorMessage(err) : `${status} ${statusMessage(err)}`;
    return new SiteStoreError(
      shortMessage(`Kubernetes API: ${what}: ${detail}`, this.options.redact, 512),
      transient,
      status,
    );
  }
}

/** The one namespace holding the slug; several holders are a conflict, none is `undefined`. */
function soleHolder<T extends NamespaceMeta>(slug: string, holders: T[]): T | undefined {
  if (holders.length > 1)
    throw new SlugConflictError(
      slug,
      holders.map((ns) => ns.name),
    );
  return holders[0];
}

function meta(ns: V1Namespace): NamespaceMeta {
  return {
    name: ns.metadata?.name ?? "",
    labels: ns.metadata?.labels ?? {},
    annotations: ns.metadata?.annotations ?? {},
  };
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" && code >= 100 && code < 600 ? code : undefined;
}

/** The Status object's message, not the client's multi-line dump with headers. */
function statusMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  try {
    const parsed = typeof body === "string" ? JSON.parse(body) : body;
    if (parsed && typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON
  }
  return "error";
}
