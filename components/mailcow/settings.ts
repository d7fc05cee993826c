/**
 * Zone settings for the Mailcow workloads (config key `mail-zone:mailcow`). Owned by the Mailcow workloads
 * component; the zone config schema embeds it.
 */
import { z } from "zod";

export const mailcowSettingsSchema = z
  .object({
    /** `in-cluster` runs Mailcow in the zone namespace; `external` points the zone at a Mailcow run elsewhere. */
    mode: z.enum(["in-cluster", "external"]).default("in-cluster"),
    /** The pinned `mailcow-dockerized` release tag. */
    release: z.string().min(1).default("2026-07a"),
  })
  .strict();

export type MailcowSettings = z.infer<typeof mailcowSettingsSchema>;
