/**
 * The DNS checks that run beside the run queue: after an enable, a site's records are checked at the domain's
 * authoritative servers until the blocking ones verify (`ready`) or the deadline passes (`error`). A slot is never
 * held while DNS propagates; at most one check sequence per site, cancelled by any request or run of that site.
 * Outcomes are written under the site's lock, and only while the request generation the checks started under is
 * still current.
 */
import type { MailDnsRecord } from "../../components/site-records";
import type { Clock } from "../clock";
import { errorMessage, type Redactor, shortMessage } from "../redact";
import { type MailState, type SiteDirectory, SiteNotFoundError } from "../sites/site";
import type { SiteDnsDefaults } from "../stacks/site-stack-config";
import {
  blockingVerified,
  CheckLimiter,
  DNS_CHECK_DEFAULTS,
  type DnsCheckPolicy,
  type DnsRecordChecker,
  dnsDeadlineMessage,
  nextCheckDelay,
  type RecordCheck,
} from "./dns-verification";
import type { KeyLock } from "./key-lock";

/**
 * How one DNS check of a site ended: `verified` (the blocking records all verify), `pending` (another check is
 * scheduled), `timed-out` (the deadline passed), `superseded` (a request or run took over; nothing was written).
 */
export type DnsCheckOutcome = "verified" | "pending" | "timed-out" | "superseded";

/** The records an enable run asks to be checked once it has written its outcome. */
export interface DnsCheckRequest {
  domain: string;
  records: MailDnsRecord[];
  /** The site was already `ready`: a failed check only writes the last error, the status stays. */
  keepReady: boolean;
}

/** The last DNS check of a site, for the status. */
export interface DnsReport {
  checkedAt: number;
  records: RecordCheck[];
}

/** A site's checks in progress, as the status shows them. */
export interface PendingDnsCheck {
  readonly nextCheckAt: number | null;
  readonly deadline: number;
}

/** A site's records being checked: one per site, outside the run queue, cancelled by any request or run. */
interface Verification extends DnsCheckRequest {
  generation: number;
  startedAt: number;
  deadline: number;
  checks: number;
  nextCheckAt: number | null;
  controller: AbortController;
}

interface DnsCheckLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DnsCheckSchedulerDeps {
  /** Absent or null: no checks run (an enable is `ready` right after `up`). */
  checker: DnsRecordChecker | null | undefined;
  sites: Pick<SiteDirectory, "patchMail">;
  /** The site locks the reconciler's own status writes take, so no request slips between a check and its write. */
  locks: KeyLock;
  /** The site's current request generation (0: none since the controller started). */
  generationOf: (slug: string) => number;
  clock: Clock;
  redact: Redactor;
  logger?: DnsCheckLogger;
  observer?: { dnsChecked?(slug: string, outcome: DnsCheckOutcome): void };
}

export interface DnsCheckSchedulerOptions {
  /** Re-check schedule and deadline; defaults 30 s and 15 min. */
  policy?: DnsCheckPolicy;
  /** Named in the deadline message (records published by hand read differently). */
  dns: Pick<SiteDnsDefaults, "provider">;
}

export class DnsCheckScheduler {
  private readonly verifications = new Map<string, Verification>();
  /** The last DNS check of each enabled site, for the status. */
  private readonly reports = new Map<string, DnsReport>();
  private readonly policy: DnsCheckPolicy;
  private readonly limiter: CheckLimiter;
  /** After `stop()`: a run that finishes during the shutdown drain starts no checks (the next start does). */
  private stopped = false;

  constructor(
    private readonly deps: DnsCheckSchedulerDeps,
    private readonly options: DnsCheckSchedulerOptions,
  ) {
    // `nextCheckDelay` applies the interval cap's default itself.
    this.policy = options.policy ?? DNS_CHECK_DEFAULTS;
    this.limiter = new CheckLimiter(this.policy.maxParallelChecks ?? DNS_CHECK_DEFAULTS.maxParallelChecks);
  }

  /** Starts checking the site's records (replacing any checks in progress); the first check is immediate. */
  start(slug: string, generation: number, request: DnsCheckRequest): void {
    this.cancel(slug);
    if (this.stopped) return;
    const now = this.deps.clock.now();
    const verification: Verification = {
      ...request,
      generation,
      startedAt: now,
      deadline: now + this.policy.timeoutMs,
      checks: 0,
      nextCheckAt: now,
      controller: new AbortController(),
    };
    this.verifications.set(slug, verification);
    void this.verify(slug, verification).catch((err: unknown) => {
      this.deps.logger?.error({ slug, err: this.safe(err) }, "DNS checks crashed");
      if (this.verifications.get(slug) === verification) this.verifications.delete(slug);
    });
  }

  cancel(slug: string): void {
    const verification = this.verifications.get(slug);
    if (!verification) return;
    this.verifications.delete(slug);
    verification.controller.abort();
  }

  /** Cancels every check and starts no more (shutdown); their sites stay `provisioning` for the next start. */
  stop(): void {
    this.stopped = true;
    for (const slug of [...this.verifications.keys()]) this.cancel(slug);
  }

  /** Sites whose records are being checked. */
  pendingCount(): number {
    return this.verifications.size;
  }

  pending(slug: string): PendingDnsCheck | undefined {
    return this.verifications.get(slug);
  }

  lastReport(slug: string): DnsReport | undefined {
    return this.reports.get(slug);
  }

  /** The site's records changed or went away: its last check no longer describes them. */
  forgetReport(slug: string): void {
    this.reports.delete(slug);
  }

  /** Checks until the blocking records verify or the deadline passes; the first check is immediate. */
  private async verify(slug: string, v: Verification): Promise<void> {
    const checker = this.deps.checker;
    if (!checker) return;
    const signal = v.controller.signal;
    const current = () => !signal.aborted && this.verifications.get(slug) === v;
    for (;;) {
      let records: RecordCheck[];
      try {
        records = (await this.limiter.run(() => checker.check(v.domain, v.records))).records;
      } catch (err) {
        // The checker reports DNS trouble as pending records; anything it throws is treated the same way.
        const detail = `could not check: ${this.safe(err)}`;
        records = v.records.map((r) => ({ name: r.name, type: r.type, purpose: r.purpose, state: "pending", detail }));
      }
      if (!current()) return this.deps.observer?.dnsChecked?.(slug, "superseded");
      v.checks++;
      const now = this.deps.clock.now();
      this.reports.set(slug, { checkedAt: now, records });
      let outcome: DnsCheckOutcome = "pending";
      let patch: Partial<MailState> | null = null;
      if (blockingVerified(records)) {
        outcome = "verified";
        patch = v.keepReady ? null : { status: "ready", lastError: "" };
      } else if (now >= v.deadline) {
        outcome = "timed-out";
        const message = shortMessage(
          dnsDeadlineMessage(records, now - v.startedAt, this.options.dns.provider),
          this.deps.redact,
        );
        patch = v.keepReady ? { lastError: message } : { status: "error", lastError: message };
      }
      let delay: number;
      if (outcome === "pending") {
        delay = Math.min(nextCheckDelay(v.checks, this.policy), v.deadline - now);
        this.deps.logger?.debug({ slug, checks: v.checks, nextInMs: delay }, "DNS records not verified yet");
      } else {
        const written = patch ? await this.writeOutcome(slug, v, patch) : "written";
        if (written !== "failed") {
          if (this.verifications.get(slug) === v) this.verifications.delete(slug);
          const result = written === "stale" ? "superseded" : outcome;
          const log = outcome === "timed-out" ? "warn" : "info";
          this.deps.logger?.[log]({ slug, outcome: result, checks: v.checks }, "DNS checks finished");
          return this.deps.observer?.dnsChecked?.(slug, result);
        }
        // The status write failed (Kubernetes API trouble): check and write again after an interval.
        delay = this.policy.intervalMs;
      }
      v.nextCheckAt = now + delay;
      this.deps.observer?.dnsChecked?.(slug, "pending");
      try {
        await this.deps.clock.sleep(delay, signal);
      } catch {
        return;
      }
      if (!current()) return;
    }
  }

  /** Writes a check's outcome unless a request or run took over meanwhile. */
  private writeOutcome(
    slug: string,
    v: Verification,
    patch: Partial<MailState>,
  ): Promise<"written" | "stale" | "failed"> {
    return this.deps.locks.run(slug, async () => {
      if (this.verifications.get(slug) !== v) return "stale";
      if (this.deps.generationOf(slug) !== v.generation) return "stale";
      try {
        await this.deps.sites.patchMail(slug, patch);
        return "written";
      } catch (err) {
        if (err instanceof SiteNotFoundError) return "stale";
        this.deps.logger?.warn({ slug, err: this.safe(err) }, "could not record the DNS check; retrying");
        return "failed";
      }
    });
  }

  private safe(err: unknown): string {
    return shortMessage(errorMessage(err), this.deps.redact, 1024);
  }
}
