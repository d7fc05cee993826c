/**
 * The convergence steps of one run: bring Mailcow and the site's DNS stack to the desired state. The reconciler
 * decides when a site runs, retries and records the outcome; this module only does the work and returns what it
 * reached as a value (`Converged`): the records to serve, whether the last DNS report still holds, and, for an enable
 * with DNS checks, which records to check once the outcome is written. It holds no state of the reconciler's.
 *
 * Every Mailcow domain it touches passes the ownership check first (`sites/ownership.ts`): another site's domain
 * stops the run at `error` before anything changes.
 */
import type { MailDnsRecord } from "../../components/site-records";
import type { DomainLimits, MailcowApi, RateLimit } from "../mailcow/api";
import type { DomainOwnership } from "../sites/ownership";
import type { Site } from "../sites/site";
import { type SiteDomain, wellFormedDomain } from "../sites/site-domain";
import { type SiteDnsDefaults, type SiteStackRequest, siteRecordsFor } from "../stacks/site-stack-config";
import type { RunProgress, StackConfig, StackRunner } from "../stacks/stack-runner";
import type { DnsCheckRequest } from "./dns-check-scheduler";
import { PermanentFailure } from "./failure";

export type Desired = "enabled" | "disabled" | "purged";
/** `provisioning`: the stack is up and the records are being checked (outside the run). */
export type Reached = "ready" | "provisioning" | "disabled" | "purged";

/** What a convergence reached, as a value the reconciler records in the site's state. */
export interface Converged {
  reached: Reached;
  /** The domain the site's mail now lives on (enable), for the `mail-domain` echo. */
  domain?: string;
  /** The records to serve in the status (enable), or `null`: none any more (disable, purge). */
  records: MailDnsRecord[] | null;
  /** The last DNS report no longer describes the site's records. */
  dnsReportStale: boolean;
  /** An enable whose records are to be checked once the run has written its outcome. */
  dnsCheck?: DnsCheckRequest;
}

/** The run's progress counters, updated from the stack runner's progress while a stack operation runs. */
export interface StackProgress {
  done: number;
  total: number;
}

/** One attempt's view of the site's stack lock: in as the reconciler's suspicion, out as what the attempt left. */
export interface LockState {
  suspect: boolean;
}

export interface ConvergeOptions {
  domainLimits: DomainLimits;
  rateLimit: RateLimit;
  dkim: { selector: string; keySize: number };
  dns: SiteDnsDefaults;
}

export interface ConvergeDeps {
  mailcow: MailcowApi;
  runner: StackRunner;
  ownership: DomainOwnership;
  stackConfig: (request: SiteStackRequest) => StackConfig;
  /** Whether the records are checked after an enable; without checks the site is `ready` right after `up`. */
  checksDns: boolean;
}

export interface ConvergeInput {
  site: Site;
  /** The site's declared domain, parsed by the reconciler (required for an enable). */
  domain: SiteDomain | null;
  desired: Desired;
  progress: StackProgress;
  lock: LockState;
  signal: AbortSignal;
  /** The request found the domain absent from Mailcow just before this run: create it without reading it again. */
  domainSeenAbsent?: boolean;
}

export class SiteConverger {
  constructor(
    private readonly deps: ConvergeDeps,
    private readonly options: ConvergeOptions,
  ) {}

  /** Brings one site to `desired`; returns what it reached. */
  async converge(input: ConvergeInput): Promise<Converged> {
    if (input.desired === "enabled") return this.enable(input);
    if (input.desired === "disabled") return this.disable(input);
    return this.purge(input);
  }

  private async enable(input: ConvergeInput): Promise<Converged> {
    const { site, domain, signal, domainSeenAbsent } = input;
    const { mailcow, ownership } = this.deps;
    if (!domain) throw new PermanentFailure(`site ${site.slug} has no domain annotation`, "site_has_no_domain");
    const previous = site.mail.domain;
    // The run's signal reaches every Mailcow call, so a shutdown's abort also cuts a request short.
    const call = { signal };
    const ensured = await mailcow.ensureDomain(domain, site.slug, this.options.domainLimits, this.options.rateLimit, {
      ...call,
      expectAbsent: domainSeenAbsent === true,
    });
    // An existing domain is only this site's when its marker says so; ensureDomain changed nothing yet.
    if (!ensured.created && (await ownership.check(site.slug, domain, ensured.value)) === "adopted") {
      // Marked now, so the next operation sees an owned domain and no other site can adopt it meanwhile.
      await mailcow.setDomainOwner(domain, site.slug, ensured.value.limits.description, call);
    }
    if (!ensured.value.active) await mailcow.setDomainActive(domain, true, call);
    if (!ensured.created && rateLimitDiffers(ensured.value.rateLimit, this.options.rateLimit)) {
      await mailcow.setDomainRateLimit(domain, this.options.rateLimit, call);
    }
    const { selector, keySize } = this.options.dkim;
    const dkim = (await mailcow.ensureDkim(domain, selector, keySize, call)).value;
    const request: SiteStackRequest = {
      slug: site.slug,
      domain,
      enabled: true,
      dkim: { selector: dkim.selector, txt: dkim.txt },
    };
    const result = await this.up(input, this.deps.stackConfig(request));
    const records = Array.isArray(result.outputs.records)
      ? (result.outputs.records as MailDnsRecord[])
      : siteRecordsFor(request, this.options.dns);
    let dnsReportStale = false;
    // The site moved to another domain: the old one stops receiving (its mailboxes are kept), if it is this site's.
    if (previous && previous !== domain) {
      const old = await mailcow.getDomain(previous, call);
      if (old?.active && old.owner === site.slug) await mailcow.setDomainActive(previous, false, call);
      dnsReportStale = true;
    }
    if (!this.deps.checksDns) return { reached: "ready", domain, records, dnsReportStale };
    // A resync of a working site re-checks its records without taking it out of `ready`.
    const keepReady = site.mail.status === "ready" && previous === domain;
    return {
      reached: keepReady ? "ready" : "provisioning",
      domain,
      records,
      dnsReportStale,
      dnsCheck: { domain, records, keepReady },
    };
  }

  private async disable(input: ConvergeInput): Promise<Converged> {
    const { site, signal } = input;
    const done: Converged = { reached: "disabled", records: null, dnsReportStale: true };
    // Never enabled: nothing in Mailcow, no stack.
    if (site.mail.status === null) return done;
    const targets = await this.deps.ownership.takeDownTargets(site, { signal });
    await this.takeDownRecords(input, targets[0]?.name ?? null);
    for (const domain of targets) {
      if (domain.active) await this.deps.mailcow.setDomainActive(domain.name, false, { signal });
    }
    return done;
  }

  private async purge(input: ConvergeInput): Promise<Converged> {
    const { site, signal } = input;
    const done: Converged = { reached: "purged", records: null, dnsReportStale: true };
    if (site.mail.status === "purged") return done;
    const targets = await this.deps.ownership.takeDownTargets(site, { signal });
    await this.takeDownRecords(input, targets[0]?.name ?? null);
    for (const domain of targets) await this.deps.mailcow.purgeDomain(domain.name, { signal });
    if (this.deps.runner.destroy) {
      await this.clearLockIfSuspect(input);
      await this.deps.runner.destroy(site.slug, { signal, onProgress: (p) => updateProgress(input.progress, p) });
    }
    return done;
  }

  /** The stack with `enabled=false`: the records go, the stack stays (so a later enable is a plain update). */
  private async takeDownRecords(input: ConvergeInput, owned: string | null): Promise<void> {
    // The stack is the site's own and only ever publishes for the site: its echo or declared name will do.
    const { site } = input;
    const domain =
      owned ??
      (site.mail.domain ? wellFormedDomain(site.mail.domain) : null) ??
      (site.domain ? wellFormedDomain(site.domain) : null);
    if (!domain) return;
    let config: StackConfig;
    try {
      config = this.deps.stackConfig({ slug: input.site.slug, domain, enabled: false });
    } catch (err) {
      // A domain the stack refuses was never published by it: nothing to take down.
      if (err instanceof PermanentFailure) return;
      throw err;
    }
    await this.up(input, config);
  }

  private async up(input: ConvergeInput, config: StackConfig) {
    await this.clearLockIfSuspect(input);
    input.progress.done = 0;
    input.progress.total = 0;
    return this.deps.runner.up(input.site.slug, config, {
      signal: input.signal,
      onProgress: (p) => updateProgress(input.progress, p),
    });
  }

  private async clearLockIfSuspect(input: ConvergeInput): Promise<void> {
    if (!input.lock.suspect) return;
    await this.deps.runner.clearStaleLock(input.site.slug);
    input.lock.suspect = false;
  }
}

function updateProgress(progress: StackProgress, p: RunProgress): void {
  progress.done = p.done;
  progress.total = Math.max(p.total, p.done);
}

function rateLimitDiffers(current: RateLimit | null, wanted: RateLimit): boolean {
  if (wanted.value === 0) return current !== null && current.value !== 0;
  return current === null || current.value !== wanted.value || current.frame !== wanted.frame;
}
