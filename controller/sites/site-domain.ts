/**
 * A site's declared domain as a value: parsed once, where the controller takes a site in (a request, a run's fresh
 * read of the site), then carried through the ownership check, Mailcow and the stack config without being checked
 * again. The only way to get one is `parseSiteDomain`, so holding a `SiteDomain` means the domain passed the policy:
 * a valid name, apart from the mail host (not it, not a parent, not under it), within the allowed suffixes.
 */
import { assertAllowedSuffix, DomainValidationError, normaliseDomain } from "../../components/domain-name";
import { assertApartFromMailHost } from "../../stacks/site-config";
import { RequestRejected } from "../reconciler/failure";

declare const siteDomainBrand: unique symbol;

/** A normalised domain that passed the policy. */
export type SiteDomain = string & { readonly [siteDomainBrand]: true };

/** Which domains sites may use. `allowedSuffixes: "*"` is the operator's deliberate "any domain". */
export interface DomainPolicy {
  mailHost: string;
  allowedSuffixes: readonly string[] | "*";
}

/** Parses the site's declared domain; throws a `RequestRejected` (409 `domain_not_allowed`) naming the problem. */
export function parseSiteDomain(raw: string, policy: DomainPolicy): SiteDomain {
  try {
    const domain = normaliseDomain(raw, "domain");
    if (policy.mailHost) assertApartFromMailHost(domain, policy.mailHost);
    if (policy.allowedSuffixes !== "*") {
      // An empty list cannot reach here (the settings refuse it), but must never mean "anything".
      if (policy.allowedSuffixes.length === 0) {
        throw new DomainValidationError("domain", raw, "is not allowed: no domain suffix is allowed", "a suffix list");
      }
      assertAllowedSuffix(domain, policy.allowedSuffixes);
    }
    return domain as SiteDomain;
  } catch (err) {
    if (err instanceof DomainValidationError) throw new RequestRejected(409, "domain_not_allowed", err.message);
    throw err;
  }
}

/** A domain's name only, for places that take any well-formed name (the echo of the controller's own annotation). */
export function wellFormedDomain(raw: string): string | null {
  try {
    return normaliseDomain(raw, "domain");
  } catch {
    return null;
  }
}
