/**
 * The per-site inline program the controller runs through the Automation API (project `mail-sites`, stack = slug),
 * and that `npm run preview -- --site FILE` runs under the mock engine. It reads the `mail-sites:*` config, builds
 * the site's `SiteMailDns` (and, with `webTls`, its `SiteWebTls`) and returns the records to publish.
 */
import * as pulumi from "@pulumi/pulumi";
import { SiteMailDns } from "../components/site-mail-dns";
import { type MailDnsRecord, mtaStsPolicy } from "../components/site-records";
import { SiteWebTls } from "../components/site-web-tls";
import { decodeSiteConfig, recordsForSite, type SiteInput } from "./site-config";

export interface SiteProgramOutputs {
  /** `cloudflare` or `manual`. */
  provider: string;
  /** The records the site should have (empty when disabled). With `manual`, what the operator publishes by hand. */
  records: MailDnsRecord[];
  /** The MTA-STS policy file the web front must serve at `mta-sts.<domain>/.well-known/mta-sts.txt` (enabled only). */
  mtaStsPolicy?: string;
}

/** Reads the `mail-sites` config of the running program (inside a Pulumi program only). */
export function loadSiteConfig(): SiteInput {
  return decodeSiteConfig(pulumi.runtime.allConfig());
}

export async function siteProgram(): Promise<SiteProgramOutputs> {
  const input = loadSiteConfig();
  // Built once: the component publishes these and the program returns them.
  const records = recordsForSite(input);
  new SiteMailDns(input.slug, { input, records });
  // Disabled: not declared, so `up` removes the certificate and route along with the records.
  if (input.enabled && input.webTls) {
    new SiteWebTls(input.slug, { slug: input.slug, domain: input.domain, webTls: input.webTls });
  }
  return {
    provider: input.dnsProvider,
    records,
    ...(input.enabled ? { mtaStsPolicy: mtaStsPolicy(input) } : {}),
  };
}
