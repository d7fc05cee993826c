/**
 * Pure builders for a site's own web certificate: the names it covers, the cert-manager Certificate spec and the
 * Traefik IngressRoute that carries it. Traefik picks a certificate by SNI among all it has loaded, so once the
 * route's Secret exists, `mta-sts.<domain>` and friends are served with the site's certificate instead of the mail
 * host's. The paths are exactly those the zone's `HostRegexp` route opens on these hosts (web-route-specs.ts).
 */
import { MAILCOW_SERVICES, MAILCOW_WEB_PORT } from "./mailcow-endpoints";
import {
  anyPathPrefix,
  CLIENT_CONFIG_HOST_PREFIXES,
  CLIENT_CONFIG_PATH_PREFIXES,
  type IngressRouteSpec,
  OPEN_ROUTE_PRIORITY,
} from "./web-route-specs";

/**
 * What a site's web certificate needs: the site stack's `webTls` settings (stacks/site-config.ts parses them)
 * are this shape; declared here so the component does not reach up into stacks/.
 */
export interface WebTlsSettings {
  /** The zone namespace, where the Certificate and IngressRoute go. */
  namespace: string;
  issuer: { kind: "ClusterIssuer" | "Issuer"; name: string };
  entrypoint: string;
}

/** Above the zone's client-configuration route, so a site's own hosts always take the site's route. */
export const SITE_WEB_ROUTE_PRIORITY = OPEN_ROUTE_PRIORITY + 50;

/** `site-<slug>-mail-web`: the Certificate's and the IngressRoute's name. */
export function siteWebTlsName(slug: string): string {
  return `site-${slug}-mail-web`;
}

/** `site-<slug>-mail-web-tls`: the Secret cert-manager writes and the route presents. */
export function siteWebTlsSecretName(slug: string): string {
  return `${siteWebTlsName(slug)}-tls`;
}

/** `autoconfig.<domain>`, `autodiscover.<domain>`, `mta-sts.<domain>`. */
export function siteWebHosts(domain: string): string[] {
  return CLIENT_CONFIG_HOST_PREFIXES.map((prefix) => `${prefix}.${domain}`);
}

export interface SiteCertificateSpec {
  secretName: string;
  dnsNames: string[];
  issuerRef: { name: string; kind: "ClusterIssuer" | "Issuer"; group: "cert-manager.io" };
  privateKey: { algorithm: "RSA"; size: number; rotationPolicy: "Always" };
}

export function siteCertificateSpec(slug: string, domain: string, webTls: WebTlsSettings): SiteCertificateSpec {
  return {
    secretName: siteWebTlsSecretName(slug),
    dnsNames: siteWebHosts(domain),
    issuerRef: { name: webTls.issuer.name, kind: webTls.issuer.kind, group: "cert-manager.io" },
    // As for the mail host: RSA for the widest client support, a fresh key on every renewal.
    privateKey: { algorithm: "RSA", size: 2048, rotationPolicy: "Always" },
  };
}

export function siteWebRouteSpec(slug: string, domain: string, webTls: WebTlsSettings): IngressRouteSpec {
  const hosts = siteWebHosts(domain)
    .map((host) => `Host(\`${host}\`)`)
    .join(" || ");
  return {
    entryPoints: [webTls.entrypoint],
    routes: [
      {
        kind: "Rule",
        match: `(${hosts}) && ${anyPathPrefix(CLIENT_CONFIG_PATH_PREFIXES)}`,
        priority: SITE_WEB_ROUTE_PRIORITY,
        services: [{ name: MAILCOW_SERVICES.nginx, port: MAILCOW_WEB_PORT }],
      },
    ],
    tls: { secretName: siteWebTlsSecretName(slug) },
  };
}
