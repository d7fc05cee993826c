/**
 * Pure validation of the names a site brings: its domain, the mail host, DKIM selectors and allowed suffixes.
 * Dependency-free (Node built-ins only) so the per-site stack, the preview CLI and the controller share one rule set.
 */
import { isIP } from "node:net";
import { domainToASCII } from "node:url";

/** RFC 1035: at most 63 bytes per label, 253 for the presentation form of a name without the trailing dot. */
export const MAX_LABEL_BYTES = 63;
export const MAX_NAME_BYTES = 253;

/** A name the user gave that is not acceptable. The message names the field, the value and what is expected. */
export class DomainValidationError extends Error {
  override readonly name = "DomainValidationError";
  constructor(
    /** The input that was wrong, e.g. `domain`, `mailHost`, `dkim.selector`. */
    readonly field: string,
    /** The value as given (shortened in the message when long). */
    readonly value: string,
    /** What is wrong with it. */
    readonly problem: string,
    /** What the field expects. */
    readonly expected: string,
  ) {
    super(`${field} ${quoteValue(value)}: ${problem}; expected ${expected}`);
  }
}

/** Quotes a value for an error message, shortened so a long input cannot flood a log line. */
export function quoteValue(value: string, max = 80): string {
  const shown = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(shown);
}

const FQDN_EXPECTED = "a fully qualified domain name such as example.com (IDN allowed)";
/** Letters, digits and inner hyphens (RFC 1123 host names); punycode labels (`xn--`) fit this rule. */
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/**
 * Characters that `domainToASCII` would silently reinterpret (percent-decoding, userinfo, ports, paths, IPv6
 * brackets) or that never belong in a host name. Rejected before conversion so the error names the real problem.
 */
const NEVER_IN_A_HOST = /[\s%/\\@:[\]?#*,;"'<>|^`{}]/u;

/**
 * Returns `input` as a lowercase ASCII FQDN without a trailing dot: IDN labels become punycode, one trailing dot is
 * dropped. Rejects IP addresses, single labels, labels over 63 bytes, names over 253 bytes, empty labels, characters
 * outside letters/digits/hyphen, hyphens at a label's edge, and an all-numeric top-level label.
 */
export function normaliseDomain(input: string, field = "domain"): string {
  const known = typeof input === "string" ? normalised.get(input) : undefined;
  if (known !== undefined) return known;
  const ascii = normaliseUncached(input, field);
  if (normalised.size >= NORMALISED_KEPT) normalised.clear();
  normalised.set(input, ascii);
  return ascii;
}

/**
 * Names that passed lately, input to ASCII form: a site's domain and the mail host are normalised on every request,
 * and the IDNA conversion is the dearest step. Bounded; refusals are not kept, so each error names its own field.
 */
const normalised = new Map<string, string>();
const NORMALISED_KEPT = 4096;

function normaliseUncached(input: string, field: string): string {
  const fail = (problem: string): never => {
    throw new DomainValidationError(field, String(input), problem, FQDN_EXPECTED);
  };
  if (typeof input !== "string") fail("is not a string");
  const trimmed = input.trim();
  if (trimmed.length === 0) fail("is empty");
  if (trimmed !== input) fail("has leading or trailing whitespace");
  const withoutDot = trimmed.endsWith(".") ? trimmed.slice(0, -1) : trimmed;
  if (isIP(withoutDot) !== 0 || /^\[.*\]$/.test(withoutDot)) fail("is an IP address, not a domain name");
  if (NEVER_IN_A_HOST.test(withoutDot)) fail("contains a character that cannot appear in a domain name");
  const ascii = domainToASCII(withoutDot);
  if (ascii === "") fail("is not a valid domain name (IDNA conversion failed)");
  // The WHATWG host parser turns numeric hosts such as `0x7f.1` into IPv4 addresses.
  if (isIP(ascii) !== 0) fail("is an IP address, not a domain name");
  const bytes = Buffer.byteLength(ascii, "utf8");
  if (bytes > MAX_NAME_BYTES) fail(`is ${bytes} bytes long in ASCII form, over the ${MAX_NAME_BYTES}-byte limit`);
  const labels = ascii.split(".");
  if (labels.length < 2) fail("is a single label");
  for (const label of labels) {
    if (label.length === 0) fail("has an empty label (two dots in a row, or a leading dot)");
    if (label.length > MAX_LABEL_BYTES) {
      fail(`has a label of ${label.length} bytes (${quoteValue(label, 20)}), over the ${MAX_LABEL_BYTES}-byte limit`);
    }
    if (!LDH_LABEL.test(label)) {
      fail(`has the label ${quoteValue(label, 70)}, which is not letters, digits and inner hyphens`);
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) fail("has an all-numeric top-level label");
  return ascii;
}

/** Refuses a site domain equal to the shared mail host (its MX would point at itself and collide with the zone). */
export function assertNotMailHost(domain: string, mailHost: string, field = "domain"): void {
  const d = normaliseDomain(domain, field);
  const h = normaliseDomain(mailHost, "mailHost");
  if (d === h) {
    throw new DomainValidationError(
      field,
      domain,
      `is the shared mail host ${h}`,
      "a hosted site's domain, different from the mail host",
    );
  }
}

/**
 * Normalises one allowed-suffix entry. Accepts `example.com`, `.example.com` and `*.example.com` (all mean the same)
 * and single labels such as `com`, which `normaliseDomain` would refuse.
 */
export function normaliseSuffix(suffix: string, field = "allowedSuffixes"): string {
  const fail = (problem: string): never => {
    throw new DomainValidationError(field, String(suffix), problem, "a domain suffix such as example.com");
  };
  if (typeof suffix !== "string") fail("is not a string");
  let s = suffix.trim();
  if (s.startsWith("*.")) s = s.slice(2);
  else if (s.startsWith(".")) s = s.slice(1);
  if (s.endsWith(".")) s = s.slice(0, -1);
  if (s.length === 0) fail("is empty");
  if (NEVER_IN_A_HOST.test(s)) fail("contains a character that cannot appear in a domain name");
  const ascii = domainToASCII(s.includes(".") ? s : `${s}.invalid`);
  if (ascii === "" || isIP(ascii) !== 0) fail("is not a domain name");
  const out = s.includes(".") ? ascii : ascii.slice(0, -".invalid".length);
  for (const label of out.split(".")) {
    if (!LDH_LABEL.test(label)) fail(`has the label ${quoteValue(label, 70)}, which is not a host-name label`);
  }
  // A top-level domain is never all digits; such a "suffix" is a typo or part of an address.
  if (/^[0-9]+$/.test(out.split(".").at(-1) ?? "")) fail("ends in an all-numeric label, which no domain has");
  return out;
}

/**
 * Requires `domain` to equal one of `suffixes` or to sit below one (label-aligned: `badexample.com` is not under
 * `example.com`). An empty list allows any domain.
 */
export function assertAllowedSuffix(domain: string, suffixes: readonly string[], field = "domain"): void {
  if (suffixes.length === 0) return;
  const d = normaliseDomain(domain, field);
  const allowed = suffixes.map((s, i) => normaliseSuffix(s, `allowedSuffixes[${i}]`));
  if (allowed.some((s) => d === s || d.endsWith(`.${s}`))) return;
  throw new DomainValidationError(
    field,
    domain,
    "is outside the allowed suffixes",
    `a domain equal to or below one of: ${allowed.join(", ")}`,
  );
}

const SELECTOR_EXPECTED =
  "a DKIM selector of letters, digits, '.', '_' and '-' in dot-separated labels of 1 to 63 bytes (e.g. mc2026a)";
/** Mailcow's own selector rule, `[A-Za-z0-9._-]` (reference/mailcow-notes.md §2.3). */
const SELECTOR_CHARS = /^[A-Za-z0-9._-]+$/;

/**
 * Validates a DKIM selector: Mailcow's character set, DNS label rules (no empty label, none over 63 bytes), and at
 * most 253 bytes. Returns it unchanged (Mailcow stores it as given; DNS compares names case-insensitively).
 */
export function validateSelector(selector: string, field = "dkim.selector"): string {
  const fail = (problem: string): never => {
    throw new DomainValidationError(field, String(selector), problem, SELECTOR_EXPECTED);
  };
  if (typeof selector !== "string") fail("is not a string");
  if (selector.length === 0) fail("is empty");
  if (!SELECTOR_CHARS.test(selector)) fail("contains a character outside [A-Za-z0-9._-]");
  if (selector.length > MAX_NAME_BYTES) fail(`is ${selector.length} bytes long`);
  for (const label of selector.split(".")) {
    if (label.length === 0) fail("has an empty label (leading, trailing or doubled dot)");
    if (label.length > MAX_LABEL_BYTES) fail(`has a label of ${label.length} bytes`);
  }
  return selector;
}

/** True when `name` (ASCII, no trailing dot) fits DNS length limits: labels ≤ 63 bytes, whole name ≤ 253 bytes. */
export function fitsDnsLimits(name: string): boolean {
  return (
    Buffer.byteLength(name, "utf8") <= MAX_NAME_BYTES &&
    name.split(".").every((l) => l.length > 0 && l.length <= MAX_LABEL_BYTES)
  );
}
