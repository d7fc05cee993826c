import { describe, expect, it } from "vitest";
import { imagesFor } from "./catalogue";
import { DEFAULT_RELEASE, isIpOrCidr, parseMailcowSettings } from "./settings";

describe("Mailcow settings", () => {
  it("defaults to in-cluster mode on the pinned release with SOGo and clamd off and IPv6 off", () => {
    const s = parseMailcowSettings(undefined);
    expect(s.mode).toBe("in-cluster");
    expect(s.release).toBe(DEFAULT_RELEASE);
    expect(s.optional).toEqual({ sogo: false, clamd: false, olefy: true, fts: false });
    expect(s.ipv6).toBe(false);
    expect(imagesFor(s.release).postfix).toMatch(/^ghcr\.io\/mailcow\/postfix:/);
  });

  it("names the key, the value and what is expected when a value is wrong", () => {
    expect(() => parseMailcowSettings({ apiAllowFrom: ["everyone"] })).toThrow(
      /mail-zone:mailcow\.apiAllowFrom\.0: an IPv4\/IPv6 address or CIDR.*\(got "everyone"\)/,
    );
    expect(() => parseMailcowSettings({ storage: { sizes: { vmail: "lots" } } })).toThrow(
      /mail-zone:mailcow\.storage\.sizes\.vmail: a Kubernetes quantity/,
    );
    expect(() => parseMailcowSettings({ release: "latest" })).toThrow(/mail-zone:mailcow\.release/);
  });

  it("requires the external host in external mode", () => {
    expect(() => parseMailcowSettings({ mode: "external" })).toThrow(/mail-zone:mailcow\.external: mode is external/);
    expect(parseMailcowSettings({ mode: "external", external: { host: "192.0.2.1" } }).external?.webPort).toBe(8080);
  });

  it("refuses unknown keys", () => {
    expect(() => parseMailcowSettings({ sogo: true })).toThrow(/mail-zone:mailcow/);
  });

  it("fails with what to do for a release without an image table", () => {
    expect(() => imagesFor("2030-01")).toThrow(/add the release's images to RELEASE_IMAGES/);
  });

  it("accepts what Mailcow's API_ALLOW_FROM check accepts", () => {
    expect(isIpOrCidr("10.42.0.0/16")).toBe(true);
    expect(isIpOrCidr("192.0.2.7")).toBe(true);
    expect(isIpOrCidr("fd00::/8")).toBe(true);
    expect(isIpOrCidr("10.42.0.0/33")).toBe(false);
    expect(isIpOrCidr("invalid")).toBe(false);
  });
});

describe("Mailcow's trust settings", () => {
  it("refuses /0 and public ranges in API_ALLOW_FROM, TRUSTED_PROXIES and haproxy_trusted_networks", () => {
    for (const key of ["apiAllowFrom", "trustedProxies", "proxyTrustedNetworks"]) {
      expect(() => parseMailcowSettings({ [key]: ["0.0.0.0/0"] }), key).toThrow(
        new RegExp(`mail-zone:mailcow\\.${key}\\.0: a narrower range: /0 would trust every address`),
      );
      expect(() => parseMailcowSettings({ [key]: ["10.42.0.0/16", "198.51.100.0/24"] }), key).toThrow(
        new RegExp(`mail-zone:mailcow\\.${key}\\.1: a private range`),
      );
      expect(() => parseMailcowSettings({ [key]: ["::/0"] }), key).toThrow(/a narrower range/);
      expect(parseMailcowSettings({ [key]: ["10.42.0.0/16", "fd00::/8"] })[key as "apiAllowFrom"]).toEqual([
        "10.42.0.0/16",
        "fd00::/8",
      ]);
    }
  });

  it("accepts only an https mirror for the release", () => {
    expect(() => parseMailcowSettings({ releaseUrl: "http://mirror.example/x.tar.gz" })).toThrow(
      /mail-zone:mailcow\.releaseUrl: an https:\/\/ URL/,
    );
  });
});
