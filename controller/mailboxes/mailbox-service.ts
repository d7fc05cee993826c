/**
 * Mailboxes of a site's mail domain. Direct Mailcow calls (no run): a mailbox is data inside an existing domain,
 * not infrastructure. Deleting one mailbox is the only destructive call here; the whole domain goes only by purge.
 *
 * The domain is the site's declared one, and only when Mailcow holds it with the site's owner marker
 * (`sites/ownership.ts`); the controller's `mail-domain` echo must agree with it, or the request is refused naming
 * both. A tenant who forges its annotations reaches no other site's mailboxes.
 */
import type { Mailbox, MailcowApi } from "../mailcow/api";
import { RequestRejected } from "../reconciler/failure";
import { type DomainOwnership, mailDomainMismatch } from "../sites/ownership";
import { type Site, type SiteDirectory, SiteNotFoundError } from "../sites/site";
import { wellFormedDomain } from "../sites/site-domain";

export interface NewSiteMailbox {
  localPart: string;
  password: string;
  quotaMb: number;
  name?: string;
}

export class MailboxService {
  constructor(
    private readonly sites: SiteDirectory,
    private readonly mailcow: MailcowApi,
    private readonly ownership: DomainOwnership,
  ) {}

  async list(slug: string): Promise<Mailbox[]> {
    const site = await this.requireSite(slug);
    const domain = await this.ownedDomain(site);
    if (!domain) return [];
    return this.mailcow.listMailboxes(domain);
  }

  async add(slug: string, mailbox: NewSiteMailbox): Promise<Mailbox> {
    const site = await this.requireSite(slug);
    this.assertReady(site);
    const domain = await this.ownedDomain(site);
    if (!domain) {
      throw new RequestRejected(409, "mail_not_enabled", `mail is not enabled for site ${site.slug}; enable it first`);
    }
    const localPart = mailbox.localPart.toLowerCase();
    // Mailcow refuses a duplicate itself (`object_exists`, answered as 409), so no GET first.
    return this.mailcow.addMailbox({
      localPart,
      domain,
      password: mailbox.password,
      quotaMb: mailbox.quotaMb,
      ...(mailbox.name ? { name: mailbox.name } : {}),
    });
  }

  async remove(slug: string, localPart: string): Promise<string> {
    const site = await this.requireSite(slug);
    const domain = await this.ownedDomain(site);
    const address = `${localPart.toLowerCase()}@${domain ?? wellFormedDomain(site.domain ?? "") ?? site.slug}`;
    const existing = domain ? await this.mailcow.listMailboxes(domain) : [];
    if (!existing.some((m) => m.username === address)) {
      throw new RequestRejected(404, "mailbox_not_found", `mailbox ${address} does not exist`);
    }
    await this.mailcow.deleteMailbox(address);
    return address;
  }

  /**
   * The site's declared domain when Mailcow holds it for this site; `null` when the site has none or Mailcow does not
   * have it. Throws 409 when it is another site's, or when the echo names a different domain.
   */
  private async ownedDomain(site: Site): Promise<string | null> {
    const declared = site.domain ? wellFormedDomain(site.domain) : null;
    const echo = site.mail.domain ? wellFormedDomain(site.mail.domain) : null;
    if (echo && echo !== declared) throw mailDomainMismatch(site, echo, declared, "mailboxes follow the site's domain");
    if (!declared) return null;
    const held = await this.ownership.verify(site.slug, declared);
    return held ? declared : null;
  }

  private assertReady(site: Site): void {
    if (!site.mail.enabled || !site.mail.domain) {
      throw new RequestRejected(409, "mail_not_enabled", `mail is not enabled for site ${site.slug}; enable it first`);
    }
    if (site.mail.status !== "ready") {
      throw new RequestRejected(
        409,
        "mail_not_ready",
        `mail for site ${site.slug} is ${site.mail.status ?? "not set up"}; wait until the status is ready`,
      );
    }
  }

  private async requireSite(slug: string): Promise<Site> {
    const site = await this.sites.find(slug);
    if (!site) throw new SiteNotFoundError(slug);
    return site;
  }
}
