/**
 * The reconciler owns the mail flow of every site, level-triggered like a Kubernetes controller: a request only
 * records the desired state (annotations) and queues the slug; a worker reads the site's current desired state and
 * brings Mailcow, the DNS stack and the status there. Requests that arrive during a run coalesce into at most one
 * follow-up run; transient failures retry with capped backoff; permanent ones stop at `error`.
 *
 * With a DNS checker, an enable run ends after the stack's `up` with the site still `provisioning`; the records are
 * then checked at the domain's authoritative servers outside the run queue (a slot is never held while DNS
 * propagates), and the site becomes `ready` when they verify, or `error` when the deadline passes.
 */
import type { MailDnsRecord } from "../../components/site-records";
import { type Clock, isAbortError, systemClock } from "../clock";
import type { DomainLimits, MailcowApi, RateLimit } from "../mailcow/api";
import { createRedactor, errorMessage, type Redactor, shortMessage } from "../redact";
import {
  isSettled,
  MAIL_PROVIDER,
  type MailState,
  type MailStatus,
  type Site,
  type SiteDirectory,
  SiteNotFoundError,
} from "../sites/site";
import {
  checkSiteDomain,
  type SiteDnsDefaults,
  type SiteStackRequest,
  siteRecordsFor,
  siteStackConfigFor,
} from "../stacks/site-stack-config";
import type { RunProgress, StackConfig, StackRunner } from "../stacks/stack-runner";
import { type BackoffPolicy, backoffDelay } from "./backoff";
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
import { classifyFailure, PermanentFailure } from "./failure";
import { KeyLock } from "./key-lock";
import { CoalescingQueue } from "./work-queue";

export type Desired = "enabled" | "disabled" | "purged";
/** `provisioning`: the stack is up and the records are being checked (outside the run). */
type Reached = "ready" | "provisioning" | "disabled" | "purged";

/** How a run ended, for metrics and logs. `dns-pending`: enable done, the records' checks continue after the run. */
export type RunResult = "ready" | "dns-pending" | "disabled" | "purged" | "error" | "aborted" | "superseded" | "gone";

/**
 * How one DNS check of a site ended: `verified` (the blocking records all verify), `pending` (another check is
 * scheduled), `timed-out` (the deadline passed), `superseded` (a request or run took over; nothing was written).
 */
export type DnsCheckOutcome = "verified" | "pending" | "timed-out" | "superseded";

export interface ReconcilerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ReconcilerObserver {
  runStarted?(slug: string): void;
  runFinished?(slug: string, result: RunResult, seconds: number): void;
  /** After each DNS check of a site (and after the status write it led to). */
  dnsChecked?(slug: string, outcome: DnsCheckOutcome): void;
}

export interface ReconcilerOptions {
  maxParallelRuns: number;
  retry: BackoffPolicy;
  domainLimits: DomainLimits;
  rateLimit: RateLimit;
  dkim: { selector: string; keySize: number };
  dns: SiteDnsDefaults;
  /** 0 or absent: no periodic resync. */
  resyncIntervalMs?: number;
  /** Re-check schedule and deadline of the DNS checks (used only with a `dnsChecker`); defaults 30 s and 15 min. */
  dnsCheck?: DnsCheckPolicy;
}

export interface ReconcilerDeps {
  sites: SiteDirectory;
  mailcow: MailcowApi;
  runner: StackRunner;
  /** Builds the site's stack config; defaults to `siteStackConfigFor` with `options.dns`. */
  stackConfig?: (request: SiteStackRequest) => StackConfig;
  clock?: Clock;
  random?: () => number;
  logger?: ReconcilerLogger;
  observer?: ReconcilerObserver;
  redact?: Redactor;
  /** Checks the published records at the domain's authoritative servers; absent or null: `ready` right after `up`. */
  dnsChecker?: DnsRecordChecker | null;
}

/** A request the controller refuses before changing anything: `status` is the HTTP status to answer with. */
export class RequestRejected extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RequestRejected";
  }
}

export interface RunView {
  state: "queued" | "running" | "retrying";
  /** What the run works toward. */
  desired: Desired | null;
  attempt: number;
  done: number;
  total: number;
  startedAt: string | null;
}

export interface DnsRecordView extends MailDnsRecord {
  /**
   * With DNS checks: `verified` (the authoritative servers answer it), `failed` (they answer something else),
   * `pending` (not there yet, not checked yet, or a run is due). Without checks, or for a `ready` site not checked
   * since the controller started: `published` (in the DNS provider) or `manual` (publish it by hand).
   */
  state: "published" | "manual" | "pending" | "verified" | "failed";
  /** What the last check found (DNS checks only). */
  detail?: string;
}

export interface MailStatusView {
  slug: string;
  enabled: boolean;
  provider: string;
  domain: string;
  status: MailStatus;
  lastError: string;
  dns: {
    provider: "cloudflare" | "manual";
    records: DnsRecordView[];
    /** When the records were last checked at the authoritative servers (null: not since the controller started). */
    checkedAt: string | null;
    /** While the checks continue: the next one, and when the site goes to `error` if they have not verified. */
    nextCheckAt: string | null;
    deadline: string | null;
  };
  run: RunView | null;
}

interface Intent {
  generation: number;
  desired: Desired;
}

interface LiveRun {
  desired: Desired | null;
  attempt: number;
  done: number;
  total: number;
  retrying: boolean;
  startedAt: number;
  /** Set by an enable whose records are to be checked once the run has written its outcome. */
  verify?: VerifyRequest;
}

interface VerifyRequest {
  domain: string;
  records: MailDnsRecord[];
  /** The site was already `ready`: a failed check only writes the last error, the status stays. */
  keepReady: boolean;
}

/** A site's records being checked: one per site, outside the run queue, cancelled by any request or run. */
interface Verification extends VerifyRequest {
  generation: number;
  startedAt: number;
  deadline: number;
  checks: number;
  nextCheckAt: number | null;
  controller: AbortController;
}

const NO_RUN_NEEDED_STATUSES: ReadonlySet<MailStatus | null> = new Set([null, "disabled", "purged"]);

export function desiredOf(mail: MailState): Desired {
  if (mail.enabled) return "enabled";
  return mail.status === "purging" || mail.status === "purged" ? "purged" : "disabled";
}

/** Whether a site needs a run: work promised but not done, or mail on (a resync re-checks it for drift). */
export function needsRun(mail: MailState): boolean {
  if (!isSettled(mail.status)) return true;
  if (mail.enabled) return true;
  // Mail off but the status still claims it is served: a run was cut short; finish the disable.
  return mail.status === "ready";
}

export class Reconciler {
  private readonly queue: CoalescingQueue;
  private readonly locks = new KeyLock();
  private readonly intents = new Map<string, Intent>();
  private readonly live = new Map<string, LiveRun>();
  /** Last known records of enabled sites (from the run's outputs), so status polls cost no Mailcow call. */
  private readonly records = new Map<string, MailDnsRecord[]>();
  /** Stacks whose lock may be stale (a crashed run, or a lock conflict no run of ours holds). */
  private readonly staleLockSuspects = new Set<string>();
  private readonly verifications = new Map<string, Verification>();
  /** The last DNS check of each enabled site, for the status. */
  private readonly dnsReports = new Map<string, { checkedAt: number; records: RecordCheck[] }>();
  private readonly dnsPolicy: Required<DnsCheckPolicy>;
  private readonly checkLimiter: CheckLimiter;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly redact: Redactor;
  private readonly stackConfig: (request: SiteStackRequest) => StackConfig;
  private accepting = true;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly options: ReconcilerOptions,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.redact = deps.redact ?? createRedactor([]);
    this.stackConfig = deps.stackConfig ?? ((request) => siteStackConfigFor(request, options.dns));
    const policy: DnsCheckPolicy = options.dnsCheck ?? DNS_CHECK_DEFAULTS;
    this.dnsPolicy = {
      intervalMs: policy.intervalMs,
      timeoutMs: policy.timeoutMs,
      maxIntervalMs: Math.max(policy.maxIntervalMs ?? 300_000, policy.intervalMs),
      maxParallelChecks: policy.maxParallelChecks ?? DNS_CHECK_DEFAULTS.maxParallelChecks,
    };
    this.checkLimiter = new CheckLimiter(this.dnsPolicy.maxParallelChecks);
    this.queue = new CoalescingQueue(
      options.maxParallelRuns,
      (slug, signal) => this.run(slug, signal),
      (slug, err) => this.deps.logger?.error({ slug, err: this.safe(err) }, "run crashed"),
    );
  }

  // ---- requests (called by the HTTP routes) ---------------------------------------------------------------------

  /** Records "mail on" for the site and queues it. `domain`, when given, must be the site's domain. */
  async requestEnable(slug: string, requested?: { domain?: string }): Promise<MailStatusView> {
    this.assertAccepting();
    const site = await this.requireSite(slug);
    if (!site.domain) {
      throw new RequestRejected(
        409,
        "site_has_no_domain",
        `site ${slug} has no domain annotation (namespace ${site.namespace}); set it before enabling mail`,
      );
    }
    const domain = this.allowedDomain(site.domain);
    if (requested?.domain !== undefined) {
      let asked: string;
      try {
        asked = checkSiteDomain(requested.domain, { mailHost: "", allowedSuffixes: [] });
      } catch (err) {
        throw new RequestRejected(400, "invalid_domain", errorMessage(err));
      }
      if (asked !== domain) {
        throw new RequestRejected(
          409,
          "domain_mismatch",
          `domain ${JSON.stringify(requested.domain)} is not the site's domain ${domain}; mail can only be enabled for the site's own domain`,
        );
      }
    }
    const unchanged =
      site.mail.enabled && site.mail.status === "ready" && site.mail.domain === domain && site.mail.lastError === "";
    const patch: Partial<MailState> = unchanged
      ? {}
      : { enabled: true, provider: MAIL_PROVIDER, domain, status: "pending", lastError: "" };
    return this.record(site, "enabled", patch);
  }

  /** Records "mail off" (DNS records removed, Mailcow domain inactive, mailboxes kept) and queues the site. */
  async requestDisable(slug: string): Promise<MailStatusView> {
    this.assertAccepting();
    const site = await this.requireSite(slug);
    const unchanged = !site.mail.enabled && NO_RUN_NEEDED_STATUSES.has(site.mail.status) && site.mail.lastError === "";
    const patch: Partial<MailState> = unchanged ? {} : { enabled: false, status: "disabling", lastError: "" };
    return this.record(site, "disabled", patch);
  }

  /** Records "mail gone": disable, then delete the Mailcow domain with its mailboxes and the stack. */
  async requestPurge(slug: string): Promise<MailStatusView> {
    this.assertAccepting();
    const site = await this.requireSite(slug);
    const patch: Partial<MailState> =
      site.mail.status === "purged" && !site.mail.enabled ? {} : { enabled: false, status: "purging", lastError: "" };
    return this.record(site, "purged", patch);
  }

  async status(slug: string): Promise<MailStatusView> {
    const site = await this.requireSite(slug);
    return this.view(site, true);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Queues the sites a previous process left unsettled (clearing their stack locks first), then starts the resync. */
  async start(): Promise<void> {
    try {
      const sites = await this.deps.sites.listSites();
      let requeued = 0;
      for (const site of sites) {
        if (!isSettled(site.mail.status) || (!site.mail.enabled && site.mail.status === "ready")) {
          this.staleLockSuspects.add(site.slug);
          this.queue.enqueue(site.slug);
          requeued++;
        }
      }
      this.deps.logger?.info({ sites: sites.length, requeued }, "reconciler started");
    } catch (err) {
      // The resync will list again; starting must not fail because the API blinked.
      this.deps.logger?.warn({ err: this.safe(err) }, "could not list sites at start; the resync will retry");
    }
    const every = this.options.resyncIntervalMs ?? 0;
    if (every > 0) {
      this.resyncTimer = setInterval(() => {
        void this.resync();
      }, every);
      this.resyncTimer.unref();
    }
  }

  /** Queues every site that may have drifted: mail on, or work promised but not done. */
  async resync(): Promise<number> {
    if (!this.accepting) return 0;
    try {
      const sites = await this.deps.sites.listSites();
      const due = sites.filter((s) => needsRun(s.mail));
      for (const site of due) this.queue.enqueue(site.slug);
      this.deps.logger?.debug({ sites: sites.length, queued: due.length }, "resync");
      return due.length;
    } catch (err) {
      this.deps.logger?.warn({ err: this.safe(err) }, "resync could not list sites");
      return 0;
    }
  }

  /**
   * Stop accepting requests, let runs finish until the deadline, then abort the rest (SIGINT to the CLI). Pending
   * DNS checks stop at once: their sites stay `provisioning`, and the next start checks them again.
   */
  async shutdown(deadlineMs: number): Promise<void> {
    this.accepting = false;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const slug of [...this.verifications.keys()]) this.cancelVerification(slug);
    this.queue.stop();
    const finished = await this.queue.drain(deadlineMs);
    if (!finished) {
      this.deps.logger?.warn({ running: this.queue.running() }, "shutdown deadline reached; aborting runs");
      await this.queue.abortAll();
    }
  }

  /** Resolves when no run is queued or running (tests, the sandbox, benchmarks). Pending DNS checks do not count. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Sites whose records are being checked (they hold no run slot). */
  dnsPendingCount(): number {
    return this.verifications.size;
  }

  queueDepth(): number {
    return this.queue.depth();
  }

  runningCount(): number {
    return this.queue.running();
  }

  isAccepting(): boolean {
    return this.accepting;
  }

  // ---- the run --------------------------------------------------------------------------------------------------

  private async run(slug: string, signal: AbortSignal): Promise<void> {
    // The run re-reads the desired state; an enable restarts the checks after its `up`.
    this.cancelVerification(slug);
    const intent = this.intents.get(slug);
    const generation = intent?.generation ?? 0;
    const live: LiveRun = {
      desired: intent?.desired ?? null,
      attempt: 0,
      done: 0,
      total: 0,
      retrying: false,
      startedAt: this.clock.now(),
    };
    this.live.set(slug, live);
    this.deps.observer?.runStarted?.(slug);
    let result: RunResult = "error";
    try {
      result = await this.attempts(slug, generation, live, signal);
    } finally {
      this.live.delete(slug);
      const seconds = (this.clock.now() - live.startedAt) / 1000;
      this.deps.observer?.runFinished?.(slug, result, seconds);
      this.deps.logger?.info({ slug, result, desired: live.desired, attempts: live.attempt, seconds }, "run finished");
    }
  }

  private async attempts(slug: string, generation: number, live: LiveRun, signal: AbortSignal): Promise<RunResult> {
    const max = this.options.retry.maxAttempts;
    for (let attempt = 1; ; attempt++) {
      live.attempt = attempt;
      live.retrying = false;
      live.verify = undefined;
      let desired: Desired | null = null;
      try {
        // Level-triggered: every attempt reads the desired state afresh.
        const site = await this.deps.sites.find(slug);
        if (!site) return "gone";
        desired = desiredOf(site.mail);
        live.desired = desired;
        await this.markInProgress(site, desired, generation);
        const achieved = await this.converge(site, desired, live, signal);
        const verify = live.verify;
        const written = await this.finish(
          slug,
          generation,
          desired,
          { status: achieved, lastError: "" },
          true,
          // Inside the site's lock, so no request slips between the status write and the checks' start.
          verify ? (current) => this.startVerification(slug, current, verify) : undefined,
        );
        if (!written) return "superseded";
        return achieved === "provisioning" ? "dns-pending" : achieved;
      } catch (err) {
        if (signal.aborted || isAbortError(err)) {
          await this.bestEffortPatch(slug, {
            lastError: "interrupted by a controller shutdown; resumes when the controller starts again",
          });
          return "aborted";
        }
        // The namespace went away mid-run: nothing left to record the outcome on.
        if (err instanceof SiteNotFoundError) return "gone";
        const failure = classifyFailure(err);
        const message = shortMessage(failure.message, this.redact);
        if (!failure.transient || attempt >= max) {
          this.deps.logger?.warn(
            { slug, desired, attempt, transient: failure.transient, error: message },
            "run failed",
          );
          const written = await this.finish(slug, generation, desired, { status: "error", lastError: message }, false);
          return written ? "error" : "superseded";
        }
        const delay = backoffDelay(attempt, this.options.retry, this.random);
        if (/lock|concurrent update|already has update in progress/i.test(message)) this.staleLockSuspects.add(slug);
        this.deps.logger?.info(
          { slug, desired, attempt, delayMs: delay, error: message },
          "run attempt failed; retrying",
        );
        await this.bestEffortPatch(slug, {
          lastError: `attempt ${attempt} of ${max} failed, retrying in ${Math.ceil(delay / 1000)}s: ${message}`,
        });
        live.retrying = true;
        try {
          await this.clock.sleep(delay, signal);
        } catch {
          await this.bestEffortPatch(slug, {
            lastError: "interrupted by a controller shutdown; resumes when the controller starts again",
          });
          return "aborted";
        }
      }
    }
  }

  /** Brings one site to `desired`; returns the status it reached. */
  private async converge(site: Site, desired: Desired, live: LiveRun, signal: AbortSignal): Promise<Reached> {
    if (desired === "enabled") return this.enable(site, live, signal);
    if (desired === "disabled") return this.disable(site, live, signal);
    return this.purge(site, live, signal);
  }

  private async enable(site: Site, live: LiveRun, signal: AbortSignal): Promise<Reached> {
    const { mailcow } = this.deps;
    if (!site.domain) throw new PermanentFailure(`site ${site.slug} has no domain annotation`, "site_has_no_domain");
    const domain = checkSiteDomain(site.domain, this.options.dns);
    const previous = site.mail.domain;
    const ensured = await mailcow.ensureDomain(domain, this.options.domainLimits, this.options.rateLimit);
    if (!ensured.value.active) await mailcow.setDomainActive(domain, true);
    if (!ensured.created && rateLimitDiffers(ensured.value.rateLimit, this.options.rateLimit)) {
      await mailcow.setDomainRateLimit(domain, this.options.rateLimit);
    }
    const dkim = (await mailcow.ensureDkim(domain, this.options.dkim.selector, this.options.dkim.keySize)).value;
    const request: SiteStackRequest = {
      slug: site.slug,
      domain,
      enabled: true,
      dkim: { selector: dkim.selector, txt: dkim.txt },
    };
    const result = await this.up(site.slug, this.stackConfig(request), live, signal);
    const records = Array.isArray(result.outputs.records)
      ? (result.outputs.records as MailDnsRecord[])
      : siteRecordsFor(request, this.options.dns);
    this.records.set(site.slug, records);
    // The site moved to another domain: the old one stops receiving (its mailboxes are kept).
    if (previous && previous !== domain) {
      const old = await mailcow.getDomain(previous);
      if (old?.active) await mailcow.setDomainActive(previous, false);
      this.dnsReports.delete(site.slug);
    }
    if (!this.deps.dnsChecker) return "ready";
    // A resync of a working site re-checks its records without taking it out of `ready`.
    const keepReady = site.mail.status === "ready" && previous === domain;
    live.verify = { domain, records, keepReady };
    return keepReady ? "ready" : "provisioning";
  }

  private async disable(site: Site, live: LiveRun, signal: AbortSignal): Promise<Reached> {
    this.records.delete(site.slug);
    this.dnsReports.delete(site.slug);
    const domain = this.mailDomainOf(site);
    // Never enabled: nothing in Mailcow, no stack.
    if (!domain || site.mail.status === null) return "disabled";
    await this.takeDownRecords(site.slug, domain, live, signal);
    const current = await this.deps.mailcow.getDomain(domain);
    if (current?.active) await this.deps.mailcow.setDomainActive(domain, false);
    return "disabled";
  }

  private async purge(site: Site, live: LiveRun, signal: AbortSignal): Promise<Reached> {
    this.records.delete(site.slug);
    this.dnsReports.delete(site.slug);
    if (site.mail.status === "purged") return "purged";
    const domain = this.mailDomainOf(site);
    if (domain) {
      await this.takeDownRecords(site.slug, domain, live, signal);
      await this.deps.mailcow.purgeDomain(domain);
    }
    if (this.deps.runner.destroy) {
      await this.clearLockIfSuspect(site.slug);
      await this.deps.runner.destroy(site.slug, { signal, onProgress: (p) => this.progress(live, p) });
    }
    return "purged";
  }

  /** The stack with `enabled=false`: the records go, the stack stays (so a later enable is a plain update). */
  private async takeDownRecords(slug: string, domain: string, live: LiveRun, signal: AbortSignal): Promise<void> {
    let config: StackConfig;
    try {
      config = this.stackConfig({ slug, domain, enabled: false });
    } catch (err) {
      // A domain the stack refuses was never published by it: nothing to take down.
      if (err instanceof PermanentFailure) return;
      throw err;
    }
    await this.up(slug, config, live, signal);
  }

  private async up(slug: string, config: StackConfig, live: LiveRun, signal: AbortSignal) {
    await this.clearLockIfSuspect(slug);
    live.done = 0;
    live.total = 0;
    return this.deps.runner.up(slug, config, { signal, onProgress: (p) => this.progress(live, p) });
  }

  private async clearLockIfSuspect(slug: string): Promise<void> {
    if (!this.staleLockSuspects.has(slug)) return;
    await this.deps.runner.clearStaleLock(slug);
    this.staleLockSuspects.delete(slug);
  }

  private progress(live: LiveRun, p: RunProgress): void {
    live.done = p.done;
    live.total = Math.max(p.total, p.done);
  }

  private mailDomainOf(site: Site): string | null {
    if (site.mail.domain) return site.mail.domain;
    if (!site.domain) return null;
    try {
      return checkSiteDomain(site.domain, { mailHost: "", allowedSuffixes: [] });
    } catch {
      return null;
    }
  }

  // ---- DNS checks (outside the run queue) ------------------------------------------------------------------------

  private startVerification(slug: string, generation: number, request: VerifyRequest): void {
    this.cancelVerification(slug);
    const now = this.clock.now();
    const verification: Verification = {
      ...request,
      generation,
      startedAt: now,
      deadline: now + this.dnsPolicy.timeoutMs,
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

  private cancelVerification(slug: string): void {
    const verification = this.verifications.get(slug);
    if (!verification) return;
    this.verifications.delete(slug);
    verification.controller.abort();
  }

  /** Checks until the blocking records verify or the deadline passes; the first check is immediate. */
  private async verify(slug: string, v: Verification): Promise<void> {
    const checker = this.deps.dnsChecker;
    if (!checker) return;
    const signal = v.controller.signal;
    const current = () => !signal.aborted && this.verifications.get(slug) === v;
    for (;;) {
      let records: RecordCheck[];
      try {
        records = (await this.checkLimiter.run(() => checker.check(v.domain, v.records))).records;
      } catch (err) {
        // The checker reports DNS trouble as pending records; anything it throws is treated the same way.
        const detail = `could not check: ${this.safe(err)}`;
        records = v.records.map((r) => ({ name: r.name, type: r.type, purpose: r.purpose, state: "pending", detail }));
      }
      if (!current()) return this.deps.observer?.dnsChecked?.(slug, "superseded");
      v.checks++;
      const now = this.clock.now();
      this.dnsReports.set(slug, { checkedAt: now, records });
      let outcome: DnsCheckOutcome = "pending";
      let patch: Partial<MailState> | null = null;
      if (blockingVerified(records)) {
        outcome = "verified";
        patch = v.keepReady ? null : { status: "ready", lastError: "" };
      } else if (now >= v.deadline) {
        outcome = "timed-out";
        const message = shortMessage(
          dnsDeadlineMessage(records, now - v.startedAt, this.options.dns.provider),
          this.redact,
        );
        patch = v.keepReady ? { lastError: message } : { status: "error", lastError: message };
      }
      let delay: number;
      if (outcome === "pending") {
        delay = Math.min(nextCheckDelay(v.checks, this.dnsPolicy), v.deadline - now);
        this.deps.logger?.debug({ slug, checks: v.checks, nextInMs: delay }, "DNS records not verified yet");
      } else {
        const written = patch ? await this.writeVerification(slug, v, patch) : "written";
        if (written !== "failed") {
          if (this.verifications.get(slug) === v) this.verifications.delete(slug);
          const result = written === "stale" ? "superseded" : outcome;
          const log = outcome === "timed-out" ? "warn" : "info";
          this.deps.logger?.[log]({ slug, outcome: result, checks: v.checks }, "DNS checks finished");
          return this.deps.observer?.dnsChecked?.(slug, result);
        }
        // The status write failed (Kubernetes API trouble): check and write again after an interval.
        delay = this.dnsPolicy.intervalMs;
      }
      v.nextCheckAt = now + delay;
      this.deps.observer?.dnsChecked?.(slug, "pending");
      try {
        await this.clock.sleep(delay, signal);
      } catch {
        return;
      }
      if (!current()) return;
    }
  }

  /** Writes a check's outcome unless a request or run took over meanwhile. */
  private writeVerification(
    slug: string,
    v: Verification,
    patch: Partial<MailState>,
  ): Promise<"written" | "stale" | "failed"> {
    return this.locks.run(slug, async () => {
      if (this.verifications.get(slug) !== v) return "stale";
      if ((this.intents.get(slug)?.generation ?? 0) !== v.generation) return "stale";
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

  // ---- status writes --------------------------------------------------------------------------------------------

  /** A request: bump the site's generation, write its desired state, queue it. Serialised with the run's writes. */
  private async record(site: Site, desired: Desired, patch: Partial<MailState>): Promise<MailStatusView> {
    await this.locks.run(site.slug, async () => {
      if (Object.keys(patch).length > 0) await this.deps.sites.patchMail(site.slug, patch);
      // Any request supersedes pending DNS checks (a disable or purge ends them; an enable's run restarts them).
      this.cancelVerification(site.slug);
      const previous = this.intents.get(site.slug);
      this.intents.set(site.slug, { generation: (previous?.generation ?? 0) + 1, desired });
    });
    this.queue.enqueue(site.slug);
    return this.view({ ...site, mail: { ...site.mail, ...patch } }, false);
  }

  /** Marks the site as in progress, unless it already shows the settled state this run keeps. */
  private async markInProgress(site: Site, desired: Desired, generation: number): Promise<void> {
    const status = site.mail.status;
    let next: MailStatus | null = null;
    if (desired === "enabled" && status !== "ready" && status !== "provisioning") next = "provisioning";
    if (desired === "disabled" && !NO_RUN_NEEDED_STATUSES.has(status) && status !== "disabling") next = "disabling";
    if (desired === "purged" && status !== "purged" && status !== "purging") next = "purging";
    if (!next) return;
    const status_ = next;
    await this.locks.run(site.slug, async () => {
      if ((this.intents.get(site.slug)?.generation ?? 0) !== generation) return;
      await this.deps.sites.patchMail(site.slug, { status: status_ });
    });
  }

  /**
   * Writes the outcome of a run unless a newer request asked for something else (then the follow-up run writes).
   * A success also cancels the follow-up run when the newer requests asked for what this run reached.
   */
  private async finish(
    slug: string,
    generation: number,
    desired: Desired | null,
    patch: Partial<MailState>,
    success: boolean,
    /** Runs after a successful write, still inside the lock, with the generation now current. */
    afterWrite?: (generation: number) => void,
  ): Promise<boolean> {
    return this.locks.run(slug, async () => {
      const intent = this.intents.get(slug);
      if (intent && intent.generation !== generation) {
        if (!success || intent.desired !== desired) return false;
        this.queue.settle(slug);
      }
      try {
        await this.deps.sites.patchMail(slug, patch);
      } catch (err) {
        if (!success) {
          this.deps.logger?.error({ slug, err: this.safe(err) }, "could not record the error status");
          return true;
        }
        throw err;
      }
      afterWrite?.(intent?.generation ?? generation);
      return true;
    });
  }

  private async bestEffortPatch(slug: string, patch: Partial<MailState>): Promise<void> {
    try {
      await this.locks.run(slug, () => this.deps.sites.patchMail(slug, patch));
    } catch (err) {
      this.deps.logger?.warn({ slug, err: this.safe(err) }, "could not record progress");
    }
  }

  // ---- views ----------------------------------------------------------------------------------------------------

  private async view(site: Site, lookUpRecords: boolean): Promise<MailStatusView> {
    const mail = site.mail;
    const status: MailStatus = mail.status ?? "disabled";
    const provider = this.options.dns.provider;
    let records: MailDnsRecord[] = [];
    if (mail.enabled) {
      records =
        this.records.get(site.slug) ?? (lookUpRecords && status === "ready" ? await this.lookUpRecords(site) : []);
    }
    const recordState: DnsRecordView["state"] =
      status === "ready" ? (provider === "cloudflare" ? "published" : "manual") : "pending";
    const checked = this.deps.dnsChecker && mail.enabled ? this.dnsReports.get(site.slug) : undefined;
    const verification = mail.enabled ? this.verifications.get(site.slug) : undefined;
    const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());
    return {
      slug: site.slug,
      enabled: mail.enabled,
      provider: mail.provider || MAIL_PROVIDER,
      domain: mail.domain || site.domain || "",
      status,
      lastError: mail.lastError,
      dns: {
        provider,
        records: records.map((r, i): DnsRecordView => {
          const check = checked ? checkFor(checked.records, r, i) : undefined;
          if (check) return { ...r, state: check.state, detail: check.detail };
          if (verification) return { ...r, state: "pending", detail: "not checked yet" };
          return { ...r, state: recordState };
        }),
        checkedAt: iso(checked?.checkedAt),
        nextCheckAt: iso(verification?.nextCheckAt),
        deadline: iso(verification?.deadline),
      },
      run: this.runView(site.slug),
    };
  }

  /** After a restart the records are rebuilt once from Mailcow's DKIM key, then served from memory. */
  private async lookUpRecords(site: Site): Promise<MailDnsRecord[]> {
    const domain = site.mail.domain;
    if (!domain) return [];
    try {
      const dkim = await this.deps.mailcow.getDkim(domain);
      if (!dkim) return [];
      const records = siteRecordsFor(
        { slug: site.slug, domain, enabled: true, dkim: { selector: dkim.selector, txt: dkim.txt } },
        this.options.dns,
      );
      this.records.set(site.slug, records);
      return records;
    } catch (err) {
      this.deps.logger?.debug({ slug: site.slug, err: this.safe(err) }, "could not rebuild the records");
      return [];
    }
  }

  private runView(slug: string): RunView | null {
    const live = this.live.get(slug);
    if (live) {
      return {
        state: live.retrying ? "retrying" : "running",
        desired: live.desired,
        attempt: live.attempt,
        done: live.done,
        total: live.total,
        startedAt: new Date(live.startedAt).toISOString(),
      };
    }
    if (this.queue.isQueued(slug)) {
      return {
        state: "queued",
        desired: this.intents.get(slug)?.desired ?? null,
        attempt: 0,
        done: 0,
        total: 0,
        startedAt: null,
      };
    }
    return null;
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  private async requireSite(slug: string): Promise<Site> {
    const site = await this.deps.sites.find(slug);
    if (!site) throw new SiteNotFoundError(slug);
    return site;
  }

  private allowedDomain(domain: string): string {
    try {
      return checkSiteDomain(domain, this.options.dns);
    } catch (err) {
      throw new RequestRejected(409, "domain_not_allowed", errorMessage(err));
    }
  }

  private assertAccepting(): void {
    if (!this.accepting) {
      throw new RequestRejected(
        503,
        "shutting_down",
        "the controller is shutting down; retry against the new instance",
      );
    }
  }

  private safe(err: unknown): string {
    return shortMessage(errorMessage(err), this.redact, 1024);
  }
}

/** The check of `record` in a report made for the same list (same index), else found by name, type and purpose. */
function checkFor(checks: readonly RecordCheck[], record: MailDnsRecord, index: number): RecordCheck | undefined {
  const same = (c: RecordCheck | undefined) =>
    c !== undefined && c.type === record.type && c.purpose === record.purpose && c.name === record.name.toLowerCase();
  if (same(checks[index])) return checks[index];
  return checks.find(same);
}

function rateLimitDiffers(current: RateLimit | null, wanted: RateLimit): boolean {
  if (wanted.value === 0) return current !== null && current.value !== 0;
  return current === null || current.value !== wanted.value || current.frame !== wanted.frame;
}
