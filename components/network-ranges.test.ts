import { describe, expect, it } from "vitest";
import { contains, isNetworkCidr, overlaps, parseRange, trustProblem } from "./network-ranges";

const range = (text: string) => {
  const r = parseRange(text);
  if (!r) throw new Error(`test range ${text} did not parse`);
  return r;
};

describe("network ranges", () => {
  it("parses an IPv4 CIDR into its first and last address", () => {
    const r = range("10.42.0.0/16");
    expect(r.first).toBe(0x0a2a0000n);
    expect(r.last).toBe(0x0a2affffn);
  });

  it("parses a bare address as a single-address range", () => {
    const r = range("2001:db8::1");
    expect(r.prefix).toBe(128);
    expect(r.first).toBe(r.last);
  });

  it("expands IPv6 shorthand and embedded IPv4 to the same address", () => {
    expect(range("::ffff:10.0.0.1").first).toBe(range("::ffff:a00:1").first);
  });

  it("refuses text that is no address, and prefixes past the family's width", () => {
    for (const bad of ["", "10.0.0.0/33", "fe80::/129", "10.0.0/8", "a.b.c.d", "10.0.0.0/8/8", "10.0.0.0/-1"]) {
      expect(parseRange(bad), bad).toBeUndefined();
    }
  });

  it("tells a network CIDR from one with host bits set", () => {
    expect(isNetworkCidr("10.42.0.0/16")).toBe(true);
    expect(isNetworkCidr("10.42.0.1/16")).toBe(false);
    expect(isNetworkCidr("10.42.0.1")).toBe(false);
  });

  it("finds overlap and containment only within one family", () => {
    expect(overlaps(range("10.42.0.0/16"), range("10.42.7.9"))).toBe(true);
    expect(overlaps(range("10.42.0.0/16"), range("10.43.0.0/16"))).toBe(false);
    expect(overlaps(range("0.0.0.0/0"), range("::/0"))).toBe(false);
    expect(contains(range("10.0.0.0/8"), range("10.42.0.0/16"))).toBe(true);
    expect(contains(range("10.42.0.0/16"), range("10.0.0.0/8"))).toBe(false);
  });

  it("trusts private cluster ranges and refuses everything-ranges and public ones", () => {
    expect(trustProblem("10.42.0.0/16")).toBeUndefined();
    expect(trustProblem("fd00:42::/56")).toBeUndefined();
    expect(trustProblem("0.0.0.0/0")).toBe("everything");
    expect(trustProblem("::/0")).toBe("everything");
    expect(trustProblem("203.0.113.0/24")).toBe("public");
    // 10.0.0.0/7 reaches 11.0.0.0/8, which is public.
    expect(trustProblem("10.0.0.0/7")).toBe("public");
    expect(trustProblem("not-an-address")).toBe("not-a-range");
  });
});
