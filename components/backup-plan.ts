/**
 * Pure builders for the zone's backup and restore Jobs: pod specs and the shell scripts they run. No Pulumi here;
 * `components/backups.ts` wraps these in Kubernetes objects. Coverage follows upstream's
 * helper-scripts/backup_and_restore.sh (vmail, crypt, redis, rspamd, postfix, MySQL), plus the zone's Secrets and
 * the release tree (what the UI wrote into it).
 *
 * Layout of one backup set at the target: `<root>/mailcow-YYYY-MM-DD-HH-MM-SS/` holding `<volume>.tar.gz` per
 * covered volume, `mysql/<database>.sql.gz`, `secrets/<name>.json`, `MANIFEST`, and `COMPLETE` written last.
 */

import type { IContainer } from "kubernetes-models/v1/Container";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { BackupSettings } from "./backup-settings";
import { PART_OF } from "./labels";

/**
 * Volumes whose files are archived, in archive order (redis first: closest to its BGSAVE). `tree` holds the
 * release's data/ tree with what the UI wrote into it (rspamd maps, global sieve scripts), which a release change
 * keeps and a lost volume would lose.
 */
export const COVERED_VOLUMES = ["redis", "crypt", "rspamd", "postfix", "tree", "vmail"] as const;
export type CoveredVolume = (typeof COVERED_VOLUMES)[number];

/** Default claim names of the Mailcow workloads' PVCs (components/mailcow). */
export const DEFAULT_CLAIMS: Record<CoveredVolume, string> = {
  vmail: "mailcow-vmail",
  crypt: "mailcow-crypt",
  redis: "mailcow-redis",
  rspamd: "mailcow-rspamd",
  postfix: "mailcow-postfix",
  tree: "mailcow-tree",
};

/** What is deliberately not archived as files, and why (docs/backup-restore.md repeats this). */
export const NOT_COVERED: Record<string, string> = {
  "mailcow-mysql": "copied as a consistent logical dump (mariadb-dump --single-transaction), not as live InnoDB files",
  "mailcow-vmail-index": "Dovecot rebuilds its indexes from the mail itself",
  "mailcow-postfix-tlspol": "an MTA-STS/DANE policy cache, refilled on demand",
  "mailcow-clamd": "ClamAV signatures, downloaded again by freshclam",
  "mailcow-sogo": "SOGo's web assets come from the image; user data lives in MySQL",
};

export const BACKUP_POD_LABELS = { "app.kubernetes.io/name": "mailcow-backup", "app.kubernetes.io/part-of": PART_OF };
export const RESTORE_POD_LABELS = { "app.kubernetes.io/name": "mailcow-restore", "app.kubernetes.io/part-of": PART_OF };

/** A restore's work directories at the top of each volume (never archived): staged contents, and the old ones. */
export const RESTORE_STAGING_DIR = ".mail-zone-restore-staging";
export const RESTORE_OLD_DIR = ".mail-zone-restore-old";

/** Mount points inside the pods. */
export const PATHS = { data: "/data", staging: "/staging", tmp: "/tmp", target: "/backup" } as const;

/** Where the projected token appears in secrets-export (the path its script and the client libraries read). */
export const BACKUP_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface MailcowConnection {
  /** Secret holding Mailcow's generated passwords (mailcow.conf names). */
  secretName: string;
  redisPasswordKey: string;
  dbRootPasswordKey: string;
  redisHost: string;
  redisPort: number;
  mysqlHost: string;
  mysqlPort: number;
  mysqlDatabase: string;
}

export interface BackupPlanInput {
  settings: BackupSettings;
  claims: Record<CoveredVolume, string>;
  /** Zone Secrets exported into the set (names in the zone namespace). */
  secretNames: string[];
  mailcow: MailcowConnection;
  serviceAccountName: string;
  /** Labels of the Mailcow pod(s) whose node the backup pod must share (RWO volumes). */
  mailcowPodLabels: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Target (rclone remote) and encryption

const TARGET_REMOTE = "target";
const SEALED_REMOTE = "sealed";

/** The rclone path the sets live under, before encryption: a local mount or `target:<bucket>/<prefix>`. */
export function targetRoot(settings: BackupSettings): string {
  const t = settings.target;
  if (t.type === "volume") return PATHS.target;
  return `${TARGET_REMOTE}:${t.bucket}${t.prefix ? `/${t.prefix}` : ""}`;
}

const secretEnv = (name: string, secret: string, key: string): IEnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

/** rclone configuration as environment (no config file, no secret values: keys come from secretKeyRefs). */
export function rcloneEnv(settings: BackupSettings): IEnvVar[] {
  const env: IEnvVar[] = [
    { name: "HOME", value: PATHS.tmp },
    { name: "RCLONE_CONFIG", value: `${PATHS.tmp}/rclone.conf` },
    { name: "BACKUP_ROOT", value: targetRoot(settings) },
  ];
  const t = settings.target;
  if (t.type === "s3") {
    const p = `RCLONE_CONFIG_${TARGET_REMOTE.toUpperCase()}_`;
    env.push(
      { name: `${p}TYPE`, value: "s3" },
      { name: `${p}PROVIDER`, value: t.provider },
      { name: `${p}ENDPOINT`, value: t.endpoint },
      { name: `${p}REGION`, value: t.region },
      { name: `${p}ENV_AUTH`, value: "false" },
      // The bucket exists already; checking would need bucket-level rights the key may not have.
      { name: `${p}NO_CHECK_BUCKET`, value: "true" },
      // Streams of unknown size: 10,000 parts × 32 MiB allows archives up to about 320 GiB.
      { name: `${p}CHUNK_SIZE`, value: "32Mi" },
      secretEnv(`${p}ACCESS_KEY_ID`, t.credentialsSecret.name, t.credentialsSecret.accessKeyIdKey),
      secretEnv(`${p}SECRET_ACCESS_KEY`, t.credentialsSecret.name, t.credentialsSecret.secretAccessKeyKey),
    );
  }
  if (settings.encryption) {
    env.push(secretEnv("BACKUP_PASSPHRASE", settings.encryption.secretName, settings.encryption.key));
  }
  return env;
}

/**
 * Shell prelude for every rclone step: sets `DEST` to the remote the sets live under. With encryption, `DEST` is an
 * rclone crypt remote over the root (contents encrypted, names readable so sets can be listed and pruned); the
 * passphrase is obscured through stdin so it never appears in a process list.
 */
function destPrelude(settings: BackupSettings): string {
  const lines = ['DEST="$BACKUP_ROOT"'];
  if (settings.encryption) {
    const p = `RCLONE_CONFIG_${SEALED_REMOTE.toUpperCase()}_`;
    lines.push(
      `export ${p}TYPE=crypt`,
      `export ${p}REMOTE="$BACKUP_ROOT"`,
      `export ${p}FILENAME_ENCRYPTION=off`,
      `export ${p}DIRECTORY_NAME_ENCRYPTION=false`,
      `export ${p}PASSWORD="$(printf '%s\\n' "$BACKUP_PASSPHRASE" | rclone obscure -)"`,
      `DEST="${SEALED_REMOTE}:"`,
    );
  }
  return lines.join("\n");
}

/** Resolves `$BACKUP_SET` (`latest` = the newest set with a COMPLETE marker) and refuses incomplete sets. */
const RESOLVE_SET = `SET="\${BACKUP_SET:-latest}"
if [ "$SET" = latest ]; then
  SET=""
  for d in $(rclone lsf --dirs-only "$DEST" | sed 's#/$##' | grep '^mailcow-[0-9]' | sort -r); do
    if rclone cat "$DEST/$d/COMPLETE" >/dev/null 2>&1; then SET="$d"; break; fi
  done
  [ -n "$SET" ] || { echo "restore: no complete backup set under $BACKUP_ROOT"; exit 1; }
fi
rclone cat "$DEST/$SET/COMPLETE" >/dev/null 2>&1 || { echo "restore: $SET is missing or incomplete (no COMPLETE marker)"; exit 1; }
echo "restore: using backup set $SET"`;

// ---------------------------------------------------------------------------------------------------------------
// Scripts

/**
 * Waits for a fresh RDB snapshot: BGSAVE, then poll until no save is running and the last save is newer than
 * before. Redis holds the DKIM private keys, rate limits and settings (mailcow-notes §1).
 */
export const REDIS_SAVE_SCRIPT = `set -eu
cli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-auth-warning "$@"; }
info() { cli INFO persistence | tr -d '\\r' | grep "^$1:" | cut -d: -f2; }
cli PING | grep -q PONG || { echo "redis: no PONG from $REDIS_HOST:$REDIS_PORT (NetworkPolicy? REDISPASS?)"; exit 1; }
before="$(info rdb_last_save_time)"
sleep 1
cli BGSAVE || true
deadline=$(( $(date +%s) + REDIS_SAVE_TIMEOUT ))
until [ "$(info rdb_bgsave_in_progress)" = "0" ] && [ "$(info rdb_last_save_time)" != "$before" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "redis: BGSAVE did not finish within \${REDIS_SAVE_TIMEOUT}s"; exit 1; }
  sleep 1
done
[ "$(info rdb_last_bgsave_status)" = "ok" ] || { echo "redis: the last BGSAVE failed"; exit 1; }
echo "redis: snapshot saved (rdb_last_save_time $(info rdb_last_save_time))"`;

/**
 * Consistent logical dump of Mailcow's database: one transaction (InnoDB snapshot, no table locks), with routines,
 * triggers and events. Only Mailcow's database: a fresh MariaDB with new passwords can take it as it is.
 */
export const MYSQL_DUMP_SCRIPT = `set -euo pipefail
umask 077
printf '[client]\\nuser=root\\npassword=%s\\n' "$DBROOT" > ${PATHS.tmp}/my.cnf
mkdir -p ${PATHS.staging}/mysql
mariadb-dump --defaults-extra-file=${PATHS.tmp}/my.cnf --host="$MYSQL_HOST" --port="$MYSQL_PORT" \\
  --single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 \\
  --databases "$MYSQL_DATABASE" | gzip -c > "${PATHS.staging}/mysql/$MYSQL_DATABASE.sql.gz.partial"
mv "${PATHS.staging}/mysql/$MYSQL_DATABASE.sql.gz.partial" "${PATHS.staging}/mysql/$MYSQL_DATABASE.sql.gz"
rm -f ${PATHS.tmp}/my.cnf
echo "mysql: dumped $MYSQL_DATABASE ($(wc -c < "${PATHS.staging}/mysql/$MYSQL_DATABASE.sql.gz") bytes compressed)"`;

/** Exports the zone's Secrets through the API with the pod's ServiceAccount (get on exactly these names). */
export const SECRETS_EXPORT_SCRIPT = `set -eu
SA=${BACKUP_TOKEN_DIR}
NS="$(cat "$SA/namespace")"
umask 077
mkdir -p ${PATHS.staging}/secrets
# The token goes in a header file, not on a command line.
printf 'Authorization: Bearer %s\\n' "$(cat "$SA/token")" > ${PATHS.tmp}/auth
for s in $SECRET_NAMES; do
  curl -fsS --cacert "$SA/ca.crt" -H @${PATHS.tmp}/auth \\
    "https://kubernetes.default.svc/api/v1/namespaces/$NS/secrets/$s" -o "${PATHS.staging}/secrets/$s.json"
  echo "secrets: exported $s"
done
rm -f ${PATHS.tmp}/auth`;

/**
 * Retention, after the set is complete: the newest KEEP_LAST complete sets always stay; older sets go by the date
 * in their name (not file times); and nothing is pruned while the new set is far smaller than a set that would go
 * (MAX_SHRINK_PERCENT), since after an accidental wipe every "successful" backup is a backup of empty volumes and
 * the good sets must not age out behind them.
 */
export const RETENTION_SCRIPT = `size_of() { rclone size --json "$DEST/$1" | sed -n 's/.*"bytes":\\([0-9][0-9]*\\).*/\\1/p'; }
sets() { rclone lsf --dirs-only "$DEST" | sed 's#/$##' | grep '^mailcow-[0-9]' | sort -r; }
keep=""
kept=0
for d in $(sets); do
  [ "$kept" -lt "$KEEP_LAST" ] || break
  if rclone cat "$DEST/$d/COMPLETE" >/dev/null 2>&1; then keep="$keep $d"; kept=$((kept + 1)); fi
done
CUTOFF="mailcow-$(date -u -d "@$(( $(date +%s) - RETENTION_DAYS * 86400 ))" +%Y-%m-%d-%H-%M-%S)"
candidates=""
for old in $(sets | awk -v c="$CUTOFF" '$0 < c'); do
  case " $keep " in *" $old "*) continue ;; esac
  candidates="$candidates $old"
done
prune=yes
if [ -n "$candidates" ]; then
  new_bytes="$(size_of "$SET")"
  for old in $candidates; do
    old_bytes="$(size_of "$old")"
    if [ $(( \${new_bytes:-0} * 100 )) -lt $(( \${old_bytes:-0} * (100 - MAX_SHRINK_PERCENT) )) ]; then
      echo "backup: WARNING: $SET ($new_bytes bytes) is far smaller than $old ($old_bytes bytes): pruning nothing until this is resolved (docs/backup-restore.md)"
      prune=no
      break
    fi
  done
fi
if [ "$prune" = yes ]; then
  for old in $candidates; do
    echo "backup: pruning $old (older than $RETENTION_DAYS days, beyond the newest $KEEP_LAST complete sets)"
    rclone purge "$DEST/$old"
  done
fi`;

export function backupScript(settings: BackupSettings): string {
  return `set -eu -o pipefail
${destPrelude(settings)}
SET="mailcow-$(date -u +%Y-%m-%d-%H-%M-%S)"
echo "backup: writing $SET under $BACKUP_ROOT"
for v in $VOLUMES; do
  echo "backup: archiving $v"
  tar -C "${PATHS.data}/$v" --exclude="./${RESTORE_STAGING_DIR}" --exclude="./${RESTORE_OLD_DIR}" -czf - . | rclone rcat "$DEST/$SET/$v.tar.gz"
done
{
  echo "set: $SET"
  echo "created: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "volumes: $VOLUMES"
  echo "database: $MYSQL_DATABASE (mysql/$MYSQL_DATABASE.sql.gz)"
  echo "secrets: $SECRET_NAMES (secrets/*.json: SENSITIVE)"
} > ${PATHS.staging}/MANIFEST
rclone copy ${PATHS.staging} "$DEST/$SET"
echo "$SET" | rclone rcat "$DEST/$SET/COMPLETE"
echo "backup: $SET complete"
${RETENTION_SCRIPT}`;
}

/**
 * Restore of the covered volumes: every archive is read through once and must verify (gzip CRC and tar structure)
 * before any volume is touched; each volume is then unpacked into a staging directory on the same volume and only
 * swapped in once that succeeded. A failure at any point leaves the current contents in place.
 */
export function restoreFilesScript(settings: BackupSettings): string {
  const data = PATHS.data;
  return `set -eu -o pipefail
${destPrelude(settings)}
${RESOLVE_SET}
for v in $RESTORE_VOLUMES; do
  [ -d "${data}/$v" ] || { echo "restore: $v is not a covered volume"; exit 1; }
  rclone lsf "$DEST/$SET/$v.tar.gz" >/dev/null 2>&1 || { echo "restore: $SET has no $v.tar.gz"; exit 1; }
done
for v in $RESTORE_VOLUMES; do
  echo "restore: verifying $SET/$v.tar.gz"
  rclone cat "$DEST/$SET/$v.tar.gz" | tar -tzf - >/dev/null || { echo "restore: $SET/$v.tar.gz does not verify; nothing was changed"; exit 1; }
done
for v in $RESTORE_VOLUMES; do
  staging="${data}/$v/${RESTORE_STAGING_DIR}"
  rm -rf "$staging" && mkdir "$staging"
  echo "restore: $v <- $SET/$v.tar.gz (into staging)"
  rclone cat "$DEST/$SET/$v.tar.gz" | tar -C "$staging" -xzpf - || { rm -rf "$staging"; echo "restore: unpacking $v failed; its contents are unchanged"; exit 1; }
done
for v in $RESTORE_VOLUMES; do
  cd "${data}/$v"
  rm -rf ${RESTORE_OLD_DIR} && mkdir ${RESTORE_OLD_DIR}
  for e in $(ls -A); do
    case "$e" in ${RESTORE_STAGING_DIR}|${RESTORE_OLD_DIR}) ;; *) mv "./$e" ${RESTORE_OLD_DIR}/ ;; esac
  done
  for e in $(ls -A ${RESTORE_STAGING_DIR}); do mv "${RESTORE_STAGING_DIR}/$e" ./; done
  rm -rf ${RESTORE_STAGING_DIR} ${RESTORE_OLD_DIR}
  echo "restore: $v swapped in"
done
echo "restore: files restored from $SET; now start Mailcow and run the database restore"`;
}

export function restoreFetchDumpScript(settings: BackupSettings): string {
  return `set -eu -o pipefail
${destPrelude(settings)}
${RESOLVE_SET}
rclone copyto "$DEST/$SET/mysql/$MYSQL_DATABASE.sql.gz" "${PATHS.staging}/$MYSQL_DATABASE.sql.gz"
echo "restore: fetched the $MYSQL_DATABASE dump of $SET"`;
}

export const RESTORE_DATABASE_SCRIPT = `set -euo pipefail
umask 077
printf '[client]\\nuser=root\\npassword=%s\\n' "$DBROOT" > ${PATHS.tmp}/my.cnf
echo "restore: loading $MYSQL_DATABASE into $MYSQL_HOST"
gunzip -c "${PATHS.staging}/$MYSQL_DATABASE.sql.gz" | mariadb --defaults-extra-file=${PATHS.tmp}/my.cnf --host="$MYSQL_HOST" --port="$MYSQL_PORT"
rm -f ${PATHS.tmp}/my.cnf
echo "restore: database $MYSQL_DATABASE restored; restart the Mailcow pod"`;

/** Refuses to overwrite volumes under a running Mailcow: its Redis must not answer. */
export const MAILCOW_STOPPED_SCRIPT = `set -u
if timeout 10 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-auth-warning PING 2>/dev/null | grep -q PONG; then
  echo "restore: Mailcow is running (Redis at $REDIS_HOST answers). Scale it to 0 first (docs/backup-restore.md)."
  exit 1
fi
echo "restore: Mailcow is stopped"`;

// ---------------------------------------------------------------------------------------------------------------
// Pod specs

const TMP_VOLUME: IVolume = { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } };
/**
 * The ServiceAccount token for secrets-export alone: mounted into every container, it would let the Redis, MariaDB
 * and rclone images (and whatever compromises them) read the zone's Secrets through the API.
 */
const TOKEN_VOLUME: IVolume = {
  name: "api-token",
  projected: {
    sources: [
      { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
    ],
  },
};
const STAGING_VOLUME: IVolume = { name: "staging", emptyDir: { sizeLimit: "20Gi" } };
const volumeName = (v: CoveredVolume) => `data-${v}`;

function hardened(extra: { add?: string[]; runAsRoot?: boolean } = {}): IContainer["securityContext"] {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"], ...(extra.add ? { add: extra.add } : {}) },
    ...(extra.runAsRoot ? { runAsUser: 0, runAsNonRoot: false } : {}),
  };
}

const shell = (script: string, sh = "/bin/sh"): Pick<IContainer, "command" | "args"> => ({
  command: [sh, "-c"],
  args: [script],
});

const resources = (memoryLimit: string): IContainer["resources"] => ({
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { memory: memoryLimit },
});

function mailcowEnv(m: MailcowConnection): IEnvVar[] {
  return [
    { name: "REDIS_HOST", value: m.redisHost },
    { name: "REDIS_PORT", value: String(m.redisPort) },
    { name: "MYSQL_HOST", value: m.mysqlHost },
    { name: "MYSQL_PORT", value: String(m.mysqlPort) },
    { name: "MYSQL_DATABASE", value: m.mysqlDatabase },
  ];
}

function targetVolumes(
  settings: BackupSettings,
  readOnly: boolean,
): { volumes: IVolume[]; mounts: NonNullable<IContainer["volumeMounts"]> } {
  if (settings.target.type !== "volume") return { volumes: [], mounts: [] };
  return {
    volumes: [{ name: "target", persistentVolumeClaim: { claimName: settings.target.claimName, readOnly } }],
    mounts: [{ name: "target", mountPath: PATHS.target, readOnly }],
  };
}

/** Mailcow's covered volumes under /data/<volume>: read-only for the backup, writable for a restore. */
function coveredMounts(readOnly: boolean) {
  return COVERED_VOLUMES.map((v) => ({
    name: volumeName(v),
    mountPath: `${PATHS.data}/${v}`,
    ...(readOnly ? { readOnly: true } : {}),
  }));
}

function coveredVolumes(claims: BackupPlanInput["claims"], readOnly: boolean): IVolume[] {
  return COVERED_VOLUMES.map((v) => ({
    name: volumeName(v),
    persistentVolumeClaim: { claimName: claims[v], ...(readOnly ? { readOnly: true } : {}) },
  }));
}

/** The backup Job's pod: save Redis, dump MySQL, export Secrets, then archive every covered volume to the target. */
export function backupPodSpec(input: BackupPlanInput): IPodSpec {
  const { settings, mailcow } = input;
  const target = targetVolumes(settings, false);
  const dataMounts = coveredMounts(true);
  const common = [
    { name: "tmp", mountPath: PATHS.tmp },
    { name: "staging", mountPath: PATHS.staging },
  ];
  return {
    restartPolicy: "Never",
    serviceAccountName: input.serviceAccountName,
    // Only secrets-export mounts the token (TOKEN_VOLUME).
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    affinity: {
      // RWO volumes attach to one node: run where Mailcow runs, and mount its claims read-only.
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { ...input.mailcowPodLabels } }, topologyKey: "kubernetes.io/hostname" },
        ],
      },
    },
    initContainers: [
      {
        name: "redis-save",
        image: settings.images.redis,
        ...shell(REDIS_SAVE_SCRIPT),
        env: [
          ...mailcowEnv(mailcow),
          { name: "REDIS_SAVE_TIMEOUT", value: "600" },
          secretEnv("REDISCLI_AUTH", mailcow.secretName, mailcow.redisPasswordKey),
        ],
        securityContext: hardened(),
        resources: resources("64Mi"),
        volumeMounts: [{ name: "tmp", mountPath: PATHS.tmp }],
      },
      {
        name: "mysql-dump",
        image: settings.images.mariadb,
        ...shell(MYSQL_DUMP_SCRIPT, "/bin/bash"),
        env: [...mailcowEnv(mailcow), secretEnv("DBROOT", mailcow.secretName, mailcow.dbRootPasswordKey)],
        securityContext: hardened({ runAsRoot: true }),
        resources: resources("256Mi"),
        volumeMounts: common,
      },
      {
        name: "secrets-export",
        image: settings.images.curl,
        ...shell(SECRETS_EXPORT_SCRIPT),
        env: [{ name: "SECRET_NAMES", value: input.secretNames.join(" ") }],
        securityContext: hardened(),
        resources: resources("64Mi"),
        volumeMounts: [...common, { name: TOKEN_VOLUME.name, mountPath: BACKUP_TOKEN_DIR, readOnly: true }],
      },
    ],
    containers: [
      {
        name: "archive",
        image: settings.images.rclone,
        ...shell(backupScript(settings)),
        env: [
          ...rcloneEnv(settings),
          { name: "VOLUMES", value: COVERED_VOLUMES.join(" ") },
          { name: "RETENTION_DAYS", value: String(settings.retentionDays) },
          { name: "KEEP_LAST", value: String(settings.keepLast) },
          { name: "MAX_SHRINK_PERCENT", value: String(settings.maxShrinkPercent) },
          { name: "MYSQL_DATABASE", value: mailcow.mysqlDatabase },
          { name: "SECRET_NAMES", value: input.secretNames.join(" ") },
        ],
        // Root with only DAC_READ_SEARCH: reads every file of the volumes (vmail is uid 5000), changes none.
        securityContext: hardened({ add: ["DAC_READ_SEARCH"], runAsRoot: true }),
        resources: resources("512Mi"),
        volumeMounts: [...common, ...dataMounts, ...target.mounts],
      },
    ],
    volumes: [TMP_VOLUME, STAGING_VOLUME, TOKEN_VOLUME, ...coveredVolumes(input.claims, true), ...target.volumes],
  };
}

/** Restore of the covered volumes' files; Mailcow must be scaled to 0 (checked first). */
export function restoreFilesPodSpec(input: BackupPlanInput): IPodSpec {
  const { settings, mailcow } = input;
  const target = targetVolumes(settings, true);
  return {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    initContainers: [
      {
        name: "mailcow-stopped",
        image: settings.images.redis,
        ...shell(MAILCOW_STOPPED_SCRIPT),
        env: [...mailcowEnv(mailcow), secretEnv("REDISCLI_AUTH", mailcow.secretName, mailcow.redisPasswordKey)],
        securityContext: hardened(),
        resources: resources("64Mi"),
      },
    ],
    containers: [
      {
        name: "restore",
        image: settings.images.rclone,
        ...shell(restoreFilesScript(settings)),
        env: [
          ...rcloneEnv(settings),
          { name: "BACKUP_SET", value: "latest" },
          { name: "RESTORE_VOLUMES", value: COVERED_VOLUMES.join(" ") },
        ],
        // Writing files back with their owners and modes needs these, and only these.
        securityContext: hardened({ add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"], runAsRoot: true }),
        resources: resources("512Mi"),
        volumeMounts: [{ name: "tmp", mountPath: PATHS.tmp }, ...coveredMounts(false), ...target.mounts],
      },
    ],
    volumes: [TMP_VOLUME, ...coveredVolumes(input.claims, false), ...target.volumes],
  };
}

/** Loads the set's MySQL dump into the running MariaDB (after the files restore and a Mailcow start). */
export function restoreDatabasePodSpec(input: BackupPlanInput): IPodSpec {
  const { settings, mailcow } = input;
  const target = targetVolumes(settings, true);
  return {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    initContainers: [
      {
        name: "fetch-dump",
        image: settings.images.rclone,
        ...shell(restoreFetchDumpScript(settings)),
        env: [
          ...rcloneEnv(settings),
          { name: "BACKUP_SET", value: "latest" },
          { name: "MYSQL_DATABASE", value: mailcow.mysqlDatabase },
        ],
        securityContext: hardened({ runAsRoot: true }),
        resources: resources("256Mi"),
        volumeMounts: [
          { name: "tmp", mountPath: PATHS.tmp },
          { name: "staging", mountPath: PATHS.staging },
          ...target.mounts,
        ],
      },
    ],
    containers: [
      {
        name: "restore",
        image: settings.images.mariadb,
        ...shell(RESTORE_DATABASE_SCRIPT, "/bin/bash"),
        env: [...mailcowEnv(mailcow), secretEnv("DBROOT", mailcow.secretName, mailcow.dbRootPasswordKey)],
        securityContext: hardened({ runAsRoot: true }),
        resources: resources("256Mi"),
        volumeMounts: [
          { name: "tmp", mountPath: PATHS.tmp },
          { name: "staging", mountPath: PATHS.staging },
        ],
      },
    ],
    volumes: [TMP_VOLUME, STAGING_VOLUME, ...target.volumes],
  };
}
