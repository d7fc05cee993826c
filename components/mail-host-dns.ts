/**
 * DNS for the mail host itself in Cloudflare: A (and AAAA) for the mail host, and CNAMEs for its own
 * client-configuration names so the Certificate can cover them. Never proxied: Cloudflare's proxy carries HTTP only.
 * The API token comes from the provider's own config (`cloudflare:apiToken`) or `CLOUDFLARE_API_TOKEN`.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { CLIENT_CONFIG_HOST_PREFIXES } from "./web-route-specs";

export interface MailHostDnsArgs {
  /** The Cloudflare zone name (e.g. `example.com`), looked up by name. */
  zone: string;
  accountId?: string;
  hostname: string;
  publicIPv4: string;
  publicIPv6?: string;
}

export interface MailHostRecord {
  /** Resource name suffix. */
  id: string;
  type: "A" | "AAAA" | "CNAME";
  name: string;
  content: string;
}

/** The records for the mail host, pure so they can be listed without Pulumi. */
export function mailHostRecords(args: Omit<MailHostDnsArgs, "zone" | "accountId">): MailHostRecord[] {
  const records: MailHostRecord[] = [{ id: "a", type: "A", name: args.hostname, content: args.publicIPv4 }];
  if (args.publicIPv6) records.push({ id: "aaaa", type: "AAAA", name: args.hostname, content: args.publicIPv6 });
  for (const prefix of CLIENT_CONFIG_HOST_PREFIXES) {
    records.push({ id: prefix, type: "CNAME", name: `${prefix}.${args.hostname}`, content: args.hostname });
  }
  return records;
}

export class MailHostDns extends pulumi.ComponentResource {
  readonly zoneId: pulumi.Output<string>;

  constructor(name: string, args: MailHostDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:dns:MailHostDns", name, {}, opts);
    const filter = args.accountId ? { name: args.zone, account: { id: args.accountId } } : { name: args.zone };
    this.zoneId = cloudflare.getZoneOutput({ filter }, { parent: this }).id;
    for (const record of mailHostRecords(args)) {
      new cloudflare.DnsRecord(
        `${name}-${record.id}`,
        {
          zoneId: this.zoneId,
          name: record.name,
          type: record.type,
          content: record.content,
          ttl: 1,
          proxied: false,
          comment: "mail-zone: mail host",
        },
        { parent: this },
      );
    }
    this.registerOutputs({ zoneId: this.zoneId });
  }
}
