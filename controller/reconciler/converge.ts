/**
 * The convergence steps of one run: bring Mailcow and the site's DNS stack to the desired state. The reconciler
 * decides when a site runs, retries and records the outcome; this module only does the work and reports what it
 * reached (and, for an enable with DNS checks, which records are to be checked once the outcome is written).
 */
import type { MailDnsRecord } from "../../components/site-records";
import type { DomainLimits, MailcowApi, RateLimit } from "../mailcow/api";
import type { Site } from "../sites/site";
import {
  checkSiteDomain,
  type SiteDnsDefaults,
  type SiteStackRequest,
  siteRecordsFor,
} from "../stacks/site-stack-config";
import type { RunProgress, StackConfig, StackRunner } from "../stacks/stack-runner";
import type { DnsCheckRequest } from "./dns-check-scheduler";
import { PermanentFailure } from "./failure";

export type Desired = "enabled" | "disabled" | "purged";
/** `provisioning`: the stack is up and the records are being checked (outside the run). */
export type Reached = "ready" | "provisioning" | "disabled" | "purged";

/** What a convergence reached; `dnsCheck`: an enable whose records are to be checked once the run has written it. */
export interface Converged {
  reached: Reached;
  dnsCheck?: DnsCheckRequest;
}

/** The run's progress counters, updated from the stack runner's progress while a stack operation runs. */
export interface StackProgress {
  done: number;
  total: number;
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
  stackConfig: (request: SiteStackRequest) => StackConfig;
  /** Stacks whose lock may be stale (a crashed run, or a lock conflict no run of ours holds); shared with the runs. */
  staleLockSuspects: Set<string>;
  /** Last known records of enabled sites (from the run's outputs), so status polls cost no Mailcow call. */
  records: Map<string, MailDnsRecord[]>;
  /** The site's last DNS check no longer describes its records. */
  forgetDnsReport: (slug: string) => void;
  /** Whether the records are checked after an enable; without checks the site is `ready` right after `up`. */
  checksDns: boolean;
}

export class SiteConverger {
  constructor(
    private readonly deps: ConvergeDeps,
    private readonly options: ConvergeOptions,
  ) {}

  /** Brings one site to `desired`; returns the status it reached. */
  async converge(site: Site, desired: Desired, progress: StackProgress, signal: AbortSignal): Promise<Converged> {
    if (desired === "enabled") return this.enable(site, progress, signal);
    if (desired === "disabled") return this.disable(site, progress, signal);
    return this.purge(site, progress, signal);
  }

  private async enable(site: Site, progress: StackProgress, signal: AbortSignal): Promise<Converged> {
    const { mailcow } = this.deps;
    if (!site.domain) throw new PermanentFailure(`site ${site.slug} has no domain annotation`, "site_has_no_domain");
    const domain = checkSiteDomain(site.domain, this.options.dns);
    const previous = site.mail.domain;
    // The run's signal reaches every Mailcow call, so a shutdown's abort also cuts a request or retry wait short.
    const call = { signal };
    const ensured = await mailcow.ensureDomain(
      domain,
      site.slug,
      this.options.domainLimits,
      this.options.rateLimit,
      call,
    );
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
    const result = await this.up(site.slug, this.deps.stackConfig(request), progress, signal);
    const records = Array.isArray(result.outputs.records)
      ? (result.outputs.records as MailDnsRecord[])
      : siteRecordsFor(request, this.options.dns);
    this.deps.records.set(site.slug, records);
    // The site moved to another domain: the old one stops receiving (its mailboxes are kept).
    if (previous && previous !== domain) {
      const old = await mailcow.getDomain(previous, call);
      if (old?.active) await mailcow.setDomainActive(previous, false, call);
      this.deps.forgetDnsReport(site.slug);
    }
    if (!this.deps.checksDns) return { reached: "ready" };
    // A resync of a working site re-checks its records without taking it out of `ready`.
    const keepReady = site.mail.status === "ready" && previous === domain;
    return { reached: keepReady ? "ready" : "provisioning", dnsCheck: { domain, records, keepReady } };
  }

  private async disable(site: Site, progress: StackProgress, signal: AbortSignal): Promise<Converged> {
    this.deps.records.delete(site.slug);
    this.deps.forgetDnsReport(site.slug);
    const domain = mailDomainOf(site);
    // Never enabled: nothing in Mailcow, no stack.
    if (!domain || site.mail.status === null) return { reached: "disabled" };
    await this.takeDownRecords(site.slug, domain, progress, signal);
    const current = await this.deps.mailcow.getDomain(domain, { signal });
    if (current?.active) await this.deps.mailcow.setDomainActive(domain, false, { signal });
    return { reached: "disabled" };
  }

  private async purge(site: Site, progress: StackProgress, signal: AbortSignal): Promise<Converged> {
    this.deps.records.delete(site.slug);
    this.deps.forgetDnsReport(site.slug);
    if (site.mail.status === "purged") return { reached: "purged" };
    const domain = mailDomainOf(site);
    if (domain) {
      await this.takeDownRecords(site.slug, domain, progress, signal);
      await this.deps.mailcow.purgeDomain(domain, { signal });
    }
    if (this.deps.runner.destroy) {
      await this.clearLockIfSuspect(site.slug);
      await this.deps.runner.destroy(site.slug, { signal, onProgress: (p) => updateProgress(progress, p) });
    }
    return { reached: "purged" };
  }

  /** The stack with `enabled=false`: the records go, the stack stays (so a later enable is a plain update). */
  private async takeDownRecords(
    slug: string,
    domain: string,
    progress: StackProgress,
    signal: AbortSignal,
  ): Promise<void> {
    let config: StackConfig;
    try {
      config = this.deps.stackConfig({ slug, domain, enabled: false });
    } catch (err) {
      // A domain the stack refuses was never published by it: nothing to take down.
      if (err instanceof PermanentFailure) return;
      throw err;
    }
    await this.up(slug, config, progress, signal);
  }

  private async up(slug: string, config: StackConfig, progress: StackProgress, signal: AbortSignal) {
    await this.clearLockIfSuspect(slug);
    progress.done = 0;
    progress.total = 0;
    return this.deps.runner.up(slug, config, { signal, onProgress: (p) => updateProgress(progress, p) });
  }

  private async clearLockIfSuspect(slug: string): Promise<void> {
    if (!this.deps.staleLockSuspects.has(slug)) return;
    await this.deps.runner.clearStaleLock(slug);
    this.deps.staleLockSuspects.delete(slug);
  }
}

function updateProgress(progress: StackProgress, p: RunProgress): void {
  progress.done = p.done;
  progress.total = Math.max(p.total, p.done);
}

/** The domain the site's mail was set up with, else its (valid) domain annotation; null: nothing to take down. */
function mailDomainOf(site: Site): string | null {
  if (site.mail.domain) return site.mail.domain;
  if (!site.domain) return null;
  try {
    return checkSiteDomain(site.domain, { mailHost: "", allowedSuffixes: [] });
  } catch {
    return null;
  }
}

function rateLimitDiffers(current: RateLimit | null, wanted: RateLimit): boolean {
  if (wanted.value === 0) return current !== null && current.value !== 0;
  return current === null || current.value !== wanted.value || current.frame !== wanted.frame;
}
