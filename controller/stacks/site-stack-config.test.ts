import { describe, expect, it } from "vitest";
import { decodeSiteConfig } from "../../stacks/site-config";
import { loadSettings, SettingsError } from "../settings";
import { siteDnsDefaults, siteStackConfigFor } from "./site-stack-config";

const env = {
  MAILCOW_API_URL: "http://mailcow-nginx.mail-zone.svc.cluster.local:8080",
  MAILCOW_API_KEY: "mailcow-key-123456",
  MAILCOW_HOSTNAME: "mail.example.net",
  CONTROLLER_TOKENS: "a".repeat(40),
  PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple",
  ALLOWED_DOMAIN_SUFFIXES: "*",
};
const request = {
  slug: "shop",
  domain: "shop.example",
  enabled: true,
  dkim: { selector: "dkim", txt: "v=DKIM1;p=AB" },
};

/** The stack config the controller writes for the request, decoded back as the site program reads it. */
function stackInputWith(extra: Record<string, string>) {
  const config = siteStackConfigFor(request, siteDnsDefaults(loadSettings({ ...env, ...extra })));
  return {
    config,
    input: decodeSiteConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]))),
  };
}

function problemsOf(extra: Record<string, string>): string[] {
  try {
    loadSettings({ ...env, ...extra });
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  throw new Error("expected the settings to be rejected");
}

describe("site web certificates in the site stack config", () => {
  it("are off, and no webTls key is written, when SITE_WEB_TLS_ISSUER is unset", () => {
    const { config, input } = stackInputWith({ SITE_WEB_TLS_NAMESPACE: "mail" });
    expect(config["mail-sites:webTls"]).toBeUndefined();
    expect(input.webTls).toBeUndefined();
  });

  it("carry the cluster issuer and the default namespace and entrypoint into the stack", () => {
    const { input } = stackInputWith({ SITE_WEB_TLS_ISSUER: "ClusterIssuer/letsencrypt-prod" });
    expect(input.webTls).toEqual({
      namespace: "mail-zone",
      entrypoint: "websecure",
      issuer: { kind: "ClusterIssuer", name: "letsencrypt-prod" },
    });
  });

  it("carry a namespaced issuer, namespace and entrypoint into the stack", () => {
    const { input } = stackInputWith({
      SITE_WEB_TLS_ISSUER: "Issuer/sites.acme",
      SITE_WEB_TLS_NAMESPACE: "mail",
      SITE_WEB_TLS_ENTRYPOINT: "https",
    });
    expect(input.webTls).toEqual({
      namespace: "mail",
      entrypoint: "https",
      issuer: { kind: "Issuer", name: "sites.acme" },
    });
  });

  it("stay in the config of a disabled site (the program then creates nothing)", () => {
    const defaults = siteDnsDefaults(loadSettings({ ...env, SITE_WEB_TLS_ISSUER: "ClusterIssuer/le" }));
    const config = siteStackConfigFor({ slug: "shop", domain: "shop.example", enabled: false }, defaults);
    expect(JSON.parse(config["mail-sites:webTls"].value)).toMatchObject({ issuer: { name: "le" } });
  });

  it("refuse a bad setting naming the variable and its value", () => {
    expect(problemsOf({ SITE_WEB_TLS_ISSUER: "letsencrypt-prod" })).toEqual([
      'SITE_WEB_TLS_ISSUER: expected <ClusterIssuer|Issuer>/<name>, e.g. ClusterIssuer/letsencrypt-prod (got "letsencrypt-prod")',
    ]);
    expect(problemsOf({ SITE_WEB_TLS_ISSUER: "Vault/x" })[0]).toMatch(/^SITE_WEB_TLS_ISSUER: /);
    expect(problemsOf({ SITE_WEB_TLS_NAMESPACE: "Mail_Zone" })[0]).toMatch(
      /^SITE_WEB_TLS_NAMESPACE: expected a namespace name .*"Mail_Zone"/,
    );
    expect(problemsOf({ SITE_WEB_TLS_ENTRYPOINT: "web secure" })[0]).toMatch(/^SITE_WEB_TLS_ENTRYPOINT: /);
  });
});
