/**
 * Bridges the site record lists and the DNS server double (`test/doubles/dns-server`): publish a site's records as
 * its DNS host would serve them, and a runner decorator that publishes whatever a stack `up` returned, like
 * Cloudflare does, or withholds them, like an operator who has not published by hand yet. Used by the reconciler's
 * DNS tests and the sandbox.
 */
import type { MailDnsRecord } from "../../components/site-records";
import { DeliverabilityChecker } from "../../controller/deliverability/checker";
import { DnsClient } from "../../controller/deliverability/dns-client";
import type { RunOptions, StackConfig, StackRunner, UpResult } from "../../controller/stacks/stack-runner";
import type { DnsServerDouble, DoubleRecord } from "../doubles/dns-server";

/** The records as an authoritative server serves them (TXT as its ≤255-byte strings, SRV split into fields). */
export function doubleRecordsFor(records: readonly MailDnsRecord[]): DoubleRecord[] {
  return records.map((r): DoubleRecord => {
    switch (r.type) {
      case "MX":
        return { name: r.name, type: "MX", ttl: r.ttl, data: { preference: r.priority ?? 10, exchange: r.content } };
      case "TXT":
        // A copy: dns-packet's encoder replaces the strings of the array it is given with Buffers, in place, and
        // the record's own `chunks` are what the status answers with.
        return { name: r.name, type: "TXT", ttl: r.ttl, data: [...(r.chunks ?? [r.content])] };
      case "CNAME":
        return { name: r.name, type: "CNAME", ttl: r.ttl, data: r.content };
      default: {
        // SRV: "priority weight port target".
        const [priority, weight, port, target] = r.content.split(" ");
        return {
          name: r.name,
          type: "SRV",
          ttl: r.ttl,
          data: { priority: Number(priority), weight: Number(weight), port: Number(port), target },
        };
      }
    }
  });
}

function byNameAndType(records: readonly DoubleRecord[]): Map<string, DoubleRecord[]> {
  const groups = new Map<string, DoubleRecord[]>();
  for (const r of records) {
    const key = `${r.name.toLowerCase()} ${r.type}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return groups;
}

/** Serves exactly these records at their names and types (replacing what was there). */
export function publishRecords(server: DnsServerDouble, records: readonly MailDnsRecord[]): void {
  for (const group of byNameAndType(doubleRecordsFor(records)).values()) {
    server.set(group[0].name, group[0].type, ...group.map((r) => r.data));
  }
}

/** Removes every record at these records' names and types. */
export function unpublishRecords(server: DnsServerDouble, records: readonly MailDnsRecord[]): void {
  for (const group of byNameAndType(doubleRecordsFor(records)).values()) server.set(group[0].name, group[0].type);
}

/** A checker that asks only the double (as `DNS_CHECK_NAMESERVERS` does), with short timeouts. */
export function checkerFor(server: DnsServerDouble, timeoutMs = 500): DeliverabilityChecker {
  return new DeliverabilityChecker({
    nameServers: [{ address: server.address, port: server.port, name: "ns.double" }],
    client: new DnsClient({ timeoutMs, udpAttempts: 1 }),
  });
}

export interface PublishingRunnerOptions {
  /** Publish this long after `up` returned (the sandbox's "DNS host catching up"); 0: at once. */
  delayMs?: number;
  /** Changes what is served (a wrong SPF, a missing record): gets the site's records, returns what to publish. */
  tamper?: (slug: string, records: MailDnsRecord[]) => MailDnsRecord[];
}

/**
 * Wraps a runner: after each successful `up`, the records it returned are served by the double (the previous ones
 * removed first), unless the slug is in `withheld`. `publish(slug)` publishes a withheld site's records later.
 */
export class PublishingRunner implements StackRunner {
  /** Sites whose records nobody has published yet. */
  readonly withheld = new Set<string>();
  /** The records each site's last `up` returned. */
  readonly records = new Map<string, MailDnsRecord[]>();
  private readonly served = new Map<string, MailDnsRecord[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    readonly inner: StackRunner,
    readonly server: DnsServerDouble,
    private readonly options: PublishingRunnerOptions = {},
  ) {}

  async up(slug: string, config: StackConfig, options?: RunOptions): Promise<UpResult> {
    const result = await this.inner.up(slug, config, options);
    const records = Array.isArray(result.outputs.records) ? (result.outputs.records as MailDnsRecord[]) : [];
    this.records.set(slug, records);
    this.cancelTimer(slug);
    this.unserve(slug);
    if (records.length > 0 && !this.withheld.has(slug)) {
      const delay = this.options.delayMs ?? 0;
      if (delay <= 0) this.publish(slug);
      else {
        const timer = setTimeout(() => this.publish(slug), delay);
        timer.unref();
        this.timers.set(slug, timer);
      }
    }
    return result;
  }

  /** Serves the site's last records now (and stops withholding them). */
  publish(slug: string): void {
    this.withheld.delete(slug);
    this.cancelTimer(slug);
    const wanted = this.records.get(slug) ?? [];
    const records = this.options.tamper ? this.options.tamper(slug, wanted) : wanted;
    this.unserve(slug);
    publishRecords(this.server, records);
    this.served.set(slug, records);
  }

  clearStaleLock(slug: string): Promise<void> {
    return this.inner.clearStaleLock(slug);
  }

  async destroy(slug: string, options?: RunOptions): Promise<void> {
    await this.inner.destroy?.(slug, options);
    this.cancelTimer(slug);
    this.unserve(slug);
    this.records.delete(slug);
  }

  /** Stops pending delayed publications. */
  close(): void {
    for (const slug of [...this.timers.keys()]) this.cancelTimer(slug);
  }

  private unserve(slug: string): void {
    const previous = this.served.get(slug);
    if (previous) unpublishRecords(this.server, previous);
    this.served.delete(slug);
  }

  private cancelTimer(slug: string): void {
    const timer = this.timers.get(slug);
    if (timer) clearTimeout(timer);
    this.timers.delete(slug);
  }
}
