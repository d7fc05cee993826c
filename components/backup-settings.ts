/**
 * Zone settings for backups (config key `mail-zone:backup`), documented in docs/backup-restore.md. Credentials are
 * never values here: the S3 keys and the optional encryption passphrase come from existing Kubernetes Secrets, named
 * by the settings.
 */
import { z } from "zod";
import { dataKey, objectName, quantity, timezone } from "./setting-values";

export const BACKUP_CONFIG_KEY = "mail-zone:backup";

/** Image pins. The redis and mariadb clients match the server majors Mailcow pins (redis 7.4, MariaDB 10.11). */
export const BACKUP_IMAGE_DEFAULTS = {
  /** Archiving, upload, pruning and restore of files (rclone on Alpine: busybox tar and gzip included). */
  rclone: "rclone/rclone:1.68.2",
  /** `redis-cli BGSAVE` before the copy. */
  redis: "redis:7.4.6-alpine",
  /** `mariadb-dump` / `mariadb` for the logical database dump and its restore. */
  mariadb: "mariadb:10.11.10",
  /** Reads the zone's Secrets from the Kubernetes API. */
  curl: "curlimages/curl:8.10.1",
} as const;

/** Five-field cron (minute hour day-of-month month day-of-week) or a CronJob macro such as `@daily`. */
const CRON_FIELD = /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?)*$/;
const CRON_MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

export function isCronSchedule(value: string): boolean {
  const v = value.trim();
  if (CRON_MACROS.includes(v)) return true;
  const fields = v.split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}

const volumeTarget = z
  .object({
    type: z.literal("volume"),
    /** PVC created for the backups; with local-path it lives on the mail node (same disk: not off-site). */
    claimName: objectName.default("mailcow-backups"),
    /** Empty = the cluster's default StorageClass. */
    storageClass: z.string().min(1).optional(),
    size: quantity.default("50Gi"),
  })
  .strict();

/** Credential fields people paste by habit; refused with a pointer to `credentialsSecret`. */
const CREDENTIAL_FIELDS = [
  "accessKeyId",
  "secretAccessKey",
  "accessKey",
  "secretKey",
  "password",
  "token",
  "sessionToken",
];

const s3Target = z
  .object({
    type: z.literal("s3"),
    /** S3 API endpoint, e.g. https://s3.eu-central-1.amazonaws.com or a MinIO/R2/B2 URL. */
    endpoint: z.url({ protocol: /^https?$/, error: "an http(s) URL such as https://s3.example.com" }),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name (3-63 lowercase letters, digits, '.', '-')"),
    /** Folder inside the bucket; each backup is `<prefix>/mailcow-<date>/`. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9._\-/]*$/, "a path of letters, digits, '.', '_', '-', '/'")
      .transform((p) => p.replace(/^\/+|\/+$/g, ""))
      .default("mail-zone"),
    region: z.string().min(1).default("us-east-1"),
    /** rclone's S3 provider name (AWS, Minio, Cloudflare, Wasabi, Other, …). */
    provider: z.string().min(1).default("Other"),
    /** An existing Secret in the zone namespace holding the key pair. */
    credentialsSecret: z
      .object({
        name: objectName,
        accessKeyIdKey: dataKey.default("AWS_ACCESS_KEY_ID"),
        secretAccessKeyKey: dataKey.default("AWS_SECRET_ACCESS_KEY"),
      })
      .strict(),
  })
  .strict();

export const backupSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** When the backup runs (CronJob schedule, default daily at 03:15 in `timeZone`). */
    schedule: z
      .string()
      .refine(isCronSchedule, "a five-field cron schedule such as '15 3 * * *' or a macro such as @daily")
      .default("15 3 * * *"),
    /** IANA time zone of the schedule (CronJob `timeZone`). */
    timeZone: timezone.default("Etc/UTC"),
    /** Backups older than this many days are deleted after each successful backup (but see keepLast). */
    retentionDays: z.number().int().min(1).max(3650).default(14),
    /** The newest this-many complete sets are never pruned, however old. */
    keepLast: z.number().int().min(1).max(1000).default(7),
    /**
     * Nothing is pruned while the new set is smaller than a set due for pruning by more than this percentage (an
     * accidental wipe makes every later backup tiny; the good sets must outlive it).
     */
    maxShrinkPercent: z.number().int().min(1).max(99).default(50),
    target: z.discriminatedUnion("type", [volumeTarget, s3Target]).prefault({ type: "volume" }),
    /**
     * Optional client-side encryption (rclone crypt; file names stay readable). The passphrase lives in an existing
     * Secret; keep a copy outside the cluster, or the backups cannot be read.
     */
    encryption: z
      .object({ secretName: objectName, key: dataKey.default("BACKUP_PASSPHRASE") })
      .strict()
      .optional(),
    /** A Job still running after this many seconds is stopped (default 6 h). */
    activeDeadlineSeconds: z.number().int().min(300).default(21_600),
    images: z
      .object({
        rclone: z.string().min(1).default(BACKUP_IMAGE_DEFAULTS.rclone),
        redis: z.string().min(1).default(BACKUP_IMAGE_DEFAULTS.redis),
        mariadb: z.string().min(1).default(BACKUP_IMAGE_DEFAULTS.mariadb),
        curl: z.string().min(1).default(BACKUP_IMAGE_DEFAULTS.curl),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type BackupSettings = z.infer<typeof backupSettingsSchema>;
export type BackupTarget = BackupSettings["target"];
export type S3Target = Extract<BackupTarget, { type: "s3" }>;
export type VolumeTarget = Extract<BackupTarget, { type: "volume" }>;

export class BackupSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupSettingsError";
  }
}

function show(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) return "nothing";
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Parses `mail-zone:backup` (already JSON-decoded; undefined = all defaults). Errors name the key and field, the
 * value given and what is expected. Credential values are refused before the schema sees (and could echo) them.
 */
export function parseBackupSettings(raw: unknown, key = BACKUP_CONFIG_KEY): BackupSettings {
  const target = valueAt(raw, ["target"]);
  if (typeof target === "object" && target !== null) {
    for (const field of CREDENTIAL_FIELDS) {
      if (field in target) {
        throw new BackupSettingsError(
          `${key}.target.${field}: credentials are not accepted in config (the value is not shown); expected target.credentialsSecret.name naming an existing Secret in the zone namespace with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        );
      }
    }
  }
  const parsed = backupSettingsSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    const where = path ? `${key}.${path}` : key;
    if (issue.code === "unrecognized_keys") {
      return `${where}: unknown field(s) ${issue.keys.join(", ")}; expected only the documented fields (docs/backup-restore.md)`;
    }
    let expected = issue.message.replace(/^Invalid input:\s*/i, "").replace(/^expected\s+/i, "");
    if (issue.code === "too_small") expected = `at least ${String(issue.minimum)}`;
    if (issue.code === "too_big") expected = `at most ${String(issue.maximum)}`;
    return `${where}: got ${show(valueAt(raw, issue.path))}; expected ${expected}`;
  });
  throw new BackupSettingsError(lines.join("\n"));
}
