/**
 * What the pinned mailcow-dockerized release runs, as data: images per release, the names and fixed addresses its
 * code uses, the ports each service listens on, and ofelia's jobs. Everything here is read from upstream's
 * docker-compose.yml and entrypoints of the release; tests compare it with ../shared/reference when present.
 */

/** Services this project runs from the compose file (key = our container name). */
export const ESSENTIAL_SERVICES = [
  "unbound",
  "mysql",
  "redis",
  "php-fpm",
  "nginx",
  "dovecot",
  "postfix",
  "postfix-tlspol",
  "rspamd",
] as const;
export const OPTIONAL_SERVICES = ["sogo", "memcached", "clamd", "olefy"] as const;
export type EssentialService = (typeof ESSENTIAL_SERVICES)[number];
export type OptionalService = (typeof OPTIONAL_SERVICES)[number];
export type MailcowService = EssentialService | OptionalService;

/** Compose service name of a container (`sogo` → `sogo-mailcow`). */
export function composeName(service: MailcowService | "dockerapi"): string {
  return `${service}-mailcow`;
}

/**
 * Images by release, exactly as the release's docker-compose.yml names them. A new release gets a new row (see
 * docs/upgrading-mailcow.md); the test compares the default release's row with the reference compose file.
 */
export const RELEASE_IMAGES: Readonly<Record<string, Readonly<Record<MailcowService, string>>>> = {
  "2026-07a": {
    unbound: "ghcr.io/mailcow/unbound:1.25.1-1",
    mysql: "mariadb:10.11",
    redis: "redis:7.4.6-alpine",
    "php-fpm": "ghcr.io/mailcow/phpfpm:8.2.29-3",
    nginx: "ghcr.io/mailcow/nginx:1.30.4-1",
    dovecot: "ghcr.io/mailcow/dovecot:2.3.21.1-2",
    postfix: "ghcr.io/mailcow/postfix:3.10.12-1",
    "postfix-tlspol": "ghcr.io/mailcow/postfix-tlspol:1.8.23",
    rspamd: "ghcr.io/mailcow/rspamd:4.1.4-1",
    sogo: "ghcr.io/mailcow/sogo:5.12.9-1",
    memcached: "memcached:alpine",
    clamd: "ghcr.io/mailcow/clamd:1.71",
    olefy: "ghcr.io/mailcow/olefy:1.15",
  },
};

/**
 * Each release pinned by its commit, and the git tree id of that commit's `data/` (what the init step verifies in
 * the downloaded archive before unpacking it; fetch-release.js). Read with `git rev-parse <commit>:data` on a clone
 * of mailcow-dockerized (docs/upgrading-mailcow.md).
 */
export interface ReleasePin {
  commit: string;
  dataTree: string;
}

export const RELEASE_PINS: Readonly<Record<string, ReleasePin>> = {
  "2026-07a": {
    commit: "489db905122d20487e29c9a8438b311c403442ab",
    // 3,641 files: 3,578 mode 100644, 63 mode 100755, no symlinks.
    dataTree: "82934c5510db1549587bbb7c139f7d1ad4804938",
  },
};

export function releasePin(release: string): ReleasePin {
  const pin = RELEASE_PINS[release];
  if (!pin) {
    throw new Error(
      `mail-zone:mailcow.release: no pinned commit for release ${JSON.stringify(release)} (known: ${Object.keys(RELEASE_PINS).join(", ")}); ` +
        "add its commit and data/ tree id to RELEASE_PINS in components/mailcow/catalogue.ts (docs/upgrading-mailcow.md)",
    );
  }
  return pin;
}

/** The image table of `release`; an unknown release fails with what to do. */
export function imagesFor(release: string): Readonly<Record<MailcowService, string>> {
  const images = RELEASE_IMAGES[release];
  if (!images) {
    throw new Error(
      `mail-zone:mailcow.release: no image table for release ${JSON.stringify(release)} (known: ${Object.keys(RELEASE_IMAGES).join(", ")}); ` +
        "add the release's images to RELEASE_IMAGES in components/mailcow/catalogue.ts (docs/upgrading-mailcow.md)",
    );
  }
  return images;
}

/**
 * IPV4_NETWORK inside 127.0.0.0/8: the addresses the code hard-wires (.248 SOGo, .249 redis, .250 dovecot,
 * .253 postfix, .254 unbound) are then loopback addresses of the shared pod network namespace, where every
 * service listens on all addresses. 127.0.0 (not another /24 of 127/8) so `${IPV4_NETWORK}.0/24` (rspamd's
 * mailcow_networks.map) contains 127.0.0.1, the source address of every in-pod connection.
 */
export const LOOPBACK_IPV4_NETWORK = "127.0.0";
/** Dual-stack placeholder Mailcow expects; nothing in the pod routes it (ENABLE_IPV6 is off by default). */
export const IPV6_NETWORK = "fd4d:6169:6c63:6f77::/64";
/** Address every in-pod name maps to. */
export const LOOPBACK = "127.0.0.1";

/** The fixed addresses upstream pins on its bridge (compose `ipv4_address`) and where they land here. */
export const FIXED_ADDRESS_SUFFIXES = { sogo: 248, redis: 249, dovecot: 250, postfix: 253, unbound: 254 } as const;

/** Every name the code uses for another service (compose service names and network aliases). */
export const IN_POD_NAMES: readonly string[] = [
  "unbound-mailcow",
  "unbound",
  "mysql-mailcow",
  "mysql",
  "redis-mailcow",
  "redis",
  "clamd-mailcow",
  "clamd",
  "rspamd-mailcow",
  "rspamd",
  "php-fpm-mailcow",
  "phpfpm",
  "sogo-mailcow",
  "sogo",
  "dovecot-mailcow",
  "dovecot",
  "postfix-mailcow",
  "postfix",
  "postfix-tlspol-mailcow",
  "postfix-tlspol",
  "memcached-mailcow",
  "memcached",
  "nginx-mailcow",
  "nginx",
  "dockerapi-mailcow",
  "dockerapi",
  "olefy-mailcow",
  "olefy",
];

/**
 * The name php-fpm's entrypoint calls dockerapi by (`https://dockerapi.${COMPOSE_PROJECT_NAME}_mailcow-network`).
 * It has an underscore, which Kubernetes refuses in hostAliases, so the in-pod unbound answers it.
 */
export function dockerapiNetworkName(project: string): string {
  return `dockerapi.${project}_mailcow-network`;
}

/** nginx ports: plain HTTP behind Traefik (MAILCOW_WEB_PORT), HTTPS moved off 443 (the stand-in's port). */
export const NGINX_HTTPS_PORT = 8443;
export const STANDIN_PORT = 443;

/** What each container listens on inside the shared network namespace (from the release's configs). */
export const LISTENING_PORTS: Readonly<Record<MailcowService | "dockerapi", readonly number[]>> = {
  unbound: [53, 8953],
  mysql: [3306],
  redis: [6379],
  "php-fpm": [9000, 9001, 9002],
  // HTTP_PORT (8080 = MAILCOW_WEB_PORT), HTTPS_PORT, and the reserved internal listeners.
  nginx: [8080, NGINX_HTTPS_PORT, 8081, 9081, 9082, 65510],
  dovecot: [24, 110, 143, 993, 995, 4190, 10001, 10110, 10143, 10993, 10995, 12345, 14190],
  postfix: [25, 465, 587, 588, 589, 590, 591, 10025, 10027, 10465, 10587],
  "postfix-tlspol": [8642],
  rspamd: [9900, 11333, 11334, 11445],
  sogo: [20000],
  memcached: [11211],
  clamd: [3310],
  olefy: [10055],
  dockerapi: [STANDIN_PORT],
};

/** ofelia's jobs (compose labels), run by the stand-in through pods/exec on the same schedule. */
export interface OfeliaJob {
  name: string;
  service: MailcowService;
  everyMinutes: number;
  command: string;
}

export const OFELIA_JOBS: readonly OfeliaJob[] = [
  {
    name: "phpfpm_keycloak_sync",
    service: "php-fpm",
    everyMinutes: 60,
    command: 'bash -c "php /crons/keycloak-sync.php || exit 0"',
  },
  {
    name: "phpfpm_ldap_sync",
    service: "php-fpm",
    everyMinutes: 60,
    command: 'bash -c "php /crons/ldap-sync.php || exit 0"',
  },
  {
    name: "sogo_sessions",
    service: "sogo",
    everyMinutes: 1,
    command:
      'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu sogo /usr/sbin/sogo-tool -v expire-sessions $SOGO_EXPIRE_SESSION || exit 0"',
  },
  {
    name: "sogo_ealarms",
    service: "sogo",
    everyMinutes: 1,
    command:
      'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu sogo /usr/sbin/sogo-ealarms-notify -p /etc/sogo/cron.creds || exit 0"',
  },
  {
    name: "sogo_eautoreply",
    service: "sogo",
    everyMinutes: 5,
    command:
      'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu sogo /usr/sbin/sogo-tool update-autoreply -p /etc/sogo/sieve.creds || exit 0"',
  },
  {
    name: "sogo_backup",
    service: "sogo",
    everyMinutes: 1440,
    command:
      'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu sogo /usr/sbin/sogo-tool backup /sogo_backup ALL || exit 0"',
  },
  {
    name: "dovecot_imapsync_runner",
    service: "dovecot",
    everyMinutes: 1,
    command: 'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu nobody /usr/local/bin/imapsync_runner.pl || exit 0"',
  },
  {
    name: "dovecot_trim_logs",
    service: "dovecot",
    everyMinutes: 1,
    command: 'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu vmail /usr/local/bin/trim_logs.sh || exit 0"',
  },
  {
    name: "dovecot_quarantine",
    service: "dovecot",
    everyMinutes: 20,
    command: 'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu vmail /usr/local/bin/quarantine_notify.py || exit 0"',
  },
  {
    name: "dovecot_clean_q_aged",
    service: "dovecot",
    everyMinutes: 1440,
    command: 'bash -c "[[ $MASTER == y ]] && /usr/local/bin/gosu vmail /usr/local/bin/clean_q_aged.sh || exit 0"',
  },
  {
    name: "dovecot_maildir_gc",
    service: "dovecot",
    everyMinutes: 30,
    command: 'bash -c "source /source_env.sh ; /usr/local/bin/gosu vmail /usr/local/bin/maildir_gc.sh"',
  },
  {
    name: "dovecot_sarules",
    service: "dovecot",
    everyMinutes: 1440,
    command: 'bash -c "/usr/local/bin/sa-rules.sh"',
  },
  {
    name: "dovecot_fts",
    service: "dovecot",
    everyMinutes: 1440,
    command: 'bash -c "/usr/local/bin/gosu vmail /usr/local/bin/optimize-fts.sh"',
  },
  {
    name: "dovecot_repl_health",
    service: "dovecot",
    everyMinutes: 5,
    command: 'bash -c "/usr/local/bin/gosu vmail /usr/local/bin/repl_health.sh"',
  },
];

/**
 * Compose env variables deliberately not set, with the reason. Services replaced as a whole (acme, netfilter,
 * watchdog, ofelia, dockerapi) are listed with `*`; every other variable of a service we run is set.
 */
export interface EnvOmission {
  /** Compose service name. */
  service: string;
  /** Variable names, or `*` for every variable of a service that is replaced. */
  variables: readonly string[] | "*";
  reason: string;
}

export const DELIBERATE_ENV_OMISSIONS: readonly EnvOmission[] = [
  {
    service: "acme-mailcow",
    variables: "*",
    reason:
      "Replaced by cert-manager: the mailcow-tls Certificate is copied to /etc/ssl/mail and services reload on renewal (SKIP_LETS_ENCRYPT=y in effect).",
  },
  {
    service: "netfilter-mailcow",
    variables: "*",
    reason:
      "Dropped: it needs privileged + host network to write host iptables. Bans belong at the edge (Traefik/CrowdSec); NetworkPolicies isolate the pod.",
  },
  {
    service: "watchdog-mailcow",
    variables: "*",
    reason: "Replaced by liveness/readiness/startup probes on every container (its checks, translated).",
  },
  {
    service: "ofelia-mailcow",
    variables: "*",
    reason: "Replaced by the dockerapi stand-in's scheduler, which runs the same jobs through pods/exec.",
  },
  {
    service: "dockerapi-mailcow",
    variables: ["DBROOT"],
    reason:
      "The stand-in never holds the root password: exec'd MySQL tasks read MYSQL_ROOT_PASSWORD from the mysql container's own env.",
  },
  {
    service: "dockerapi-mailcow",
    variables: ["REDIS_SLAVEOF_IP", "REDIS_SLAVEOF_PORT", "REDISPASS"],
    reason:
      "dockerapi only uses Redis for the MC_CHANNEL broadcast of clustered (replica) setups, which a single pod does not have.",
  },
];
