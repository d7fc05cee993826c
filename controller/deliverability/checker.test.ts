import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildSiteRecords, type MailDnsRecord } from "../../components/site-records";
import { type DnsServerDouble, type DoubleRecord, startDnsServer } from "../../test/doubles/dns-server";
import type { Clock } from "../clock";
import { clientNsLookup, isPublicAddress } from "./authority";
import { DeliverabilityChecker } from "./checker";
import { DnsClient } from "./dns-client";

const DOMAIN = "example.test";
const MAIL_HOST = "mail.zone.test";
let dkimTxt = "";
let expected: MailDnsRecord[] = [];
const servers: DnsServerDouble[] = [];

beforeAll(() => {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const p = publicKey.export({ type: "spki", format: "der" }).toString("base64");
  dkimTxt = `v=DKIM1;k=rsa;t=s;s=email;p=${p}`;
  expected = buildSiteRecords({ domain: DOMAIN, mailHost: MAIL_HOST, dkim: { selector: "mc2026a", txt: dkimTxt } });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** The records as the site stack would publish them (TXT in ≤255-byte strings, as Cloudflare serves them). */
function published(records: MailDnsRecord[]): DoubleRecord[] {
  return records.map((r): DoubleRecord => {
    switch (r.type) {
      case "MX":
        return { name: r.name, type: "MX", data: { preference: r.priority ?? 10, exchange: r.content } };
      case "TXT":
        return { name: r.name, type: "TXT", data: r.chunks ?? [r.content] };
      case "CNAME":
        return { name: r.name, type: "CNAME", data: r.content };
      default: {
        const [priority, weight, port, target] = r.content.split(" ");
        return {
          name: r.name,
          type: "SRV",
          data: { priority: Number(priority), weight: Number(weight), port: Number(port), target },
        };
      }
    }
  });
}

const delegation: DoubleRecord[] = [
  { name: DOMAIN, type: "NS", data: `ns1.${DOMAIN}` },
  { name: `ns1.${DOMAIN}`, type: "A", data: "127.0.0.1" },
];

async function server(
  records: DoubleRecord[],
  behaviours: Record<string, "truncate-udp" | "drop" | "servfail" | "refused"> = {},
) {
  const s = await startDnsServer({ zones: [DOMAIN], records: [...delegation, ...records], behaviours });
  servers.push(s);
  return s;
}

/** A checker that discovers the authority through the double, exactly as it would through a resolver. */
function checkerFor(s: DnsServerDouble): DeliverabilityChecker {
  const client = new DnsClient({ timeoutMs: 300, udpAttempts: 1 });
  return new DeliverabilityChecker({
    nsLookup: clientNsLookup({ address: s.address, port: s.port }, client),
    port: s.port,
    client,
    // The double listens on loopback: allowed here, refused by default (see the test below).
    allowPrivateNameServers: true,
  });
}

const byPurpose = <T extends { purpose: string }>(records: T[], purpose: string): T | undefined =>
  records.find((r) => r.purpose === purpose);

describe("DeliverabilityChecker.check", () => {
  it("verifies every record when the authoritative server publishes exactly the expected set", async () => {
    const s = await server(published(expected));
    const report = await checkerFor(s).check(DOMAIN, expected);
    expect(report.records.filter((r) => r.state !== "verified")).toEqual([]);
    expect(report.allVerified).toBe(true);
    expect(report.zone).toBe(DOMAIN);
    expect(report.nameServers[0]).toContain(`ns1.${DOMAIN}`);
  });

  it("reports each record pending while nothing is published yet", async () => {
    const s = await server([]);
    const report = await checkerFor(s).check(DOMAIN, expected);
    expect(report.allVerified).toBe(false);
    expect(new Set(report.records.map((r) => r.state))).toEqual(new Set(["pending"]));
    expect(byPurpose(report.records, "dmarc")?.detail).toContain("NXDOMAIN");
    expect(byPurpose(report.records, "mx")?.detail).toContain("no MX");
  });

  it("fails a record when a different value is published: another SPF, a wrong MX, a different DKIM key, a foreign CNAME", async () => {
    const wrong = published(expected).map((r): DoubleRecord => {
      if (r.type === "MX") return { ...r, data: { preference: 10, exchange: "mx.other.test" } };
      if (r.type === "TXT" && r.name === DOMAIN) return { ...r, data: "v=spf1 include:other.test ~all" };
      if (r.type === "TXT" && r.name.includes("_domainkey")) return { ...r, data: "v=DKIM1;k=rsa;p=AAAA" };
      if (r.type === "CNAME" && r.name.startsWith("autoconfig.")) return { ...r, data: "elsewhere.test" };
      return r;
    });
    const s = await server(wrong);
    const { records } = await checkerFor(s).check(DOMAIN, expected);
    expect(byPurpose(records, "mx")).toMatchObject({ state: "failed" });
    expect(byPurpose(records, "mx")?.detail).toContain("mx.other.test");
    expect(byPurpose(records, "spf")).toMatchObject({ state: "failed" });
    expect(byPurpose(records, "spf")?.detail).toContain("include:other.test");
    expect(byPurpose(records, "dkim")).toMatchObject({ state: "failed" });
    expect(byPurpose(records, "autoconfig")).toMatchObject({ state: "failed" });
    expect(byPurpose(records, "autoconfig")?.detail).toContain("elsewhere.test");
    expect(byPurpose(records, "dmarc")).toMatchObject({ state: "verified" });
  });

  it("fails the MX when another MX host is listed beside the mail host", async () => {
    const s = await server([
      ...published(expected),
      { name: DOMAIN, type: "MX", data: { preference: 5, exchange: "old-mx.provider.test" } },
    ]);
    const { records } = await checkerFor(s).check(DOMAIN, expected);
    expect(byPurpose(records, "mx")).toMatchObject({ state: "failed" });
    expect(byPurpose(records, "mx")?.detail).toContain("old-mx.provider.test");
  });

  it("fails SPF when two SPF records are published, even if one of them is right", async () => {
    const s = await server([...published(expected), { name: DOMAIN, type: "TXT", data: "v=spf1 a -all" }]);
    const { records } = await checkerFor(s).check(DOMAIN, expected);
    expect(byPurpose(records, "spf")).toMatchObject({ state: "failed" });
    expect(byPurpose(records, "spf")?.detail).toContain("2 SPF records");
  });

  it("ignores unrelated TXT records at the apex", async () => {
    const s = await server([
      ...published(expected),
      { name: DOMAIN, type: "TXT", data: "google-site-verification=abc" },
    ]);
    const { records } = await checkerFor(s).check(DOMAIN, expected);
    expect(byPurpose(records, "spf")).toMatchObject({ state: "verified" });
  });

  it("fails autodiscover when the name has an A record instead of the CNAME", async () => {
    const records = published(expected).filter((r) => !r.name.startsWith("autodiscover."));
    const s = await server([...records, { name: `autodiscover.${DOMAIN}`, type: "A", data: "192.0.2.7" }]);
    const report = await checkerFor(s).check(DOMAIN, expected);
    expect(byPurpose(report.records, "autodiscover")).toMatchObject({ state: "failed" });
    expect(byPurpose(report.records, "autodiscover")?.detail).toContain("192.0.2.7");
  });

  it("joins the DKIM key's strings and verifies it when the published record is split differently", async () => {
    const dkim = expected.find((r) => r.purpose === "dkim") as MailDnsRecord;
    const other = published(expected).filter((r) => r.name !== dkim.name);
    const pieces = [dkim.content.slice(0, 100), dkim.content.slice(100, 300), dkim.content.slice(300)];
    const s = await server([...other, { name: dkim.name, type: "TXT", data: pieces }]);
    const { records } = await checkerFor(s).check(DOMAIN, expected);
    expect(byPurpose(records, "dkim")).toMatchObject({ state: "verified" });
  });

  it("retries over TCP when the UDP answer is truncated", async () => {
    const dkim = expected.find((r) => r.purpose === "dkim") as MailDnsRecord;
    const s = await server(published(expected), { [dkim.name]: "truncate-udp" });
    const { records } = await checkerFor(s).check(DOMAIN, expected);
    expect(byPurpose(records, "dkim")).toMatchObject({ state: "verified" });
    const transports = s.queries.filter((q) => q.name === dkim.name).map((q) => q.transport);
    expect(transports).toEqual(["udp", "tcp"]);
  });

  it("keeps a record pending with the reason when the server does not answer", async () => {
    const s = await server(published(expected), { [`_dmarc.${DOMAIN}`]: "drop" });
    const { records, allVerified } = await checkerFor(s).check(DOMAIN, expected);
    expect(allVerified).toBe(false);
    expect(byPurpose(records, "dmarc")).toMatchObject({ state: "pending" });
    expect(byPurpose(records, "dmarc")?.detail).toContain("no answer");
    expect(byPurpose(records, "mx")).toMatchObject({ state: "verified" });
  });

  it("asks the next name server when the first answers SERVFAIL", async () => {
    const bad = await startDnsServer({ zones: [DOMAIN], records: [], behaviours: { [DOMAIN]: "servfail" } });
    servers.push(bad);
    const good = await server(published(expected));
    const client = new DnsClient({ timeoutMs: 300, udpAttempts: 1 });
    const checker = new DeliverabilityChecker({
      client,
      nameServers: [
        { address: bad.address, port: bad.port, name: "ns-bad" },
        { address: good.address, port: good.port, name: "ns-good" },
      ],
    });
    const { records } = await checker.check(DOMAIN, expected);
    expect(byPurpose(records, "mx")).toMatchObject({ state: "verified" });
  });

  it("finds the authoritative servers of the parent zone for a subdomain site", async () => {
    const sub = `shop.${DOMAIN}`;
    const subRecords = buildSiteRecords({
      domain: sub,
      mailHost: MAIL_HOST,
      dkim: { selector: "mc2026a", txt: dkimTxt },
    });
    const s = await server(published(subRecords));
    const report = await checkerFor(s).check(sub, subRecords);
    expect(report.zone).toBe(DOMAIN);
    expect(report.allVerified).toBe(true);
    expect(s.queries.filter((q) => q.type === "NS").map((q) => q.name)).toEqual([sub, DOMAIN]);
  });

  it("leaves every record pending and says so when no name servers exist for the domain", async () => {
    const s = await startDnsServer({ zones: ["other.test"], records: [] });
    servers.push(s);
    const report = await checkerFor(s).check(DOMAIN, expected);
    expect(report.allVerified).toBe(false);
    expect(report.records.every((r) => r.state === "pending")).toBe(true);
    expect(report.records[0].detail).toMatch(/NS lookup|no name servers/);
  });
});

/** A clock whose sleeps return at once and move time forward, calling `onSleep` so tests can publish meanwhile. */
function fakeClock(onSleep: (sleeps: number) => void = () => {}): Clock & { sleeps: number } {
  let t = 1_000_000;
  const clock = {
    sleeps: 0,
    now: () => t,
    async sleep(ms: number, signal?: AbortSignal) {
      if (signal?.aborted) throw signal.reason;
      t += ms;
      clock.sleeps++;
      onSleep(clock.sleeps);
    },
  };
  return clock;
}

describe("DeliverabilityChecker.waitForVerified", () => {
  it("returns once the records appear, after as many passes as it took", async () => {
    const s = await server([]);
    const clock = fakeClock((n) => {
      if (n === 2) for (const r of published(expected)) s.records.push(r);
    });
    const result = await checkerFor(s).waitForVerified(DOMAIN, expected, {
      timeoutMs: 60_000,
      intervalMs: 5_000,
      clock,
    });
    expect(result.allVerified).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(result.attempts).toBe(3);
    expect(result.message).toBe("");
  });

  it("gives up at the deadline with a message naming each record that is not verified", async () => {
    const s = await server(published(expected).filter((r) => !r.name.startsWith("_dmarc.")));
    s.set(DOMAIN, "TXT", "v=spf1 include:other.test ~all");
    const clock = fakeClock();
    const result = await checkerFor(s).waitForVerified(DOMAIN, expected, {
      timeoutMs: 30_000,
      intervalMs: 10_000,
      clock,
    });
    expect(result.timedOut).toBe(true);
    expect(result.allVerified).toBe(false);
    expect(result.attempts).toBe(4);
    expect(result.message).toContain(`not verified after 30s`);
    expect(result.message).toContain(`dmarc _dmarc.${DOMAIN} TXT: pending`);
    expect(result.message).toContain(`spf ${DOMAIN} TXT: failed`);
    expect(result.message).not.toContain(`mx ${DOMAIN} MX`);
  });

  it("stops when the signal aborts", async () => {
    const s = await server([]);
    const controller = new AbortController();
    const clock = fakeClock(() => controller.abort(new Error("shutting down")));
    await expect(
      checkerFor(s).waitForVerified(DOMAIN, expected, {
        timeoutMs: 60_000,
        intervalMs: 1_000,
        clock,
        signal: controller.signal,
      }),
    ).rejects.toThrow("shutting down");
  });
});

describe("DeliverabilityChecker and a delegation to private addresses", () => {
  it("does not ask name servers at loopback or private addresses unless the operator allows it", async () => {
    const s = await server(published(expected));
    const client = new DnsClient({ timeoutMs: 300, udpAttempts: 1 });
    const refusing = new DeliverabilityChecker({
      nsLookup: clientNsLookup({ address: s.address, port: s.port }, client),
      port: s.port,
      client,
    });
    const report = await refusing.check(DOMAIN, expected);
    expect(report.allVerified).toBe(false);
    expect(report.nameServers).toEqual([]);
    expect(report.records[0].detail).toMatch(/private, loopback, link-local or cluster addresses .*127\.0\.0\.1/);
  });
});

describe("isPublicAddress", () => {
  it("refuses private, shared, loopback, link-local, unspecified and mapped-private addresses", () => {
    for (const address of [
      "10.43.0.10",
      "172.16.5.1",
      "192.168.1.1",
      "100.64.0.1",
      "127.0.0.1",
      "169.254.169.254",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::53",
      "::ffff:10.0.0.1",
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const address of ["192.0.2.53", "8.8.8.8", "2001:db8::53"])
      expect(isPublicAddress(address), address).toBe(true);
  });
});
