/**
 * The mail DNS records one hosted site publishes, as plain data. Pure: no Pulumi, no I/O. The site stack turns the
 * list into Cloudflare records, the preview prints it, and with `dnsProvider: manual` the controller hands it to the
 * operator to publish by hand. See docs/dns-and-deliverability.md for why each record exists.
 */
import { createHash } from "node:crypto";
import { DomainValidationError, fitsDnsLimits, normaliseDomain, quoteValue, validateSelector } from "./domain-name";

export type MailDnsRecordType = "MX" | "TXT" | "CNAME" | "SRV";

export interface MailDnsRecord {
  /** Owner name: lowercase ASCII FQDN, no trailing dot. */
  name: string;
  type: MailDnsRecordType;
  /**
   * MX/CNAME: the target host. TXT: the whole text (the chunks joined, no quotes). SRV: `"prio weight port target"`
   * (target `.` means "service not offered", RFC 2782).
   */
  content: string;
  /** TXT only: the character-strings to publish, each at most 255 bytes, joining back to `content` byte for byte. */
  chunks?: string[];
  /** MX preference, or SRV priority. */
  priority?: number;
  ttl: number;
  /** Why the record exists: mx, spf, dkim, dmarc, autoconfig, autodiscover, srv-*, mta-sts, mta-sts-host, tls-rpt. */
  purpose: string;
}

export type DmarcPolicy = "none" | "quarantine" | "reject";
export type MtaStsMode = "enforce" | "testing" | "none";

/** What the record list is built from. `SiteInput` (stacks/site-config.ts) fits this shape. */
export interface SiteRecordsInput {
  /** The site's domain (normalised here again: IDN → punycode, lowercase). */
  domain: string;
  /** The shared Mailcow host every site's MX and client-config names point at. */
  mailHost: string;
  /** Mailcow's DKIM key: `GET /api/v1/get/dkim/<domain>` → `dkim_selector`, `dkim_txt` (one unsplit string). */
  dkim: { selector: string; txt: string };
  /** A relay whose servers also send for the domain: SPF becomes `v=spf1 mx include:<relay> -all`. */
  spfInclude?: string;
  /** DMARC policy (default `quarantine`) and aggregate-report address (default `dmarc-reports@<domain>`; `false`: no rua). */
  dmarc?: { policy?: DmarcPolicy; rua?: string | false };
  /** Publish `_pop3s._tcp` (995). Default false. */
  pop3?: boolean;
  /** With POP3 off, publish `_pop3._tcp` and `_pop3s._tcp` as `0 0 0 .` ("not offered", RFC 6186 §3.4). Default false. */
  announcePop3Unavailable?: boolean;
  /** MTA-STS policy: mode (default `testing`) and max_age in seconds (default 604800, one week). */
  mtaSts?: { mode?: MtaStsMode; maxAgeSeconds?: number };
  /** TLS-RPT report address: an e-mail or `mailto:`/`https:` URI (default `tls-reports@<domain>`; `false`: no record). */
  tlsRptRua?: string | false;
  /** TTL in seconds for every record (default 3600). */
  ttl?: number;
}

/** The documented defaults (docs/dns-and-deliverability.md). */
export const SITE_RECORD_DEFAULTS = {
  mxPreference: 10,
  dmarcPolicy: "quarantine" as DmarcPolicy,
  dmarcRuaLocalPart: "dmarc-reports",
  tlsRptRuaLocalPart: "tls-reports",
  mtaStsMode: "testing" as MtaStsMode,
  mtaStsMaxAgeSeconds: 604_800,
  ttl: 3600,
  pop3: false,
  announcePop3Unavailable: false,
} as const;

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
export const MTA_STS_MAX_AGE_LIMIT = 31_557_600;
/** RFC 1035 §3.3: one TXT character-string holds at most 255 bytes. */
export const TXT_CHUNK_BYTES = 255;

/**
 * Splits `text` into strings of at most `maxBytes` UTF-8 bytes, cutting only between code points, so joining the
 * pieces gives back `text` byte for byte. Empty text gives one empty string (a TXT record needs one string).
 */
export function splitTxt(text: string, maxBytes: number = TXT_CHUNK_BYTES): string[] {
  if (!Number.isInteger(maxBytes) || maxBytes < 4)
    throw new RangeError(`maxBytes ${maxBytes}: expected an integer ≥ 4`);
  const chunks: string[] = [];
  let current = "";
  let currentBytes = 0;
  for (const codePoint of text) {
    const bytes = Buffer.byteLength(codePoint, "utf8");
    if (currentBytes + bytes > maxBytes) {
      chunks.push(current);
      current = "";
      currentBytes = 0;
    }
    current += codePoint;
    currentBytes += bytes;
  }
  chunks.push(current);
  return chunks;
}

/** Zone-file / Cloudflare form of TXT strings: each quoted, `"` and `\` escaped, separated by a space. */
export function quoteTxtChunks(chunks: readonly string[]): string {
  return chunks.map((c) => `"${c.replace(/[\\"]/g, (m) => `\\${m}`)}"`).join(" ");
}

/** One line of a BIND zone file for `record` (absolute names with trailing dots), for manual publishing. */
export function toZoneFileLine(record: MailDnsRecord): string {
  const owner = `${record.name}.`;
  const abs = (host: string) => (host === "." || host.endsWith(".") ? host : `${host}.`);
  let rdata: string;
  switch (record.type) {
    case "MX":
      rdata = `${record.priority ?? SITE_RECORD_DEFAULTS.mxPreference} ${abs(record.content)}`;
      break;
    case "CNAME":
      rdata = abs(record.content);
      break;
    case "TXT":
      rdata = quoteTxtChunks(record.chunks ?? splitTxt(record.content));
      break;
    case "SRV": {
      const parts = record.content.split(" ");
      rdata = [...parts.slice(0, 3), abs(parts[3] ?? ".")].join(" ");
      break;
    }
  }
  return `${owner} ${record.ttl} IN ${record.type} ${rdata}`;
}

/** The MTA-STS policy file served at `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461 §3.2). */
export function mtaStsPolicy(input: Pick<SiteRecordsInput, "mailHost" | "mtaSts">): string {
  const mailHost = normaliseDomain(input.mailHost, "mailHost");
  const mode = input.mtaSts?.mode ?? SITE_RECORD_DEFAULTS.mtaStsMode;
  const maxAge = input.mtaSts?.maxAgeSeconds ?? SITE_RECORD_DEFAULTS.mtaStsMaxAgeSeconds;
  if (!["enforce", "testing", "none"].includes(mode)) {
    throw new DomainValidationError("mtaSts.mode", String(mode), "is not an MTA-STS mode", "enforce, testing or none");
  }
  if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > MTA_STS_MAX_AGE_LIMIT) {
    throw new DomainValidationError(
      "mtaSts.maxAgeSeconds",
      String(maxAge),
      "is out of range",
      `an integer number of seconds from 1 to ${MTA_STS_MAX_AGE_LIMIT}`,
    );
  }
  return `version: STSv1\nmode: ${mode}\nmx: ${mailHost}\nmax_age: ${maxAge}\n`;
}

/**
 * The MTA-STS policy id: the first 16 hex digits of SHA-256 over the policy text. It changes exactly when mode, mx or
 * max_age change, so senders re-fetch the policy then and only then (RFC 8461 §3.1 id: 1–32 letters/digits).
 */
export function mtaStsPolicyId(policy: string): string {
  return createHash("sha256").update(policy, "utf8").digest("hex").slice(0, 16);
}

const MAILBOX_LOCAL = /^[A-Za-z0-9._+-]+$/;

/**
 * Normalises a report address to a `mailto:` URI. Accepts `local@domain` or `mailto:local@domain`. The local part is
 * kept to characters that cannot collide with DMARC/TLS-RPT URI syntax (`,` separates URIs, `!` starts a size limit).
 */
function mailtoUri(value: string, field: string): string {
  const address = value.startsWith("mailto:") ? value.slice("mailto:".length) : value;
  const at = address.lastIndexOf("@");
  const local = at > 0 ? address.slice(0, at) : "";
  if (!MAILBOX_LOCAL.test(local) || local.length > 64) {
    throw new DomainValidationError(
      field,
      value,
      "is not a usable report address",
      "an e-mail address (local part of letters, digits, '.', '_', '+', '-') or mailto: URI",
    );
  }
  return `mailto:${local}@${normaliseDomain(address.slice(at + 1), field)}`;
}

/** TLS-RPT also allows an https endpoint (RFC 8460 §3). */
function tlsRptUri(value: string, field: string): string {
  if (!value.startsWith("https://")) return mailtoUri(value, field);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DomainValidationError(field, value, "is not a URL", "an e-mail address, mailto: URI or https:// URL");
  }
  if (/[\s,;!"\\]/.test(value)) {
    throw new DomainValidationError(field, value, "contains ',', ';', '!', a quote or whitespace", "a plain https URL");
  }
  normaliseDomain(url.hostname, field);
  return url.toString();
}

/** Mailcow's `dkim_txt` is `v=DKIM1;k=rsa;t=s;s=email;p=<base64>`: it must carry a `p=` tag and no control bytes. */
function checkDkimTxt(txt: string): void {
  const fail = (problem: string): never => {
    throw new DomainValidationError(
      "dkim.txt",
      String(txt),
      problem,
      "Mailcow's dkim_txt, e.g. v=DKIM1;k=rsa;t=s;s=email;p=MIIBIjAN…",
    );
  };
  if (typeof txt !== "string" || txt.length === 0) fail("is empty");
  if ([...txt].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) fail("contains control characters");
  if (!/(^|;)\s*p=/.test(txt)) fail("has no p= (public key) tag");
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > 86_400) {
    throw new DomainValidationError("ttl", String(ttl), "is out of range", "an integer from 60 to 86400 seconds");
  }
  return ttl;
}

/**
 * Builds the site's mail records in a fixed order: MX, SPF, DKIM, DMARC, autoconfig/autodiscover CNAMEs, the
 * RFC 6186/8314 SRV set, MTA-STS (TXT + host), TLS-RPT. Validates its input and throws `DomainValidationError`
 * naming the field.
 */
export function buildSiteRecords(input: SiteRecordsInput): MailDnsRecord[] {
  const d = normaliseDomain(input.domain, "domain");
  const h = normaliseDomain(input.mailHost, "mailHost");
  const selector = validateSelector(input.dkim?.selector, "dkim.selector");
  checkDkimTxt(input.dkim?.txt);
  const ttl = checkTtl(input.ttl ?? SITE_RECORD_DEFAULTS.ttl);
  const records: MailDnsRecord[] = [];

  const txt = (name: string, text: string, purpose: string) =>
    records.push({ name, type: "TXT", content: text, chunks: splitTxt(text), ttl, purpose });
  const srv = (service: string, priority: number, weight: number, port: number, target: string) =>
    records.push({
      name: `${service}._tcp.${d}`,
      type: "SRV",
      content: `${priority} ${weight} ${port} ${target}`,
      priority,
      ttl,
      purpose: `srv-${service.slice(1)}`,
    });

  records.push({ name: d, type: "MX", content: h, priority: SITE_RECORD_DEFAULTS.mxPreference, ttl, purpose: "mx" });

  const include = input.spfInclude ? ` include:${normaliseDomain(input.spfInclude, "spfInclude")}` : "";
  txt(d, `v=spf1 mx${include} -all`, "spf");

  txt(`${selector.toLowerCase()}._domainkey.${d}`, input.dkim.txt, "dkim");

  const policy = input.dmarc?.policy ?? SITE_RECORD_DEFAULTS.dmarcPolicy;
  if (!["none", "quarantine", "reject"].includes(policy)) {
    throw new DomainValidationError(
      "dmarc.policy",
      String(policy),
      "is not a DMARC policy",
      "none, quarantine or reject",
    );
  }
  const ruaSetting = input.dmarc?.rua;
  const dmarcRua =
    ruaSetting === false
      ? ""
      : `; rua=${mailtoUri(ruaSetting ?? `${SITE_RECORD_DEFAULTS.dmarcRuaLocalPart}@${d}`, "dmarc.rua")}`;
  txt(`_dmarc.${d}`, `v=DMARC1; p=${policy}${dmarcRua}`, "dmarc");

  records.push({ name: `autoconfig.${d}`, type: "CNAME", content: h, ttl, purpose: "autoconfig" });
  records.push({ name: `autodiscover.${d}`, type: "CNAME", content: h, ttl, purpose: "autodiscover" });

  // RFC 8314 §5.1: implicit TLS gets the lower (preferred) priority; RFC 6186 §3.4: IMAP before POP3.
  srv("_submissions", 0, 1, 465, h);
  srv("_submission", 10, 1, 587, h);
  srv("_imaps", 0, 1, 993, h);
  srv("_imap", 10, 1, 143, h);
  if (input.pop3 ?? SITE_RECORD_DEFAULTS.pop3) {
    srv("_pop3s", 20, 1, 995, h);
  } else if (input.announcePop3Unavailable ?? SITE_RECORD_DEFAULTS.announcePop3Unavailable) {
    srv("_pop3s", 0, 0, 0, ".");
    srv("_pop3", 0, 0, 0, ".");
  }
  srv("_autodiscover", 0, 1, 443, h);

  const policyText = mtaStsPolicy(input);
  txt(`_mta-sts.${d}`, `v=STSv1; id=${mtaStsPolicyId(policyText)}`, "mta-sts");
  records.push({ name: `mta-sts.${d}`, type: "CNAME", content: h, ttl, purpose: "mta-sts-host" });

  if (input.tlsRptRua !== false) {
    const rua = tlsRptUri(input.tlsRptRua ?? `${SITE_RECORD_DEFAULTS.tlsRptRuaLocalPart}@${d}`, "tlsRptRua");
    txt(`_smtp._tls.${d}`, `v=TLSRPTv1; rua=${rua}`, "tls-rpt");
  }

  // Names the domain shapes are checked before the DKIM name, so a long domain is blamed on the domain.
  const namesFirst = [...records.filter((r) => r.purpose !== "dkim"), ...records.filter((r) => r.purpose === "dkim")];
  for (const r of namesFirst) {
    if (!fitsDnsLimits(r.name)) {
      const field = r.purpose === "dkim" ? "dkim.selector" : "domain";
      throw new DomainValidationError(
        field,
        field === "domain" ? input.domain : selector,
        `makes the record name ${quoteValue(r.name, 60)} longer than DNS allows`,
        "a name short enough that every mail record stays within 63-byte labels and 253-byte names",
      );
    }
  }
  return records;
}

/** A stable, readable Pulumi resource name for a record: `<type>-<name>`, independent of the other records. */
export function recordResourceName(record: Pick<MailDnsRecord, "name" | "type">): string {
  return `${record.type.toLowerCase()}-${record.name}`;
}

/** What a site's mail DNS is built from: the record inputs plus on/off (the DKIM key is needed only when on). */
export interface SiteRecordsSource extends Omit<SiteRecordsInput, "dkim"> {
  enabled: boolean;
  dkim?: { selector: string; txt: string };
}

/** Raised when an enabled site has no DKIM key to publish. */
export class MissingDkimError extends Error {
  constructor() {
    super("dkim: missing for an enabled site");
    this.name = "MissingDkimError";
  }
}

/** The records a site publishes: none when disabled, `buildSiteRecords` when enabled (which needs the DKIM key). */
export function recordsForSite(input: SiteRecordsSource): MailDnsRecord[] {
  if (!input.enabled) return [];
  if (!input.dkim) throw new MissingDkimError();
  return buildSiteRecords({ ...input, dkim: input.dkim });
}

/** The Cloudflare zone holding the site's records: `cloudflare.zoneName`, else the domain itself. */
export function siteZoneName(input: { domain: string; cloudflare?: { zoneName?: string } }): string {
  return input.cloudflare?.zoneName ?? input.domain;
}
