/**
 * Checks a site's mail records where they are published: at the domain's authoritative name servers, not through
 * caches, so "verified" means the records are live and "pending" means they have not arrived yet (peers.md §6 item
 * 7). The reconciler calls `check` on its own schedule after the site stack's `up`, outside its run queue (see
 * controller/reconciler/dns-verification.ts), and reports each record's state; `waitForVerified` is the same loop in
 * one call, for scripts and tools that may block.
 */
import { abortError, type Clock, systemClock } from "../clock";
import { type Authority, AuthorityLookupError, findAuthority, type NsLookup, systemNsLookup } from "./authority";
import { compareRecord, type ExpectedRecord, hostKey, type Observation, type RecordCheck } from "./compare";
import { DnsClient, DnsQueryError, type DnsResponse, type NameServer, type QueryType } from "./dns-client";

export type { ExpectedRecord, RecordCheck, RecordState } from "./compare";

export interface DeliverabilityReport {
  domain: string;
  /** The zone whose servers answered, when found. */
  zone?: string;
  /** The servers asked, as `host (ip:port)`. */
  nameServers: string[];
  records: RecordCheck[];
  allVerified: boolean;
}

export interface WaitResult extends DeliverabilityReport {
  /** True when the deadline passed with records still pending or failed. */
  timedOut: boolean;
  attempts: number;
  /** Empty when all verified; otherwise names every record that is not verified and why. */
  message: string;
}

/** Asks one server one question; the checker only needs this much of `DnsClient`. */
export interface DnsQuerier {
  query(server: NameServer, name: string, type: QueryType): Promise<DnsResponse>;
}

export interface DeliverabilityCheckerOptions {
  /** Recursive look-ups used to find the authoritative servers (default: the system resolver). */
  nsLookup?: NsLookup;
  /** Skip discovery and ask these servers (split-horizon set-ups, tests). */
  nameServers?: NameServer[];
  /** Port of discovered servers (default 53). */
  port?: number;
  /** Ask discovered servers at private, loopback, link-local or cluster addresses (default false: refused). */
  allowPrivateNameServers?: boolean;
  /** The DNS client (default: UDP with TCP fallback, 2 s per attempt). */
  client?: DnsQuerier;
}

export interface WaitOptions {
  /** How long to keep checking before giving up (default 10 minutes). */
  timeoutMs?: number;
  /** Pause between checks (default 15 s). */
  intervalMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

export const WAIT_DEFAULTS = { timeoutMs: 10 * 60_000, intervalMs: 15_000 } as const;

/** One line per record that is not verified, e.g. `dkim mc2026a._domainkey.example.com TXT: pending (no DKIM TXT …)`. */
export function describeUnverified(records: RecordCheck[]): string {
  return records
    .filter((r) => r.state !== "verified")
    .map((r) => `${r.purpose} ${r.name} ${r.type}: ${r.state} (${r.detail})`)
    .join("; ");
}

export class DeliverabilityChecker {
  private readonly nsLookup: NsLookup;
  private readonly client: DnsQuerier;

  constructor(private readonly options: DeliverabilityCheckerOptions = {}) {
    this.nsLookup = options.nsLookup ?? systemNsLookup();
    this.client = options.client ?? new DnsClient();
  }

  /** One pass over `expected`: each record's state at the authoritative servers of `domain`. */
  async check(domain: string, expected: readonly ExpectedRecord[]): Promise<DeliverabilityReport> {
    const apex = hostKey(domain);
    let authority: Authority;
    try {
      authority = this.options.nameServers
        ? { zone: apex, servers: this.options.nameServers }
        : await findAuthority(apex, this.nsLookup, this.options.port ?? 53, {
            allowPrivate: this.options.allowPrivateNameServers ?? false,
          });
    } catch (err) {
      const message = err instanceof AuthorityLookupError ? err.message : `name server lookup failed: ${String(err)}`;
      const records = expected.map((r) => compareRecord(r, { kind: "error", message }));
      return { domain: apex, nameServers: [], records, allVerified: false };
    }
    const observations = new Map<string, Promise<Observation>>();
    const observe = (name: string, type: ExpectedRecord["type"]): Promise<Observation> => {
      const key = `${hostKey(name)} ${type}`;
      let pending = observations.get(key);
      if (!pending) {
        pending = this.observe(authority.servers, hostKey(name), type);
        observations.set(key, pending);
      }
      return pending;
    };
    const records = await Promise.all(
      expected.map(async (record) => compareRecord(record, await observe(record.name, record.type))),
    );
    return {
      domain: apex,
      zone: authority.zone,
      nameServers: authority.servers.map((s) => `${s.name ?? s.address} (${s.address}:${s.port})`),
      records,
      allVerified: records.length > 0 && records.every((r) => r.state === "verified"),
    };
  }

  /**
   * Checks until every record verifies or `timeoutMs` passes, pausing `intervalMs` between passes. Never throws for
   * DNS trouble (that is a pending state); rejects only when `signal` aborts.
   */
  async waitForVerified(
    domain: string,
    records: readonly ExpectedRecord[],
    options: WaitOptions = {},
  ): Promise<WaitResult> {
    const clock = options.clock ?? systemClock;
    const timeoutMs = options.timeoutMs ?? WAIT_DEFAULTS.timeoutMs;
    const intervalMs = options.intervalMs ?? WAIT_DEFAULTS.intervalMs;
    const deadline = clock.now() + timeoutMs;
    let attempts = 0;
    for (;;) {
      if (options.signal?.aborted) throw options.signal.reason ?? abortError();
      const report = await this.check(domain, records);
      attempts++;
      if (report.allVerified) return { ...report, timedOut: false, attempts, message: "" };
      const remaining = deadline - clock.now();
      if (remaining <= 0) {
        const seconds = Math.round(timeoutMs / 1000);
        const unverified = report.records.filter((r) => r.state !== "verified").length;
        const message = `mail DNS for ${report.domain} not verified after ${seconds}s (${unverified} of ${report.records.length} records): ${describeUnverified(report.records)}`;
        return { ...report, timedOut: true, attempts, message };
      }
      await clock.sleep(Math.min(intervalMs, remaining), options.signal);
    }
  }

  /** Asks the servers in turn until one gives a real answer (NOERROR or NXDOMAIN). */
  private async observe(servers: NameServer[], name: string, type: ExpectedRecord["type"]): Promise<Observation> {
    const problems: string[] = [];
    for (const server of servers) {
      try {
        const response = await this.client.query(server, name, type);
        if (response.rcode === "NXDOMAIN") return { kind: "nxdomain" };
        if (response.rcode !== "NOERROR") {
          problems.push(`${server.name ?? server.address} answered ${response.rcode}`);
          continue;
        }
        const relevant = response.answers.filter((a) => a.type === type || a.type === "CNAME");
        if (relevant.length > 0) return { kind: "answers", answers: relevant };
        if (!response.authoritative) {
          problems.push(`${server.name ?? server.address} is not authoritative for ${name}`);
          continue;
        }
        if (type === "CNAME") {
          // A name with A records instead of the alias is a conflict the operator must fix, not a delay.
          const a = await this.client.query(server, name, "A").catch(() => undefined);
          const addresses = a?.answers.flatMap((x) => (x.type === "A" ? [x.data] : [])) ?? [];
          return { kind: "nodata", addresses };
        }
        return { kind: "nodata" };
      } catch (err) {
        problems.push(err instanceof DnsQueryError ? err.message : String(err));
      }
    }
    return { kind: "error", message: problems.join("; ") || "no name servers to ask" };
  }
}
