/**
 * What the reconciler needs to verify a site's published records, without holding a run slot: the checker port,
 * the re-check schedule, which records block `ready`, and the one-line message written when the deadline passes.
 * Pure apart from the port; the scheduling itself lives in dns-check-scheduler.ts (it shares the site's lock and intents).
 */
import type { MailDnsRecord } from "../../components/site-records";
import type { RecordCheck } from "../deliverability/compare";

export type { RecordCheck, RecordState } from "../deliverability/compare";

/** The deliverability checker as the reconciler uses it (`DeliverabilityChecker` fits). Never throws for DNS trouble. */
export interface DnsRecordChecker {
  check(domain: string, expected: readonly MailDnsRecord[]): Promise<{ records: RecordCheck[] }>;
}

export interface DnsCheckPolicy {
  /** First pause between checks; doubles per check up to `maxIntervalMs`. */
  intervalMs: number;
  /** How long after the stack run the records may take to verify before the site goes to `error`. */
  timeoutMs: number;
  /** Longest pause between checks (default: 5 minutes, or `intervalMs` if that is longer). */
  maxIntervalMs?: number;
  /** DNS checks in flight at once across all sites (default 8): 500 sites enabled at once must not flood a server. */
  maxParallelChecks?: number;
}

export const DNS_CHECK_DEFAULTS = { intervalMs: 30_000, timeoutMs: 900_000, maxParallelChecks: 8 } as const;

/**
 * The purposes whose records must verify before a site is `ready`: delivery (MX), authentication (SPF, DKIM,
 * DMARC) and client set-up (autoconfig, autodiscover). The others (SRV, MTA-STS, TLS-RPT) are checked and shown but
 * do not block: mail works without them.
 */
export const BLOCKING_PURPOSES: ReadonlySet<string> = new Set([
  "mx",
  "spf",
  "dkim",
  "dmarc",
  "autoconfig",
  "autodiscover",
]);

export function isBlocking(record: { purpose: string }): boolean {
  return BLOCKING_PURPOSES.has(record.purpose);
}

/** Whether every blocking record verified (and there is at least one). */
export function blockingVerified(records: readonly RecordCheck[]): boolean {
  const blocking = records.filter(isBlocking);
  return blocking.length > 0 && blocking.every((r) => r.state === "verified");
}

/** Pause after the `checks`-th check (1-based): interval, doubled per check, capped. */
export function nextCheckDelay(checks: number, policy: DnsCheckPolicy): number {
  const cap = Math.max(policy.maxIntervalMs ?? 300_000, policy.intervalMs);
  const exponent = Math.min(Math.max(checks - 1, 0), 30);
  return Math.min(policy.intervalMs * 2 ** exponent, cap);
}

/** `900000` → `15m`, `90000` → `1m30s`, `3600000` → `1h`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [h ? `${h}h` : "", m ? `${m}m` : "", s ? `${s}s` : ""].filter((p) => p !== "");
  return parts.length > 0 ? parts.join("") : "0s";
}

const LABELS: Record<string, string> = {
  mx: "MX",
  spf: "SPF",
  dkim: "DKIM",
  dmarc: "DMARC",
  "mta-sts": "MTA-STS",
  "mta-sts-host": "MTA-STS host",
  "tls-rpt": "TLS-RPT",
};

/** `MX example.com pending`, `SPF example.com failed (found "v=spf1 -all")`. */
export function describeRecord(record: RecordCheck): string {
  const label = LABELS[record.purpose] ?? record.purpose;
  const head = `${label} ${record.name} ${record.state}`;
  if (record.state !== "failed") return head;
  return record.found && record.found.length > 0 ? `${head} (found ${record.found.join(", ")})` : head;
}

/**
 * The last error of a site whose records did not verify in time. The hint comes first so that truncation to the
 * annotation limit cuts the list, not the advice: with `manual` DNS the operator must publish the records by hand.
 */
export function dnsDeadlineMessage(
  records: readonly RecordCheck[],
  waitedMs: number,
  provider: "cloudflare" | "manual",
): string {
  const missing = records.filter((r) => isBlocking(r) && r.state !== "verified").map(describeRecord);
  const hint =
    provider === "manual"
      ? "; publish the records by hand at the domain's DNS host (the status lists them)"
      : "; check the domain's zone and name servers";
  return `DNS not verified after ${formatDuration(waitedMs)}${hint}: ${missing.join("; ")}`;
}

/** A small counting semaphore: at most `limit` DNS checks in flight. */
export class CheckLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A released slot is handed straight to the next waiter, so a newcomer cannot slip in between.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
