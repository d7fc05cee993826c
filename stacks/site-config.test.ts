import { describe, expect, it } from "vitest";
import {
  decodeSiteConfig,
  parseSiteInput,
  recordsForSite,
  SITE_PROJECT,
  SiteConfigError,
  siteStackConfig,
  siteZoneName,
} from "./site-config";

const DKIM_TXT = `v=DKIM1;k=rsa;t=s;s=email;p=${"A".repeat(392)}`;

const minimal = {
  slug: "my-site",
  domain: "Site.Example",
  mailHost: "mail.zone.example",
  dnsProvider: "cloudflare",
  dkim: { selector: "mc2026a", txt: DKIM_TXT },
};

function configError(raw: unknown): SiteConfigError {
  try {
    parseSiteInput(raw);
  } catch (err) {
    if (err instanceof SiteConfigError) return err;
    throw err;
  }
  throw new Error("expected a SiteConfigError");
}

describe("parseSiteInput", () => {
  it("normalises the domain and applies the documented defaults", () => {
    const site = parseSiteInput(minimal);
    expect(site).toEqual({
      slug: "my-site",
      domain: "site.example",
      mailHost: "mail.zone.example",
      enabled: true,
      dnsProvider: "cloudflare",
      dkim: { selector: "mc2026a", txt: DKIM_TXT },
      pop3: false,
      announcePop3Unavailable: false,
      allowedSuffixes: [],
      ttl: 3600,
    });
    expect(SITE_PROJECT).toBe("mail-sites");
  });

  it("fills the defaults inside nested options", () => {
    const site = parseSiteInput({ ...minimal, dmarc: {}, mtaSts: {} });
    expect(site.dmarc).toEqual({ policy: "quarantine" });
    expect(site.mtaSts).toEqual({ mode: "testing", maxAgeSeconds: 604800 });
  });

  it.each([
    [{ slug: "My_Site" }, "slug", '"My_Site"', "lowercase letters and digits"],
    [{ slug: `a${"-b".repeat(40)}` }, "slug", "", "<=63"],
    [{ domain: "198.51.100.4" }, "domain", '"198.51.100.4"', "IP address"],
    [{ domain: "bücher" }, "domain", '"bücher"', "single label"],
    [{ domain: `${"x".repeat(64)}.example` }, "domain", "", "63-byte"],
    [{ domain: "mail.zone.example" }, "domain", '"mail.zone.example"', "shared mail host"],
    [{ domain: "zone.example" }, "domain", '"zone.example"', "is a parent of the shared mail host mail.zone.example"],
    [{ domain: "x.mail.zone.example" }, "domain", '"x.mail.zone.example"', "is under the shared mail host"],
    [{ mailHost: "not a host" }, "mailHost", '"not a host"', "character"],
    [{ dnsProvider: "route53" }, "dnsProvider", '"route53"', "cloudflare"],
    [{ dkim: { selector: "bad/sel", txt: DKIM_TXT } }, "dkim.selector", '"bad/sel"', "[A-Za-z0-9._-]"],
    [{ dkim: { selector: "dkim", txt: "v=DKIM1" } }, "dkim.txt", '"v=DKIM1"', "p="],
    [{ dkim: undefined }, "dkim", "", "when the site is enabled"],
    [{ dmarc: { policy: "strict" } }, "dmarc.policy", '"strict"', "quarantine"],
    [{ dmarc: { rua: "nobody" } }, "dmarc.rua", '"nobody"', "e-mail address"],
    [{ ttl: 5 }, "ttl", "ttl 5:", ">=60"],
    [{ cloudflare: { accountId: "xyz" } }, "cloudflare.accountId", '"xyz"', "32 hex"],
    [{ cloudflare: { zoneName: "other.example" } }, "cloudflare.zoneName", '"other.example"', "parent zone"],
    [{ allowedSuffixes: ["customers.example"] }, "domain", '"site.example"', "outside the allowed suffixes"],
    [{ mtaSts: { mode: "strict" } }, "mtaSts.mode", '"strict"', "enforce"],
  ])("rejects %j with a message naming the field, value and expectation", (patch, field, value, expected) => {
    const err = configError({ ...minimal, ...patch });
    const line = err.issues.map((i) => i.message).find((m) => m.startsWith(field)) ?? "";
    expect(line, err.message).not.toBe("");
    expect(line).toContain(value);
    expect(line).toContain(expected);
    expect(err.message).toContain(line);
  });

  it("names unknown keys", () => {
    const err = configError({ ...minimal, dkimSelector: "x" });
    expect(err.message).toContain("dkimSelector: unknown setting");
  });

  it("accepts a disabled site without DKIM and with record options that only matter when enabled", () => {
    const site = parseSiteInput({ ...minimal, enabled: false, dkim: undefined, dmarc: { rua: "nobody" } });
    expect(site.enabled).toBe(false);
    expect(recordsForSite(site)).toEqual([]);
  });

  it("accepts a domain within the allowed suffixes and an explicit parent zone", () => {
    const site = parseSiteInput({
      ...minimal,
      domain: "shop.customers.example",
      allowedSuffixes: ["customers.example"],
      cloudflare: { zoneName: "customers.example" },
    });
    expect(siteZoneName(site)).toBe("customers.example");
    expect(siteZoneName(parseSiteInput(minimal))).toBe("site.example");
  });
});

describe("siteStackConfig", () => {
  it("writes fully qualified keys, objects as JSON, nothing secret", () => {
    const site = parseSiteInput({ ...minimal, dmarc: { policy: "reject", rua: false }, tlsRptRua: false, pop3: true });
    const config = siteStackConfig(site);
    expect(config["mail-sites:domain"]).toEqual({ value: "site.example" });
    expect(config["mail-sites:enabled"]).toEqual({ value: "true" });
    expect(config["mail-sites:ttl"]).toEqual({ value: "3600" });
    expect(config["mail-sites:tlsRptRua"]).toEqual({ value: "false" });
    expect(JSON.parse(config["mail-sites:dkim"].value)).toEqual({ selector: "mc2026a", txt: DKIM_TXT });
    expect(JSON.parse(config["mail-sites:dmarc"].value)).toEqual({ policy: "reject", rua: false });
    expect(Object.keys(config).every((k) => k.startsWith("mail-sites:"))).toBe(true);
    expect(Object.values(config).some((v) => v.secret)).toBe(false);
    expect(config["mail-sites:spfInclude"]).toBeUndefined();
  });

  it("round-trips through decodeSiteConfig", () => {
    const site = parseSiteInput({
      ...minimal,
      spfInclude: "relay.example.net",
      mtaSts: { mode: "enforce" },
      tlsRptRua: "https://reports.example/tls",
      cloudflare: { accountId: "0123456789abcdef0123456789abcdef" },
      allowedSuffixes: ["example"],
      enabled: false,
    });
    const strings = Object.fromEntries(Object.entries(siteStackConfig(site)).map(([k, v]) => [k, v.value]));
    expect(decodeSiteConfig({ ...strings, "cloudflare:apiToken": "ignored" })).toEqual(site);
  });

  it("reports config that is not valid JSON by its key", () => {
    expect(() => decodeSiteConfig({ "mail-sites:dkim": "{not json" })).toThrow(
      /mail-sites:dkim "\{not json": is not valid JSON/,
    );
  });

  it("reports a boolean key holding something else by name", () => {
    const strings = Object.fromEntries(
      Object.entries(siteStackConfig(parseSiteInput(minimal))).map(([k, v]) => [k, v.value]),
    );
    expect(() => decodeSiteConfig({ ...strings, "mail-sites:enabled": "yes" })).toThrow(/enabled "yes"/);
  });
});

describe("allowedSuffixes", () => {
  const site = {
    slug: "shop",
    domain: "shop.example.com",
    mailHost: "mail.example.net",
    dnsProvider: "manual",
    dkim: { selector: "dkim", txt: "v=DKIM1;k=rsa;p=AAAA" },
  };

  it("refuses a suffix that cannot be a domain, naming the entry", () => {
    expect(() => parseSiteInput({ ...site, allowedSuffixes: ["0"] })).toThrow(
      /allowedSuffixes.*"0".*all-numeric label.*expected a domain suffix/,
    );
  });

  it("normalises suffixes the way domains are normalised", () => {
    expect(parseSiteInput({ ...site, allowedSuffixes: ["*.Example.COM."] }).allowedSuffixes).toEqual(["example.com"]);
  });
});
