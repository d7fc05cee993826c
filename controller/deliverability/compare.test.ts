import { describe, expect, it } from "vitest";
import { compareRecord, normaliseTagList, txtTag } from "./compare";

const txt = (name: string, data: string[]) => ({ name, type: "TXT" as const, ttl: 300, data });

describe("compareRecord", () => {
  it("treats DMARC tags as equal regardless of spacing, tag-name case and tag order after v", () => {
    const check = compareRecord(
      {
        name: "_dmarc.example.test",
        type: "TXT",
        content: "v=DMARC1; p=quarantine; rua=mailto:d@example.test",
        purpose: "dmarc",
      },
      { kind: "answers", answers: [txt("_dmarc.example.test", ["v=DMARC1;RUA=mailto:d@example.test;  p=quarantine"])] },
    );
    expect(check.state).toBe("verified");
  });

  it("fails DMARC when the policy differs", () => {
    const check = compareRecord(
      { name: "_dmarc.example.test", type: "TXT", content: "v=DMARC1; p=quarantine", purpose: "dmarc" },
      { kind: "answers", answers: [txt("_dmarc.example.test", ["v=DMARC1; p=none"])] },
    );
    expect(check).toMatchObject({ state: "failed" });
    expect(check.detail).toContain("p=none");
  });

  it("compares SPF case-insensitively and ignores extra spaces", () => {
    const check = compareRecord(
      { name: "example.test", type: "TXT", content: "v=spf1 mx -all", purpose: "spf" },
      { kind: "answers", answers: [txt("example.test", ["v=spf1  MX -all"])] },
    );
    expect(check.state).toBe("verified");
  });

  it("verifies an SRV record by priority, weight, port and target", () => {
    const record = {
      name: "_imaps._tcp.example.test",
      type: "SRV" as const,
      content: "0 1 993 mail.zone.test",
      purpose: "srv-imaps",
    };
    const answer = (port: number) => ({
      kind: "answers" as const,
      answers: [
        { name: record.name, type: "SRV" as const, data: { priority: 0, weight: 1, port, target: "mail.zone.test" } },
      ],
    });
    expect(compareRecord(record, answer(993)).state).toBe("verified");
    expect(compareRecord(record, answer(143)).state).toBe("failed");
  });

  it("fails a TXT record whose name is a CNAME", () => {
    const check = compareRecord(
      { name: "example.test", type: "TXT", content: "v=spf1 mx -all", purpose: "spf" },
      { kind: "answers", answers: [{ name: "example.test", type: "CNAME", data: "elsewhere.test" }] },
    );
    expect(check.state).toBe("failed");
    expect(check.detail).toContain("CNAME to elsewhere.test");
  });

  it("keeps a record pending when the lookup failed", () => {
    const check = compareRecord(
      { name: "example.test", type: "MX", content: "mail.zone.test", priority: 10, purpose: "mx" },
      { kind: "error", message: "no answer from ns1 within 2000 ms" },
    );
    expect(check).toMatchObject({ state: "pending", detail: expect.stringContaining("no answer") });
  });
});

describe("tag helpers", () => {
  it("reads the version tag of a TXT record", () => {
    expect(txtTag("v=spf1 mx -all")).toBe("spf1");
    expect(txtTag(" v = DKIM1; p=abc")).toBe("dkim1");
    expect(txtTag("google-site-verification=x")).toBeUndefined();
  });

  it("removes folding whitespace inside DKIM key material", () => {
    expect(normaliseTagList("v=DKIM1; p=AB CD\tEF")).toEqual(normaliseTagList("v=DKIM1;p=ABCDEF"));
  });
});

describe("found values of failed records", () => {
  it("lists what a failed record found instead, for one-line summaries", () => {
    const spf = compareRecord(
      { name: "example.test", type: "TXT", content: "v=spf1 mx -all", purpose: "spf" },
      { kind: "answers", answers: [txt("example.test", ["v=spf1 -all"])] },
    );
    expect(spf).toMatchObject({ state: "failed", found: ['"v=spf1 -all"'] });
    const mx = compareRecord(
      { name: "example.test", type: "MX", content: "mail.zone.test", priority: 10, purpose: "mx" },
      {
        kind: "answers",
        answers: [{ name: "example.test", type: "MX", data: { preference: 5, exchange: "mx.other.test" } }],
      },
    );
    expect(mx.found).toEqual(["5 mx.other.test"]);
    const verified = compareRecord(
      { name: "example.test", type: "TXT", content: "v=spf1 mx -all", purpose: "spf" },
      { kind: "answers", answers: [txt("example.test", ["v=spf1 mx -all"])] },
    );
    expect(verified.found).toBeUndefined();
  });
});
