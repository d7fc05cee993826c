import { describe, expect, it } from "vitest";
import { createRedactor, shortMessage } from "../redact";
import {
  blockingVerified,
  CheckLimiter,
  describeRecord,
  dnsDeadlineMessage,
  formatDuration,
  nextCheckDelay,
  type RecordCheck,
} from "./dns-verification";

const check = (purpose: string, state: RecordCheck["state"], extra: Partial<RecordCheck> = {}): RecordCheck => ({
  name: purpose === "dmarc" ? "_dmarc.example.com" : "example.com",
  type: purpose === "mx" ? "MX" : "TXT",
  purpose,
  state,
  detail: "",
  ...extra,
});

describe("nextCheckDelay", () => {
  it("doubles the interval per check and stops at five minutes", () => {
    const policy = { intervalMs: 30_000, timeoutMs: 900_000 };
    expect([1, 2, 3, 4, 5, 6, 40].map((n) => nextCheckDelay(n, policy))).toEqual([
      30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000,
    ]);
  });

  it("never goes below an interval longer than the cap", () => {
    expect(nextCheckDelay(3, { intervalMs: 600_000, timeoutMs: 3_600_000 })).toBe(600_000);
  });
});

describe("blockingVerified", () => {
  it("needs every blocking record verified and ignores the others", () => {
    expect(blockingVerified([check("mx", "verified"), check("srv-imaps", "failed")])).toBe(true);
    expect(blockingVerified([check("mx", "verified"), check("spf", "pending")])).toBe(false);
    expect(blockingVerified([check("tls-rpt", "verified")])).toBe(false);
  });
});

describe("dnsDeadlineMessage", () => {
  it("names each unverified blocking record with what was found, and the waited time", () => {
    const records = [
      check("mx", "pending"),
      check("spf", "failed", { found: ['"v=spf1 -all"'] }),
      check("dmarc", "verified"),
      check("tls-rpt", "pending"),
    ];
    expect(dnsDeadlineMessage(records, 900_000, "cloudflare")).toBe(
      "DNS not verified after 15m; check the domain's zone and name servers: " +
        'MX example.com pending; SPF example.com failed (found "v=spf1 -all")',
    );
  });

  it("tells the operator of a manual site to publish the records by hand, before the list", () => {
    const message = dnsDeadlineMessage([check("mx", "pending")], 90_000, "manual");
    expect(message).toMatch(/^DNS not verified after 1m30s; publish the records by hand/);
  });

  it("keeps the advice when the list is cut to the annotation limit", () => {
    const many = Array.from({ length: 30 }, () => check("dkim", "failed", { found: [`"${"x".repeat(38)}"`] }));
    const short = shortMessage(dnsDeadlineMessage(many, 900_000, "manual"), createRedactor([]));
    expect(short.length).toBe(256);
    expect(short).toContain("publish the records by hand");
    expect(short.endsWith("…")).toBe(true);
  });
});

describe("formatDuration and describeRecord", () => {
  it("reads like a person would write it", () => {
    expect([45_000, 900_000, 3_600_000, 5_430_000, 0].map(formatDuration)).toEqual([
      "45s",
      "15m",
      "1h",
      "1h30m30s",
      "0s",
    ]);
    expect(describeRecord(check("autoconfig", "failed"))).toBe("autoconfig example.com failed");
  });
});

describe("CheckLimiter", () => {
  it("never lets more than its limit run at once", async () => {
    const limiter = new CheckLimiter(2);
    let active = 0;
    let most = 0;
    const gates: Array<() => void> = [];
    const task = () =>
      limiter.run(async () => {
        active++;
        most = Math.max(most, active);
        await new Promise<void>((resolve) => gates.push(resolve));
        active--;
      });
    const all = Promise.all([task(), task(), task(), task(), task()]);
    for (let released = 0; released < 5; released++) {
      while (gates.length === 0) await new Promise((r) => setImmediate(r));
      expect(active).toBeLessThanOrEqual(2);
      gates.shift()?.();
    }
    await all;
    expect(most).toBe(2);
  });
});
