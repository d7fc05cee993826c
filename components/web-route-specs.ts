/**
 * Pure builders for Mailcow's web side behind Traefik: which paths are open to everyone (webmail, ActiveSync,
 * client autoconfiguration, MTA-STS) and which sit behind the admin allow-list (the Mailcow UI and its API). With
 * an empty allow-list there is no route to the UI and API at all (Traefik answers 404): reachable from nowhere.
 */
import type { ClusterSettings } from "./cluster-settings";
import { MAILCOW_SERVICES, MAILCOW_TLS_SECRET, MAILCOW_WEB_PORT } from "./mailcow-endpoints";
import { adminAllowListProblems, type WebSettings } from "./web-settings";

export const ADMIN_ALLOWLIST_MIDDLEWARE = "mailcow-admin-allowlist";

/** Hosts mail clients probe for settings; each site points its own `<prefix>.<domain>` at the mail host. */
export const CLIENT_CONFIG_HOST_PREFIXES = ["autoconfig", "autodiscover", "mta-sts"] as const;

/** Client configuration paths: Thunderbird autoconfig, Outlook autodiscover, MTA-STS policy, CalDAV/CardDAV discovery. */
export const CLIENT_CONFIG_PATH_PREFIXES = ["/mail/config-v1.1.xml", "/autodiscover", "/Autodiscover", "/.well-known"];

/** Paths on the mail host anyone may reach: webmail (SOGo), ActiveSync and client configuration. */
export const OPEN_PATH_PREFIXES = ["/SOGo", "/Microsoft-Server-ActiveSync", ...CLIENT_CONFIG_PATH_PREFIXES];

/**
 * A dot-segment (`..`), plain or percent-encoded, anywhere in the path. nginx decodes the path (`%2F` included) and
 * resolves dot-segments after Traefik has matched it against the open prefixes. Traefik 3.4.1 and later clean `..` and
 * `%2e%2e` before matching, but they never decode `%2F`, so `/SOGo%2F..%2Fadmin` matched `/SOGo` and nginx served
 * `/admin`. Traefik 3.3.6–3.4.0 did the same with `/SOGo/%2e%2e/admin`. Such paths match no open route. They fall to
 * the allow-listed route, or to Traefik's 404 when the allow-list is empty. The pattern catches them in the decoded
 * path, the raw one, and Traefik's routing path between the two. It is a Go regular expression.
 */
export const DOT_SEGMENT_PATH = "(?i)(^|/|%2f)(\\.|%2e){2}(/|%2f|$)";

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

/**
 * Who may reach the UI and API through Traefik: the operator's listed ranges and nothing else. The cluster's own
 * networks are never added (tenants' pods live there) and a listed range overlapping them is refused; the
 * controller needs no entry, it calls Mailcow's in-cluster Service.
 */
export function adminSourceRange(web: Pick<WebSettings, "adminAllowList">, cluster: ClusterSettings): string[] {
  const problems = adminAllowListProblems(web, cluster);
  if (problems.length > 0) {
    throw new Error(
      `web.adminAllowList: ${problems.map((p) => `${web.adminAllowList[p.index]}: ${p.message}`).join("; ")}`,
    );
  }
  return [...new Set(web.adminAllowList)];
}

/** `(PathPrefix(`a`) || PathPrefix(`b`))`. */
export function anyPathPrefix(prefixes: readonly string[]): string {
  return `(${prefixes.map((p) => `PathPrefix(\`${p}\`)`).join(" || ")})`;
}

/** `HostRegexp` (Traefik v3 syntax: a Go regular expression) for every client-configuration host. */
export function clientConfigHostsMatch(): string {
  return `(${CLIENT_CONFIG_HOST_PREFIXES.map((p) => `HostRegexp(\`^${p}\\..+$\`)`).join(" || ")})`;
}

/** The mail host's routes; `adminReachable` false (an empty allow-list) leaves out the UI and API route. */
export function webRouteSpec(hostname: string, entrypoint: string, adminReachable: boolean): IngressRouteSpec {
  const nginx: WebRouteService = { name: MAILCOW_SERVICES.nginx, port: MAILCOW_WEB_PORT };
  const host = `Host(\`${hostname}\`)`;
  return {
    entryPoints: [entrypoint],
    routes: [...openRoutes(host, nginx), ...(adminReachable ? [restrictedRoute(host, nginx)] : [])],
    tls: { secretName: MAILCOW_TLS_SECRET },
  };
}

function openRoutes(host: string, nginx: WebRouteService): WebRoute[] {
  const noDotSegment = `!PathRegexp(\`${DOT_SEGMENT_PATH}\`)`;
  return [
    {
      kind: "Rule",
      match: `${host} && ${anyPathPrefix(OPEN_PATH_PREFIXES)} && ${noDotSegment}`,
      priority: OPEN_ROUTE_PRIORITY,
      services: [nginx],
    },
    {
      kind: "Rule",
      match: `${clientConfigHostsMatch()} && ${anyPathPrefix(CLIENT_CONFIG_PATH_PREFIXES)} && ${noDotSegment}`,
      priority: OPEN_ROUTE_PRIORITY,
      services: [nginx],
    },
  ];
}

function restrictedRoute(host: string, nginx: WebRouteService): WebRoute {
  return {
    // Everything else on the mail host: the Mailcow UI (admin, domain admin, user pages) and `/api`.
    kind: "Rule",
    match: host,
    priority: RESTRICTED_ROUTE_PRIORITY,
    middlewares: [{ name: ADMIN_ALLOWLIST_MIDDLEWARE }],
    services: [nginx],
  };
}
