/**
 * The names and ports through which the rest of the zone reaches Mailcow. The Mailcow workloads create these
 * Services (in-cluster mode, or pointing at an external host in external mode); Traefik routes, NetworkPolicies and
 * the controller Secret refer to them. One place, so they cannot drift.
 */

/** The Kubernetes Secret in the zone namespace holding Mailcow's generated secrets, and its keys (mailcow.conf names). */
export const MAILCOW_SECRET = {
  name: "mailcow-secrets",
  keys: {
    dbRootPassword: "DBROOT",
    dbPassword: "DBPASS",
    redisPassword: "REDISPASS",
    apiKey: "API_KEY",
    apiKeyReadOnly: "API_KEY_READ_ONLY",
    sogoUrlEncryptionKey: "SOGO_URL_ENCRYPTION_KEY",
    /** Mailcow's `admin` password (replaces the seeded `moohoo`; the dockerapi stand-in sets it in the database). */
    adminPassword: "ADMIN_PASSWORD",
  },
} as const;

/** The cert-manager Certificate's Secret for the mail host (tls.crt, tls.key). */
export const MAILCOW_TLS_SECRET = "mailcow-tls";

export const MAILCOW_SERVICES = {
  postfix: "mailcow-postfix",
  dovecot: "mailcow-dovecot",
  nginx: "mailcow-nginx",
} as const;

/** Mailcow's PROXY-protocol listeners (postfix master.cf, dovecot haproxy listeners), by Traefik entrypoint. */
export const PROXY_LISTENERS = {
  smtp: { service: MAILCOW_SERVICES.postfix, port: 10025 },
  submissions: { service: MAILCOW_SERVICES.postfix, port: 10465 },
  submission: { service: MAILCOW_SERVICES.postfix, port: 10587 },
  imap: { service: MAILCOW_SERVICES.dovecot, port: 10143 },
  imaps: { service: MAILCOW_SERVICES.dovecot, port: 10993 },
  pop3: { service: MAILCOW_SERVICES.dovecot, port: 10110 },
  pop3s: { service: MAILCOW_SERVICES.dovecot, port: 10995 },
  sieve: { service: MAILCOW_SERVICES.dovecot, port: 14190 },
} as const;

export type MailEntrypoint = keyof typeof PROXY_LISTENERS;

/** nginx's plain-HTTP port behind Traefik (HTTP_REDIRECT=n); UI, /api and /SOGo. */
export const MAILCOW_WEB_PORT = 8080;

/** The in-cluster base URL of Mailcow's API (the client appends `/api/v1/...`). */
export function mailcowApiBaseUrl(namespace: string): string {
  return `http://${MAILCOW_SERVICES.nginx}.${namespace}.svc.cluster.local:${MAILCOW_WEB_PORT}`;
}
