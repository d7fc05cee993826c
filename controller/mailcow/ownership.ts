/**
 * Which site a Mailcow domain belongs to. The controller writes a stable marker into the domain's description when
 * it creates the domain, and reads it back on every operation: a domain whose marker names another site (or has no
 * marker) is not this site's to adopt, deactivate, purge or manage mailboxes in. The description is written only by
 * the controller and Mailcow's admins, never by tenants, so it is a safe place for the owner.
 */

const MARKER = /(?:^|\s|\()mail-zone:site=([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?=$|\s|\))/;

/** The marker for `slug`, as it stands in a domain's description. */
export function ownerMarker(slug: string): string {
  return `mail-zone:site=${slug}`;
}

/** The description a new domain gets: the operator's text, if any, followed by the owner marker. */
export function describeOwnedDomain(slug: string, description: string): string {
  const marker = ownerMarker(slug);
  return description ? `${description} (${marker})` : marker;
}

/** The owning slug a description names, or `null` when it has no marker (a domain made outside the controller). */
export function ownerFromDescription(description: string): string | null {
  return MARKER.exec(description)?.[1] ?? null;
}
