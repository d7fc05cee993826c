/**
 * From a site and the controller's DNS settings to the per-site stack's input and config (`stacks/site-config.ts`
 * owns the schema and the key names). Also the domain checks the controller applies before it touches Mailcow, so a
 * bad domain stops at once, with the same words the stack would use.
 */
import {
  assertAllowedSuffix,
  assertNotMailHost,
  DomainValidationError,
  normaliseDomain,
} from "../../components/domain-name";
import type { MailDnsRecord } from "../../components/site-records";
import {
  parseSiteInput,
  recordsForSite,
  SiteConfigError,
  type SiteInput,
  type SiteInputRaw,
  siteStackConfig,
} from "../../stacks/site-config";
import { PermanentFailure } from "../reconciler/failure";
import type { Settings, SiteWebTlsSetting } from "../settings";
import type { StackConfig } from "./stack-runner";

/** What every site's stack shares: the controller's DNS settings and the mail host. */
export interface SiteDnsDefaults {
  provider: "cloudflare" | "manual";
  mailHost: string;
  allowedSuffixes: string[];
  spfInclude?: string;
  dmarcPolicy: "none" | "quarantine" | "reject";
  dmarcRua?: string | false;
  tlsRptRua?: string | false;
  mtaStsMode?: "enforce" | "testing" | "none";
  pop3: boolean;
  ttl: number;
  cloudflareAccountId?: string;
  /** Per-site web certificates (`SITE_WEB_TLS_*`); absent: off. */
  webTls?: SiteWebTlsSetting;
}

export function siteDnsDefaults(settings: Settings): SiteDnsDefaults {
  const { dns } = settings;
  return {
    provider: dns.provider,
    mailHost: settings.mailcow.hostname ?? "",
    allowedSuffixes: dns.allowedSuffixes,
    spfInclude: dns.spfInclude,
    dmarcPolicy: dns.dmarcPolicy,
    dmarcRua: dns.dmarcRua,
    tlsRptRua: dns.tlsRptRua,
    mtaStsMode: dns.mtaStsMode,
    pop3: dns.pop3,
    ttl: dns.ttl,
    cloudflareAccountId: dns.cloudflareAccountId,
    ...(settings.siteWebTls ? { webTls: settings.siteWebTls } : {}),
  };
}

export interface SiteStackRequest {
  slug: string;
  domain: string;
  enabled: boolean;
  dkim?: { selector: string; txt: string };
}

/** Builds and validates the site's stack input; a `SiteConfigError` becomes a permanent failure. */
export function siteInputFor(request: SiteStackRequest, defaults: SiteDnsDefaults): SiteInput {
  const raw: SiteInputRaw = {
    slug: request.slug,
    domain: request.domain,
    mailHost: defaults.mailHost,
    enabled: request.enabled,
    dnsProvider: defaults.provider,
    ...(request.dkim ? { dkim: request.dkim } : {}),
    ...(defaults.spfInclude ? { spfInclude: defaults.spfInclude } : {}),
    dmarc: {
      policy: defaults.dmarcPolicy,
      ...(defaults.dmarcRua !== undefined ? { rua: defaults.dmarcRua } : {}),
    },
    pop3: defaults.pop3,
    ...(defaults.mtaStsMode ? { mtaSts: { mode: defaults.mtaStsMode } } : {}),
    ...(defaults.tlsRptRua !== undefined ? { tlsRptRua: defaults.tlsRptRua } : {}),
    ...(defaults.cloudflareAccountId ? { cloudflare: { accountId: defaults.cloudflareAccountId } } : {}),
    allowedSuffixes: defaults.allowedSuffixes,
    ttl: defaults.ttl,
    ...(defaults.webTls
      ? {
          webTls: {
            namespace: defaults.webTls.namespace,
            issuer: { ...defaults.webTls.issuer },
            entrypoint: defaults.webTls.entrypoint,
          },
        }
      : {}),
  };
  try {
    return parseSiteInput(raw);
  } catch (err) {
    if (err instanceof SiteConfigError) {
      throw new PermanentFailure(err.issues.map((i) => i.message).join("; "), "invalid_site_config");
    }
    throw err;
  }
}

/** The stack config (`mail-sites:*` keys) for a site. */
export function siteStackConfigFor(request: SiteStackRequest, defaults: SiteDnsDefaults): StackConfig {
  return siteStackConfig(siteInputFor(request, defaults));
}

/** The records the site publishes when enabled with this DKIM key (for the status, without a stack run). */
export function siteRecordsFor(request: SiteStackRequest, defaults: SiteDnsDefaults): MailDnsRecord[] {
  return recordsForSite(siteInputFor(request, defaults));
}

/**
 * The site's domain, normalised, if the controller may serve mail for it: a valid name, not the mail host, within
 * the allowed suffixes. Throws a `PermanentFailure` naming the problem.
 */
export function checkSiteDomain(
  domain: string,
  defaults: Pick<SiteDnsDefaults, "mailHost" | "allowedSuffixes">,
): string {
  try {
    const normalised = normaliseDomain(domain, "domain");
    if (defaults.mailHost) assertNotMailHost(normalised, defaults.mailHost);
    assertAllowedSuffix(normalised, defaults.allowedSuffixes);
    return normalised;
  } catch (err) {
    if (err instanceof DomainValidationError) throw new PermanentFailure(err.message, "domain_not_allowed");
    throw err;
  }
}
