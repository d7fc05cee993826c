/** Zone settings for the mail host's own DNS records (config key `mail-zone:dns`), owned by MailHostDns. */
import { z } from "zod";
import { described, fqdn } from "./setting-values";

const dnsProviderSchema = z.discriminatedUnion("provider", [
  z.strictObject({ provider: z.literal("none") }),
  z.strictObject({
    provider: z.literal("cloudflare"),
    /** The Cloudflare zone holding the mail host, e.g. `example.com`. */
    zone: fqdn,
    /** Narrows the zone lookup to one account when the token sees several. */
    accountId: described("a 32-character hex Cloudflare account id", (v) => /^[0-9a-f]{32}$/.test(v)).optional(),
  }),
]);

export const dnsSettingsSchema = dnsProviderSchema.prefault({ provider: "none" });

export const DNS_PROVIDERS: readonly string[] = dnsProviderSchema.options.map((o) => o.shape.provider.value);

export type DnsSettings = z.infer<typeof dnsSettingsSchema>;
