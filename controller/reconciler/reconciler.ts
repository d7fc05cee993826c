/**
 * The reconciler owns the mail flow of every site, level-triggered like a Kubernetes controller: a request only
 * records the desired state (annotations) and queues the slug; a worker reads the site's current desired state and
 * brings Mailcow, the DNS stack and the status there. Requests that arrive during a run coalesce into at most one
 * follow-up run; transient failures retry with capped backoff; permanent ones stop at `error`.
 *
 * With a DNS checker, an enable run ends after the stack's `up` with the site still `provisioning`; the records are
 * then checked at the domain's authoritative servers outside the run queue (a slot is never held while DNS
 * propagates), and the site becomes `ready` when they verify, or `error` when the deadline passes.
 *
 * This module owns the flow (intake, queue, retries, status writes, views); the steps that talk to Mailcow and the
 * stack runner live in `converge.ts`, the scheduling of the DNS checks in `dns-check-scheduler.ts`.
 */
import type { MailDnsRecord } from "../../components/site-records";
import { type Clock, isAbortError, systemClock } from "../clock";
import type { DomainLimits, MailcowApi, RateLimit } from "../mailcow/api";
import { MailcowError } from "../mailcow/errors";
import { createRedactor, errorMessage, type Redactor, shortMessage } from "../redact";
import { DomainOwnership } from "../sites/ownership";
import {
  isSettled,
  MAIL_PROVIDER,
  type MailState,
  type MailStatus,
  type Site,
  type SiteDirectory,
  SiteNotFoundError,
} from "../sites/site";
import { type DomainPolicy, parseSiteDomain, type SiteDomain, wellFormedDomain } from "../sites/site-domain";
import {
  type SiteDnsDefaults,
  type SiteStackRequest,
  siteRecordsFor,
  siteStackConfigFor,
} from "../stacks/site-stack-config";
import type { StackConfig, StackRunner } from "../stacks/stack-runner";
import { type BackoffPolicy, backoffDelay } from "./backoff";
import { type Converged, type Desired, SiteConverger } from "./converge";
import { type DnsCheckOutcome, DnsCheckScheduler } from "./dns-check-scheduler";
import type { DnsCheckPolicy, DnsRecordChecker } from "./dns-verification";
import { classifyFailure, RequestRejected } from "./failure";
import { KeyLock } from "./key-lock";
import { type LiveRun, SiteStates } from "./site-state";
import { StackSlots, slotLimitedRunner } from "./stack-slots";
import { type DnsRecordView, type MailStatusView, type RunView, StatusViews } from "./status-views";
import { CoalescingQueue } from "./work-queue";

export type { Desired } from "./converge";
export type { DnsCheckOutcome } from "./dns-check-scheduler";
export { RequestRejected } from "./failure";

/** How a run ended, for metrics and logs. `dns-pending`: enable done, the records' checks continue after the run. */
export type RunResult = "ready" | "dns-pending" | "disabled" | "purged" | "error" | "aborted" | "superseded" | "gone";

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
  /** Let a site take over a Mailcow domain without the owner marker (default false). */
  adoptUnmarkedDomains?: boolean;
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

export type { DnsRecordView, MailStatusView, RunView } from "./status-views";

const TAKEN_DOWN: ReadonlySet<MailStatus> = new Set(["disabling", "disabled", "purging", "purged"]);

const NO_RUN_NEEDED_STATUSES: ReadonlySet<MailStatus | null> = new Set([null, "disabled", "purged"]);

export function desiredOf(mail: MailState): Desired {
  if (mail.enabled) return "enabled";
  return mail.status === "purging" || mail.status === "purged" ? "purged" : "disabled";
}

/**
 * Whether a run was promised and not finished: a recorded request whose generation no run has observed, an unsettled
 * status, or mail off while the status still says `ready`.
 */
function unfinished(mail: MailState): boolean {
  if ((mail.generation ?? 0) > (mail.observedGeneration ?? 0)) return true;
  if (!isSettled(mail.status)) return true;
  // Mail off but the status still claims it is served: a run was cut short; finish the disable.
  return !mail.enabled && mail.status === "ready";
}

/** Whether a site needs a run: work promised but not done, or mail on (a resync re-checks it for drift). */
export function needsRun(mail: MailState): boolean {
  return mail.enabled || unfinished(mail);
}

/** An instant as the API shows it; module-level, since tsx names each closure it creates, at a cost per answer. */
function isoTime(t: number | null | undefined): string | null {
  return t === null || t === undefined ? null : new Date(t).toISOString();
}

/**
 * Runs in flight per stack slot: while `maxParallelRuns` runs are at their stack step, as many more do their Mailcow
 * steps and status writes, so each freed slot is taken at once (stack-slots.ts).
 */
const RUNS_PER_STACK_SLOT = 2;

const INTERRUPTED = "interrupted by a controller shutdown; resumes when the controller starts again";

export class Reconciler {
  private readonly queue: CoalescingQueue;
  private readonly locks = new KeyLock();
  /** Every site's state: written here only. */
  private readonly states = new SiteStates();
  /** The views answers show, kept while unchanged (status-views.ts). */
  private readonly views = new StatusViews();
  private readonly ownership: DomainOwnership;
  private readonly policy: DomainPolicy;
  private readonly converger: SiteConverger;
  private readonly stackSlots: StackSlots;
  private readonly dnsChecks: DnsCheckScheduler;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly redact: Redactor;
  private accepting = true;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly options: ReconcilerOptions,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.redact = deps.redact ?? createRedactor([]);
    this.stackSlots = new StackSlots(options.maxParallelRuns);
    this.dnsChecks = new DnsCheckScheduler(
      {
        checker: deps.dnsChecker,
        sites: deps.sites,
        locks: this.locks,
        generationOf: (slug) => this.states.peek(slug)?.generation ?? 0,
        clock: this.clock,
        redact: this.redact,
        logger: deps.logger,
        observer: deps.observer,
      },
      { policy: options.dnsCheck, dns: options.dns },
    );
    this.policy = { mailHost: options.dns.mailHost, allowedSuffixes: options.dns.allowedSuffixes };
    this.ownership = new DomainOwnership(deps.mailcow, deps.sites, {
      adoptUnmarked: options.adoptUnmarkedDomains ?? false,
    });
    this.converger = new SiteConverger(
      {
        mailcow: deps.mailcow,
        runner: slotLimitedRunner(deps.runner, this.stackSlots),
        ownership: this.ownership,
        stackConfig: deps.stackConfig ?? ((request) => siteStackConfigFor(request, options.dns)),
        checksDns: Boolean(deps.dnsChecker),
      },
      options,
    );
    this.queue = new CoalescingQueue(
      options.maxParallelRuns * RUNS_PER_STACK_SLOT,
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
    const domain = parseSiteDomain(site.domain, this.policy);
    if (requested?.domain !== undefined) {
      const asked = wellFormedDomain(requested.domain);
      if (asked === null) {
        throw new RequestRejected(
          400,
          "invalid_domain",
          `domain ${JSON.stringify(requested.domain)} is not a domain name`,
        );
      }
      if (asked !== domain) {
        throw new RequestRejected(
          409,
          "domain_mismatch",
          `domain ${JSON.stringify(requested.domain)} is not the site's domain ${domain}; mail can only be enabled for the site's own domain`,
        );
      }
    }
    // Another site's domain (or an unmarked one) is refused before anything is written.
    await this.verifyOwned(slug, domain);
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
    await this.assertTakeDownAllowed(site);
    const unchanged = !site.mail.enabled && NO_RUN_NEEDED_STATUSES.has(site.mail.status) && site.mail.lastError === "";
    const patch: Partial<MailState> = unchanged ? {} : { enabled: false, status: "disabling", lastError: "" };
    return this.record(site, "disabled", patch);
  }

  /** Records "mail gone": disable, then delete the Mailcow domain with its mailboxes and the stack. */
  async requestPurge(slug: string): Promise<MailStatusView> {
    this.assertAccepting();
    const site = await this.requireSite(slug);
    await this.assertTakeDownAllowed(site);
    const patch: Partial<MailState> =
      site.mail.status === "purged" && !site.mail.enabled ? {} : { enabled: false, status: "purging", lastError: "" };
    return this.record(site, "purged", patch);
  }

  async status(slug: string): Promise<MailStatusView> {
    const site = await this.requireSite(slug);
    const declared = site.domain ? wellFormedDomain(site.domain) : null;
    // The status of another site's domain is not this site's to read.
    if (declared) await this.verifyOwned(slug, declared);
    return this.view(site, true);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Queues the sites a previous process left unsettled (clearing their stack locks first), then starts the resync. */
  async start(): Promise<void> {
    try {
      const sites = await this.deps.sites.listSites();
      let requeued = 0;
      for (const site of sites) {
        if (unfinished(site.mail)) {
          this.states.of(site.slug).staleLock = true;
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
    this.dnsChecks.stop();
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
    return this.dnsChecks.pendingCount();
  }

  queueDepth(): number {
    return this.queue.depth();
  }

  /** Runs in flight (at most `RUNS_PER_STACK_SLOT × maxParallelRuns`). */
  runningCount(): number {
    return this.queue.running();
  }

  /** Stack operations in progress (at most `maxParallelRuns`). */
  stackRunsCount(): number {
    return this.stackSlots.busy();
  }

  isAccepting(): boolean {
    return this.accepting;
  }

  // ---- the run --------------------------------------------------------------------------------------------------

  private async run(slug: string, signal: AbortSignal): Promise<void> {
    // The run re-reads the desired state; an enable restarts the checks after its `up`.
    this.dnsChecks.cancel(slug);
    const state = this.states.of(slug);
    const generation = state.generation;
    const live: LiveRun = {
      desired: state.desired,
      attempt: 0,
      done: 0,
      total: 0,
      retrying: false,
      startedAt: this.clock.now(),
    };
    state.live = live;
    this.deps.observer?.runStarted?.(slug);
    let result: RunResult = "error";
    try {
      result = await this.attempts(slug, generation, live, signal);
    } finally {
      state.live = null;
      const seconds = (this.clock.now() - live.startedAt) / 1000;
      this.deps.observer?.runFinished?.(slug, result, seconds);
      this.deps.logger?.info({ slug, result, desired: live.desired, attempts: live.attempt, seconds }, "run finished");
    }
  }

  private async attempts(slug: string, started: number, live: LiveRun, signal: AbortSignal): Promise<RunResult> {
    const max = this.options.retry.maxAttempts;
    const state = this.states.of(slug);
    let generation = started;
    /** The persisted generation this run observes (requests that changed nothing were not persisted). */
    let observed = 0;
    for (let attempt = 1; ; attempt++) {
      live.attempt = attempt;
      live.retrying = false;
      let desired: Desired | null = null;
      const lock = { suspect: state.staleLock };
      try {
        // Level-triggered: every attempt reads the desired state afresh, and parses the declared domain once.
        const site = await this.deps.sites.find(slug);
        if (!site) return "gone";
        // First sight of the site since the controller started: its persisted generation is the one this run serves.
        const persisted = site.mail.generation ?? 0;
        if (generation === 0 && state.generation === 0 && persisted > 0) {
          state.generation = persisted;
          generation = persisted;
        }
        observed = Math.min(generation, persisted);
        desired = desiredOf(site.mail);
        live.desired = desired;
        const domain: SiteDomain | null =
          desired === "enabled" && site.domain ? parseSiteDomain(site.domain, this.policy) : null;
        await this.markInProgress(site, desired, generation);
        let converged: Converged;
        try {
          // The request's "absent" read serves this attempt only; a retry reads Mailcow again.
          const domainSeenAbsent = domain !== null && state.absentDomain === domain;
          state.absentDomain = null;
          converged = await this.converger.converge({
            site,
            domain,
            desired,
            progress: live,
            lock,
            signal,
            domainSeenAbsent,
          });
        } finally {
          state.staleLock = lock.suspect;
        }
        const { reached: achieved, dnsCheck } = converged;
        state.records = converged.records;
        if (converged.dnsReportStale) this.dnsChecks.forgetReport(slug);
        if (converged.domain) state.ownedDomain = converged.domain;
        if (desired === "purged") state.ownedDomain = null;
        const written = await this.finish(
          slug,
          generation,
          desired,
          {
            status: achieved,
            lastError: "",
            ...(converged.domain ? { domain: converged.domain } : {}),
            ...(observed > 0 ? { observedGeneration: observed } : {}),
          },
          true,
          // Inside the site's lock, so no request slips between the status write and the checks' start.
          dnsCheck ? (current) => this.dnsChecks.start(slug, current, dnsCheck) : undefined,
        );
        if (!written) return "superseded";
        return achieved === "provisioning" ? "dns-pending" : achieved;
      } catch (err) {
        if (signal.aborted || isAbortError(err)) {
          await this.bestEffortPatch(slug, { lastError: INTERRUPTED });
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
          const written = await this.finish(
            slug,
            generation,
            desired,
            { status: "error", lastError: message, ...(observed > 0 ? { observedGeneration: observed } : {}) },
            false,
          );
          return written ? "error" : "superseded";
        }
        const delay = backoffDelay(attempt, this.options.retry, this.random);
        if (failure.staleLock) state.staleLock = true;
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
          await this.bestEffortPatch(slug, { lastError: INTERRUPTED });
          return "aborted";
        }
      }
    }
  }

  // ---- status writes --------------------------------------------------------------------------------------------

  /** A request: bump the site's generation, write its desired state, queue it. Serialised with the run's writes. */
  private async record(site: Site, desired: Desired, patch: Partial<MailState>): Promise<MailStatusView> {
    await this.locks.run(site.slug, async () => {
      const state = this.states.of(site.slug);
      // Persisted, so that a restart knows whether this request's run finished (generation > observedGeneration).
      const generation = Math.max(state.generation, site.mail.generation ?? 0) + 1;
      // A request that changes nothing writes nothing: its run then observes a generation newer than the persisted.
      if (Object.keys(patch).length > 0) await this.deps.sites.patchMail(site.slug, { ...patch, generation });
      // Any request supersedes pending DNS checks (a disable or purge ends them; an enable's run restarts them).
      this.dnsChecks.cancel(site.slug);
      state.generation = generation;
      state.desired = desired;
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
      if ((this.states.peek(site.slug)?.generation ?? 0) !== generation) return;
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
      const state = this.states.of(slug);
      const current = state.generation;
      if (current !== generation) {
        if (!success || state.desired !== desired) return false;
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
      afterWrite?.(current);
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
        this.states.peek(site.slug)?.records ??
        (lookUpRecords && status === "ready" ? await this.lookUpRecords(site) : []);
    }
    const declared = site.domain ? wellFormedDomain(site.domain) : null;
    const echo = mail.domain ? wellFormedDomain(mail.domain) : null;
    // The echo is not an authority: mail on with another domain than the site declares, and no run to move it, is an
    // error state naming both values (the next enable or resync moves the mail, if the old domain is the site's).
    const mismatch = mail.enabled && echo !== null && declared !== echo && !this.runView(site.slug);
    const mismatchError = mismatch
      ? `the mail-domain annotation names ${echo}, but the site's domain is ${declared ?? "not set"}; enable mail again to move it`
      : "";
    const recordState: DnsRecordView["state"] =
      status === "ready" ? (provider === "cloudflare" ? "published" : "manual") : "pending";
    const checked = this.deps.dnsChecker && mail.enabled ? this.dnsChecks.lastReport(site.slug) : undefined;
    const verification = mail.enabled ? this.dnsChecks.pending(site.slug) : undefined;
    // Manual DNS: the controller cannot take down what the operator published by hand; say so.
    const manualTakeDown =
      provider === "manual" && !mail.enabled && mail.domain !== "" && TAKEN_DOWN.has(status)
        ? `mail is off: remove the records you published by hand for ${mail.domain} (MX, SPF, DKIM, DMARC and the ` +
          "client-configuration names); mail sent to the domain bounces while its MX still points here"
        : undefined;
    return this.views.keep({
      slug: site.slug,
      enabled: mail.enabled,
      provider: mail.provider || MAIL_PROVIDER,
      domain: declared ?? (mail.domain || site.domain || ""),
      status: mismatch ? "error" : status,
      lastError: mismatch ? mismatchError : mail.lastError,
      dns: {
        provider,
        records: this.views.records(records, recordState, checked, verification !== undefined),
        checkedAt: isoTime(checked?.checkedAt),
        nextCheckAt: isoTime(verification?.nextCheckAt),
        deadline: isoTime(verification?.deadline),
        ...(manualTakeDown ? { notice: manualTakeDown } : {}),
      },
      run: this.runView(site.slug),
    });
  }

  /** After a restart the records are rebuilt once from Mailcow's DKIM key, then served from memory. */
  private async lookUpRecords(site: Site): Promise<MailDnsRecord[]> {
    // Only the domain whose ownership was verified (the declared one), never the echo.
    const domain = this.states.peek(site.slug)?.ownedDomain;
    if (!domain || domain !== site.mail.domain) return [];
    try {
      const dkim = await this.deps.mailcow.getDkim(domain);
      if (!dkim) return [];
      const records = siteRecordsFor(
        { slug: site.slug, domain, enabled: true, dkim: { selector: dkim.selector, txt: dkim.txt } },
        this.options.dns,
      );
      this.states.of(site.slug).records = records;
      return records;
    } catch (err) {
      this.deps.logger?.debug({ slug: site.slug, err: this.safe(err) }, "could not rebuild the records");
      return [];
    }
  }

  private runView(slug: string): RunView | null {
    const live = this.states.peek(slug)?.live;
    if (live) {
      return {
        state: live.retrying ? "retrying" : "running",
        desired: live.desired,
        attempt: live.attempt,
        done: live.done,
        total: live.total,
        startedAt: isoTime(live.startedAt),
      };
    }
    // Taken by the queue but not begun (it begins on the next turn), or due again after the current run.
    if (this.queue.isQueued(slug) || this.queue.isRunning(slug)) {
      return {
        state: "queued",
        desired: this.states.peek(slug)?.desired ?? null,
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

  /**
   * Checks the domain's owner marker, unless this process already saw it carry the site's marker. A request-time
   * check is the fast refusal; the run checks again before it changes anything, so when Mailcow cannot answer now
   * the request is still recorded and the run decides (`strict`: the status, which must not show another's data).
   */
  private async verifyOwned(slug: string, domain: string, strict = false): Promise<void> {
    const state = this.states.peek(slug);
    if (state?.ownedDomain === domain) return;
    try {
      const held = await this.ownership.verify(slug, domain);
      if (held?.owner === slug) this.states.of(slug).ownedDomain = domain;
      this.states.of(slug).absentDomain = held === null ? domain : null;
    } catch (err) {
      if (strict || !(err instanceof MailcowError)) throw err;
      this.deps.logger?.debug({ slug, err: this.safe(err) }, "ownership not checked at the request; the run checks it");
    }
  }

  /** A disable or purge may only touch the site's own domains: refuse at once, before anything is written. */
  private async assertTakeDownAllowed(site: Site): Promise<void> {
    const state = this.states.peek(site.slug);
    const declared = site.domain ? wellFormedDomain(site.domain) : null;
    const echo = site.mail.domain ? wellFormedDomain(site.mail.domain) : null;
    // Both names already verified as the site's: no Mailcow call.
    if (state?.ownedDomain && (declared ?? state.ownedDomain) === state.ownedDomain && (echo ?? declared) === declared)
      return;
    try {
      await this.ownership.takeDownTargets(site);
    } catch (err) {
      if (!(err instanceof MailcowError)) throw err;
      this.deps.logger?.debug({ slug: site.slug, err: this.safe(err) }, "ownership not checked at the request");
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
