/**
 * From a site and the controller's DNS settings to the per-site stack's input and config (`stacks/site-config.ts`
 * owns the schema, the key names and the one encode/decode of the config). The domain policy the controller applies
 * before it touches Mailcow lives in `sites/site-domain.ts`, with the same rule the stack applies.
 */
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
  /** `*`: any domain (the operator's explicit choice); otherwise a non-empty list. */
  allowedSuffixes: string[] | "*";
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
    // The stack's schema reads an empty list as "any"; the controller only gets there through an explicit `*`.
    allowedSuffixes: defaults.allowedSuffixes === "*" ? [] : defaults.allowedSuffixes,
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
