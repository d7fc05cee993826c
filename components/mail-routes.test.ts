import { describe, expect, it } from "vitest";
import { type PlannedResource, planProgram } from "../stacks/preview/engine";
import { MATCH_ANY_SNI, mailRoute, PROXY_TRANSPORT_NAME } from "./mail-route-specs";
import { MailRoutes } from "./mail-routes";
import { type MailEntrypoint, PROXY_LISTENERS } from "./mailcow-endpoints";
import { MAIL_PUBLIC_PORTS } from "./traefik-values";

const ALL: MailEntrypoint[] = ["smtp", "submissions", "submission", "imap", "imaps", "pop3", "pop3s", "sieve"];

interface RouteInputs {
  metadata: { name: string; namespace: string };
  spec: {
    entryPoints: string[];
    routes: {
      match: string;
      services: { name: string; port: number; serversTransport?: string; proxyProtocol?: unknown }[];
    }[];
    tls?: { passthrough: boolean };
  };
}

async function plan(mode: "serversTransport" | "service"): Promise<PlannedResource[]> {
  const result = await planProgram(
    () => {
      new MailRoutes("mail", { namespace: "mail-zone", entrypoints: ALL, proxyProtocolMode: mode });
    },
    { project: "mail-zone", stack: "test" },
  );
  return result.resources;
}

const routesOf = (resources: PlannedResource[]) =>
  resources
    .filter((r) => r.type === "kubernetes:traefik.io/v1alpha1:IngressRouteTCP")
    .map((r) => r.inputs as unknown as RouteInputs);

describe("MailRoutes with a ServersTransportTCP (Traefik ≥ 3.5.2)", () => {
  it("routes every entrypoint, any SNI, to its PROXY listener through one ServersTransportTCP", async () => {
    const resources = await plan("serversTransport");
    const transports = resources.filter((r) => r.type === "kubernetes:traefik.io/v1alpha1:ServersTransportTCP");
    expect(transports.map((t) => t.inputs)).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: PROXY_TRANSPORT_NAME, namespace: "mail-zone" }),
        spec: { proxyProtocol: { version: 2 } },
      }),
    ]);
    const routes = routesOf(resources);
    expect(routes.map((r) => r.spec.entryPoints).sort()).toEqual(ALL.map((e) => [e]).sort());
    for (const route of routes) {
      const entrypoint = route.spec.entryPoints[0] as MailEntrypoint;
      expect(route.metadata).toMatchObject({ name: `mail-${entrypoint}`, namespace: "mail-zone" });
      expect(route.spec.routes).toEqual([
        {
          match: MATCH_ANY_SNI,
          services: [
            {
              name: PROXY_LISTENERS[entrypoint].service,
              port: PROXY_LISTENERS[entrypoint].port,
              serversTransport: PROXY_TRANSPORT_NAME,
            },
          ],
        },
      ]);
    }
  });

  it("passes TLS through only on 465, 993 and 995", async () => {
    const routes = routesOf(await plan("serversTransport"));
    const passthrough = routes
      .filter((r) => r.spec.tls?.passthrough === true)
      .map((r) => MAIL_PUBLIC_PORTS[r.spec.entryPoints[0] as MailEntrypoint])
      .sort((a, b) => a - b);
    expect(passthrough).toEqual([465, 993, 995]);
    expect(routes.filter((r) => r.spec.tls !== undefined)).toHaveLength(3);
  });
});

describe("MailRoutes for Traefik before 3.5.2", () => {
  it("sets proxyProtocol v2 on each route's service and creates no ServersTransportTCP", async () => {
    const resources = await plan("service");
    expect(resources.some((r) => r.type === "kubernetes:traefik.io/v1alpha1:ServersTransportTCP")).toBe(false);
    const routes = routesOf(resources);
    expect(routes).toHaveLength(ALL.length);
    for (const route of routes) {
      const [service] = route.spec.routes[0].services;
      expect(service.proxyProtocol).toEqual({ version: 2 });
      expect(service.serversTransport).toBeUndefined();
    }
  });
});

describe("mailRoute", () => {
  it("sends nothing to the plain mail ports, only to the PROXY listeners (10025, 10465, ..., 14190)", () => {
    const ports = ALL.map((e) => mailRoute(e, "serversTransport").spec.routes[0].services[0].port);
    expect(ports).toEqual([10025, 10465, 10587, 10143, 10993, 10110, 10995, 14190]);
  });
});
