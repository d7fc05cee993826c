/**
 * Which Mailcow domains a site may act on. The authority is the owner marker the controller writes into a domain's
 * description when it creates it (`controller/mailcow/ownership.ts`); a site's annotations (its declared domain, the
 * controller's own `mail-domain` echo) only name candidates. Every operation — enable, disable, purge, status and the
 * mailbox routes — asks here before it changes or shows anything, so a tenant who writes another site's domain into
 * its namespace gets `409 domain_owned_by_other_site` and nothing changes.
 *
 * A domain without a marker (made in Mailcow's UI, or before the controller wrote markers) is adopted only when the
 * operator allows it (`ADOPT_UNMARKED_DOMAINS=true`), and even then not when another site declares the same domain.
 */
import type { CallOptions, MailcowApi, MailcowDomain } from "../mailcow/api";
import { RequestRejected } from "../reconciler/failure";
import type { Site, SiteDirectory } from "./site";
import { wellFormedDomain } from "./site-domain";

export interface OwnershipOptions {
  /** Let a site take over a Mailcow domain that has no owner marker (default false: refuse it). */
  adoptUnmarked: boolean;
}

/** What a site may do with one domain: `absent` (not in Mailcow), `owned` (its marker), `adopted` (unmarked, allowed). */
export type Ownership = "absent" | "owned" | "adopted";

export function ownedByOtherSite(slug: string, domain: string, owner: string): RequestRejected {
  return new RequestRejected(
    409,
    "domain_owned_by_other_site",
    `Mailcow domain ${domain} belongs to site ${owner}, not to site ${slug}; nothing was changed`,
  );
}

export class DomainOwnership {
  constructor(
    private readonly mailcow: MailcowApi,
    private readonly sites: Pick<SiteDirectory, "listSites">,
    private readonly options: OwnershipOptions,
  ) {}

  /** Throws a 409 `RequestRejected` unless `slug` may act on `domain` as Mailcow holds it (`null`: absent). */
  async check(slug: string, name: string, domain: MailcowDomain | null): Promise<Ownership> {
    if (!domain) return "absent";
    if (domain.owner === slug) return "owned";
    if (domain.owner !== null) throw ownedByOtherSite(slug, name, domain.owner);
    if (!this.options.adoptUnmarked) {
      throw new RequestRejected(
        409,
        "domain_not_marked",
        `Mailcow domain ${name} exists but was not created by the controller (no owner marker in its description); ` +
          "it is adopted only when the operator sets ADOPT_UNMARKED_DOMAINS=true; nothing was changed",
      );
    }
    const others = (await this.sites.listSites())
      .filter((s) => s.slug !== slug && s.domain !== null && wellFormedDomain(s.domain) === name)
      .map((s) => s.slug);
    if (others.length > 0) {
      throw new RequestRejected(
        409,
        "domain_claimed_by_other_site",
        `Mailcow domain ${name} has no owner marker and site ${others.join(", ")} declares it too; ` +
          `site ${slug} cannot adopt it; nothing was changed`,
      );
    }
    return "adopted";
  }

  /** Reads the domain from Mailcow and checks it; resolves with what Mailcow holds (`null`: absent). */
  async verify(slug: string, name: string, options?: CallOptions): Promise<MailcowDomain | null> {
    const domain = await this.mailcow.getDomain(name, options);
    await this.check(slug, name, domain);
    return domain;
  }

  /**
   * The domains a disable or purge of `site` acts on: its declared domain and the controller's echo (`mail-domain`),
   * each only when Mailcow holds it for this site. Reads everything before anything changes, and throws when either
   * names a domain of another site: the declared one as `domain_owned_by_other_site`, a differing echo as
   * `mail_domain_mismatch` naming both values.
   */
  async takeDownTargets(site: Site, options?: CallOptions): Promise<MailcowDomain[]> {
    const declared = site.domain ? wellFormedDomain(site.domain) : null;
    const echo = site.mail.domain ? wellFormedDomain(site.mail.domain) : null;
    const targets: MailcowDomain[] = [];
    if (declared) {
      const held = await this.verify(site.slug, declared, options);
      if (held) targets.push(held);
    }
    if (echo && echo !== declared) {
      try {
        const held = await this.verify(site.slug, echo, options);
        if (held) targets.push(held);
      } catch (err) {
        if (!(err instanceof RequestRejected)) throw err;
        throw mailDomainMismatch(site, echo, declared, err.message);
      }
    }
    return targets;
  }
}

/** The controller's `mail-domain` echo names another domain than the site declares (and Mailcow does not back it). */
export function mailDomainMismatch(site: Site, echo: string, declared: string | null, why: string): RequestRejected {
  return new RequestRejected(
    409,
    "mail_domain_mismatch",
    `the mail-domain annotation of site ${site.slug} names ${echo}, but the site's domain is ${declared ?? "not set"}; ` +
      `the annotation is the controller's echo, not an authority (${why})`,
  );
}
