import { describe, expect, it } from "vitest";
import { planProgram } from "../stacks/preview/engine";
import { MailHostDns, mailHostRecords } from "./mail-host-dns";

describe("MailHostDns", () => {
  it("looks the zone up by name and creates unproxied records for the mail host in it", async () => {
    const lookups: Record<string, unknown>[] = [];
    const plan = await planProgram(
      () => {
        new MailHostDns("dns", {
          zone: "example.com",
          accountId: "0123456789abcdef0123456789abcdef",
          hostname: "mail.example.com",
          publicIPv4: "203.0.113.10",
          publicIPv6: "2001:db8::10",
        });
      },
      {
        project: "mail-zone",
        stack: "test",
        call: (token, inputs) => {
          if (token !== "cloudflare:index/getZone:getZone") return undefined;
          lookups.push(inputs);
          return { id: "zone123", name: "example.com" };
        },
      },
    );
    expect(lookups).toEqual([{ filter: { name: "example.com", account: { id: "0123456789abcdef0123456789abcdef" } } }]);
    const records = plan.resources
      .filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord")
      .map((r) => r.inputs);
    expect(records).toHaveLength(5);
    for (const record of records) expect(record).toMatchObject({ zoneId: "zone123", proxied: false, ttl: 1 });
    expect(records.filter((r) => r.type === "A")).toEqual([
      expect.objectContaining({ name: "mail.example.com", content: "203.0.113.10" }),
    ]);
    expect(records.filter((r) => r.type === "AAAA")).toEqual([
      expect.objectContaining({ name: "mail.example.com", content: "2001:db8::10" }),
    ]);
  });
});

describe("mailHostRecords", () => {
  it("has no AAAA without an IPv6 address and points the client-configuration names at the mail host", () => {
    const records = mailHostRecords({ hostname: "mail.example.com", publicIPv4: "203.0.113.10" });
    expect(records.map((r) => `${r.name} ${r.type} ${r.content}`)).toEqual([
      "mail.example.com A 203.0.113.10",
      "autoconfig.mail.example.com CNAME mail.example.com",
      "autodiscover.mail.example.com CNAME mail.example.com",
      "mta-sts.mail.example.com CNAME mail.example.com",
    ]);
  });
});
