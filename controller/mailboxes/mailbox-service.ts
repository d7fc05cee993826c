/**
 * Mailboxes of a site's mail domain. Direct Mailcow calls (no run): a mailbox is data inside an existing domain,
 * not infrastructure. Deleting one mailbox is the only destructive call here; the whole domain goes only by purge.
 */
import type { Mailbox, MailcowApi } from "../mailcow/api";
import { RequestRejected } from "../reconciler/reconciler";
import { type Site, type SiteDirectory, SiteNotFoundError } from "../sites/site";

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
  ) {}

  async list(slug: string): Promise<Mailbox[]> {
    const site = await this.requireSite(slug);
    const domain = site.mail.domain;
    if (!domain) return [];
    return this.mailcow.listMailboxes(domain);
  }

  async add(slug: string, mailbox: NewSiteMailbox): Promise<Mailbox> {
    const site = await this.requireSite(slug);
    const domain = this.enabledDomain(site);
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
    const domain = site.mail.domain;
    const address = `${localPart.toLowerCase()}@${domain}`;
    const existing = domain ? await this.mailcow.listMailboxes(domain) : [];
    if (!existing.some((m) => m.username === address)) {
      throw new RequestRejected(404, "mailbox_not_found", `mailbox ${address} does not exist`);
    }
    await this.mailcow.deleteMailbox(address);
    return address;
  }

  private enabledDomain(site: Site): string {
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
    return site.mail.domain;
  }

  private async requireSite(slug: string): Promise<Site> {
    const site = await this.sites.find(slug);
    if (!site) throw new SiteNotFoundError(slug);
    return site;
  }
}
