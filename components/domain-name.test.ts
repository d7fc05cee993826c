import { describe, expect, it } from "vitest";
import {
  assertAllowedSuffix,
  assertNotMailHost,
  DomainValidationError,
  fitsDnsLimits,
  normaliseDomain,
  normaliseSuffix,
  validateSelector,
} from "./domain-name";

function errorOf(fn: () => unknown): DomainValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainValidationError) return err;
    throw err;
  }
  throw new Error("expected a DomainValidationError, but nothing was thrown");
}

describe("normaliseDomain", () => {
  it("lowercases an ASCII name and drops one trailing dot", () => {
    expect(normaliseDomain("Example.COM.")).toBe("example.com");
  });

  it("converts IDN labels to punycode", () => {
    expect(normaliseDomain("Bücher.example")).toBe("xn--bcher-kva.example");
    expect(normaliseDomain("пример.рф")).toBe("xn--e1afmkfd.xn--p1ai");
  });

  it("keeps a name that is already punycode", () => {
    expect(normaliseDomain("xn--mnchen-3ya.de")).toBe("xn--mnchen-3ya.de");
  });

  it.each(["192.0.2.10", "2001:db8::1", "[2001:db8::1]", "0x7f.1"])("rejects the IP address %s", (ip) => {
    const err = errorOf(() => normaliseDomain(ip));
    expect(err.field).toBe("domain");
    expect(err.message).toContain("domain");
    expect(err.message).toContain("IP address");
  });

  it("rejects a single label and names the field it was given", () => {
    const err = errorOf(() => normaliseDomain("localhost", "mailHost"));
    expect(err.message).toMatch(/^mailHost "localhost": is a single label; expected a fully qualified domain name/);
  });

  it("names the field of each call, also when the same name was refused before under another field", () => {
    expect(errorOf(() => normaliseDomain("a..b.example", "domain")).message).toMatch(/^domain "a\.\.b\.example"/);
    expect(errorOf(() => normaliseDomain("a..b.example", "mailHost")).message).toMatch(/^mailHost "a\.\.b\.example"/);
  });

  it("gives the same answer for a name seen before, and after more names than it remembers", () => {
    expect(normaliseDomain("Bücher.Example.")).toBe("xn--bcher-kva.example");
    for (let i = 0; i < 5000; i++) normaliseDomain(`site-${i}.example`);
    expect(normaliseDomain("Bücher.Example.")).toBe("xn--bcher-kva.example");
    expect(normaliseDomain("site-4999.example")).toBe("site-4999.example");
  });

  it("rejects a label over 63 bytes", () => {
    const label = "a".repeat(64);
    const err = errorOf(() => normaliseDomain(`${label}.example`));
    expect(err.message).toContain("63-byte");
    expect(normaliseDomain(`${"a".repeat(63)}.example`)).toBe(`${"a".repeat(63)}.example`);
  });

  it("rejects a name over 253 bytes and accepts one of exactly 253", () => {
    const label = "a".repeat(63);
    const exact = `${label}.${label}.${label}.${"b".repeat(57)}.com`; // 63*3 + 57 + 3 + 4 dots = 253
    expect(exact.length).toBe(253);
    expect(normaliseDomain(exact)).toBe(exact);
    const err = errorOf(() => normaliseDomain(`x${exact}`));
    expect(err.message).toContain("253-byte");
  });

  it("measures length after punycode conversion", () => {
    // 30 'ü' become a 63+ byte punycode label.
    const err = errorOf(() => normaliseDomain(`${"ü".repeat(60)}.example`));
    expect(err.message).toMatch(/63-byte/);
  });

  it.each([
    ["under_score.example", "not letters, digits"],
    ["-lead.example", "not letters, digits"],
    ["trail-.example", "not letters, digits"],
    ["two..dots.example", "empty label"],
    [".lead.example", "empty label"],
    ["spa ce.example", "character"],
    ["per%2ecent.example", "character"],
    ["user@host.example", "character"],
    ["host.example:25", "character"],
    ["example.123", "IDNA"],
    ["", "empty"],
    [" example.com", "whitespace"],
  ])("rejects %j", (input, problem) => {
    const err = errorOf(() => normaliseDomain(input));
    expect(err.message).toContain(problem);
    expect(err.message.startsWith("domain ")).toBe(true);
  });
});

describe("assertNotMailHost", () => {
  it("refuses the mail host itself, in any spelling", () => {
    const err = errorOf(() => assertNotMailHost("MAIL.zone.example.", "mail.zone.example"));
    expect(err.field).toBe("domain");
    expect(err.message).toContain("shared mail host mail.zone.example");
  });

  it("accepts the parent of the mail host and any other domain", () => {
    expect(() => assertNotMailHost("zone.example", "mail.zone.example")).not.toThrow();
    expect(() => assertNotMailHost("site.example", "mail.zone.example")).not.toThrow();
  });
});

describe("assertAllowedSuffix", () => {
  it("allows anything when the list is empty", () => {
    expect(() => assertAllowedSuffix("anything.example", [])).not.toThrow();
  });

  it("allows the suffix itself and names below it, in any accepted suffix spelling", () => {
    expect(() => assertAllowedSuffix("sites.example", ["sites.example"])).not.toThrow();
    expect(() => assertAllowedSuffix("a.sites.example", [".sites.example"])).not.toThrow();
    expect(() => assertAllowedSuffix("b.a.sites.example", ["*.sites.example"])).not.toThrow();
    expect(() => assertAllowedSuffix("shop.de", ["de"])).not.toThrow();
  });

  it("matches on label boundaries, so badsites.example is not under sites.example", () => {
    const err = errorOf(() => assertAllowedSuffix("badsites.example", ["sites.example", "other.example"]));
    expect(err.field).toBe("domain");
    expect(err.message).toContain('"badsites.example"');
    expect(err.message).toContain("outside the allowed suffixes");
    expect(err.message).toContain("sites.example, other.example");
  });

  it("compares IDN suffixes in punycode", () => {
    expect(() => assertAllowedSuffix("shop.münchen.de", ["xn--mnchen-3ya.de"])).not.toThrow();
    expect(normaliseSuffix("*.München.de.")).toBe("xn--mnchen-3ya.de");
  });

  it("names the bad suffix entry by its index", () => {
    const err = errorOf(() => assertAllowedSuffix("a.example", ["ok.example", "bad suffix"]));
    expect(err.field).toBe("allowedSuffixes[1]");
  });
});

describe("validateSelector", () => {
  it.each(["dkim", "mc2026a", "Sel-1", "a.b", "x_y"])("accepts %j", (sel) => {
    expect(validateSelector(sel)).toBe(sel);
  });

  it.each([
    ["", "empty"],
    ["has space", "outside"],
    ["ümlaut", "outside"],
    ["a..b", "empty label"],
    [".lead", "empty label"],
    ["trail.", "empty label"],
    ["s".repeat(64), "label of 64 bytes"],
  ])("rejects %j and names dkim.selector", (sel, problem) => {
    const err = errorOf(() => validateSelector(sel));
    expect(err.field).toBe("dkim.selector");
    expect(err.message.startsWith("dkim.selector ")).toBe(true);
    expect(err.message).toContain(problem);
  });
});

describe("fitsDnsLimits", () => {
  it("checks label and name lengths", () => {
    expect(fitsDnsLimits("a.example")).toBe(true);
    expect(fitsDnsLimits(`${"a".repeat(64)}.example`)).toBe(false);
    expect(fitsDnsLimits(`${"a.".repeat(127)}ab`)).toBe(false);
  });
});
