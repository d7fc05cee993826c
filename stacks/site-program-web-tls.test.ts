import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CLIENT_CONFIG_PATH_PREFIXES } from "../components/web-route-specs";
import { type PlannedResource, planProgram } from "./preview/engine";
import { previewCalls } from "./preview/preview-calls";
import { validatePlan } from "./preview/validate";
import { parseSiteInput, SITE_PROJECT, SiteConfigError, type SiteInputRaw, siteStackConfig } from "./site-config";
import { siteProgram } from "./site-program";

const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";
const INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute";

const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
const DKIM_TXT = `v=DKIM1;k=rsa;p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;

const site: SiteInputRaw = {
  slug: "shop",
  domain: "Shop.Example",
  mailHost: "mail.zone.example",
  dnsProvider: "manual",
  dkim: { selector: "mc2026a", txt: DKIM_TXT },
};
const webTls = { issuer: { kind: "ClusterIssuer" as const, name: "letsencrypt-prod" } };

/** The site program as the preview runs it: parsed input → stack config strings → planProgram. */
async function plan(raw: SiteInputRaw) {
  const input = parseSiteInput(raw);
  const config = Object.fromEntries(Object.entries(siteStackConfig(input)).map(([k, v]) => [k, v.value]));
  const result = await planProgram(siteProgram, {
    project: SITE_PROJECT,
    stack: input.slug,
    config,
    call: previewCalls,
  });
  const ofType = (type: string) => result.resources.filter((r) => r.type === type);
  return { ...result, certificates: ofType(CERTIFICATE), routes: ofType(INGRESS_ROUTE) };
}

type Obj = Record<string, unknown>;
const only = (resources: PlannedResource[]): Obj => {
  expect(resources).toHaveLength(1);
  return resources[0].inputs as Obj;
};

describe("the site program with webTls", () => {
  it("creates a Certificate for the site's client-configuration hosts from the configured issuer", async () => {
    const { certificates } = await plan({ ...site, webTls });
    const cert = only(certificates);
    expect(cert.apiVersion).toBe("cert-manager.io/v1");
    expect(cert.kind).toBe("Certificate");
    expect(cert.metadata).toMatchObject({
      name: "site-shop-mail-web",
      namespace: "mail-zone",
      labels: { "app.kubernetes.io/part-of": "mail-zone", "app.kubernetes.io/instance": "shop" },
    });
    expect(cert.spec).toMatchObject({
      secretName: "site-shop-mail-web-tls",
      dnsNames: ["autoconfig.shop.example", "autodiscover.shop.example", "mta-sts.shop.example"],
      issuerRef: { name: "letsencrypt-prod", kind: "ClusterIssuer", group: "cert-manager.io" },
    });
  });

  it("routes exactly the site's hosts and the client-configuration paths to Mailcow's nginx with the site's Secret", async () => {
    const { routes } = await plan({ ...site, webTls });
    const route = only(routes) as {
      metadata: Obj;
      spec: { entryPoints: string[]; routes: Array<{ match: string; services: Obj[] }>; tls: Obj };
    };
    expect(route.metadata).toMatchObject({ name: "site-shop-mail-web", namespace: "mail-zone" });
    expect(route.spec.entryPoints).toEqual(["websecure"]);
    expect(route.spec.tls).toEqual({ secretName: "site-shop-mail-web-tls" });
    expect(route.spec.routes).toHaveLength(1);
    const [rule] = route.spec.routes;
    expect(rule.match).toBe(
      "(Host(`autoconfig.shop.example`) || Host(`autodiscover.shop.example`) || Host(`mta-sts.shop.example`)) && " +
        `(${CLIENT_CONFIG_PATH_PREFIXES.map((p) => `PathPrefix(\`${p}\`)`).join(" || ")})`,
    );
    expect(rule.match).toContain("PathPrefix(`/.well-known`)");
    expect(rule.match).not.toContain("/SOGo");
    expect(rule.services).toEqual([{ name: "mailcow-nginx", port: 8080 }]);
  });

  it("uses the configured namespace, namespaced issuer and entrypoint", async () => {
    const { certificates, routes } = await plan({
      ...site,
      webTls: { namespace: "mail", issuer: { kind: "Issuer", name: "sites" }, entrypoint: "https" },
    });
    const cert = only(certificates) as { metadata: Obj; spec: { issuerRef: Obj } };
    expect(cert.metadata.namespace).toBe("mail");
    expect(cert.spec.issuerRef).toEqual({ name: "sites", kind: "Issuer", group: "cert-manager.io" });
    const route = only(routes) as { metadata: Obj; spec: { entryPoints: string[] } };
    expect(route.metadata.namespace).toBe("mail");
    expect(route.spec.entryPoints).toEqual(["https"]);
  });

  it("passes the preview's schema validation", async () => {
    const { resources } = await plan({ ...site, webTls });
    const objects = validatePlan(resources);
    expect(objects.map((o) => o.object.kind).sort()).toEqual(["Certificate", "IngressRoute"]);
  });

  it("creates nothing for a disabled site, so disabling removes the certificate and route", async () => {
    const { certificates, routes, resources } = await plan({ ...site, enabled: false, webTls });
    expect(certificates).toHaveLength(0);
    expect(routes).toHaveLength(0);
    expect(validatePlan(resources)).toEqual([]);
  });
});

describe("the site program without webTls", () => {
  it("creates no Kubernetes object at all", async () => {
    const { resources } = await plan(site);
    expect(resources.filter((r) => r.type.startsWith("kubernetes:"))).toEqual([]);
    expect(validatePlan(resources)).toEqual([]);
  });
});

describe("webTls validation", () => {
  const problems = (value: unknown): string[] => {
    try {
      parseSiteInput({ ...site, webTls: value });
    } catch (err) {
      if (err instanceof SiteConfigError) return err.issues.map((i) => i.message);
      throw err;
    }
    throw new Error("expected webTls to be rejected");
  };

  it("defaults the namespace and entrypoint", () => {
    expect(parseSiteInput({ ...site, webTls }).webTls).toEqual({
      namespace: "mail-zone",
      entrypoint: "websecure",
      issuer: { kind: "ClusterIssuer", name: "letsencrypt-prod" },
    });
  });

  it("survives the round trip through the stack config", () => {
    const input = parseSiteInput({ ...site, webTls });
    expect(siteStackConfig(input)[`${SITE_PROJECT}:webTls`]).toEqual({ value: JSON.stringify(input.webTls) });
  });

  it("names the field of a bad issuer kind, issuer name or namespace", () => {
    expect(problems({ issuer: { kind: "Vault", name: "x" } }).join("\n")).toMatch(/^webTls\.issuer\.kind "Vault"/m);
    expect(problems({ issuer: { kind: "Issuer", name: "Bad_Name" } }).join("\n")).toMatch(
      /^webTls\.issuer\.name "Bad_Name": expected an issuer name/m,
    );
    expect(problems({ namespace: "Mail Zone", ...webTls }).join("\n")).toMatch(
      /^webTls\.namespace "Mail Zone": expected a namespace name/m,
    );
  });

  it("names a missing issuer and an unknown key", () => {
    expect(problems({}).join("\n")).toMatch(/^webTls\.issuer \(missing\)/m);
    expect(problems({ ...webTls, secretName: "x" }).join("\n")).toMatch(/secretName: unknown setting/);
  });
});
