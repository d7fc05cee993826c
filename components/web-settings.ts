/**
 * Zone settings for Mailcow's web entry (config key `mail-zone:web`), owned by WebIngress; stacks/zone-config.ts
 * embeds the schema and checks the allow-list against the cluster's networks with `adminAllowListProblems`.
 *
 * The admin allow-list guards the Mailcow UI and `/api` behind Traefik. It is empty by default: the admin plane is
 * then reachable through Traefik from nowhere, and operators list their own addresses. Traefik checks the connecting
 * address, so a range overlapping the pod or service network would let any tenant pod in; such ranges are refused.
 * The controller does not need the list: it calls Mailcow's in-cluster Service directly (mailcowApiBaseUrl).
 */
import { z } from "zod";
import { type ClusterSettings, cidr } from "./cluster-settings";
import { isNetworkCidr, overlaps, parseRange } from "./network-ranges";
import { described, dnsSubdomain } from "./setting-values";

/** One allow-list entry: a CIDR, never `/0` (every address on the internet). */
const adminRange = cidr.superRefine((value, ctx) => {
  if (parseRange(value)?.prefix === 0) {
    ctx.addIssue({ code: "custom", message: "expected your own addresses: /0 would open the admin UI to everyone" });
  }
});

export const webSettingsSchema = z
  .strictObject({
    /** The cert-manager ClusterIssuer that signs the mail host's certificate. */
    clusterIssuer: dnsSubdomain.default("letsencrypt-prod"),
    /** The Traefik entrypoint serving HTTPS. */
    entrypoint: described("a Traefik entrypoint name", (v) => v.length > 0).default("websecure"),
    /** Source CIDRs allowed to the Mailcow UI and API through Traefik; empty: nobody (the default). */
    adminAllowList: z.array(adminRange).default([]),
  })
  .prefault({});

export type WebSettings = z.infer<typeof webSettingsSchema>;

export interface AllowListProblem {
  /** Index into `adminAllowList`. */
  index: number;
  message: string;
}

/** Allow-list entries that overlap the pod or service network, where tenants' pods and Services live. */
export function adminAllowListProblems(
  web: Pick<WebSettings, "adminAllowList">,
  cluster: ClusterSettings,
): AllowListProblem[] {
  const networks = [
    { name: "pod network", text: cluster.podCidr },
    { name: "service network", text: cluster.serviceCidr },
  ];
  const problems: AllowListProblem[] = [];
  web.adminAllowList.forEach((entry, index) => {
    const range = isNetworkCidr(entry) ? parseRange(entry) : undefined;
    // `/0` is refused on its own (webSettingsSchema); one problem per entry is enough.
    if (!range || range.prefix === 0) return;
    const hit = networks.filter((n) => {
      const other = parseRange(n.text);
      return other !== undefined && overlaps(range, other);
    });
    if (hit.length > 0) {
      problems.push({
        index,
        message: `expected no address of the ${hit.map((n) => `${n.name} (${n.text})`).join(" or the ")}: tenants' pods live there, so any tenant could reach the admin UI`,
      });
    }
  });
  return problems;
}
