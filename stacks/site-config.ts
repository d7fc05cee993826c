/**
 * Configuration of one site's mail DNS stack (project `mail-sites`, stack = the site's slug). Parsed once, with a
 * schema, into a typed `SiteInput`; the controller writes it through the Automation API with `siteStackConfig`, the
 * program reads it back with `loadSiteConfig` (stacks/site-program.ts). Pure: the controller loads it
 * without the Pulumi SDK. Every key is documented in docs/dns-and-deliverability.md.
 */
import { z } from "zod";
import {
  assertAllowedSuffix,
  assertNotMailHost,
  DomainValidationError,
  normaliseDomain,
  normaliseSuffix,
  quoteValue,
  validateSelector,
} from "../components/domain-name";
import {
  buildSiteRecords,
  type MailDnsRecord,
  MissingDkimError,
  MTA_STS_MAX_AGE_LIMIT,
  recordsForSite as recordsFromSource,
  SITE_RECORD_DEFAULTS,
  siteZoneName as zoneNameOf,
} from "../components/site-records";

/** The Pulumi project of every per-site stack; also the config namespace (`mail-sites:<key>`). */
export const SITE_PROJECT = "mail-sites";

/** Voxeil's slug rule (`validateSlug`, apps/controller/sites/site.slug.js): lowercase alphanumeric runs joined by '-'. */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * A site's domain must stand apart from the shared mail host: not the host itself, not one of its parents (a site on
 * `example.net` would publish MX and SPF for the platform's own domain when the host is `mail.example.net`) and not
 * a name under it. Both names must already be normalised or valid; throws a `DomainValidationError` naming the
 * relation.
 */
export function assertApartFromMailHost(domain: string, mailHost: string, field = "domain"): void {
  assertNotMailHost(domain, mailHost, field);
  const d = normaliseDomain(domain, field);
  const h = normaliseDomain(mailHost, "mailHost");
  const expected = "a hosted site's domain, apart from the mail host, its parents and the names under it";
  if (h.endsWith(`.${d}`)) {
    throw new DomainValidationError(field, domain, `is a parent of the shared mail host ${h}`, expected);
  }
  if (d.endsWith(`.${h}`)) {
    throw new DomainValidationError(field, domain, `is under the shared mail host ${h}`, expected);
  }
}

/** An input that failed validation: `issues` lists each problem with the field path; the message lists them all. */
export class SiteConfigError extends Error {
  override readonly name = "SiteConfigError";
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`site config is invalid:\n${issues.map((i) => `- ${i.message}`).join("\n")}`);
  }
}

/** Turns a thrown DomainValidationError into a zod issue whose message already names field, value and expectation. */
function domainIssue(ctx: z.RefinementCtx, err: unknown, path?: (string | number)[]): void {
  if (err instanceof DomainValidationError) {
    ctx.addIssue({
      code: "custom",
      message: err.message,
      path: path ?? err.field.split("."),
      params: { complete: true },
    });
    return;
  }
  throw err;
}

const domainField = (field: string) =>
  z.string().transform((value, ctx) => {
    try {
      return normaliseDomain(value, field);
    } catch (err) {
      domainIssue(ctx, err, []);
      return z.NEVER;
    }
  });

const reportAddress = z.union([z.string().min(1), z.literal(false)]);

const K8S_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const K8S_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The zone namespace when `webTls.namespace` is not given (the zone's own default). */
export const DEFAULT_WEB_TLS_NAMESPACE = "mail-zone";
/** Traefik's HTTPS entrypoint when `webTls.entrypoint` is not given (the zone's `web.entrypoint` default). */
export const DEFAULT_WEB_TLS_ENTRYPOINT = "websecure";

/**
 * Per-site web certificate for `autoconfig.`, `autodiscover.` and `mta-sts.<domain>` (components/site-web-tls.ts).
 * Absent: nothing is created and those hosts get the mail host's certificate.
 */
export const webTlsSchema = z
  .object({
    /** The zone namespace, where Mailcow's nginx Service lives and Traefik reads the route and Secret. */
    namespace: z
      .string()
      .max(63)
      .regex(K8S_LABEL, { error: "expected a namespace name: lowercase letters, digits and inner '-'" })
      .default(DEFAULT_WEB_TLS_NAMESPACE),
    /** cert-manager issuer of the certificate. */
    issuer: z
      .object({
        kind: z.enum(["ClusterIssuer", "Issuer"]),
        name: z
          .string()
          .max(253)
          .regex(K8S_SUBDOMAIN, { error: "expected an issuer name: lowercase letters, digits, '-' and '.'" }),
      })
      .strict(),
    /** Traefik entrypoint serving HTTPS. */
    entrypoint: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, { error: "expected a Traefik entrypoint name such as websecure" })
      .default(DEFAULT_WEB_TLS_ENTRYPOINT),
  })
  .strict();

export type WebTlsSettings = z.output<typeof webTlsSchema>;

export const siteInputSchema = z
  .object({
    /** The site's slug; also the stack name. */
    slug: z
      .string()
      .max(63)
      .regex(SLUG_PATTERN, { error: "expected a slug of lowercase letters and digits in hyphen-separated runs" }),
    /** The site's mail domain (IDN allowed; stored as punycode). */
    domain: domainField("domain"),
    /** The shared Mailcow host (the zone's output). */
    mailHost: domainField("mailHost"),
    /** false removes every record (how disable takes the DNS down). */
    enabled: z.boolean().default(true),
    /** `cloudflare`: records are created in the Cloudflare zone; `manual`: nothing is created, the records are output. */
    dnsProvider: z.enum(["cloudflare", "manual"]),
    /** Mailcow's DKIM key (`get/dkim/<domain>`): selector and the unsplit `dkim_txt`. Required when enabled. */
    dkim: z
      .object({
        selector: z.string().transform((value, ctx) => {
          try {
            return validateSelector(value, "dkim.selector");
          } catch (err) {
            domainIssue(ctx, err, []);
            return z.NEVER;
          }
        }),
        txt: z.string().min(1),
      })
      .strict()
      .optional(),
    /** A relay that also sends for the domain: `include:<spfInclude>` in SPF. */
    spfInclude: domainField("spfInclude").optional(),
    /** DMARC policy (default quarantine) and rua (default dmarc-reports@<domain>; false: none). */
    dmarc: z
      .object({
        policy: z.enum(["none", "quarantine", "reject"]).default(SITE_RECORD_DEFAULTS.dmarcPolicy),
        rua: reportAddress.optional(),
      })
      .strict()
      .optional(),
    /** Publish `_pop3s._tcp` (default false). */
    pop3: z.boolean().default(SITE_RECORD_DEFAULTS.pop3),
    /** With pop3 off, publish `_pop3._tcp`/`_pop3s._tcp` as `0 0 0 .` (default false). */
    announcePop3Unavailable: z.boolean().default(SITE_RECORD_DEFAULTS.announcePop3Unavailable),
    /** MTA-STS policy (default mode testing, max_age 604800). */
    mtaSts: z
      .object({
        mode: z.enum(["enforce", "testing", "none"]).default(SITE_RECORD_DEFAULTS.mtaStsMode),
        maxAgeSeconds: z.int().min(1).max(MTA_STS_MAX_AGE_LIMIT).default(SITE_RECORD_DEFAULTS.mtaStsMaxAgeSeconds),
      })
      .strict()
      .optional(),
    /** TLS-RPT rua (default tls-reports@<domain>; false: no TLS-RPT record). */
    tlsRptRua: reportAddress.optional(),
    /** Cloudflare lookup: zone name (default: the domain itself) and optional account id to narrow the lookup. */
    cloudflare: z
      .object({
        zoneName: domainField("cloudflare.zoneName").optional(),
        accountId: z
          .string()
          .regex(/^[0-9a-f]{32}$/i, { error: "expected a Cloudflare account id (32 hex digits)" })
          .optional(),
      })
      .strict()
      .optional(),
    /** Domains the site may use: equal to or below one of these (empty: any). */
    allowedSuffixes: z
      .array(
        z.string().transform((value, ctx) => {
          try {
            return normaliseSuffix(value);
          } catch (err) {
            domainIssue(ctx, err, []);
            return z.NEVER;
          }
        }),
      )
      .default([]),
    /** TTL of every record in seconds (default 3600). */
    ttl: z.int().min(60).max(86_400).default(SITE_RECORD_DEFAULTS.ttl),
    /** A certificate and route for the site's client-configuration hosts (absent: none). */
    webTls: webTlsSchema.optional(),
  })
  .strict()
  .superRefine((site, ctx) => {
    try {
      assertApartFromMailHost(site.domain, site.mailHost);
    } catch (err) {
      domainIssue(ctx, err);
    }
    try {
      assertAllowedSuffix(site.domain, site.allowedSuffixes);
    } catch (err) {
      domainIssue(ctx, err);
    }
    const zone = site.cloudflare?.zoneName;
    if (zone && site.domain !== zone && !site.domain.endsWith(`.${zone}`)) {
      ctx.addIssue({
        code: "custom",
        path: ["cloudflare", "zoneName"],
        message: `cloudflare.zoneName ${quoteValue(zone)}: does not contain the domain ${site.domain}; expected the domain itself or a parent zone of it`,
        params: { complete: true },
      });
    }
    if (!site.enabled) return; // a disabled site publishes nothing; its record options cannot block removal
    if (!site.dkim) {
      ctx.addIssue({
        code: "custom",
        path: ["dkim"],
        message: "dkim: missing; expected {selector, txt} from Mailcow's get/dkim when the site is enabled",
        params: { complete: true },
      });
      return;
    }
    try {
      buildSiteRecords({ ...site, dkim: site.dkim });
    } catch (err) {
      domainIssue(ctx, err);
    }
  });

/** One site's validated, normalised settings (defaults applied). */
export type SiteInput = z.output<typeof siteInputSchema>;
/** What a caller may write (defaults optional). */
export type SiteInputRaw = z.input<typeof siteInputSchema>;

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let cur = raw;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function shown(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (typeof value === "string") return quoteValue(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Validates one site. Throws `SiteConfigError` whose lines name the field, the value given and what is expected. */
export function parseSiteInput(raw: unknown): SiteInput {
  const result = siteInputSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join(".") || "(site)";
    if (issue.code === "custom" && issue.params?.complete) return { path, message: issue.message };
    if (issue.code === "unrecognized_keys") {
      return { path, message: `${issue.keys.join(", ")}: unknown setting; expected one of the documented keys` };
    }
    return { path, message: `${path} ${shown(valueAt(raw, issue.path))}: ${issue.message}` };
  });
  throw new SiteConfigError(issues);
}

/** The records the site publishes now: none when disabled. */
export function recordsForSite(input: SiteInput): MailDnsRecord[] {
  try {
    return recordsFromSource(input);
  } catch (err) {
    if (err instanceof MissingDkimError) throw new SiteConfigError([{ path: "dkim", message: err.message }]);
    throw err;
  }
}

/** The zone the Cloudflare lookup uses: `cloudflare.zoneName`, else the domain itself. */
export function siteZoneName(input: SiteInput): string {
  return zoneNameOf(input);
}

/** How each key is stored in Pulumi config (strings as-is, objects as JSON). */
const KEY_KINDS = {
  slug: "string",
  domain: "string",
  mailHost: "string",
  enabled: "boolean",
  dnsProvider: "string",
  dkim: "json",
  spfInclude: "string",
  dmarc: "json",
  pop3: "boolean",
  announcePop3Unavailable: "boolean",
  mtaSts: "json",
  tlsRptRua: "string-or-false",
  cloudflare: "json",
  allowedSuffixes: "json",
  ttl: "number",
  webTls: "json",
} as const satisfies Record<keyof SiteInput, string>;

type SiteConfigKey = keyof typeof KEY_KINDS;

/**
 * The Automation-API config map for a site (`stack.setAllConfig(siteStackConfig(site))`): fully qualified keys
 * `mail-sites:<key>`, objects as JSON. Nothing here is secret (public DNS data); the Cloudflare token is the
 * controller's `cloudflare:apiToken` / `CLOUDFLARE_API_TOKEN`.
 */
export function siteStackConfig(input: SiteInput): Record<string, { value: string; secret?: boolean }> {
  const out: Record<string, { value: string; secret?: boolean }> = {};
  for (const key of Object.keys(KEY_KINDS) as SiteConfigKey[]) {
    const value = input[key];
    if (value === undefined) continue;
    const kind = KEY_KINDS[key];
    out[`${SITE_PROJECT}:${key}`] = { value: kind === "json" ? JSON.stringify(value) : String(value) };
  }
  return out;
}

function decodeConfigValue(key: string, value: string): unknown {
  const kind = (KEY_KINDS as Record<string, string>)[key];
  switch (kind) {
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value;
    case "number":
      return /^-?\d+$/.test(value) ? Number(value) : value;
    case "string-or-false":
      return value === "false" ? false : value;
    case "json":
      try {
        return JSON.parse(value);
      } catch {
        throw new SiteConfigError([
          {
            path: key,
            message: `${SITE_PROJECT}:${key} ${quoteValue(value)}: is not valid JSON; expected a JSON value`,
          },
        ]);
      }
    default:
      return value; // strings, and unknown keys (the schema reports those by name)
  }
}

/** Decodes a `mail-sites:*` config map (values as Pulumi holds them) into a validated `SiteInput`. */
export function decodeSiteConfig(config: Record<string, string>): SiteInput {
  const raw: Record<string, unknown> = {};
  const prefix = `${SITE_PROJECT}:`;
  for (const [fullKey, value] of Object.entries(config)) {
    if (!fullKey.startsWith(prefix)) continue;
    // Older engines hand keys over as `<namespace>:config:<key>`.
    const key = fullKey.slice(prefix.length).replace(/^config:/, "");
    raw[key] = decodeConfigValue(key, value);
  }
  return parseSiteInput(raw);
}
