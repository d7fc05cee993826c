/**
 * The Mailcow pod as plain Kubernetes objects (no Pulumi): one container per compose service, sharing one network
 * namespace (docs/decisions/0001-mailcow-pod-shape.md). Env, mounts and ports follow the release's
 * docker-compose.yml; what Kubernetes breaks is answered here and in overrides.ts.
 */
import type {
  IContainer,
  IContainerPort,
  IEnvVar,
  IPodSpec,
  IProbe,
  IResourceRequirements,
  IVolume,
  IVolumeMount,
} from "kubernetes-models/v1";
import { MAILCOW_SECRET, MAILCOW_TLS_SECRET, MAILCOW_WEB_PORT } from "../mailcow-endpoints";
import { TRUST_PROBLEM_TEXT, trustProblem } from "../network-ranges";
import {
  composeName,
  ESSENTIAL_SERVICES,
  IPV6_NETWORK,
  imagesFor,
  LISTENING_PORTS,
  LOOPBACK,
  LOOPBACK_IPV4_NETWORK,
  type MailcowService,
  NGINX_HTTPS_PORT,
  OFELIA_JOBS,
  releasePin,
  STANDIN_PORT,
} from "./catalogue";
import { TREE_MOUNT } from "./overrides";
import {
  ALWAYS_CLAIMED_VOLUMES,
  type MailcowContainer,
  type MailcowSettings,
  type MailcowVolume,
  type ResourceOverride,
} from "./settings";

export interface MailcowPodInput {
  settings: MailcowSettings;
  /** MAILCOW_HOSTNAME. */
  hostname: string;
  /** TZ (settings.timezone wins when set). */
  timezone: string;
  /** The cluster pod CIDR: default API_ALLOW_FROM, PROXY trust and TRUSTED_PROXIES. */
  podCidr: string;
}

/** Names of the pod's volumes and Kubernetes objects it refers to. */
export const POD_VOLUMES = {
  tree: "mailcow-tree",
  mysqlSocket: "mysql-socket",
  sogoWeb: "sogo-web",
  ssl: "ssl",
  tls: "tls",
  overrides: "overrides",
  standin: "standin",
  standinToken: "dockerapi-token",
  adminPassword: "admin-password",
} as const;
export const OVERRIDES_CONFIGMAP = "mailcow-overrides";
export const STANDIN_CONFIGMAP = "mailcow-dockerapi-standin";
export const STANDIN_SERVICE_ACCOUNT = "mailcow-dockerapi";
/** The StatefulSet's one pod has this stable name, so the stand-in's Role can name it (docs/decisions/0110). */
export const MAILCOW_STATEFULSET = "mailcow";
export const MAILCOW_POD_NAME = `${MAILCOW_STATEFULSET}-0`;
/** Where the kubelet-projected token, CA and namespace appear in the stand-in (the client libraries' default path). */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Where the stand-in reads Mailcow's admin password (a Secret volume: the kubelet updates it when it changes). */
export const ADMIN_PASSWORD_DIR = "/admin";
export const RELEASE_FILE = "/tmp/mailcow-release.tar.gz";

export function pvcName(volume: MailcowVolume): string {
  return `mailcow-${volume}`;
}

/** Services that run, given the optional switches. */
export function enabledServices(settings: MailcowSettings): MailcowService[] {
  const out: MailcowService[] = [...ESSENTIAL_SERVICES];
  if (settings.optional.sogo) out.push("sogo", "memcached");
  if (settings.optional.clamd) out.push("clamd");
  if (settings.optional.olefy) out.push("olefy");
  return out;
}

/** PVCs the pod mounts, given the optional switches. */
export function enabledVolumes(settings: MailcowSettings): MailcowVolume[] {
  const out: MailcowVolume[] = [...ALWAYS_CLAIMED_VOLUMES];
  if (settings.optional.sogo) out.push("sogo-userdata-backup");
  if (settings.optional.clamd) out.push("clamd-db");
  return out;
}

export const DEFAULT_VOLUME_SIZES: Readonly<Record<MailcowVolume, string>> = {
  vmail: "20Gi",
  "vmail-index": "2Gi",
  mysql: "5Gi",
  redis: "1Gi",
  rspamd: "2Gi",
  postfix: "2Gi",
  "postfix-tlspol": "1Gi",
  crypt: "1Gi",
  tree: "1Gi",
  "sogo-userdata-backup": "2Gi",
  "clamd-db": "2Gi",
};

/**
 * Memory the upstream configs of the release let each heavy container use (read from the release's files; checked
 * again at every upgrade, docs/upgrading-mailcow.md). Limits below are derived from these, not guessed.
 */
export const UPSTREAM_SIZING = {
  /** data/conf/phpfpm/php-fpm.d/pools.conf: pm.max_children of [system-worker] and [web-worker]. */
  phpFpmMaxChildren: { system: 15, web: 50 },
  /** Resident size of one busy php-fpm worker of the Mailcow UI (measured order of magnitude, not a PHP cap). */
  phpFpmWorkerMi: 32,
  /** data/conf/sogo/sogo.conf: WOWorkersCount (upstream) and SxVMemLimit in MB per worker. */
  sogoWorkersUpstream: 20,
  sogoVMemLimitMB: 384,
  /** data/conf/clamav/freshclam.conf `TestDatabases yes`: a new signature set is loaded beside the current one. */
  clamdSignatureSets: 2,
  /** One loaded signature set (main, daily, bytecode and the unofficial sets Mailcow enables). */
  clamdSignatureSetMi: 1280,
} as const;

/**
 * SOGo's worker count in this pod (the init step writes it into sogo.conf): 20 workers of up to 384 MB would need
 * 7.5 GB; a small zone serves its webmail users with 4, and the limit then covers all of them at their cap.
 */
export const SOGO_WORKERS = 4;

const MB_IN_MI = 1_000_000 / 1_048_576;
const mi = (n: number): string => `${Math.ceil(n)}Mi`;
/** php-fpm: every worker of both pools at its resident size, plus the master and opcache. */
export const PHP_FPM_LIMIT = mi(
  (UPSTREAM_SIZING.phpFpmMaxChildren.system + UPSTREAM_SIZING.phpFpmMaxChildren.web) * UPSTREAM_SIZING.phpFpmWorkerMi +
    192,
);
/** SOGo: SOGO_WORKERS at SxVMemLimit each, plus the master process. */
export const SOGO_LIMIT = mi(SOGO_WORKERS * UPSTREAM_SIZING.sogoVMemLimitMB * MB_IN_MI + 256);
/** clamd: two signature sets at once while freshclam tests a download, plus clamd's and freshclam's own memory. */
export const CLAMD_LIMIT = mi(UPSTREAM_SIZING.clamdSignatureSets * UPSTREAM_SIZING.clamdSignatureSetMi + 512);

/**
 * Default requests/limits per container, sized for a small single-node k3s: the essential set requests about
 * 0.4 CPU / 1.2 GiB. SOGo (+memcached) and clamd are the expensive optional parts; php-fpm, SOGo and clamd limits
 * come from UPSTREAM_SIZING.
 */
export const DEFAULT_RESOURCES: Readonly<Record<MailcowContainer, Required<ResourceOverride>>> = {
  unbound: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
  mysql: { requests: { cpu: "50m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  redis: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
  "php-fpm": { requests: { cpu: "50m", memory: "256Mi" }, limits: { cpu: "1", memory: PHP_FPM_LIMIT } },
  nginx: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
  dovecot: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
  postfix: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
  "postfix-tlspol": { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
  rspamd: { requests: { cpu: "50m", memory: "256Mi" }, limits: { cpu: "1", memory: "768Mi" } },
  sogo: { requests: { cpu: "50m", memory: "384Mi" }, limits: { cpu: "1", memory: SOGO_LIMIT } },
  memcached: { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
  clamd: { requests: { cpu: "100m", memory: "1536Mi" }, limits: { cpu: "1", memory: CLAMD_LIMIT } },
  olefy: { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
  // 192Mi: the stand-in plus one `node -e` of its exec probe at a time.
  dockerapi: { requests: { cpu: "10m", memory: "48Mi" }, limits: { cpu: "200m", memory: "192Mi" } },
  "fetch-release": { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
};

export function resourcesFor(container: MailcowContainer, settings: MailcowSettings): IResourceRequirements {
  const base = DEFAULT_RESOURCES[container];
  const over = settings.resources[container] ?? {};
  return {
    requests: { ...base.requests, ...over.requests },
    limits: { ...base.limits, ...over.limits },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Env (compose order), values from settings and the mailcow-secrets Secret.

const lit = (name: string, value: string | number): IEnvVar => ({ name, value: String(value) });
const sec = (name: string, key: string): IEnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: MAILCOW_SECRET.name, key } },
});
const yn = (b: boolean): string => (b ? "y" : "n");

interface EnvContext {
  s: MailcowSettings;
  tz: string;
  hostname: string;
  apiAllowFrom: string;
  trustedProxies: string;
}

function spamhaus(s: MailcowSettings): IEnvVar {
  return s.spamhausDqsKey
    ? { name: "SPAMHAUS_DQS_KEY", valueFrom: { secretKeyRef: { ...s.spamhausDqsKey } } }
    : lit("SPAMHAUS_DQS_KEY", "");
}

const K = MAILCOW_SECRET.keys;
const noReplica = [lit("REDIS_SLAVEOF_IP", ""), lit("REDIS_SLAVEOF_PORT", "")];

function envFor(service: MailcowService, c: EnvContext): IEnvVar[] {
  const { s } = c;
  const db = [lit("DBNAME", s.dbName), lit("DBUSER", s.dbUser), sec("DBPASS", K.dbPassword)];
  switch (service) {
    case "unbound":
      return [lit("TZ", c.tz), lit("SKIP_UNBOUND_HEALTHCHECK", "n")];
    case "mysql":
      return [
        lit("TZ", c.tz),
        sec("MYSQL_ROOT_PASSWORD", K.dbRootPassword),
        lit("MYSQL_DATABASE", s.dbName),
        lit("MYSQL_USER", s.dbUser),
        sec("MYSQL_PASSWORD", K.dbPassword),
        lit("MYSQL_INITDB_SKIP_TZINFO", "1"),
      ];
    case "redis":
      return [lit("TZ", c.tz), sec("REDISPASS", K.redisPassword), lit("REDISMASTERPASS", "")];
    case "clamd":
      return [lit("TZ", c.tz), lit("SKIP_CLAMD", yn(!s.optional.clamd))];
    case "rspamd":
      return [
        lit("TZ", c.tz),
        lit("IPV4_NETWORK", LOOPBACK_IPV4_NETWORK),
        lit("IPV6_NETWORK", IPV6_NETWORK),
        ...noReplica,
        sec("REDISPASS", K.redisPassword),
        spamhaus(s),
      ];
    case "php-fpm":
      return [
        ...noReplica,
        sec("REDISPASS", K.redisPassword),
        lit("LOG_LINES", s.logLines),
        lit("TZ", c.tz),
        ...db,
        lit("MAILCOW_HOSTNAME", c.hostname),
        lit("MAILCOW_PASS_SCHEME", s.passScheme),
        lit("IMAP_PORT", s.publicPorts.imap),
        lit("IMAPS_PORT", s.publicPorts.imaps),
        lit("POP_PORT", s.publicPorts.pop),
        lit("POPS_PORT", s.publicPorts.pops),
        lit("SIEVE_PORT", s.publicPorts.sieve),
        lit("IPV4_NETWORK", LOOPBACK_IPV4_NETWORK),
        lit("IPV6_NETWORK", IPV6_NETWORK),
        lit("SUBMISSION_PORT", s.publicPorts.submission),
        lit("SMTPS_PORT", s.publicPorts.smtps),
        lit("SMTP_PORT", s.publicPorts.smtp),
        sec("API_KEY", K.apiKey),
        sec("API_KEY_READ_ONLY", K.apiKeyReadOnly),
        lit("API_ALLOW_FROM", c.apiAllowFrom),
        lit("COMPOSE_PROJECT_NAME", s.composeProjectName),
        lit("SKIP_FTS", yn(!s.optional.fts)),
        lit("SKIP_CLAMD", yn(!s.optional.clamd)),
        lit("SKIP_OLEFY", yn(!s.optional.olefy)),
        lit("SKIP_SOGO", yn(!s.optional.sogo)),
        lit("ALLOW_ADMIN_EMAIL_LOGIN", yn(s.allowAdminEmailLogin)),
        lit("MASTER", "y"),
        lit("DEV_MODE", "n"),
        lit("DEMO_MODE", "n"),
        lit("WEBAUTHN_ONLY_TRUSTED_VENDORS", "n"),
        lit("CLUSTERMODE", ""),
        lit("ADDITIONAL_SERVER_NAMES", s.additionalServerNames.join(",")),
      ];
    case "sogo":
      return [
        ...db,
        lit("TZ", c.tz),
        lit("LOG_LINES", s.logLines),
        lit("MAILCOW_HOSTNAME", c.hostname),
        lit("MAILCOW_PASS_SCHEME", s.passScheme),
        lit("ACL_ANYONE", s.aclAnyone),
        lit("ALLOW_ADMIN_EMAIL_LOGIN", yn(s.allowAdminEmailLogin)),
        lit("IPV4_NETWORK", LOOPBACK_IPV4_NETWORK),
        lit("SOGO_EXPIRE_SESSION", s.sogoExpireSession),
        sec("SOGO_URL_ENCRYPTION_KEY", K.sogoUrlEncryptionKey),
        lit("SKIP_SOGO", yn(!s.optional.sogo)),
        lit("MASTER", "y"),
        ...noReplica,
        sec("REDISPASS", K.redisPassword),
      ];
    case "dovecot":
      return [
        lit("DOVECOT_MASTER_USER", ""),
        lit("DOVECOT_MASTER_PASS", ""),
        lit("MAILCOW_REPLICA_IP", ""),
        lit("DOVEADM_REPLICA_PORT", ""),
        lit("LOG_LINES", s.logLines),
        ...db,
        lit("TZ", c.tz),
        lit("MAILCOW_HOSTNAME", c.hostname),
        lit("MAILCOW_PASS_SCHEME", s.passScheme),
        lit("IPV4_NETWORK", LOOPBACK_IPV4_NETWORK),
        lit("ALLOW_ADMIN_EMAIL_LOGIN", yn(s.allowAdminEmailLogin)),
        lit("MAILDIR_GC_TIME", s.maildirGcTime),
        lit("ACL_ANYONE", s.aclAnyone),
        lit("SKIP_FTS", yn(!s.optional.fts)),
        lit("FTS_HEAP", s.ftsHeap),
        lit("FTS_PROCS", s.ftsProcs),
        lit("MAILDIR_SUB", s.maildirSub),
        lit("MASTER", "y"),
        ...noReplica,
        sec("REDISPASS", K.redisPassword),
        lit("COMPOSE_PROJECT_NAME", s.composeProjectName),
      ];
    case "postfix":
      return [
        lit("LOG_LINES", s.logLines),
        lit("TZ", c.tz),
        ...db,
        ...noReplica,
        sec("REDISPASS", K.redisPassword),
        lit("MAILCOW_HOSTNAME", c.hostname),
        spamhaus(s),
      ];
    case "postfix-tlspol":
      return [
        lit("LOG_LINES", s.logLines),
        lit("TZ", c.tz),
        ...noReplica,
        sec("REDISPASS", K.redisPassword),
        lit("DEV_MODE", "n"),
      ];
    case "memcached":
      return [lit("TZ", c.tz)];
    case "nginx":
      return [
        lit("HTTPS_PORT", NGINX_HTTPS_PORT),
        lit("HTTP_PORT", MAILCOW_WEB_PORT),
        lit("MAILCOW_HOSTNAME", c.hostname),
        lit("ADDITIONAL_SERVER_NAMES", s.additionalServerNames.join(",")),
        lit("TZ", c.tz),
        lit("SKIP_SOGO", yn(!s.optional.sogo)),
        lit("SKIP_RSPAMD", "n"),
        lit("ENABLE_IPV6", s.ipv6 ? "true" : "false"),
        lit("HTTP_REDIRECT", "n"),
        // Empty: nginx's defaults (php-fpm-mailcow, ${IPV4_NETWORK}.248, rspamd-mailcow) resolve to loopback here.
        lit("PHPFPMHOST", ""),
        // SOGo listens on 127.0.0.1 only (not 127.0.0.248, nginx's default ${IPV4_NETWORK}.248).
        lit("SOGOHOST", c.s.optional.sogo ? LOOPBACK : ""),
        lit("RSPAMDHOST", ""),
        lit("REDISHOST", ""),
        lit("IPV4_NETWORK", LOOPBACK_IPV4_NETWORK),
        lit("NGINX_USE_PROXY_PROTOCOL", "n"),
        lit("TRUSTED_PROXIES", c.trustedProxies),
      ];
    case "olefy":
      return [
        lit("TZ", c.tz),
        // Loopback: rspamd, its one client, shares the pod; nothing that reaches the pod IP needs it.
        lit("OLEFY_BINDADDRESS", LOOPBACK),
        lit("OLEFY_BINDPORT", 10055),
        lit("OLEFY_TMPDIR", "/tmp"),
        lit("OLEFY_PYTHON_PATH", "/usr/bin/python3"),
        lit("OLEFY_OLEVBA_PATH", "/usr/bin/olevba"),
        lit("OLEFY_LOGLVL", 20),
        lit("OLEFY_MINLENGTH", 500),
        lit("OLEFY_DEL_TMP", 1),
        lit("SKIP_OLEFY", yn(!s.optional.olefy)),
      ];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mounts (compose order). A source is a path in the release tree, a PVC, or a pod-local volume.

type Source =
  | { tree: string }
  | { pvc: MailcowVolume }
  | { local: (typeof POD_VOLUMES)["mysqlSocket" | "sogoWeb" | "ssl"] };
interface Mount {
  source: Source;
  path: string;
  readOnly?: boolean;
  /** A single file (the init step creates it if missing, so the kubelet does not make a directory). */
  file?: boolean;
}

const tree = (sub: string, path: string, opts: { ro?: boolean; file?: boolean } = {}): Mount => ({
  source: { tree: sub },
  path,
  readOnly: opts.ro,
  file: opts.file,
});
const pvc = (volume: MailcowVolume, path: string): Mount => ({ source: { pvc: volume }, path });
const socket: Mount = { source: { local: POD_VOLUMES.mysqlSocket }, path: "/var/run/mysqld" };
const ssl: Mount = { source: { local: POD_VOLUMES.ssl }, path: "/etc/ssl/mail", readOnly: true };
const mailcowauth = [
  tree("data/conf/dovecot/auth/mailcowauth.php", "/mailcowauth/mailcowauth.php", { file: true }),
  tree("data/web/inc/functions.inc.php", "/mailcowauth/functions.inc.php", { file: true }),
  tree("data/web/inc/functions.auth.inc.php", "/mailcowauth/functions.auth.inc.php", { file: true }),
  tree("data/web/inc/sessions.inc.php", "/mailcowauth/sessions.inc.php", { file: true }),
];
const sogoWebResources = "/usr/local/lib/GNUstep/SOGo/WebServerResources";

export function mountsFor(service: MailcowService): Mount[] {
  switch (service) {
    case "unbound":
      return [
        tree("data/hooks/unbound", "/hooks"),
        tree("data/conf/unbound/unbound.conf", "/etc/unbound/unbound.conf", { ro: true, file: true }),
      ];
    case "mysql":
      return [pvc("mysql", "/var/lib/mysql"), socket, tree("data/conf/mysql", "/etc/mysql/conf.d", { ro: true })];
    case "redis":
      return [pvc("redis", "/data"), tree("data/conf/redis/redis-conf.sh", "/redis-conf.sh", { file: true })];
    case "clamd":
      return [tree("data/conf/clamav", "/etc/clamav"), pvc("clamd-db", "/var/lib/clamav")];
    case "rspamd":
      return [
        tree("data/hooks/rspamd", "/hooks"),
        tree("data/conf/rspamd/custom", "/etc/rspamd/custom"),
        tree("data/conf/rspamd/override.d", "/etc/rspamd/override.d"),
        tree("data/conf/rspamd/local.d", "/etc/rspamd/local.d"),
        tree("data/conf/rspamd/plugins.d", "/etc/rspamd/plugins.d"),
        tree("data/conf/rspamd/lua", "/etc/rspamd/lua", { ro: true }),
        tree("data/conf/rspamd/rspamd.conf.local", "/etc/rspamd/rspamd.conf.local", { file: true }),
        tree("data/conf/rspamd/rspamd.conf.override", "/etc/rspamd/rspamd.conf.override", { file: true }),
        pvc("rspamd", "/var/lib/rspamd"),
      ];
    case "php-fpm":
      return [
        tree("data/hooks/phpfpm", "/hooks"),
        tree("data/web", "/web"),
        tree("data/conf/rspamd/dynmaps", "/dynmaps", { ro: true }),
        tree("data/conf/rspamd/custom", "/rspamd_custom_maps"),
        ...mailcowauth,
        tree("data/web/inc/functions.mailbox.inc.php", "/mailcowauth/functions.mailbox.inc.php", { file: true }),
        tree("data/web/inc/functions.ratelimit.inc.php", "/mailcowauth/functions.ratelimit.inc.php", { file: true }),
        tree("data/web/inc/functions.acl.inc.php", "/mailcowauth/functions.acl.inc.php", { file: true }),
        pvc("rspamd", "/var/lib/rspamd"),
        socket,
        tree("data/conf/sogo", "/etc/sogo"),
        tree("data/conf/rspamd/meta_exporter", "/meta_exporter", { ro: true }),
        tree("data/conf/phpfpm/crons", "/crons"),
        tree("data/conf/phpfpm/sogo-sso", "/etc/sogo-sso"),
        tree("data/conf/phpfpm/php-fpm.d/pools.conf", "/usr/local/etc/php-fpm.d/z-pools.conf", { file: true }),
        tree(
          "data/conf/phpfpm/php-conf.d/opcache-recommended.ini",
          "/usr/local/etc/php/conf.d/opcache-recommended.ini",
          { file: true },
        ),
        tree("data/conf/phpfpm/php-conf.d/upload.ini", "/usr/local/etc/php/conf.d/upload.ini", { file: true }),
        tree("data/conf/phpfpm/php-conf.d/other.ini", "/usr/local/etc/php/conf.d/zzz-other.ini", { file: true }),
        tree("data/conf/dovecot/global_sieve_before", "/global_sieve/before", { file: true }),
        tree("data/conf/dovecot/global_sieve_after", "/global_sieve/after", { file: true }),
        tree("data/assets/templates", "/tpls"),
        tree("data/conf/nginx", "/etc/nginx/conf.d"),
      ];
    case "sogo":
      return [
        tree("data/hooks/sogo", "/hooks"),
        tree("data/conf/sogo", "/etc/sogo"),
        tree("data/web/inc/init_db.inc.php", "/init_db.inc.php", { file: true }),
        tree("data/conf/sogo/custom-favicon.ico", `${sogoWebResources}/img/sogo.ico`, { file: true }),
        tree("data/conf/sogo/custom-shortlogo.svg", `${sogoWebResources}/img/sogo-compact.svg`, { file: true }),
        tree("data/conf/sogo/custom-fulllogo.svg", `${sogoWebResources}/img/sogo-full.svg`, { file: true }),
        tree("data/conf/sogo/custom-fulllogo.png", `${sogoWebResources}/img/sogo-logo.png`, { file: true }),
        tree("data/conf/sogo/custom-theme.js", `${sogoWebResources}/js/theme.js`, { file: true }),
        tree("data/conf/sogo/custom-sogo.js", `${sogoWebResources}/js/custom-sogo.js`, { file: true }),
        socket,
        { source: { local: POD_VOLUMES.sogoWeb }, path: "/sogo_web" },
        pvc("sogo-userdata-backup", "/sogo_backup"),
      ];
    case "dovecot":
      return [
        tree("data/hooks/dovecot", "/hooks"),
        tree("data/conf/dovecot", "/etc/dovecot"),
        ssl,
        tree("data/conf/sogo", "/etc/sogo"),
        tree("data/conf/phpfpm/sogo-sso", "/etc/phpfpm"),
        pvc("vmail", "/var/vmail"),
        pvc("vmail-index", "/var/vmail_index"),
        pvc("crypt", "/mail_crypt"),
        tree("data/conf/rspamd/custom", "/etc/rspamd/custom"),
        tree("data/assets/templates", "/templates"),
        pvc("rspamd", "/var/lib/rspamd"),
        socket,
      ];
    case "postfix":
      return [
        tree("data/hooks/postfix", "/hooks"),
        tree("data/conf/postfix", "/opt/postfix/conf"),
        ssl,
        pvc("postfix", "/var/spool/postfix"),
        pvc("crypt", "/var/lib/zeyple"),
        pvc("rspamd", "/var/lib/rspamd"),
        socket,
      ];
    case "postfix-tlspol":
      return [pvc("postfix-tlspol", "/var/lib/postfix-tlspol")];
    case "memcached":
      return [];
    case "nginx":
      return [
        tree("data/web", "/web", { ro: true }),
        tree("data/conf/rspamd/dynmaps", "/dynmaps", { ro: true }),
        ssl,
        tree("data/conf/nginx", "/etc/nginx/conf.d"),
        tree("data/conf/rspamd/meta_exporter", "/meta_exporter", { ro: true }),
        ...mailcowauth,
        { source: { local: POD_VOLUMES.sogoWeb }, path: "/usr/local/lib/GNUstep/SOGo" },
      ];
    case "olefy":
      return [];
  }
}

function toVolumeMount(m: Mount): IVolumeMount {
  const src = m.source;
  const base: IVolumeMount =
    "tree" in src
      ? { name: POD_VOLUMES.tree, mountPath: m.path, subPath: src.tree }
      : "pvc" in src
        ? { name: pvcName(src.pvc), mountPath: m.path }
        : { name: src.local, mountPath: m.path };
  return m.readOnly ? { ...base, readOnly: true } : base;
}

/** Tree paths mounted by the running services, split into files and directories (the init step creates them). */
export function treeSubPaths(services: readonly MailcowService[]): { files: string[]; dirs: string[] } {
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const s of services) {
    for (const m of mountsFor(s)) {
      if (!("tree" in m.source)) continue;
      (m.file ? files : dirs).add(m.source.tree);
    }
  }
  return { files: [...files].sort(), dirs: [...dirs].sort() };
}

// ---------------------------------------------------------------------------------------------------------------
// Probes: upstream watchdog's checks, translated. Exec probes go through `sh -c` so pipes work.
//
// Readiness only where it means "this container serves the traffic of a Service" (nginx, postfix, dovecot): any
// container that is not ready takes the whole pod out of every Service, and upstream restarts SOGo, dovecot and
// rspamd routinely (add/domain, global sieve changes, sa-rules.sh). Elsewhere startup and liveness only.
//
// A tcpSocket or httpGet probe dials the pod IP; a service that binds a loopback address (rspamd's proxy worker on
// `rspamd:9900`, which hostAliases map to 127.0.0.1; SOGo and the stand-in on 127.0.0.1) is probed by exec on
// 127.0.0.1, with a tool its image ships (docs/mailcow-on-kubernetes.md, "Open assumptions").

const tcp = (port: number): IProbe => ({ tcpSocket: { port } });
const sh = (script: string): IProbe => ({ exec: { command: ["sh", "-c", script] } });
const timing = (p: IProbe, period: number, failures: number, timeout = 5): IProbe => ({
  ...p,
  periodSeconds: period,
  failureThreshold: failures,
  timeoutSeconds: timeout,
});

export interface ProbeSet {
  startup: IProbe;
  liveness: IProbe;
  /** Only the containers whose Service traffic the pod's readiness should gate. */
  readiness?: IProbe;
}

/** The containers whose readiness gates the pod's Service endpoints. */
export const READINESS_GATED: readonly MailcowService[] = ["nginx", "postfix", "dovecot"];

/**
 * The address postfix-tlspol's baked-in config sends DNS to (Docker's embedded resolver). unbound must answer from
 * it, or the connected UDP client drops every reply (overrides.ts, unboundLocalData).
 */
export const DOCKER_DNS = "127.0.0.11";

const MYSQL_PING = "mariadb-admin --socket=/var/run/mysqld/mysqld.sock ping";
const REDIS_PING = 'redis-cli -a "$REDISPASS" --no-auth-warning ping | grep -q PONG';
/** A pod-local name answered through the address postfix-tlspol uses: the reply must come back from 127.0.0.11. */
const UNBOUND_LOCAL = `dig +short +timeout=2 +tries=1 dovecot @${DOCKER_DNS} | grep -q '${LOOPBACK}'`;
/** watchdog's DNSSEC check: a validated (ad) answer for a signed public zone, so DNSBL, DANE and MX lookups work. */
const UNBOUND_DNSSEC = `dig com SOA +dnssec +timeout=3 +tries=1 @${LOOPBACK} | grep -Eq 'flags:.+ ad'`;
/** netcat-traditional (rspamd, SOGo: Debian) and busybox nc (clamd: Alpine) both take -z and -w. */
const ncz = (port: number): IProbe => sh(`nc -z -w 3 ${LOOPBACK} ${port}`);
const CLAMD_PING = `echo PING | nc ${LOOPBACK} 3310 | grep -q PONG`;
/** The stand-in listens on 127.0.0.1 only; its image is node, so node asks it. */
const STANDIN_HEALTH = sh(
  `node -e "require('https').get({host:'${LOOPBACK}',port:${STANDIN_PORT},path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"`,
);

/** Startup probes give slow first starts (DB init, signature downloads) room; then liveness takes over. */
export const PROBES: Readonly<Record<MailcowService | "dockerapi", ProbeSet>> = {
  unbound: {
    startup: timing(sh(UNBOUND_LOCAL), 5, 60),
    // Local names through 127.0.0.11, and a validated public answer; 10 minutes of failures restart unbound, as
    // watchdog restarts it.
    liveness: timing(sh(`${UNBOUND_LOCAL} && ${UNBOUND_DNSSEC}`), 60, 10, 10),
  },
  mysql: {
    startup: timing(sh(MYSQL_PING), 5, 120),
    liveness: timing(sh(MYSQL_PING), 30, 5),
  },
  redis: {
    startup: timing(sh(REDIS_PING), 5, 60),
    liveness: timing(sh(REDIS_PING), 30, 5),
  },
  // php-fpm waits for SQL, Redis and dockerapi and runs the DB schema update before it listens ([::]:9002).
  "php-fpm": {
    startup: timing(tcp(9002), 10, 90),
    liveness: timing(tcp(9002), 30, 5),
  },
  nginx: {
    startup: timing(tcp(MAILCOW_WEB_PORT), 10, 90),
    liveness: timing(tcp(8081), 30, 5),
    readiness: timing({ httpGet: { path: "/", port: MAILCOW_WEB_PORT } }, 15, 3),
  },
  dovecot: {
    startup: timing(tcp(143), 10, 90),
    // LMTP listens on 127.0.0.1 only (dovecot-extra.conf), where a tcpSocket probe cannot reach.
    liveness: timing(ncz(24), 30, 5),
    readiness: timing(tcp(143), 15, 3),
  },
  // watchdog checks postfix on 589 (a plain smtpd without postscreen).
  postfix: {
    startup: timing(tcp(589), 10, 90),
    liveness: timing(sh("postfix status"), 30, 5),
    readiness: timing(tcp(589), 15, 3),
  },
  "postfix-tlspol": {
    startup: timing(tcp(8642), 5, 60),
    liveness: timing(tcp(8642), 30, 5),
  },
  // worker-proxy.inc binds `rspamd:9900`, i.e. 127.0.0.1 here: the milter postfix talks to.
  rspamd: {
    startup: timing(ncz(9900), 10, 90),
    liveness: timing(ncz(9900), 30, 5),
  },
  sogo: {
    startup: timing(ncz(20000), 10, 90),
    liveness: timing(ncz(20000), 30, 5),
  },
  // memcached and olefy listen on 127.0.0.1 (containerFor, envFor), where a tcpSocket probe cannot reach.
  memcached: {
    startup: timing(ncz(11211), 5, 30),
    liveness: timing(ncz(11211), 30, 5),
  },
  // First start downloads signatures for minutes.
  clamd: {
    startup: timing(sh(CLAMD_PING), 10, 180, 10),
    liveness: timing(sh(CLAMD_PING), 60, 5, 10),
  },
  olefy: {
    startup: timing(ncz(10055), 5, 60),
    liveness: timing(ncz(10055), 30, 5),
  },
  dockerapi: {
    startup: timing(STANDIN_HEALTH, 5, 60),
    liveness: timing(STANDIN_HEALTH, 30, 5),
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Containers and the pod.

/** Containers that need a TTY upstream (`tty: true`): unbound logs to /dev/console. */
export const TTY_SERVICES: readonly MailcowService[] = ["unbound", "dovecot"];
/** compose `cap_add: NET_BIND_SERVICE`. */
const NET_BIND: readonly MailcowService[] = ["dovecot", "postfix"];

function containerFor(service: MailcowService, image: string, c: EnvContext): IContainer {
  const ports: IContainerPort[] = LISTENING_PORTS[service].map((p) => ({ containerPort: p, protocol: "TCP" }));
  if (service === "unbound") ports.unshift({ containerPort: 53, protocol: "UDP" });
  const container: IContainer = {
    name: service,
    image,
    env: envFor(service, c),
    ports,
    volumeMounts: mountsFor(service).map(toVolumeMount),
    resources: resourcesFor(service, c.s),
    startupProbe: PROBES[service].startup,
    livenessProbe: PROBES[service].liveness,
    ...(PROBES[service].readiness ? { readinessProbe: PROBES[service].readiness } : {}),
    securityContext: {
      privileged: false,
      ...(NET_BIND.includes(service) ? { capabilities: { add: ["NET_BIND_SERVICE"] } } : {}),
    },
  };
  // compose entrypoint/command
  if (service === "redis") container.command = ["/bin/sh", "/redis-conf.sh"];
  if (service === "php-fpm") container.args = ["php-fpm", "-d", `date.timezone=${c.tz}`, "-d", "expose_php=0"];
  // memcached has no authentication and holds SOGo's sessions: loopback only, SOGo is its one client in this pod
  // (the image's entrypoint prepends `memcached` to arguments starting with "-").
  if (service === "memcached") container.args = ["-l", LOOPBACK];
  if (TTY_SERVICES.includes(service)) {
    container.tty = true;
    container.stdin = true;
  }
  return container;
}

/** Compose service → container name, for the stand-in (`sogo-mailcow` → `sogo`). */
export function standinContainerMap(services: readonly MailcowService[]): Record<string, string> {
  return Object.fromEntries(services.map((s) => [composeName(s), s]));
}

/** ofelia's jobs for the services that run, in the stand-in's format. */
export function standinJobs(services: readonly MailcowService[]) {
  return OFELIA_JOBS.filter((j) => services.includes(j.service)).map((j) => ({
    name: j.name,
    container: j.service,
    command: j.command,
    everyMinutes: j.everyMinutes,
  }));
}

function standinContainer(c: EnvContext, services: readonly MailcowService[]): IContainer {
  return {
    name: "dockerapi",
    image: c.s.standinImage,
    command: ["node", "/standin/dockerapi-standin.js"],
    env: [
      lit("TZ", c.tz),
      lit("COMPOSE_PROJECT_NAME", c.s.composeProjectName),
      lit("MAILCOW_CONTAINERS", JSON.stringify(standinContainerMap(services))),
      lit("JOBS_FILE", "/standin/jobs.json"),
      lit("PORT", STANDIN_PORT),
      lit("TLS_DIR", "/tls"),
      lit("SSL_DIR", "/ssl"),
      // Loopback only: php-fpm is its one client, in this pod; nothing that reaches the pod IP may drive it.
      lit("LISTEN_HOST", LOOPBACK),
      lit("SA_DIR", SERVICE_ACCOUNT_DIR),
      lit("ADMIN_PASSWORD_FILE", `${ADMIN_PASSWORD_DIR}/${MAILCOW_SECRET.keys.adminPassword}`),
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    ],
    ports: [{ containerPort: STANDIN_PORT, protocol: "TCP" }],
    volumeMounts: [
      { name: POD_VOLUMES.standin, mountPath: "/standin", readOnly: true },
      { name: POD_VOLUMES.tls, mountPath: "/tls", readOnly: true },
      { name: POD_VOLUMES.ssl, mountPath: "/ssl" },
      { name: POD_VOLUMES.standinToken, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
      { name: POD_VOLUMES.adminPassword, mountPath: ADMIN_PASSWORD_DIR, readOnly: true },
    ],
    resources: resourcesFor("dockerapi", c.s),
    startupProbe: PROBES.dockerapi.startup,
    livenessProbe: PROBES.dockerapi.liveness,
    securityContext: { privileged: false },
  };
}

/** The archive of the pinned commit (not the tag, which can be moved); a mirror must serve the same tree. */
function releaseUrl(s: MailcowSettings): string {
  return s.releaseUrl ?? `https://github.com/mailcow/mailcow-dockerized/archive/${releasePin(s.release).commit}.tar.gz`;
}

function initContainer(c: EnvContext, services: readonly MailcowService[]): IContainer {
  const images = imagesFor(c.s.release);
  const paths = treeSubPaths(services);
  return {
    name: "fetch-release",
    image: c.s.standinImage,
    command: ["sh", "/overrides/init.sh"],
    env: [
      lit("RELEASE", c.s.release),
      lit("RELEASE_COMMIT", releasePin(c.s.release).commit),
      lit("RELEASE_DATA_TREE", releasePin(c.s.release).dataTree),
      lit("RELEASE_URL", releaseUrl(c.s)),
      lit("RELEASE_SHA256", c.s.releaseSha256 ?? ""),
      lit("RELEASE_FILE", RELEASE_FILE),
      lit("BOOTSTRAP_DNS", c.s.bootstrapDns),
      lit("EXPECTED_IMAGES", services.map((s) => images[s]).join(" ")),
      lit("FILE_SUBPATHS", paths.files.join(" ")),
      lit("DIR_SUBPATHS", paths.dirs.join(" ")),
    ],
    volumeMounts: [
      { name: POD_VOLUMES.tree, mountPath: TREE_MOUNT },
      { name: POD_VOLUMES.overrides, mountPath: "/overrides", readOnly: true },
      { name: POD_VOLUMES.tls, mountPath: "/tls", readOnly: true },
      { name: POD_VOLUMES.ssl, mountPath: "/ssl" },
    ],
    resources: resourcesFor("fetch-release", c.s),
    securityContext: { privileged: false },
  };
}

function podVolumes(s: MailcowSettings): IVolume[] {
  return [
    ...enabledVolumes(s).map((v) => ({ name: pvcName(v), persistentVolumeClaim: { claimName: pvcName(v) } })),
    // The MySQL unix socket every consumer hard-wires, shared in memory by the containers of this pod.
    { name: POD_VOLUMES.mysqlSocket, emptyDir: {} },
    { name: POD_VOLUMES.sogoWeb, emptyDir: {} },
    // /etc/ssl/mail: cert.pem/key.pem from cert-manager's Secret plus dhparams.pem, kept current by the stand-in.
    { name: POD_VOLUMES.ssl, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
    { name: POD_VOLUMES.tls, secret: { secretName: MAILCOW_TLS_SECRET } },
    { name: POD_VOLUMES.overrides, configMap: { name: OVERRIDES_CONFIGMAP } },
    { name: POD_VOLUMES.standin, configMap: { name: STANDIN_CONFIGMAP } },
    // The pod mounts no token (automountServiceAccountToken: false); only the stand-in mounts this one.
    {
      name: POD_VOLUMES.standinToken,
      projected: {
        sources: [
          { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
        ],
      },
    },
    {
      name: POD_VOLUMES.adminPassword,
      secret: {
        secretName: MAILCOW_SECRET.name,
        items: [{ key: MAILCOW_SECRET.keys.adminPassword, path: MAILCOW_SECRET.keys.adminPassword }],
        defaultMode: 0o400,
      },
    },
  ];
}

/**
 * The pod CIDR as the default of a trust setting: it passes the same rule the settings apply, or the zone refuses
 * to start (a `podCidr: 0.0.0.0/0` typo must not open API_ALLOW_FROM, TRUSTED_PROXIES and PROXY trust at once).
 */
export function derivedTrust(setting: "apiAllowFrom" | "trustedProxies" | "proxyTrustedNetworks", podCidr: string) {
  const problem = trustProblem(podCidr);
  if (problem) {
    throw new Error(
      `mail-zone:mailcow.${setting}: defaults to the pod CIDR ${JSON.stringify(podCidr)}, which must be ${TRUST_PROBLEM_TEXT[problem]}; fix the pod CIDR or set mail-zone:mailcow.${setting}`,
    );
  }
  return [podCidr];
}

/** The pod's inputs resolved from settings and the zone (what the env and overrides are built from). */
export function resolveContext(input: MailcowPodInput): EnvContext {
  const s = input.settings;
  return {
    s,
    tz: s.timezone ?? input.timezone,
    hostname: input.hostname,
    apiAllowFrom: (s.apiAllowFrom ?? derivedTrust("apiAllowFrom", input.podCidr)).join(","),
    trustedProxies: (s.trustedProxies ?? derivedTrust("trustedProxies", input.podCidr)).join(","),
  };
}

/** PROXY-protocol trust for dovecot (haproxy_trusted_networks). */
export function proxyTrust(input: MailcowPodInput): string[] {
  return input.settings.proxyTrustedNetworks ?? derivedTrust("proxyTrustedNetworks", input.podCidr);
}

/** Names the pod resolves through /etc/hosts (all DNS-1123, so hostAliases accepts them). */
export function podSpec(input: MailcowPodInput, hostAliases: readonly string[]): IPodSpec {
  const c = resolveContext(input);
  const services = enabledServices(c.s);
  const images = imagesFor(c.s.release);
  return {
    serviceAccountName: STANDIN_SERVICE_ACCOUNT,
    // No container gets a token by default: the stand-in alone mounts a projected one (its pods/exec rights would
    // otherwise be every container's, and every compromised container's).
    automountServiceAccountToken: false,
    // MariaDB asks for 45 s (compose stop_grace_period); postfix and dovecot flush queues.
    terminationGracePeriodSeconds: 60,
    enableServiceLinks: false,
    // Every name the code uses is a loopback name in this pod.
    hostAliases: [{ ip: LOOPBACK, hostnames: [...hostAliases] }],
    // compose `dns: ${IPV4_NETWORK}.254`: the pod's resolver is its own validating unbound.
    dnsPolicy: "None",
    dnsConfig: { nameservers: [LOOPBACK], searches: [], options: [{ name: "ndots", value: "1" }] },
    securityContext: {
      // nginx's entrypoint pings its upstreams; this safe sysctl allows ICMP echo without NET_RAW.
      // (redis's net.core.somaxconn is an unsafe sysctl and is left out.)
      sysctls: [{ name: "net.ipv4.ping_group_range", value: "0 2147483647" }],
    },
    initContainers: [initContainer(c, services)],
    containers: [...services.map((svc) => containerFor(svc, images[svc], c)), standinContainer(c, services)],
    volumes: podVolumes(c.s),
  };
}
