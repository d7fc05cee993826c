/**
 * `SiteDirectory` over namespace metadata through `@kubernetes/client-node` 1.4. Reads locate the site's namespace
 * by the layout's rules; writes are JSON merge patches of the site's mail keys only, so the controller never
 * overwrites what the platform keeps in other annotations.
 */
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Namespace } from "@kubernetes/client-node";
import { errorMessage, type Redactor, shortMessage } from "../redact";
import { type AnnotationLayout, mailAnnotations, type NamespaceMeta, readMailState } from "./annotation-layout";
import { type MailState, type Site, type SiteDirectory, SiteNotFoundError, SiteStoreError } from "./site";

export interface KubernetesSiteDirectoryOptions {
  core: CoreV1Api;
  layout: AnnotationLayout;
  /** Scrubs secrets from the last error before it becomes an annotation. */
  redact: Redactor;
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

  constructor(private readonly options: KubernetesSiteDirectoryOptions) {}

  async find(slug: string): Promise<Site | null> {
    const ns = await this.locate(slug);
    return ns ? this.toSite(slug, ns) : null;
  }

  async patchMail(slug: string, patch: Partial<MailState>): Promise<void> {
    const recent = this.located.get(slug);
    const name =
      recent && Date.now() - recent.verifiedAt < WRITE_TRUST_MS ? recent.name : (await this.locate(slug))?.name;
    if (!name) throw new SiteNotFoundError(slug);
    const clean: Partial<MailState> = { ...patch };
    if (clean.lastError !== undefined)
      clean.lastError = shortMessage(clean.lastError, this.options.redact, LAST_ERROR_MAX);
    const annotations = mailAnnotations(clean, this.options.layout.mailKeys(slug));
    if (Object.keys(annotations).length === 0) return;
    try {
      await this.call(`patch namespace ${name}`, () =>
        this.options.core.patchNamespace({ name, body: { metadata: { annotations } } }, MERGE_PATCH),
      );
    } catch (err) {
      if (err instanceof SiteStoreError && err.status === 404) {
        this.located.delete(slug);
        throw new SiteNotFoundError(slug);
      }
      throw err;
    }
  }

  async listSites(): Promise<Site[]> {
    const list = await this.call("list namespaces", () => this.options.core.listNamespace());
    const sites = new Map<string, { site: Site; explicit: boolean }>();
    for (const item of list.items) {
      const ns = meta(item);
      for (const { slug, explicit } of this.options.layout.slugsIn(ns)) {
        // A labelled namespace wins over one that only matches the name template.
        const seen = sites.get(slug);
        if (!seen || (explicit && !seen.explicit)) sites.set(slug, { site: this.toSite(slug, ns), explicit });
      }
    }
    const now = Date.now();
    for (const { site } of sites.values()) this.located.set(site.slug, { name: site.namespace, verifiedAt: now });
    return [...sites.values()].map((s) => s.site);
  }

  async ping(): Promise<void> {
    await this.call("list namespaces", () => this.options.core.listNamespace({ limit: 1 }));
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
    let found: NamespaceMeta | null = null;
    const selector = layout.selectorFor(slug);
    const fallback = layout.fallbackName(slug);
    if (selector) {
      const list = await this.call("list namespaces", () => core.listNamespace({ labelSelector: selector }));
      found = list.items.map(meta).find((ns) => layout.holds(ns, slug)) ?? null;
    }
    if (!found && fallback) {
      const ns = await this.read(fallback);
      found = ns && layout.holds(ns, slug) ? ns : null;
    }
    if (!found && !selector && !fallback) {
      const list = await this.call("list namespaces", () => core.listNamespace());
      found = list.items.map(meta).find((ns) => layout.holds(ns, slug)) ?? null;
    }
    if (found) this.located.set(slug, { name: found.name, verifiedAt: Date.now() });
    return found;
  }

  private async read(name: string): Promise<NamespaceMeta | null> {
    try {
      return meta(await this.options.core.readNamespace({ name }));
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
