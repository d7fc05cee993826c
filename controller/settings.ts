/**
 * The controller's settings, parsed from the environment once at start. A missing or bad setting fails here with a
 * message naming the variable and what it expects; values of secret variables are never printed.
 */
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import * as path from "node:path";
import { z } from "zod";
import { ANNOTATION_PREFIX_PATTERN, CONTROLLER_SECRET_ENV, SITE_LAYOUTS } from "../components/controller-settings";
import { DomainValidationError, normaliseSuffix } from "../components/domain-name";
import { BODY_LIMIT_FORM } from "./http/json-body";
import { DKIM_KEY_SIZES, type DomainLimits, type RateLimit } from "./mailcow/api";

// The zone deploys the controller with these rules (components/controller-settings.ts): one list each.
export type SiteLayoutKind = (typeof SITE_LAYOUTS)[number];
export type DnsProviderKind = "cloudflare" | "manual";
export type StackRunnerKind = "automation" | "preview";
export type DmarcPolicy = "none" | "quarantine" | "reject";
export type MtaStsMode = "enforce" | "testing" | "none";

/** A name server from `DNS_CHECK_NAMESERVERS`: an IP address or a host name, and a port. */
export interface NameServerSetting {
  host: string;
  port: number;
}

/** Per-site web certificates (`SITE_WEB_TLS_*`); absent when `SITE_WEB_TLS_ISSUER` is unset. */
export interface SiteWebTlsSetting {
  issuer: { kind: "ClusterIssuer" | "Issuer"; name: string };
  /** The zone namespace, where the Certificate and IngressRoute go. */
  namespace: string;
  entrypoint: string;
}

export interface Settings {
  mailcow: {
    apiUrl: string;
    apiKey: string;
    /** The mail host (MX target); when absent, derived from the API URL if that is a public name. */
    hostname: string | undefined;
    caFile: string | undefined;
    timeoutMs: number;
  };
  /** Bearer tokens accepted on the API (several, for rotation). */
  tokens: string[];
  annotationPrefix: string;
  siteLayout: SiteLayoutKind;
  /** Namespace name for a slug in the namespace-per-site layout; `{slug}` is replaced. */
  namespaceTemplate: string;
  pulumi: {
    runner: StackRunnerKind;
    backendUrl: string;
    /** Exactly one of these is set when the runner is `automation`. */
    passphrase: string | undefined;
    passphraseFile: string | undefined;
    /** The file's passphrase, kept only so the redactor can hide it (Pulumi reads the file itself). */
    passphraseFromFile: string | undefined;
  };
  dns: {
    provider: DnsProviderKind;
    cloudflareApiToken: string | undefined;
    cloudflareAccountId: string | undefined;
    /** Suffixes a site's domain must be equal to or below, or `*`: any domain (the operator's deliberate choice). */
    allowedSuffixes: string[] | "*";
    spfInclude: string | undefined;
    dmarcPolicy: DmarcPolicy;
    /** An address, `false` for no reports, or undefined for the site default (`dmarc-reports@<domain>`). */
    dmarcRua: string | false | undefined;
    tlsRptRua: string | false | undefined;
    mtaStsMode: MtaStsMode | undefined;
    pop3: boolean;
    ttl: number;
  };
  /** Per-site web certificates for autoconfig/autodiscover/mta-sts; undefined: off. */
  siteWebTls: SiteWebTlsSetting | undefined;
  dkim: { selector: string; keySize: number };
  /** Checks of the published records at the domains' authoritative name servers before `ready`. */
  dnsCheck: {
    enabled: boolean;
    intervalSeconds: number;
    timeoutSeconds: number;
    /** Ask these servers instead of the domains' authoritative ones (empty: find those through the resolver). */
    nameServers: NameServerSetting[];
    /** Ask authoritative servers at private, loopback, link-local or cluster addresses (off: refused as authorities). */
    allowPrivateNameServers: boolean;
  };
  /** Let a site take over a Mailcow domain without the controller's owner marker (off: 409 `domain_not_marked`). */
  adoptUnmarkedDomains: boolean;
  domainLimits: DomainLimits;
  rateLimit: RateLimit;
  maxParallelRuns: number;
  /** 0 turns the periodic resync off. */
  resyncIntervalSeconds: number;
  retry: { baseMs: number; capMs: number; maxAttempts: number };
  shutdownDeadlineSeconds: number;
  host: string;
  port: number;
  bodyLimit: string;
  dataDir: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

/** Variables whose values are secret: never echoed in an error. */
export const SECRET_SETTINGS = CONTROLLER_SECRET_ENV;

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid controller settings:\n  - ${problems.join("\n  - ")}`);
    this.name = "SettingsError";
  }
}

const MIN_TOKEN_LENGTH = 32;
const SLUG_PLACEHOLDER = "{slug}";

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
    .default(def ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");
const onOff = (def: boolean) =>
  z
    .enum(["on", "off", "true", "false", "1", "0", "yes", "no"], { message: "expected on or off" })
    .default(def ? "on" : "off")
    .transform((v) => v === "on" || v === "true" || v === "1" || v === "yes");
const httpUrl = z.url({ protocol: /^https?$/, message: "expected an http(s) URL" });
const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
    "expected a DNS name like mail.example.com",
  );
const prefix = z.string().regex(ANNOTATION_PREFIX_PATTERN, "expected a DNS-style prefix");
/** A report address, or `none` for no reports. */
const reportAddress = z
  .union([z.literal("none"), z.email({ message: "expected an email address or none" })])
  .transform((v) => (v === "none" ? (false as const) : v));

const envSchema = z.object({
  MAILCOW_API_URL: httpUrl,
  MAILCOW_API_KEY: z.string().min(1, "required"),
  MAILCOW_HOSTNAME: dnsName.optional(),
  MAILCOW_CA_FILE: z.string().min(1).optional(),
  MAILCOW_TIMEOUT_MS: int(10_000, 100, 300_000),
  CONTROLLER_TOKENS: z.string().optional(),
  CONTROLLER_TOKEN: z.string().optional(),
  CONTROLLER_TOKEN_FILE: z.string().optional(),
  ANNOTATION_PREFIX: prefix.default("voxeil.io"),
  SITE_LAYOUT: z.enum(SITE_LAYOUTS).default("namespace-per-site"),
  NAMESPACE_TEMPLATE: z
    .string()
    .refine((t) => t.includes(SLUG_PLACEHOLDER), `expected a template containing ${SLUG_PLACEHOLDER}`)
    .default("tenant-{slug}"),
  STACK_RUNNER: z.enum(["automation", "preview"]).default("automation"),
  PULUMI_BACKEND_URL: z
    .string()
    .regex(
      /^(file|s3|gs|azblob|https?):\/\//,
      "expected a Pulumi backend URL (file://, s3://, gs://, azblob://, https://)",
    )
    .optional(),
  PULUMI_CONFIG_PASSPHRASE: z.string().optional(),
  PULUMI_CONFIG_PASSPHRASE_FILE: z.string().optional(),
  CLOUDFLARE_API_TOKEN: z.string().min(1).optional(),
  CLOUDFLARE_ACCOUNT_ID: z
    .string()
    .regex(/^[a-f0-9]{32}$/, "expected a 32-character hex account id")
    .optional(),
  DNS_PROVIDER: z.enum(["cloudflare", "manual"]).default("manual"),
  ALLOWED_DOMAIN_SUFFIXES: z.string().optional(),
  ADOPT_UNMARKED_DOMAINS: bool(false),
  SPF_INCLUDE: dnsName.optional(),
  DMARC_POLICY: z.enum(["none", "quarantine", "reject"]).default("quarantine"),
  DMARC_RUA: reportAddress.optional(),
  TLSRPT_RUA: reportAddress.optional(),
  MTA_STS_MODE: z.enum(["enforce", "testing", "none"]).optional(),
  POP3_ENABLED: bool(false),
  DNS_TTL: int(3600, 60, 86_400),
  SITE_WEB_TLS_ISSUER: z
    .string()
    .regex(
      /^(ClusterIssuer|Issuer)\/[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
      "expected <ClusterIssuer|Issuer>/<name>, e.g. ClusterIssuer/letsencrypt-prod",
    )
    .optional(),
  SITE_WEB_TLS_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "expected a namespace name such as mail-zone")
    .default("mail-zone"),
  SITE_WEB_TLS_ENTRYPOINT: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, "expected a Traefik entrypoint name such as websecure")
    .default("websecure"),
  DKIM_SELECTOR: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,63}$/, "expected a DKIM selector of letters, digits, '.', '_' or '-'")
    .default("dkim"),
  DKIM_KEY_SIZE: z.coerce
    .number()
    .refine((n) => (DKIM_KEY_SIZES as readonly number[]).includes(n), `expected ${DKIM_KEY_SIZES.join(", ")}`)
    .default(2048),
  DNS_CHECK: onOff(true),
  DNS_CHECK_INTERVAL_SECONDS: int(30, 1, 3600),
  DNS_CHECK_TIMEOUT_SECONDS: int(900, 1, 7 * 86_400),
  DNS_CHECK_NAMESERVERS: z.string().default(""),
  DNS_CHECK_PRIVATE_NAMESERVERS: bool(false),
  MAIL_DOMAIN_ALIASES: int(400, 0, 1_000_000),
  MAIL_DOMAIN_MAILBOXES: int(10, 1, 1_000_000),
  MAIL_DOMAIN_DEFQUOTA_MB: int(3072, 1, 10_000_000),
  MAIL_DOMAIN_MAXQUOTA_MB: int(10_240, 1, 10_000_000),
  MAIL_DOMAIN_QUOTA_MB: int(10_240, 1, 100_000_000),
  MAIL_RATE_LIMIT_VALUE: int(500, 0, 1_000_000),
  MAIL_RATE_LIMIT_FRAME: z.enum(["s", "m", "h", "d"]).default("h"),
  MAX_PARALLEL_RUNS: int(4, 1, 64),
  RESYNC_INTERVAL_SECONDS: int(3600, 0, 7 * 86_400),
  RETRY_BASE_MS: int(1000, 1, 600_000),
  RETRY_CAP_MS: int(60_000, 1, 3_600_000),
  RETRY_MAX_ATTEMPTS: int(6, 1, 100),
  SHUTDOWN_DEADLINE_SECONDS: int(60, 0, 3600),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: int(8080, 0, 65_535),
  BODY_LIMIT: z.string().regex(BODY_LIMIT_FORM, "expected a size like 16kb").default("16kb"),
  DATA_DIR: z.string().min(1).default("/var/lib/mail-zone-controller"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type ReadFile = (file: string) => string;

const defaultReadFile: ReadFile = (file) => readFileSync(file, "utf8");

/** Parses the environment into `Settings` or throws a `SettingsError` listing every problem. */
export function loadSettings(env: NodeJS.ProcessEnv, readFile: ReadFile = defaultReadFile): Settings {
  // Kubernetes renders an unset optional Secret key as "": treat it as absent.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? "environment");
      problems.push(describeIssue(key, issue.message, cleaned[key]));
    }
    // Every problem in one answer: the checks that read plain strings run even when the schema failed.
    readTokens(cleaned, readFile, problems);
    independentChecks(cleaned, problems, new Set(problems.map((p) => p.split(":")[0])));
    throw new SettingsError(problems);
  }
  const e = parsed.data;

  const tokens = readTokens(e, readFile, problems);
  const dataDir = path.resolve(e.DATA_DIR);
  const passphraseFile = e.PULUMI_CONFIG_PASSPHRASE_FILE;
  let passphrase = e.PULUMI_CONFIG_PASSPHRASE;
  let passphraseFromFile: string | undefined;
  if (passphrase !== undefined && passphraseFile !== undefined) {
    problems.push("PULUMI_CONFIG_PASSPHRASE and PULUMI_CONFIG_PASSPHRASE_FILE: set only one");
  } else if (passphraseFile !== undefined) {
    const fromFile = readSecretFile("PULUMI_CONFIG_PASSPHRASE_FILE", passphraseFile, readFile, problems);
    if (fromFile === "") problems.push(`PULUMI_CONFIG_PASSPHRASE_FILE: the file ${passphraseFile} is empty`);
    passphraseFromFile = fromFile || undefined;
    passphrase = undefined;
  }
  independentChecks(e, problems, new Set());
  if (e.MAIL_DOMAIN_DEFQUOTA_MB > e.MAIL_DOMAIN_MAXQUOTA_MB) {
    problems.push(
      `MAIL_DOMAIN_DEFQUOTA_MB: must not exceed MAIL_DOMAIN_MAXQUOTA_MB (${e.MAIL_DOMAIN_DEFQUOTA_MB} > ${e.MAIL_DOMAIN_MAXQUOTA_MB})`,
    );
  }
  if (e.MAIL_DOMAIN_MAXQUOTA_MB > e.MAIL_DOMAIN_QUOTA_MB) {
    problems.push(
      `MAIL_DOMAIN_MAXQUOTA_MB: must not exceed MAIL_DOMAIN_QUOTA_MB (${e.MAIL_DOMAIN_MAXQUOTA_MB} > ${e.MAIL_DOMAIN_QUOTA_MB})`,
    );
  }
  if (e.RETRY_BASE_MS > e.RETRY_CAP_MS) {
    problems.push(`RETRY_BASE_MS: must not exceed RETRY_CAP_MS (${e.RETRY_BASE_MS} > ${e.RETRY_CAP_MS})`);
  }
  const allowedSuffixes = parseSuffixes(e.ALLOWED_DOMAIN_SUFFIXES ?? "", problems);
  const nameServers = parseNameServers(e.DNS_CHECK_NAMESERVERS, problems);
  const hostname = e.MAILCOW_HOSTNAME?.toLowerCase() ?? hostnameFromApiUrl(e.MAILCOW_API_URL);
  if (hostname === undefined) {
    problems.push(
      `MAILCOW_HOSTNAME: required because MAILCOW_API_URL (${e.MAILCOW_API_URL}) is not the public mail host; expected e.g. mail.example.com`,
    );
  }
  if (problems.length > 0) throw new SettingsError(problems);

  return {
    mailcow: {
      apiUrl: e.MAILCOW_API_URL.replace(/\/+$/, ""),
      apiKey: e.MAILCOW_API_KEY,
      hostname,
      caFile: e.MAILCOW_CA_FILE,
      timeoutMs: e.MAILCOW_TIMEOUT_MS,
    },
    tokens,
    annotationPrefix: e.ANNOTATION_PREFIX,
    siteLayout: e.SITE_LAYOUT,
    namespaceTemplate: e.NAMESPACE_TEMPLATE,
    pulumi: {
      runner: e.STACK_RUNNER,
      backendUrl: e.PULUMI_BACKEND_URL ?? `file://${path.join(dataDir, "pulumi-state")}`,
      passphrase,
      passphraseFile,
      passphraseFromFile,
    },
    dns: {
      provider: e.DNS_PROVIDER,
      cloudflareApiToken: e.CLOUDFLARE_API_TOKEN,
      cloudflareAccountId: e.CLOUDFLARE_ACCOUNT_ID,
      allowedSuffixes,
      spfInclude: e.SPF_INCLUDE?.toLowerCase(),
      dmarcPolicy: e.DMARC_POLICY,
      dmarcRua: e.DMARC_RUA,
      tlsRptRua: e.TLSRPT_RUA,
      mtaStsMode: e.MTA_STS_MODE,
      pop3: e.POP3_ENABLED,
      ttl: e.DNS_TTL,
    },
    siteWebTls: siteWebTlsFrom(e.SITE_WEB_TLS_ISSUER, e.SITE_WEB_TLS_NAMESPACE, e.SITE_WEB_TLS_ENTRYPOINT),
    dkim: { selector: e.DKIM_SELECTOR, keySize: e.DKIM_KEY_SIZE },
    dnsCheck: {
      enabled: e.DNS_CHECK,
      intervalSeconds: e.DNS_CHECK_INTERVAL_SECONDS,
      timeoutSeconds: e.DNS_CHECK_TIMEOUT_SECONDS,
      nameServers,
      allowPrivateNameServers: e.DNS_CHECK_PRIVATE_NAMESERVERS,
    },
    adoptUnmarkedDomains: e.ADOPT_UNMARKED_DOMAINS,
    domainLimits: {
      description: "managed by mail-zone-controller",
      aliases: e.MAIL_DOMAIN_ALIASES,
      mailboxes: e.MAIL_DOMAIN_MAILBOXES,
      defquotaMb: e.MAIL_DOMAIN_DEFQUOTA_MB,
      maxquotaMb: e.MAIL_DOMAIN_MAXQUOTA_MB,
      quotaMb: e.MAIL_DOMAIN_QUOTA_MB,
    },
    rateLimit: { value: e.MAIL_RATE_LIMIT_VALUE, frame: e.MAIL_RATE_LIMIT_FRAME },
    maxParallelRuns: e.MAX_PARALLEL_RUNS,
    resyncIntervalSeconds: e.RESYNC_INTERVAL_SECONDS,
    retry: { baseMs: e.RETRY_BASE_MS, capMs: e.RETRY_CAP_MS, maxAttempts: e.RETRY_MAX_ATTEMPTS },
    shutdownDeadlineSeconds: e.SHUTDOWN_DEADLINE_SECONDS,
    host: e.HOST,
    port: e.PORT,
    bodyLimit: e.BODY_LIMIT.toLowerCase(),
    dataDir,
    logLevel: e.LOG_LEVEL,
  };
}

/** `ClusterIssuer/letsencrypt-prod` (already checked by the schema) → the site stacks' `webTls`. */
function siteWebTlsFrom(
  issuer: string | undefined,
  namespace: string,
  entrypoint: string,
): SiteWebTlsSetting | undefined {
  if (issuer === undefined) return undefined;
  const at = issuer.indexOf("/");
  const kind = issuer.slice(0, at) === "Issuer" ? "Issuer" : "ClusterIssuer";
  return { issuer: { kind, name: issuer.slice(at + 1) }, namespace, entrypoint };
}

/** Every secret value the settings hold, for scrubbing logs, annotations and error bodies. */
export function secretValues(settings: Settings): string[] {
  return [
    settings.mailcow.apiKey,
    ...settings.tokens,
    settings.pulumi.passphrase,
    settings.pulumi.passphraseFromFile,
    settings.dns.cloudflareApiToken,
  ]
    .filter((v): v is string => typeof v === "string" && v.length > 0)
    .sort((a, b) => b.length - a.length);
}

function describeIssue(key: string, message: string, value: string | undefined): string {
  const secret = (SECRET_SETTINGS as readonly string[]).includes(key);
  if (value === undefined) return `${key}: required`;
  return secret ? `${key}: ${message}` : `${key}: ${message} (got ${JSON.stringify(value)})`;
}

type TokenSources = Partial<Record<"CONTROLLER_TOKENS" | "CONTROLLER_TOKEN" | "CONTROLLER_TOKEN_FILE", string>>;

function readTokens(e: TokenSources, readFile: ReadFile, problems: string[]): string[] {
  const sources: Array<[string, string | undefined]> = [
    ["CONTROLLER_TOKENS", e.CONTROLLER_TOKENS],
    ["CONTROLLER_TOKEN", e.CONTROLLER_TOKEN],
    [
      "CONTROLLER_TOKEN_FILE",
      e.CONTROLLER_TOKEN_FILE === undefined
        ? undefined
        : readSecretFile("CONTROLLER_TOKEN_FILE", e.CONTROLLER_TOKEN_FILE, readFile, problems),
    ],
  ];
  const tokens: string[] = [];
  for (const [name, raw] of sources) {
    if (raw === undefined) continue;
    // A token file may hold several tokens, one a line or comma-separated.
    const parts = raw
      .split(/[,\n]/)
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    parts.forEach((t, i) => {
      if (t.length < MIN_TOKEN_LENGTH) {
        problems.push(`${name}: token ${i + 1} has ${t.length} characters; expected at least ${MIN_TOKEN_LENGTH}`);
      } else if (/\s/.test(t)) {
        problems.push(`${name}: token ${i + 1} contains whitespace`);
      } else tokens.push(t);
    });
  }
  if (tokens.length === 0 && problems.every((p) => !p.startsWith("CONTROLLER_TOKEN"))) {
    problems.push(
      `CONTROLLER_TOKENS: required (or CONTROLLER_TOKEN / CONTROLLER_TOKEN_FILE): at least one bearer token of ${MIN_TOKEN_LENGTH}+ characters`,
    );
  }
  return [...new Set(tokens)];
}

function readSecretFile(name: string, file: string, readFile: ReadFile, problems: string[]): string | undefined {
  try {
    return readFile(file).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    problems.push(`${name}: cannot read ${file} (${code})`);
    return undefined;
  }
}

/**
 * Checks of settings that need only the raw strings, so they also run when the schema refused another key (one
 * answer names every problem). `reported`: keys the schema already named.
 */
function independentChecks(env: Record<string, unknown>, problems: string[], reported: ReadonlySet<string>): void {
  const set = (key: string) => typeof env[key] === "string" && env[key] !== "";
  const runner = env.STACK_RUNNER ?? "automation";
  if (runner === "automation" && !set("PULUMI_CONFIG_PASSPHRASE") && !set("PULUMI_CONFIG_PASSPHRASE_FILE")) {
    problems.push(
      "PULUMI_CONFIG_PASSPHRASE: required (or PULUMI_CONFIG_PASSPHRASE_FILE) to encrypt the site stacks' secrets",
    );
  }
  if (env.DNS_PROVIDER === "cloudflare" && !set("CLOUDFLARE_API_TOKEN") && !reported.has("CLOUDFLARE_API_TOKEN")) {
    problems.push("CLOUDFLARE_API_TOKEN: required when DNS_PROVIDER is cloudflare");
  }
  const suffixes = String(env.ALLOWED_DOMAIN_SUFFIXES ?? "")
    .split(",")
    .filter((x) => x.trim() !== "");
  if (suffixes.length === 0) {
    problems.push(
      "ALLOWED_DOMAIN_SUFFIXES: required: the domain suffixes sites may use, comma-separated (e.g. sites.example.com), " +
        "or * to allow any domain as a deliberate choice",
    );
  }
}

function parseSuffixes(raw: string, problems: string[]): string[] | "*" {
  if (raw.trim() === "*") return "*";
  if (raw.trim() === "") return [];
  const out: string[] = [];
  for (const s of raw.split(",")) {
    if (s.trim() === "") continue;
    try {
      out.push(normaliseSuffix(s.trim(), "ALLOWED_DOMAIN_SUFFIXES"));
    } catch (err) {
      problems.push(err instanceof DomainValidationError ? err.message : `ALLOWED_DOMAIN_SUFFIXES: ${String(err)}`);
    }
  }
  return out;
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** `host[:port]` entries, comma-separated: IPv4, IPv6 (bracketed with a port: `[::1]:5353`) or a host name. */
export function parseNameServers(raw: string, problems: string[]): NameServerSetting[] {
  const out: NameServerSetting[] = [];
  for (const entry of raw.split(",").map((s) => s.trim())) {
    if (entry === "") continue;
    const bad = (why: string) =>
      problems.push(
        `DNS_CHECK_NAMESERVERS: ${JSON.stringify(entry)} ${why}; expected host[:port], e.g. 192.0.2.53, [2001:db8::53]:53 or ns1.example.net:5353`,
      );
    let host = entry;
    let port = "53";
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
    if (bracketed) {
      host = bracketed[1];
      port = bracketed[2] ?? "53";
    } else if (!isIPv6(entry) && entry.includes(":")) {
      const at = entry.lastIndexOf(":");
      host = entry.slice(0, at);
      port = entry.slice(at + 1);
    }
    if (!isIPv4(host) && !isIPv6(host) && !HOST_NAME.test(host)) {
      bad("is not an IP address or host name");
      continue;
    }
    if (bracketed && !isIPv6(host)) {
      bad("has brackets around something that is not an IPv6 address");
      continue;
    }
    const portNumber = Number(port);
    if (!/^\d{1,5}$/.test(port) || portNumber < 1 || portNumber > 65_535) {
      bad("has no valid port (1-65535)");
      continue;
    }
    out.push({ host: host.toLowerCase().replace(/\.$/, ""), port: portNumber });
  }
  return out;
}

/** The API URL's host is the mail host only when it is a public DNS name (not a cluster Service or an IP). */
export function hostnameFromApiUrl(apiUrl: string): string | undefined {
  const host = new URL(apiUrl).hostname.toLowerCase();
  if (/^[\d.]+$/.test(host) || host.includes(":") || host === "localhost") return undefined;
  if (/\.(svc|cluster\.local|local|internal)$/.test(host) || host.endsWith(".svc.cluster.local")) return undefined;
  if (!host.includes(".")) return undefined;
  return host;
}
