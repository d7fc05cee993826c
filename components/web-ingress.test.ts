import { beforeAll, describe, expect, it } from "vitest";
import { type Plan, planProgram } from "../stacks/preview/engine";
import { parseZoneConfig } from "../stacks/zone-config";
import { MAILCOW_SERVICES, MAILCOW_TLS_SECRET, MAILCOW_WEB_PORT } from "./mailcow-endpoints";
import { WebIngress } from "./web-ingress";
import { ADMIN_ALLOWLIST_MIDDLEWARE, adminSourceRange, type IngressRouteSpec, type WebRoute } from "./web-route-specs";

/** A Go regular expression as JavaScript runs it: the zone's use only a leading `(?i)` that JavaScript lacks. */
function goRegExp(source: string): RegExp {
  return source.startsWith("(?i)") ? new RegExp(source.slice(4), "i") : new RegExp(source);
}

/**
 * Evaluates the subset of Traefik's rule language the zone uses (Host, HostRegexp, PathPrefix, PathRegexp, !, &&, ||,
 * parentheses), so the tests can ask which route a request would take.
 */
function matches(rule: string, host: string, path: string): boolean {
  const tokens = rule.match(/!|\w+\(`[^`]*`\)|&&|\|\||\(|\)/g) ?? [];
  let i = 0;
  const primary = (): boolean => {
    const token = tokens[i++];
    if (token === "!") return !primary();
    if (token === "(") {
      const value = or();
      i++; // ")"
      return value;
    }
    const [, fn, arg] = /^(\w+)\(`([^`]*)`\)$/.exec(token) ?? [];
    if (fn === "Host") return host === arg;
    if (fn === "HostRegexp") return new RegExp(arg).test(host);
    if (fn === "PathPrefix") return path.startsWith(arg);
    if (fn === "PathRegexp") return goRegExp(arg).test(path);
    throw new Error(`unsupported rule token ${token}`);
  };
  const and = (): boolean => {
    let value = primary();
    while (tokens[i] === "&&") {
      i++;
      value = primary() && value;
    }
    return value;
  };
  const or = (): boolean => {
    let value = and();
    while (tokens[i] === "||") {
      i++;
      value = and() || value;
    }
    return value;
  };
  return or();
}

/** The route Traefik would pick: the matching one with the highest priority. */
function routeFor(routes: WebRoute[], host: string, path: string): WebRoute | undefined {
  return routes.filter((r) => matches(r.match, host, path)).sort((a, b) => b.priority - a.priority)[0];
}

const config = parseZoneConfig({
  "mail-zone:hostname": "mail.example.com",
  "mail-zone:publicIPv4": "203.0.113.10",
  "mail-zone:web": JSON.stringify({ clusterIssuer: "letsencrypt-staging", adminAllowList: ["198.51.100.0/24"] }),
});

let plan: Plan<void>;
const byKind = (kind: string) =>
  plan.resources
    .filter((r) => r.type === `kubernetes:${kind}`)
    .map((r) => r.inputs as { metadata: { name: string; namespace: string }; spec: Record<string, unknown> });
const webRoute = () => byKind("traefik.io/v1alpha1:IngressRoute")[0].spec as unknown as IngressRouteSpec;

beforeAll(async () => {
  plan = await planProgram(
    () => {
      new WebIngress("web", {
        namespace: "mail-zone",
        hostname: config.hostname,
        web: config.web,
        cluster: config.cluster,
      });
    },
    { project: "mail-zone", stack: "test" },
  );
});

describe("WebIngress", () => {
  it("requests a certificate for the mail host and its client-configuration names from the configured issuer", () => {
    const [certificate] = byKind("cert-manager.io/v1:Certificate");
    expect(certificate.metadata).toMatchObject({ name: MAILCOW_TLS_SECRET, namespace: "mail-zone" });
    expect(certificate.spec).toMatchObject({
      secretName: MAILCOW_TLS_SECRET,
      dnsNames: [
        "mail.example.com",
        "autoconfig.mail.example.com",
        "autodiscover.mail.example.com",
        "mta-sts.mail.example.com",
      ],
      issuerRef: { name: "letsencrypt-staging", kind: "ClusterIssuer", group: "cert-manager.io" },
    });
  });

  it("allows exactly the configured CIDRs through the admin middleware, not the cluster's networks", () => {
    const [middleware] = byKind("traefik.io/v1alpha1:Middleware");
    expect(middleware.metadata).toMatchObject({ name: ADMIN_ALLOWLIST_MIDDLEWARE, namespace: "mail-zone" });
    expect(middleware.spec).toEqual({ ipAllowList: { sourceRange: ["198.51.100.0/24"] } });
  });

  it("serves the mail host on websecure with the certificate, every route to Mailcow's nginx web port", () => {
    const [route] = byKind("traefik.io/v1alpha1:IngressRoute");
    expect(route.metadata).toMatchObject({ name: "mailcow-web", namespace: "mail-zone" });
    expect(webRoute().entryPoints).toEqual(["websecure"]);
    expect(webRoute().tls).toEqual({ secretName: MAILCOW_TLS_SECRET });
    for (const r of webRoute().routes) {
      expect(r.services).toEqual([{ name: MAILCOW_SERVICES.nginx, port: MAILCOW_WEB_PORT }]);
    }
  });

  it.each([
    ["/"],
    ["/admin"],
    ["/admin/dashboard"],
    ["/domainadmin"],
    ["/user"],
    ["/api/v1/get/domain/all"],
    ["/api/v1/add/mailbox"],
    ["/rspamd/"],
  ])("sends %s on the mail host through the admin allow-list", (path) => {
    const chosen = routeFor(webRoute().routes, "mail.example.com", path);
    expect(chosen?.middlewares).toEqual([{ name: ADMIN_ALLOWLIST_MIDDLEWARE }]);
  });

  it.each([
    ["mail.example.com", "/SOGo/"],
    ["mail.example.com", "/Microsoft-Server-ActiveSync"],
    ["mail.example.com", "/.well-known/caldav"],
    ["mail.example.com", "/autodiscover/autodiscover.xml"],
    ["autoconfig.example.org", "/mail/config-v1.1.xml"],
    ["autodiscover.example.org", "/Autodiscover/Autodiscover.xml"],
    ["mta-sts.example.org", "/.well-known/mta-sts.txt"],
  ])("leaves %s%s open", (host, path) => {
    const chosen = routeFor(webRoute().routes, host, path);
    expect(chosen).toBeDefined();
    expect(chosen?.middlewares).toBeUndefined();
  });

  // nginx decodes (`%2F` too) and resolves dot-segments after Traefik has matched. Traefik matches the decoded path
  // (before 3.4.1) or a routing path that keeps `%2F` encoded (3.4.1 on): neither form may take an open route.
  it.each([
    ["mail.example.com", "/SOGo/../admin"],
    ["mail.example.com", "/SOGo/%2e%2e/api/v1/get/domain/all"],
    ["mail.example.com", "/SOGo/%2E./api/v1/get/domain/all"],
    ["mail.example.com", "/Microsoft-Server-ActiveSync/.%2e/admin"],
    ["mail.example.com", "/.well-known/..%2fadmin"],
    ["mail.example.com", "/autodiscover/%2e%2e%2fapi/v1/get/mailbox/all"],
    ["mail.example.com", "/SOGo/.."],
    ["mail.example.com", "/SOGo%2F..%2Fadmin"],
    ["mail.example.com", "/Microsoft-Server-ActiveSync%2f%2e%2e%2fapi/v1/get/domain/all"],
    ["mta-sts.example.org", "/.well-known/../admin"],
    ["autoconfig.example.org", "/mail/config-v1.1.xml/%2e%2e/%2e%2e/api/v1/get/domain/all"],
  ])("sends %s%s, a path climbing out of an open prefix, through the allow-list or nowhere", (host, raw) => {
    for (const path of [raw, decodeURIComponent(raw)]) {
      const chosen = routeFor(webRoute().routes, host, path);
      expect(chosen === undefined || chosen.middlewares !== undefined, path).toBe(true);
    }
  });

  it.each([
    ["/SOGo/so/user@example.com/Mail/0/folderINBOX/12/1.2/report..final.pdf"],
    ["/SOGo/so/user@example.com/Calendar/personal/.ics"],
    ["/.well-known/mta-sts.txt"],
  ])("keeps %s open: dots inside a segment are no climb", (path) => {
    expect(routeFor(webRoute().routes, "mail.example.com", path)?.middlewares).toBeUndefined();
    expect(routeFor(webRoute().routes, "mail.example.com", path)).toBeDefined();
  });

  it("does not serve the UI or the API on the client-configuration hosts", () => {
    const routes = webRoute().routes;
    expect(routeFor(routes, "autoconfig.example.org", "/admin")).toBeUndefined();
    expect(routeFor(routes, "mta-sts.example.org", "/api/v1/get/domain/all")).toBeUndefined();
    expect(routeFor(routes, "autoconfig.example.org", "/SOGo/")).toBeUndefined();
  });
});

describe("WebIngress with the default, empty allow-list", () => {
  let closed: Plan<void>;
  beforeAll(async () => {
    const defaults = parseZoneConfig({
      "mail-zone:hostname": "mail.example.com",
      "mail-zone:publicIPv4": "203.0.113.10",
    });
    closed = await planProgram(
      () => {
        new WebIngress("web", {
          namespace: "mail-zone",
          hostname: "mail.example.com",
          web: defaults.web,
          cluster: defaults.cluster,
        });
      },
      { project: "mail-zone", stack: "test" },
    );
  });
  const routes = (): WebRoute[] => {
    const route = closed.resources.find((r) => r.type === "kubernetes:traefik.io/v1alpha1:IngressRoute");
    return (route?.inputs as { spec: IngressRouteSpec } | undefined)?.spec.routes ?? [];
  };

  it("declares no Middleware, since Traefik refuses an allow-list without ranges", () => {
    expect(closed.resources.map((r) => r.type)).not.toContain("kubernetes:traefik.io/v1alpha1:Middleware");
  });

  it.each([["/"], ["/admin"], ["/api/v1/get/domain/all"], ["/rspamd/"]])(
    "has no route for %s on the mail host, so Traefik answers 404 to everyone, tenant pods included",
    (path) => {
      expect(routeFor(routes(), "mail.example.com", path)).toBeUndefined();
    },
  );

  it("has no route at all for a path climbing out of webmail", () => {
    expect(routeFor(routes(), "mail.example.com", "/SOGo/../admin")).toBeUndefined();
    expect(routeFor(routes(), "mail.example.com", "/SOGo/%2e%2e/api/v1/get/domain/all")).toBeUndefined();
  });

  it("still serves webmail and client configuration to everyone", () => {
    expect(routes().length).toBeGreaterThan(0);
    expect(routeFor(routes(), "mail.example.com", "/SOGo/")).toBeDefined();
    expect(routeFor(routes(), "autoconfig.example.org", "/mail/config-v1.1.xml")).toBeDefined();
  });
});

describe("adminSourceRange", () => {
  const cluster = { podCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16" };

  it("is empty when the allow-list is empty: the cluster's own networks are never added", () => {
    expect(adminSourceRange({ adminAllowList: [] }, cluster)).toEqual([]);
  });

  it("refuses a range reaching into the pod network, where tenants live", () => {
    expect(() => adminSourceRange({ adminAllowList: ["10.0.0.0/8"] }, cluster)).toThrow(/tenants' pods live there/);
  });
});
