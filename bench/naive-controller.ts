/**
 * The baseline for the coalescing and fan-out benchmarks: a controller that does one full run per request,
 * serialised per site (so it is still correct), with the same site directory, Mailcow client and runner as the
 * real one. What the real reconciler is compared with.
 */
import type { DomainLimits, MailcowApi, RateLimit } from "../controller/mailcow/api";
import type { SiteDirectory } from "../controller/sites/site";
import { type SiteDnsDefaults, siteStackConfigFor } from "../controller/stacks/site-stack-config";
import type { StackRunner } from "../controller/stacks/stack-runner";

export interface NaiveDeps {
  sites: SiteDirectory;
  mailcow: MailcowApi;
  runner: StackRunner;
  dns: SiteDnsDefaults;
  domainLimits: DomainLimits;
  rateLimit: RateLimit;
}

export class NaiveController {
  private readonly chains = new Map<string, Promise<void>>();
  runs = 0;

  constructor(private readonly deps: NaiveDeps) {}

  requestEnable(slug: string): Promise<void> {
    return this.request(slug, true);
  }

  requestDisable(slug: string): Promise<void> {
    return this.request(slug, false);
  }

  /** Resolves when every run queued so far has finished. */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.chains.values()];
      await Promise.all(pending);
      if ([...this.chains.values()].every((c, i) => c === pending[i])) return;
    }
  }

  private async request(slug: string, enabled: boolean): Promise<void> {
    await this.deps.sites.patchMail(slug, { enabled, status: enabled ? "pending" : "disabling", lastError: "" });
    const previous = this.chains.get(slug) ?? Promise.resolve();
    const next = previous.then(() => this.run(slug, enabled)).catch(() => {});
    this.chains.set(slug, next);
  }

  private async run(slug: string, enabled: boolean): Promise<void> {
    this.runs++;
    const site = await this.deps.sites.find(slug);
    if (!site?.domain) return;
    const { mailcow, runner, dns } = this.deps;
    if (enabled) {
      const ensured = await mailcow.ensureDomain(site.domain, slug, this.deps.domainLimits);
      if (!ensured.value.active) await mailcow.setDomainActive(site.domain, true);
      const dkim = (await mailcow.ensureDkim(site.domain, "dkim", 2048)).value;
      const config = siteStackConfigFor(
        { slug, domain: site.domain, enabled: true, dkim: { selector: dkim.selector, txt: dkim.txt } },
        dns,
      );
      await runner.up(slug, config);
      await this.deps.sites.patchMail(slug, { status: "ready", domain: site.domain });
    } else {
      await runner.up(slug, siteStackConfigFor({ slug, domain: site.domain, enabled: false }, dns));
      const current = await mailcow.getDomain(site.domain);
      if (current?.active) await mailcow.setDomainActive(site.domain, false);
      await this.deps.sites.patchMail(slug, { status: "disabled" });
    }
  }
}
