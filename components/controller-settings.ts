/**
 * Zone settings for deploying the controller (config key `mail-zone:controller`), documented in docs/settings.md
 * and docs/controller.md. Off by default: the zone is useful without it, and the image is the operator's to build.
 * Secrets are never values here: the controller's token and passphrase are generated, Mailcow's URL and key come
 * from the zone's controller Secret, and a Cloudflare token is referenced by Secret name.
 */
import { z } from "zod";
import { didYouMean } from "./nearest-name";
import { dataKey, dnsLabel, labelMap, objectName, quantity, resourceOverride } from "./setting-values";

/**
 * Every environment variable the controller reads, the one list of known keys: the zone's `controller.env` is
 * checked against it, controller-settings.test.ts keeps it equal to the variables docs/controller.md documents, and
 * the controller's own schema (controller/settings.ts) may import it (components are below the controller). A
 * variable missing here cannot be set through the zone; one listed that the controller does not read would let a
 * typo pass.
 */
export const CONTROLLER_ENV_KEYS = [
  "MAILCOW_API_URL",
  "MAILCOW_API_KEY",
  "MAILCOW_HOSTNAME",
  "MAILCOW_CA_FILE",
  "MAILCOW_TIMEOUT_MS",
  "CONTROLLER_TOKENS",
  "CONTROLLER_TOKEN",
  "CONTROLLER_TOKEN_FILE",
  "ANNOTATION_PREFIX",
  "SITE_LAYOUT",
  "NAMESPACE_TEMPLATE",
  "STACK_RUNNER",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_CONFIG_PASSPHRASE_FILE",
  "CLOUDFLARE_API_TOKEN",
  "CLOUDFLARE_ACCOUNT_ID",
  "DNS_PROVIDER",
  "ALLOWED_DOMAIN_SUFFIXES",
  "ADOPT_UNMARKED_DOMAINS",
  "SPF_INCLUDE",
  "DMARC_POLICY",
  "DMARC_RUA",
  "TLSRPT_RUA",
  "MTA_STS_MODE",
  "POP3_ENABLED",
  "DNS_TTL",
  "SITE_WEB_TLS_ISSUER",
  "SITE_WEB_TLS_NAMESPACE",
  "SITE_WEB_TLS_ENTRYPOINT",
  "DKIM_SELECTOR",
  "DKIM_KEY_SIZE",
  "DNS_CHECK",
  "DNS_CHECK_INTERVAL_SECONDS",
  "DNS_CHECK_TIMEOUT_SECONDS",
  "DNS_CHECK_NAMESERVERS",
  "DNS_CHECK_PRIVATE_NAMESERVERS",
  "MAIL_DOMAIN_ALIASES",
  "MAIL_DOMAIN_MAILBOXES",
  "MAIL_DOMAIN_DEFQUOTA_MB",
  "MAIL_DOMAIN_MAXQUOTA_MB",
  "MAIL_DOMAIN_QUOTA_MB",
  "MAIL_RATE_LIMIT_VALUE",
  "MAIL_RATE_LIMIT_FRAME",
  "MAX_PARALLEL_RUNS",
  "RESYNC_INTERVAL_SECONDS",
  "RETRY_BASE_MS",
  "RETRY_CAP_MS",
  "RETRY_MAX_ATTEMPTS",
  "SHUTDOWN_DEADLINE_SECONDS",
  "HOST",
  "PORT",
  "BODY_LIMIT",
  "DATA_DIR",
  "LOG_LEVEL",
] as const;
export type ControllerEnvKey = (typeof CONTROLLER_ENV_KEYS)[number];

/** The controller's defaults for the two settings the zone's admission policy depends on (controller/settings.ts). */
export const DEFAULT_ANNOTATION_PREFIX = "voxeil.io";
export const DEFAULT_SITE_LAYOUT = "namespace-per-site";
export const SITE_LAYOUTS = ["namespace-per-site", "shared-namespace"] as const;
/** A DNS-style annotation prefix, as the controller accepts it; the admission policy embeds it in CEL. */
export const ANNOTATION_PREFIX_PATTERN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Env names that carry secrets; they arrive from Secrets, so `settings` refuses them. */
export const CONTROLLER_SECRET_ENV = [
  "MAILCOW_API_KEY",
  "CONTROLLER_TOKEN",
  "CONTROLLER_TOKENS",
  "PULUMI_CONFIG_PASSPHRASE",
  "CLOUDFLARE_API_TOKEN",
] as const;

/** Env names the Deployment sets itself: the probes, the Service and the state volume depend on them. */
export const CONTROLLER_MANAGED_ENV = ["DATA_DIR", "HOST", "PORT", "TMPDIR", "HOME"] as const;

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name such as SITE_LAYOUT");

export const controllerSettingsSchema = z
  .object({
    /** Deploy the controller in the platform namespace. */
    enabled: z.boolean().default(false),
    /** The controller image built from the repository's Dockerfile, pinned by tag or digest. Required when enabled. */
    image: z.string().min(1).optional(),
    /** Non-secret controller settings as env (docs/controller.md), e.g. `{"SITE_LAYOUT": "shared-namespace"}`. */
    env: z.record(envName, z.string()).default({}),
    /** Secret (in the platform namespace) and key holding the Cloudflare API token, for DNS_PROVIDER=cloudflare. */
    cloudflareTokenSecret: z.object({ name: objectName, key: dataKey }).strict().optional(),
    /** Size of the state volume (Pulumi file backend, per-site work dirs). */
    storageSize: quantity.default("1Gi"),
    /** StorageClass of the state volume; empty = the cluster's default. */
    storageClass: z.string().min(1).optional(),
    /** Requests and limits of the controller container; omitted values keep the defaults in docs/controller.md. */
    resources: resourceOverride.optional(),
    /**
     * The pods that may call the controller (its NetworkPolicy): each a namespace, optionally narrowed by pod labels.
     * Absent: every pod of the platform namespace. `[]`: none.
     */
    allowFrom: z.array(z.object({ namespace: dnsLabel, podLabels: labelMap.optional() }).strict()).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.enabled && !s.image) {
      ctx.addIssue({ code: "custom", path: ["image"], message: "an image reference when the controller is enabled" });
    }
    // The controller refuses to start without it (issue 10: no site domain is allowed by default); say so here
    // rather than deploy a controller that can only crash-loop.
    const suffixes = (s.env.ALLOWED_DOMAIN_SUFFIXES ?? "").split(",").filter((x) => x.trim() !== "");
    if (s.enabled && suffixes.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["env", "ALLOWED_DOMAIN_SUFFIXES"],
        message:
          "the domain suffixes sites may use when the controller is enabled, comma-separated (e.g. sites.example.com), or * to allow any domain as a deliberate choice",
      });
    }
    const settable = CONTROLLER_ENV_KEYS.filter(
      (k) =>
        !(CONTROLLER_SECRET_ENV as readonly string[]).includes(k) &&
        !(CONTROLLER_MANAGED_ENV as readonly string[]).includes(k),
    );
    // The zone's admission policy is built from these two, so they are checked here rather than at the pod's start.
    const layout = s.env.SITE_LAYOUT;
    if (layout !== undefined && !(SITE_LAYOUTS as readonly string[]).includes(layout)) {
      ctx.addIssue({
        code: "custom",
        path: ["env", "SITE_LAYOUT"],
        message: `expected one of ${SITE_LAYOUTS.map((l) => JSON.stringify(l)).join(", ")}`,
      });
    }
    const prefix = s.env.ANNOTATION_PREFIX;
    if (prefix !== undefined && !ANNOTATION_PREFIX_PATTERN.test(prefix)) {
      ctx.addIssue({
        code: "custom",
        path: ["env", "ANNOTATION_PREFIX"],
        message: "expected a DNS-style prefix such as voxeil.io (lowercase letters, digits, '-' and '.')",
      });
    }
    for (const name of Object.keys(s.env)) {
      if ((CONTROLLER_SECRET_ENV as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["env", name],
          message: `no secret here: ${name} comes from a Secret (generated, or cloudflareTokenSecret)`,
        });
      } else if ((CONTROLLER_MANAGED_ENV as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["env", name],
          message: `a setting the Deployment manages: ${name} must match its port, probes and state volume`,
        });
      } else if (!(CONTROLLER_ENV_KEYS as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["env", name],
          message: `expected no such key: the controller reads no ${name} (docs/controller.md lists its settings)${didYouMean(name, settable)}`,
        });
      }
    }
  });

/** `controller.env` as the zone hands it on: only names the controller reads (checked by the schema above). */
export type ControllerEnv<V = string> = Partial<Record<ControllerEnvKey, V>>;

export type ControllerSettings = Omit<z.infer<typeof controllerSettingsSchema>, "env"> & { env: ControllerEnv };
