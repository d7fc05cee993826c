/**
 * Pure builders for Mailcow's web side behind Traefik: which paths are open to everyone (webmail, ActiveSync,
 * client autoconfiguration, MTA-STS) and which sit behind the admin allow-list (the Mailcow UI and its API).
 */
import type { ClusterSettings, WebSettings } from "../stacks/zone-config";
import { MAILCOW_SERVICES, MAILCOW_TLS_SECRET, MAILCOW_WEB_PORT } from "./mailcow-endpoints";

export const ADMIN_ALLOWLIST_MIDDLEWARE = "mailcow-admin-allowlist";

/** Hosts mail clients probe for settings; each site points its own `<prefix>.<domain>` at the mail host. */
export const CLIENT_CONFIG_HOST_PREFIXES = ["autoconfig", "autodiscover", "mta-sts"] as const;

/** Client configuration paths: Thunderbird autoconfig, Outlook autodiscover, MTA-STS policy, CalDAV/CardDAV discovery. */
export const CLIENT_CONFIG_PATH_PREFIXES = ["/mail/config-v1.1.xml", "/autodiscover", "/Autodiscover", "/.well-known"];

/** Paths on the mail host anyone may reach: webmail (SOGo), ActiveSync and client configuration. */
export const OPEN_PATH_PREFIXES = ["/SOGo", "/Microsoft-Server-ActiveSync", ...CLIENT_CONFIG_PATH_PREFIXES];

/** Open routes win over the restricted catch-all whatever their rule lengths. */
export const OPEN_ROUTE_PRIORITY = 200;
export const RESTRICTED_ROUTE_PRIORITY = 100;

export interface WebRouteService {
  name: string;
  port: number;
}

export interface WebRoute {
  kind: "Rule";
  match: string;
  priority: number;
  middlewares?: { name: string }[];
  services: WebRouteService[];
}

export interface IngressRouteSpec {
  entryPoints: string[];
  routes: WebRoute[];
  tls: { secretName: string };
}

/** The certificate's names: the mail host and its own client-configuration hosts. */
export function certificateDnsNames(hostname: string): string[] {
  return [hostname, ...CLIENT_CONFIG_HOST_PREFIXES.map((prefix) => `${prefix}.${hostname}`)];
}

/** Who may reach the UI and API: the cluster itself (pods and services) plus the configured CIDRs. */
export function adminSourceRange(web: Pick<WebSettings, "adminAllowList">, cluster: ClusterSettings): string[] {
  return [...new Set([cluster.podCidr, cluster.serviceCidr, ...web.adminAllowList])];
}

/** `(PathPrefix(`a`) || PathPrefix(`b`))`. */
export function anyPathPrefix(prefixes: readonly string[]): string {
  return `(${prefixes.map((p) => `PathPrefix(\`${p}\`)`).join(" || ")})`;
}

/** `HostRegexp` (Traefik v3 syntax: a Go regular expression) for every client-configuration host. */
export function clientConfigHostsMatch(): string {
  return `(${CLIENT_CONFIG_HOST_PREFIXES.map((p) => `HostRegexp(\`^${p}\\..+$\`)`).join(" || ")})`;
}

export function webRouteSpec(hostname: string, entrypoint: string): IngressRouteSpec {
  const nginx: WebRouteService = { name: MAILCOW_SERVICES.nginx, port: MAILCOW_WEB_PORT };
  const host = `Host(\`${hostname}\`)`;
  return {
    entryPoints: [entrypoint],
    routes: [
      {
        kind: "Rule",
        match: `${host} && ${anyPathPrefix(OPEN_PATH_PREFIXES)}`,
        priority: OPEN_ROUTE_PRIORITY,
        services: [nginx],
      },
      {
        kind: "Rule",
        match: `${clientConfigHostsMatch()} && ${anyPathPrefix(CLIENT_CONFIG_PATH_PREFIXES)}`,
        priority: OPEN_ROUTE_PRIORITY,
        services: [nginx],
      },
      {
        // Everything else on the mail host: the Mailcow UI (admin, domain admin, user pages) and `/api`.
        kind: "Rule",
        match: host,
        priority: RESTRICTED_ROUTE_PRIORITY,
        middlewares: [{ name: ADMIN_ALLOWLIST_MIDDLEWARE }],
        services: [nginx],
      },
    ],
    tls: { secretName: MAILCOW_TLS_SECRET },
  };
}
