/**
 * One site's mail DNS. With `dnsProvider: cloudflare` it looks the zone up by name and creates one Cloudflare
 * `DnsRecord` per record of `buildSiteRecords` (never proxied: mail and client-config names must resolve to the mail
 * host itself). With `manual` it creates nothing and only outputs the records to publish. A disabled site has no
 * records, so `up` with `enabled: false` removes them.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import {
  type MailDnsRecord,
  quoteTxtChunks,
  recordResourceName,
  recordsForSite,
  type SiteRecordsSource,
  siteZoneName,
  splitTxt,
} from "./site-records";

export const SITE_MAIL_DNS_TYPE = "mail-zone:site:SiteMailDns";

/** The part of a site's validated settings (`SiteInput` of stacks/site-config.ts fits it) this component reads. */
export interface SiteMailDnsInput extends SiteRecordsSource {
  slug: string;
  dnsProvider: "cloudflare" | "manual";
  cloudflare?: { zoneName?: string; accountId?: string };
}

export interface SiteMailDnsArgs {
  /** The validated site settings (`parseSiteInput`, or `loadSiteConfig` in the site program). */
  input: SiteMailDnsInput;
  /** The site's records, when the caller has built them already (`recordsForSite(input)`); built here otherwise. */
  records?: MailDnsRecord[];
}

/** Cloudflare's field for the record comment allows 100 characters on every plan. */
const COMMENT_LIMIT = 100;

/** The DnsRecord arguments for one record (Cloudflare v6 shapes), without the zone id. */
export function cloudflareRecordArgs(
  record: MailDnsRecord,
  slug: string,
): Omit<cloudflare.DnsRecordArgs, "zoneId"> & { proxied: false } {
  const base = {
    name: record.name,
    type: record.type,
    ttl: record.ttl,
    proxied: false as const,
    comment: `mail-zone ${record.purpose} (site ${slug})`.slice(0, COMMENT_LIMIT),
  };
  switch (record.type) {
    case "TXT":
      // Cloudflare wants RFC 1035 quoted character-strings, each ≤ 255 bytes.
      return { ...base, content: quoteTxtChunks(record.chunks ?? splitTxt(record.content)) };
    case "MX":
      return { ...base, content: record.content, priority: record.priority };
    case "SRV": {
      // v6 takes SRV as structured data; content is computed by Cloudflare. priority is repeated at the top level
      // because the API requires it for SRV.
      const [priority, weight, port, target] = record.content.split(" ");
      return {
        ...base,
        priority: Number(priority),
        data: { priority: Number(priority), weight: Number(weight), port: Number(port), target },
      };
    }
    case "CNAME":
      return { ...base, content: record.content };
  }
}

export class SiteMailDns extends pulumi.ComponentResource {
  /** Every record the site should have (empty when disabled), whatever the provider. */
  readonly records: pulumi.Output<MailDnsRecord[]>;
  /** `cloudflare` or `manual`. */
  readonly provider: pulumi.Output<string>;
  /** The Cloudflare zone id, when records are managed in Cloudflare. */
  readonly zoneId?: pulumi.Output<string>;
  /** The managed Cloudflare records, keyed by resource name. */
  readonly dnsRecords: Record<string, cloudflare.DnsRecord> = {};

  constructor(name: string, args: SiteMailDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(SITE_MAIL_DNS_TYPE, name, {}, opts);
    const { input } = args;
    const records = args.records ?? recordsForSite(input);

    if (input.dnsProvider === "cloudflare" && records.length > 0) {
      const accountId = input.cloudflare?.accountId;
      const zone = cloudflare.getZoneOutput(
        { filter: { name: siteZoneName(input), ...(accountId ? { account: { id: accountId } } : {}) } },
        { parent: this },
      );
      this.zoneId = zone.id;
      for (const record of records) {
        const resourceName = recordResourceName(record);
        this.dnsRecords[resourceName] = new cloudflare.DnsRecord(
          resourceName,
          { zoneId: zone.id, ...cloudflareRecordArgs(record, input.slug) },
          { parent: this },
        );
      }
    }

    this.records = pulumi.output(records);
    this.provider = pulumi.output(input.dnsProvider);
    this.registerOutputs({
      records: this.records,
      provider: this.provider,
      ...(this.zoneId ? { zoneId: this.zoneId } : {}),
    });
  }
}
