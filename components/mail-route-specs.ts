/**
 * Pure builders for the TCP side of Traefik: one IngressRouteTCP spec per mail entrypoint, each sending PROXY v2 to
 * Mailcow's PROXY listener for that port, so Postfix and Dovecot see the client's address instead of Traefik's.
 */
import { type MailEntrypoint, PROXY_LISTENERS } from "./mailcow-endpoints";
import type { ProxyProtocolMode } from "./traefik-settings";
import { IMPLICIT_TLS_ENTRYPOINTS } from "./traefik-values";

/** The ServersTransportTCP that carries PROXY v2 (Traefik ≥ 3.5.2). */
export const PROXY_TRANSPORT_NAME = "mailcow-proxy-v2";

export type { ProxyProtocolMode };

export interface TcpRouteService {
  name: string;
  port: number;
  serversTransport?: string;
  proxyProtocol?: { version: 2 };
}

export interface IngressRouteTcpSpec {
  entryPoints: string[];
  routes: { match: string; services: TcpRouteService[] }[];
  tls?: { passthrough: true };
}

export interface MailRoute {
  /** `metadata.name` of the IngressRouteTCP. */
  name: string;
  entrypoint: MailEntrypoint;
  spec: IngressRouteTcpSpec;
}

/** Mail clients send no SNI on plain/STARTTLS ports, so every route matches any SNI. */
export const MATCH_ANY_SNI = "HostSNI(`*`)";

export function mailRoute(entrypoint: MailEntrypoint, mode: ProxyProtocolMode): MailRoute {
  const listener = PROXY_LISTENERS[entrypoint];
  const service: TcpRouteService = { name: listener.service, port: listener.port };
  if (mode === "serversTransport") service.serversTransport = PROXY_TRANSPORT_NAME;
  else service.proxyProtocol = { version: 2 };
  const spec: IngressRouteTcpSpec = {
    entryPoints: [entrypoint],
    routes: [{ match: MATCH_ANY_SNI, services: [service] }],
  };
  if (IMPLICIT_TLS_ENTRYPOINTS.has(entrypoint)) spec.tls = { passthrough: true };
  return { name: `mail-${entrypoint}`, entrypoint, spec };
}

export function mailRoutes(entrypoints: readonly MailEntrypoint[], mode: ProxyProtocolMode): MailRoute[] {
  return entrypoints.map((entrypoint) => mailRoute(entrypoint, mode));
}
