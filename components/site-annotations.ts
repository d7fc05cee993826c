/**
 * The namespace annotations the controller writes for a site's mail, in the two site layouts. Components own this
 * list so the zone's admission policy (controller-admission-specs.ts) can allow exactly these keys and nothing else;
 * the controller's annotation layout (controller/sites/annotation-layout.ts) may import it from here, never the
 * other way round. The site's declared domain annotation is the tenant's, not the controller's: it is not listed.
 */

export type SiteLayoutKind = "namespace-per-site" | "shared-namespace";

/** One key for each part of a site's mail state. */
export interface MailAnnotationKeys {
  enabled: string;
  provider: string;
  domain: string;
  status: string;
  lastError: string;
  /** The generation of the desired state the controller recorded for a request (issue 14: survives a restart). */
  generation: string;
  /** The generation of the desired state the controller last finished applying (issue 14: survives a restart). */
  observedGeneration: string;
}

/** namespace-per-site: `<prefix>/<name>` on the site's own namespace. */
export const PER_SITE_MAIL_NAMES: Readonly<MailAnnotationKeys> = {
  enabled: "mail-enabled",
  provider: "mail-provider",
  domain: "mail-domain",
  status: "mail-status",
  lastError: "mail-last-error",
  generation: "mail-generation",
  observedGeneration: "mail-observed-generation",
};

/** shared-namespace: `<prefix>/site-<slug>-<name>` on the one shared namespace. */
export const SHARED_MAIL_NAMES: Readonly<MailAnnotationKeys> = {
  enabled: "mailEnabled",
  provider: "mailProvider",
  domain: "mailDomain",
  status: "mailStatus",
  lastError: "mailLastError",
  generation: "mailGeneration",
  observedGeneration: "mailObservedGeneration",
};

/** A site's slug: lowercase letters and digits in hyphen-separated runs (the same rule as the site stacks'). */
export const SLUG_REGEX_SOURCE = "[a-z0-9]+(-[a-z0-9]+)*";

function mapKeys(names: Readonly<MailAnnotationKeys>, key: (name: string) => string): MailAnnotationKeys {
  return {
    enabled: key(names.enabled),
    provider: key(names.provider),
    domain: key(names.domain),
    status: key(names.status),
    lastError: key(names.lastError),
    generation: key(names.generation),
    observedGeneration: key(names.observedGeneration),
  };
}

export function perSiteMailKeys(prefix: string): MailAnnotationKeys {
  return mapKeys(PER_SITE_MAIL_NAMES, (name) => `${prefix}/${name}`);
}

export function sharedMailKeys(prefix: string, slug: string): MailAnnotationKeys {
  return mapKeys(SHARED_MAIL_NAMES, (name) => `${prefix}/site-${slug}-${name}`);
}

/**
 * The controller's own keys as a rule: the fixed list (namespace-per-site), or an RE2/JS regular expression
 * matching every site's keys (shared-namespace). The prefix's dots are written `[.]`, which needs no escaping in
 * either a CEL string or a JavaScript RegExp.
 */
export type ControllerKeyRule = { kind: "exact"; keys: string[] } | { kind: "pattern"; pattern: string };

export function controllerKeyRule(layout: SiteLayoutKind, prefix: string): ControllerKeyRule {
  if (layout === "namespace-per-site") return { kind: "exact", keys: Object.values(perSiteMailKeys(prefix)) };
  const names = Object.values(SHARED_MAIL_NAMES).join("|");
  return { kind: "pattern", pattern: `^${prefix.replaceAll(".", "[.]")}/site-${SLUG_REGEX_SOURCE}-(${names})$` };
}
