/**
 * The checker `npm start` uses, from the `DNS_CHECK*` settings: off → none; `DNS_CHECK_NAMESERVERS` → those servers
 * (host names resolved once, at start); otherwise the domains' authoritative servers, found through the system
 * resolver.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Settings } from "../settings";
import { DeliverabilityChecker, type DnsQuerier } from "./checker";
import type { NameServer } from "./dns-client";

export type ResolveHost = (host: string) => Promise<string[]>;

const systemResolveHost: ResolveHost = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

export class NameServerSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NameServerSettingError";
  }
}

export async function dnsCheckerFromSettings(
  settings: Settings["dnsCheck"],
  options: { resolveHost?: ResolveHost; client?: DnsQuerier } = {},
): Promise<DeliverabilityChecker | null> {
  if (!settings.enabled) return null;
  const client = options.client ? { client: options.client } : {};
  // Servers the operator names are trusted as given; discovered ones must be public unless the operator says otherwise.
  if (settings.nameServers.length === 0) {
    return new DeliverabilityChecker({ ...client, allowPrivateNameServers: settings.allowPrivateNameServers });
  }
  const resolveHost = options.resolveHost ?? systemResolveHost;
  const nameServers: NameServer[] = [];
  for (const { host, port } of settings.nameServers) {
    if (isIP(host)) {
      nameServers.push({ address: host, port, name: host });
      continue;
    }
    let addresses: string[];
    try {
      addresses = await resolveHost(host);
    } catch (err) {
      throw new NameServerSettingError(
        `DNS_CHECK_NAMESERVERS: cannot resolve ${host} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    if (addresses.length === 0) throw new NameServerSettingError(`DNS_CHECK_NAMESERVERS: ${host} has no address`);
    for (const address of addresses) nameServers.push({ address, port, name: host });
  }
  return new DeliverabilityChecker({ ...client, nameServers });
}
