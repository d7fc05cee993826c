/**
 * Where a site's data lives in namespace metadata, for the two layouts the controller supports. Pure: names and
 * keys only, no API calls.
 */
import type { SiteLayoutKind } from "../settings";
import { isValidSlug, MAIL_STATUSES, type MailState, type MailStatus } from "./site";

export interface MailKeys {
  enabled: string;
  provider: string;
  domain: string;
  status: string;
  lastError: string;
  generation: string;
  observedGeneration: string;
}

export interface NamespaceMeta {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface AnnotationLayout {
  kind: SiteLayoutKind;
  /** The annotation holding the site's domain. */
  domainKey(slug: string): string;
  mailKeys(slug: string): MailKeys;
  /** A label selector that finds the site's namespace directly, when the layout has one. */
  selectorFor(slug: string): string | undefined;
  /** The namespace name to try when no namespace carries the selector, when the layout has one. */
  fallbackName(slug: string): string | undefined;
  /** Whether this namespace holds the site. */
  holds(ns: NamespaceMeta, slug: string): boolean;
  /** Every slug a namespace holds; `explicit` when named by a label or annotation rather than the name template. */
  slugsIn(ns: NamespaceMeta): Array<{ slug: string; explicit: boolean }>;
}

export function annotationLayout(kind: SiteLayoutKind, prefix: string, namespaceTemplate: string): AnnotationLayout {
  return kind === "shared-namespace" ? sharedNamespace(prefix) : namespacePerSite(prefix, namespaceTemplate);
}

function namespacePerSite(prefix: string, template: string): AnnotationLayout {
  const slugLabel = `${prefix}/tenant-slug`;
  const [head, tail] = template.split("{slug}");
  const fromName = (name: string): string | undefined => {
    if (!name.startsWith(head) || !name.endsWith(tail ?? "")) return undefined;
    const slug = name.slice(head.length, name.length - (tail ?? "").length);
    return isValidSlug(slug) ? slug : undefined;
  };
  const keys: MailKeys = {
    enabled: `${prefix}/mail-enabled`,
    provider: `${prefix}/mail-provider`,
    domain: `${prefix}/mail-domain`,
    status: `${prefix}/mail-status`,
    lastError: `${prefix}/mail-last-error`,
    generation: `${prefix}/mail-generation`,
    observedGeneration: `${prefix}/mail-observed-generation`,
  };
  return {
    kind: "namespace-per-site",
    domainKey: () => `${prefix}/domain`,
    mailKeys: () => keys,
    selectorFor: (slug) => `${slugLabel}=${slug}`,
    fallbackName: (slug) => template.split("{slug}").join(slug),
    holds: (ns, slug) => {
      const labelled = ns.labels[slugLabel];
      return labelled !== undefined ? labelled === slug : fromName(ns.name) === slug;
    },
    slugsIn: (ns) => {
      const labelled = ns.labels[slugLabel];
      if (labelled !== undefined) return isValidSlug(labelled) ? [{ slug: labelled, explicit: true }] : [];
      const slug = fromName(ns.name);
      return slug ? [{ slug, explicit: false }] : [];
    },
  };
}

function sharedNamespace(prefix: string): AnnotationLayout {
  const key = (slug: string, prop: string) => `${prefix}/site-${slug}-${prop}`;
  const domainKeyPattern = new RegExp(`^${escapeRegExp(prefix)}/site-(.+)-domain$`);
  return {
    kind: "shared-namespace",
    domainKey: (slug) => key(slug, "domain"),
    mailKeys: (slug) => ({
      enabled: key(slug, "mailEnabled"),
      provider: key(slug, "mailProvider"),
      domain: key(slug, "mailDomain"),
      status: key(slug, "mailStatus"),
      lastError: key(slug, "mailLastError"),
      generation: key(slug, "mailGeneration"),
      observedGeneration: key(slug, "mailObservedGeneration"),
    }),
    selectorFor: () => undefined,
    fallbackName: () => undefined,
    holds: (ns, slug) => key(slug, "domain") in ns.annotations,
    slugsIn: (ns) =>
      Object.keys(ns.annotations)
        .map((k) => domainKeyPattern.exec(k)?.[1])
        .filter((s): s is string => s !== undefined && isValidSlug(s))
        .map((slug) => ({ slug, explicit: true })),
  };
}

/** Reads the mail state from annotations; unknown or missing values read as "never touched". */
export function readMailState(annotations: Record<string, string>, keys: MailKeys): MailState {
  const status = annotations[keys.status];
  return {
    enabled: annotations[keys.enabled] === "true",
    provider: annotations[keys.provider] ?? "",
    domain: annotations[keys.domain] ?? "",
    status: (MAIL_STATUSES as readonly string[]).includes(status ?? "") ? (status as MailStatus) : null,
    lastError: annotations[keys.lastError] ?? "",
    generation: counter(annotations[keys.generation]),
    observedGeneration: counter(annotations[keys.observedGeneration]),
  };
}

/** A generation annotation: a non-negative integer, else absent (a hand-edited value counts as none). */
function counter(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** The annotation values for a partial mail state (strings only, as Kubernetes stores them). */
export function mailAnnotations(patch: Partial<MailState>, keys: MailKeys): Record<string, string> {
  const out: Record<string, string> = {};
  if (patch.enabled !== undefined) out[keys.enabled] = patch.enabled ? "true" : "false";
  if (patch.provider !== undefined) out[keys.provider] = patch.provider;
  if (patch.domain !== undefined) out[keys.domain] = patch.domain;
  if (patch.status !== undefined && patch.status !== null) out[keys.status] = patch.status;
  if (patch.lastError !== undefined) out[keys.lastError] = patch.lastError;
  if (patch.generation !== undefined) out[keys.generation] = String(patch.generation);
  if (patch.observedGeneration !== undefined) out[keys.observedGeneration] = String(patch.observedGeneration);
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
