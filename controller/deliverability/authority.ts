/**
 * Finds the name servers that are authoritative for a domain: the NS set of the closest enclosing zone, found by
 * asking for NS at the domain and walking up one label at a time (`shop.example.com` → `example.com`). The lookups
 * go through a recursive resolver (the system's by default); the answers to the mail-record questions then come
 * straight from the servers found here.
 */
import { Resolver } from "node:dns/promises";
import { type AddressRange, contains, isPrivateRange, parseRange } from "../../components/network-ranges";
import { DnsClient, type NameServer } from "./dns-client";

/** The recursive look-ups discovery needs; swapped in tests. */
export interface NsLookup {
  /** NS host names at exactly `name`; rejects with code `ENODATA`/`ENOTFOUND` when there are none. */
  resolveNs(name: string): Promise<string[]>;
  /** IP addresses of a name server host (IPv4 first). */
  resolveAddresses(host: string): Promise<string[]>;
}

export interface Authority {
  /** The zone apex whose NS set answered (e.g. `example.com` for `shop.example.com`). */
  zone: string;
  servers: NameServer[];
}

export class AuthorityLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthorityLookupError";
  }
}

const NO_RECORDS = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN", "NODATA"]);

function code(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

/** The system resolver (resolv.conf; CoreDNS inside the cluster). */
export function systemNsLookup(): NsLookup {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  return {
    resolveNs: (name) => resolver.resolveNs(name),
    async resolveAddresses(host) {
      const v4 = await resolver.resolve4(host).catch(() => [] as string[]);
      if (v4.length > 0) return v4;
      return resolver.resolve6(host).catch(() => [] as string[]);
    },
  };
}

/** NS discovery through a given resolver (or any server that answers NS and A), using the project's own DNS client. */
export function clientNsLookup(server: NameServer, client: DnsClient = new DnsClient()): NsLookup {
  const fail = (name: string, c: string) => Object.assign(new Error(`no records at ${name}`), { code: c });
  return {
    async resolveNs(name) {
      const r = await client.query(server, name, "NS");
      if (r.rcode === "NXDOMAIN") throw fail(name, "ENOTFOUND");
      if (r.rcode !== "NOERROR") throw Object.assign(new Error(`${r.rcode} for ${name} NS`), { code: r.rcode });
      const ns = r.answers.flatMap((a) => (a.type === "NS" ? [a.data] : []));
      if (ns.length === 0) throw fail(name, "ENODATA");
      return ns;
    },
    async resolveAddresses(host) {
      const r = await client.query(server, host, "A");
      return r.answers.flatMap((a) => (a.type === "A" ? [a.data] : []));
    },
  };
}

/** Link-local, unspecified and multicast: never a name server on the internet. */
const NEVER_PUBLIC: readonly AddressRange[] = [
  "169.254.0.0/16",
  "0.0.0.0/8",
  "224.0.0.0/4",
  "fe80::/10",
  "::/128",
  "ff00::/8",
].map((text) => parseRange(text) as AddressRange);

/**
 * Whether an address a tenant's delegation names may be asked as an authoritative server: not private (RFC 1918,
 * shared space, the cluster's networks), loopback, link-local, unspecified or multicast. A tenant controls its NS
 * records, so without this rule the controller would send queries into the cluster or to itself on its behalf.
 */
export function isPublicAddress(address: string): boolean {
  const range = parseRange(address);
  if (!range) return false;
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]);
  return !isPrivateRange(range) && !NEVER_PUBLIC.some((r) => contains(r, range));
}

export interface AuthorityOptions {
  /** Ask authoritative servers at private or cluster addresses too (operators whose servers are private). */
  allowPrivate?: boolean;
}

/**
 * Walks up from `domain` until a name has NS records; resolves each NS host to addresses. Stops before the last
 * label: a TLD's servers only refer, they are not authoritative for the site. Addresses that are not public are
 * refused unless `allowPrivate` (see `isPublicAddress`).
 */
export async function findAuthority(
  domain: string,
  lookup: NsLookup,
  port = 53,
  options: AuthorityOptions = {},
): Promise<Authority> {
  const labels = domain.replace(/\.$/, "").toLowerCase().split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    const zone = labels.slice(i).join(".");
    let hosts: string[];
    try {
      hosts = await lookup.resolveNs(zone);
    } catch (err) {
      if (NO_RECORDS.has(code(err) ?? "")) continue;
      throw new AuthorityLookupError(`NS lookup for ${zone} failed: ${(err as Error).message}`);
    }
    const servers: NameServer[] = [];
    const refused: string[] = [];
    for (const host of [...hosts].sort()) {
      const addresses = await lookup.resolveAddresses(host).catch(() => [] as string[]);
      for (const address of addresses) {
        if (!options.allowPrivate && !isPublicAddress(address)) refused.push(`${host.replace(/\.$/, "")} (${address})`);
        else servers.push({ address, port, name: host.replace(/\.$/, "") });
      }
    }
    if (servers.length === 0 && refused.length > 0) {
      throw new AuthorityLookupError(
        `the name servers of ${zone} resolve only to private, loopback, link-local or cluster addresses ` +
          `(${refused.join(", ")}); the DNS checks do not ask those (DNS_CHECK_PRIVATE_NAMESERVERS=true allows them)`,
      );
    }
    if (servers.length === 0) {
      throw new AuthorityLookupError(`the name servers of ${zone} (${hosts.join(", ")}) have no addresses`);
    }
    return { zone, servers };
  }
  throw new AuthorityLookupError(`no name servers found for ${domain} or any parent zone: is the domain registered?`);
}
