import type { DomainLimits } from "../../controller/mailcow/api";

/**
 * The limits the tests create domains with: Mailcow's own form defaults (400 aliases, 10 mailboxes, 3 GiB default
 * and 10 GiB maximum quota), as an admin creating a domain in the UI would get.
 */
export const TEST_DOMAIN_LIMITS: Readonly<DomainLimits> = Object.freeze({
  description: "",
  aliases: 400,
  mailboxes: 10,
  defquotaMb: 3072,
  maxquotaMb: 10240,
  quotaMb: 10240,
});
