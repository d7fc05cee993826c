import { describe, expect, it } from "vitest";
import { ptrName } from "./probes";

describe("ptrName", () => {
  it("reverses an IPv4 address under in-addr.arpa", () => {
    expect(ptrName("203.0.113.10")).toBe("10.113.0.203.in-addr.arpa");
  });

  it("writes every nibble of an IPv6 address under ip6.arpa, expanding ::", () => {
    // RFC 3596 §2.5's example form, for 2001:db8::10 written out in full: 2001:0db8:0000:…:0010.
    expect(ptrName("2001:db8::10")).toBe("0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    expect(ptrName("::1")).toBe(`1.${"0.".repeat(31)}ip6.arpa`);
  });

  it("refuses what is not an address", () => {
    expect(() => ptrName("mail.example.test")).toThrow("not an IPv4 or plain IPv6 address");
  });
});
