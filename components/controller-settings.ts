/**
 * Zone settings for deploying the controller (config key `mail-zone:controller`), documented in docs/settings.md
 * and docs/controller.md. Off by default: the zone is useful without it, and the image is the operator's to build.
 * Secrets are never values here: the controller's token and passphrase are generated, Mailcow's URL and key come
 * from the zone's controller Secret, and a Cloudflare token is referenced by Secret name.
 */
import { z } from "zod";
import { dataKey, objectName, quantity, resourceOverride } from "./setting-values";

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
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.enabled && !s.image) {
      ctx.addIssue({ code: "custom", path: ["image"], message: "an image reference when the controller is enabled" });
    }
    for (const name of Object.keys(s.env)) {
      if ((CONTROLLER_SECRET_ENV as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["env", name],
          message: `no secret here: ${name} comes from a Secret (generated, or cloudflareTokenSecret)`,
        });
      }
      if ((CONTROLLER_MANAGED_ENV as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["env", name],
          message: `a setting the Deployment manages: ${name} must match its port, probes and state volume`,
        });
      }
    }
  });

export type ControllerSettings = z.infer<typeof controllerSettingsSchema>;
