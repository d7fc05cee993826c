/**
 * Zone settings for the Mailcow workloads (config key `mail-zone:mailcow`). Owned by the Mailcow workloads
 * component; the zone config schema embeds it. Every field is documented in docs/mailcow-on-kubernetes.md.
 */
import { z } from "zod";
import { TRUST_PROBLEM_TEXT, trustProblem } from "../network-ranges";
import { quantity, type ResourceOverride, resourceOverride, timezone } from "../setting-values";
import { ESSENTIAL_SERVICES, OPTIONAL_SERVICES } from "./catalogue";

/** The `mailcow-dockerized` release this project follows by default (its compose file is in ../shared/reference). */
export const DEFAULT_RELEASE = "2026-07a";

/** The official Node.js image that runs the dockerapi stand-in and the release-fetching init step (pinned). */
export const DEFAULT_STANDIN_IMAGE = "node:22.18.0-alpine3.22";

/** Every container of the Mailcow pod; the keys of `resources`. */
export const MAILCOW_CONTAINERS = [...ESSENTIAL_SERVICES, ...OPTIONAL_SERVICES, "dockerapi", "fetch-release"] as const;
export type MailcowContainer = (typeof MAILCOW_CONTAINERS)[number];

/** Volumes every in-cluster zone claims (PVC names are `mailcow-<key>`); `tree` holds the release's data/ tree. */
export const ALWAYS_CLAIMED_VOLUMES = [
  "vmail",
  "vmail-index",
  "mysql",
  "redis",
  "rspamd",
  "postfix",
  "postfix-tlspol",
  "crypt",
  "tree",
] as const;
/** Every persistent volume: the above, plus SOGo's and clamd's when those services are on. */
export const MAILCOW_VOLUMES = [...ALWAYS_CLAIMED_VOLUMES, "sogo-userdata-backup", "clamd-db"] as const;
export type MailcowVolume = (typeof MAILCOW_VOLUMES)[number];

const IPV4_CIDR = /^([0-9]{1,3}\.){3}[0-9]{1,3}(\/([0-9]|[12][0-9]|3[0-2]))?$/;
const IPV6_CIDR = /^([0-9a-fA-F]{0,4}:){1,7}[0-9a-fA-F]{0,4}(\/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?$/;
/** The same test Mailcow's php-fpm entrypoint applies to API_ALLOW_FROM entries (invalid ones are dropped there). */
export function isIpOrCidr(value: string): boolean {
  return IPV4_CIDR.test(value) || IPV6_CIDR.test(value);
}
/**
 * A range Mailcow is told to trust (API_ALLOW_FROM, TRUSTED_PROXIES, haproxy_trusted_networks): the zone's one
 * trust rule (network-ranges.ts) refuses `/0` and public ranges, and the entrypoint's own syntax check must pass.
 */
const trustedCidr = z.string().superRefine((value, ctx) => {
  const problem = isIpOrCidr(value) ? trustProblem(value) : "not-a-range";
  if (problem) ctx.addIssue({ code: "custom", message: TRUST_PROBLEM_TEXT[problem] });
});

const resourceSpec = resourceOverride;

export type { ResourceOverride };

const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, "a fully qualified host name");
const ipv4 = z.string().regex(/^([0-9]{1,3}\.){3}[0-9]{1,3}$/, "an IPv4 address");

const externalSchema = z
  .object({
    /** Where mailcow-dockerized runs: a host name (ExternalName Services) or an IPv4 address (EndpointSlices). */
    host: z.union([ipv4, hostname]),
    /** nginx's plain-HTTP port on the external host (its HTTP_PORT, with HTTP_REDIRECT=n). IP hosts only. */
    webPort: z.number().int().min(1).max(65535).default(8080),
    /** Base URL of the external Mailcow API as the controller should call it. Default `https://<host>`. */
    apiUrl: z.url().optional(),
  })
  .strict();

const optionalServices = z
  .object({
    /** SOGo webmail/CalDAV/CardDAV/EAS plus memcached. About 400–600 MiB. */
    sogo: z.boolean().default(false),
    /** ClamAV. 1–1.5 GiB resident once its signatures are loaded. */
    clamd: z.boolean().default(false),
    /** olefy, the Office macro scanner rspamd asks. About 50–100 MiB. */
    olefy: z.boolean().default(true),
    /** Dovecot full-text search (Flatcurve). FTS_HEAP MiB per indexer process. */
    fts: z.boolean().default(false),
  })
  .strict();

const storageSchema = z
  .object({
    /** StorageClass of every PVC; unset uses the cluster default (k3s: local-path). */
    storageClass: z.string().min(1).optional(),
    /**
     * Create the StorageClass `mailcow-retain` (reclaimPolicy Retain) and put every Mailcow PVC on it: deleting a
     * PVC, or the namespace, then leaves the volume and its data on the node. Choose at install (a PVC's class cannot
     * change); for an existing zone patch the PVs instead (docs/backup-restore.md).
     */
    retain: z.boolean().default(false),
    /** Provisioner of `mailcow-retain` (k3s's local-path by default). */
    retainProvisioner: z.string().min(1).default("rancher.io/local-path"),
    /** Requested size per volume. */
    sizes: z.partialRecord(z.enum(MAILCOW_VOLUMES), quantity).default({}),
  })
  .strict();

const portsSchema = z
  .object({
    smtp: z.number().int().default(25),
    smtps: z.number().int().default(465),
    submission: z.number().int().default(587),
    imap: z.number().int().default(143),
    imaps: z.number().int().default(993),
    pop: z.number().int().default(110),
    pops: z.number().int().default(995),
    sieve: z.number().int().default(4190),
  })
  .strict();

const secretRef = z.object({ name: z.string().min(1), key: z.string().min(1) }).strict();

export const mailcowSettingsSchema = z
  .object({
    /** `in-cluster` runs Mailcow in the zone namespace; `external` points the zone at a Mailcow run elsewhere. */
    mode: z.enum(["in-cluster", "external"]).default("in-cluster"),
    /** The pinned `mailcow-dockerized` release tag. Images come from the table for this release. */
    release: z
      .string()
      .regex(/^[0-9]{4}-[0-9]{2}[a-z]?$/, "a mailcow-dockerized release tag such as 2026-07a")
      .default(DEFAULT_RELEASE),
    /**
     * sha256 of the release tarball, checked in addition to the pinned data/ tree id (which the init step always
     * verifies); useful with a mirror that serves a fixed file.
     */
    releaseSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits")
      .optional(),
    /** Where the init step downloads the release archive (an https mirror); default GitHub's archive of the commit. */
    releaseUrl: z
      .url()
      .refine((u) => u.startsWith("https://"), "an https:// URL (the init step refuses anything else)")
      .optional(),
    /**
     * DNS server the init step resolves the release URL through (the pod's own resolver, unbound, is not up yet).
     * Default: k3s's cluster DNS Service IP.
     */
    bootstrapDns: z
      .string()
      .regex(/^([0-9]{1,3}\.){3}[0-9]{1,3}$/, "an IPv4 address")
      .default("10.43.0.10"),
    /** Image of the dockerapi stand-in and the init step. */
    standinImage: z.string().min(1).default(DEFAULT_STANDIN_IMAGE),
    optional: optionalServices.default({ sogo: false, clamd: false, olefy: true, fts: false }),
    storage: storageSchema.default({ sizes: {}, retain: false, retainProvisioner: "rancher.io/local-path" }),
    /** Per-container requests/limits, merged over the documented defaults. */
    resources: z.partialRecord(z.enum(MAILCOW_CONTAINERS), resourceSpec).default({}),
    /** Who may use the API keys (API_ALLOW_FROM). Default: the cluster pod CIDR, where the controller runs. */
    apiAllowFrom: z.array(trustedCidr).min(1).optional(),
    /** Dovecot haproxy_trusted_networks: who may send PROXY headers. Default: the pod CIDR (Traefik's pods). */
    proxyTrustedNetworks: z.array(trustedCidr).min(1).optional(),
    /** nginx TRUSTED_PROXIES (X-Forwarded-For). Default: the pod CIDR. */
    trustedProxies: z.array(trustedCidr).optional(),
    /** ENABLE_IPV6. Off: k3s is single-stack by default and nginx would listen on [::]. */
    ipv6: z.boolean().default(false),
    /** TZ for every container; default the zone's timezone. */
    timezone: timezone.optional(),
    /** ADDITIONAL_SERVER_NAMES: extra host names nginx serves the UI on. */
    additionalServerNames: z.array(hostname).default([]),
    /** Public ports announced by autoconfig (php-fpm *_PORT). */
    publicPorts: portsSchema.default({
      smtp: 25,
      smtps: 465,
      submission: 587,
      imap: 143,
      imaps: 993,
      pop: 110,
      pops: 995,
      sieve: 4190,
    }),
    dbName: z.string().min(1).default("mailcow"),
    dbUser: z.string().min(1).default("mailcow"),
    passScheme: z.enum(["BLF-CRYPT", "SSHA256", "SSHA512", "MD5-CRYPT", "SHA512-CRYPT", "PBKDF2"]).default("BLF-CRYPT"),
    /** COMPOSE_PROJECT_NAME: the stand-in labels its fake containers with it. */
    composeProjectName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, - and _")
      .default("mailcowdockerized"),
    maildirSub: z.string().default("Maildir"),
    maildirGcTime: z.number().int().min(0).default(7200),
    aclAnyone: z.enum(["allow", "disallow"]).default("disallow"),
    allowAdminEmailLogin: z.boolean().default(false),
    sogoExpireSession: z.number().int().min(1).default(480),
    ftsHeap: z.number().int().min(64).default(128),
    ftsProcs: z.number().int().min(1).default(1),
    logLines: z.number().int().min(1).default(9999),
    /** A Secret in the zone namespace holding a Spamhaus DQS key (SPAMHAUS_DQS_KEY); needed on cloud ASNs. */
    spamhausDqsKey: secretRef.optional(),
    /** Lines appended to Postfix extra.cf after the zone's own (mynetworks stays pinned). */
    postfixExtra: z.string().default(""),
    /** Lines appended to Dovecot extra.conf after the zone's own. */
    dovecotExtra: z.string().default(""),
    /** Required when mode is `external`. */
    external: externalSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.storage.retain && s.storage.storageClass) {
      ctx.addIssue({
        code: "custom",
        path: ["storage", "retain"],
        message:
          "storage.retain creates the class mailcow-retain; unset storage.storageClass, or make that class Retain",
      });
    }
    if (s.mode === "external" && !s.external) {
      ctx.addIssue({
        code: "custom",
        path: ["external"],
        message: "mode is external: set external.host to the host running mailcow-dockerized",
      });
    }
  });

export type MailcowSettings = z.infer<typeof mailcowSettingsSchema>;
export type MailcowSettingsInput = z.input<typeof mailcowSettingsSchema>;

/** Parses `mail-zone:mailcow`; the error names the field, the value and what is expected. */
export function parseMailcowSettings(raw: unknown): MailcowSettings {
  const result = mailcowSettingsSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = ["mail-zone:mailcow", ...issue.path.map(String)].join(".");
    const value = valueAt(raw, issue.path);
    return `${path}: ${issue.message}${value === undefined ? "" : ` (got ${JSON.stringify(value)})`}`;
  });
  throw new Error(`invalid Mailcow settings:\n  ${lines.join("\n  ")}`);
}

function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = raw;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
