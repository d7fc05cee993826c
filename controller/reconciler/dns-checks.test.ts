import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import type { MailDnsRecord } from "../../components/site-records";
import { type DnsServerDouble, startDnsServer } from "../../test/doubles/dns-server";
import { checkerFor, PublishingRunner } from "../../test/support/dns-publishing";
import { ManualClock } from "../../test/support/manual-clock";
import { appFor, startWorld, TOKENS, type World, type WorldOptions } from "../../test/support/reconciler-world";
import type { DnsRecordChecker } from "./dns-verification";

const INTERVAL = 30_000;
const TIMEOUT = 900_000;

interface DnsWorld {
  w: World;
  server: DnsServerDouble;
  clock: ManualClock;
  publishing: PublishingRunner;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function dnsWorld(
  options: {
    withheld?: string[];
    tamper?: (slug: string, records: MailDnsRecord[]) => MailDnsRecord[];
    checker?: (real: DnsRecordChecker) => DnsRecordChecker;
  } & Pick<WorldOptions, "namespaces" | "reconciler" | "from"> = {},
): Promise<DnsWorld> {
  const server = await startDnsServer({ zones: ["example"] });
  cleanups.push(() => server.close());
  const clock = new ManualClock();
  let publishing: PublishingRunner | undefined;
  const real = checkerFor(server);
  const w = await startWorld({
    ...options,
    clock,
    dnsChecker: options.checker ? options.checker(real) : real,
    wrapRunner: (runner) => {
      publishing = new PublishingRunner(runner, server, { tamper: options.tamper });
      return publishing;
    },
    reconciler: { dnsCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT }, ...options.reconciler },
  });
  cleanups.push(() => w.close());
  const pub = publishing as PublishingRunner;
  for (const slug of options.withheld ?? []) pub.withheld.add(slug);
  return { w, server, clock, publishing: pub };
}

/**
 * Wakes the next sleeper until a check of `slug` ends other than `pending`; returns that outcome and the count.
 * When nobody sleeps, a check is in flight: its outcome is awaited first.
 */
async function checkUntilSettled(d: DnsWorld, slug: string, limit = 30): Promise<{ outcome: string; checks: number }> {
  for (let checks = 1; checks <= limit; checks++) {
    const next = d.w.nextDnsCheck(slug);
    if (d.clock.waiting() > 0) d.clock.advanceToNext();
    const outcome = await next;
    if (outcome !== "pending") return { outcome, checks };
  }
  throw new Error(`the checks of ${slug} did not settle within ${limit} re-checks`);
}

const status = (w: World, ns = "tenant-shop") => w.annotations(ns)["voxeil.io/mail-status"];
const lastError = (w: World, ns = "tenant-shop") => w.annotations(ns)["voxeil.io/mail-last-error"];
const wrongSpf = (_slug: string, records: MailDnsRecord[]) =>
  records.map((r) => (r.purpose === "spf" ? { ...r, content: "v=spf1 -all", chunks: ["v=spf1 -all"] } : r));

describe("DNS checks after the stack is up", () => {
  it("makes the site ready once its records verify, every record shown verified", async () => {
    const { w } = await dnsWorld();
    const checked = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(w.runs).toEqual([{ slug: "shop", result: "dns-pending" }]);
    expect(await checked).toBe("verified");

    expect(status(w)).toBe("ready");
    expect(lastError(w)).toBe("");
    const view = await w.reconciler.status("shop");
    expect(view.status).toBe("ready");
    expect(view.dns.records.length).toBeGreaterThan(6);
    expect(view.dns.records.filter((r) => r.state !== "verified")).toEqual([]);
    expect(view.dns.records.find((r) => r.purpose === "mx")?.detail).toContain("mail.example.net");
    expect(view.dns.checkedAt).toBe(new Date(Date.parse("2026-01-01T00:00:00Z")).toISOString());
    expect(view.dns.nextCheckAt).toBeNull();
    expect(view.dns.deadline).toBeNull();
    expect(w.reconciler.dnsPendingCount()).toBe(0);
  });

  it("keeps a site with a wrong SPF provisioning with that record failed, then errors at the deadline naming it", async () => {
    const d = await dnsWorld({ tamper: wrongSpf });
    const { w, clock } = d;
    const first = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(await first).toBe("pending");

    expect(status(w)).toBe("provisioning");
    expect(lastError(w)).toBe("");
    const pending = await w.reconciler.status("shop");
    const spf = pending.dns.records.find((r) => r.purpose === "spf");
    expect(spf).toMatchObject({ state: "failed", detail: expect.stringContaining("v=spf1 -all") });
    expect(pending.dns.records.filter((r) => r.state !== "verified").map((r) => r.purpose)).toEqual(["spf"]);
    expect(pending.run).toBeNull();
    const start = Date.parse("2026-01-01T00:00:00Z");
    expect(pending.dns.nextCheckAt).toBe(new Date(start + INTERVAL).toISOString());
    expect(pending.dns.deadline).toBe(new Date(start + TIMEOUT).toISOString());

    const { outcome, checks } = await checkUntilSettled(d, "shop");
    expect(outcome).toBe("timed-out");
    expect(status(w)).toBe("error");
    expect(lastError(w)).toBe(
      "DNS not verified after 15m; publish the records by hand at the domain's DNS host (the status lists them): " +
        'SPF shop.example failed (found "v=spf1 -all")',
    );
    // Re-checks back off (30 s doubling, at most 5 min) and the last one lands on the deadline: 7 checks in all.
    expect(clock.slept).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 150_000]);
    expect(checks + 1).toBe(7);
    expect(clock.waiting()).toBe(0);
    expect(w.reconciler.dnsPendingCount()).toBe(0);
    expect(w.runs).toEqual([{ slug: "shop", result: "dns-pending" }]);
  });

  it("moves the site to ready when the records appear at a later re-check", async () => {
    const d = await dnsWorld({ withheld: ["shop"] });
    const { w, publishing } = d;
    const first = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(await first).toBe("pending");
    const waiting = await w.reconciler.status("shop");
    expect(waiting.status).toBe("provisioning");
    // The operator sees what to publish, each record still pending with the reason.
    expect(waiting.dns.records.map((r) => r.state)).toEqual(waiting.dns.records.map(() => "pending"));
    expect(waiting.dns.records.find((r) => r.purpose === "dmarc")?.detail).toMatch(/NXDOMAIN/);
    expect(waiting.dns.records.find((r) => r.purpose === "dkim")?.content).toContain("v=DKIM1");

    expect(await checkUntilSettled(d, "shop", 1).catch(() => "still pending")).toBe("still pending");
    publishing.publish("shop");
    expect((await checkUntilSettled(d, "shop")).outcome).toBe("verified");
    expect(status(w)).toBe("ready");
    expect(lastError(w)).toBe("");
  });

  it("names every unverified blocking record at the deadline, and a later enable re-checks and reaches ready", async () => {
    const d = await dnsWorld({ withheld: ["shop"] });
    const { w, publishing } = d;
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect((await checkUntilSettled(d, "shop")).outcome).toBe("timed-out");
    expect(status(w)).toBe("error");
    const message = lastError(w);
    expect(message.length).toBeLessThanOrEqual(256);
    expect(message).toMatch(/^DNS not verified after 15m; publish the records by hand/);
    expect(message).toContain("MX shop.example pending; SPF shop.example pending; DKIM dkim._domainkey.shop.example");
    // Records that do not block (SRV, MTA-STS, TLS-RPT) are not named.
    expect(message).not.toMatch(/srv-|TLS-RPT|MTA-STS/);

    publishing.publish("shop");
    const checked = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(await checked).toBe("verified");
    expect(status(w)).toBe("ready");
    expect(lastError(w)).toBe("");
  });

  it("re-checks on a resync after the deadline and reaches ready once the records are there", async () => {
    const d = await dnsWorld({ withheld: ["shop"] });
    const { w, publishing } = d;
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect((await checkUntilSettled(d, "shop")).outcome).toBe("timed-out");
    publishing.publish("shop");
    const checked = w.nextDnsCheck("shop");
    expect(await w.reconciler.resync()).toBe(1);
    await w.reconciler.idle();
    expect(await checked).toBe("verified");
    expect(status(w)).toBe("ready");
  });

  it("stops the checks when mail is disabled meanwhile", async () => {
    const d = await dnsWorld({ withheld: ["shop"] });
    const { w, server, clock } = d;
    const first = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(await first).toBe("pending");
    expect(clock.waiting()).toBe(1);

    await w.reconciler.requestDisable("shop");
    await w.reconciler.idle();
    expect(status(w)).toBe("disabled");
    expect(clock.waiting()).toBe(0);
    expect(w.reconciler.dnsPendingCount()).toBe(0);
    const queries = server.queries.length;
    clock.advance(TIMEOUT * 2);
    await new Promise((r) => setImmediate(r));
    expect(server.queries.length).toBe(queries);
    expect(status(w)).toBe("disabled");
    expect(lastError(w)).toBe("");
    expect((await w.reconciler.status("shop")).dns).toMatchObject({ records: [], checkedAt: null, deadline: null });
  });

  it("discards a check still in flight when a disable arrives, writing nothing", async () => {
    let release: () => void = () => {};
    let started: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => {
      started = resolve;
    });
    const d = await dnsWorld({
      checker: (real) => ({
        async check(domain, expected) {
          started();
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return real.check(domain, expected);
        },
      }),
    });
    const { w } = d;
    const checked = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    await inFlight;
    await w.reconciler.requestDisable("shop");
    await w.reconciler.idle();
    release();
    expect(await checked).toBe("superseded");
    expect(status(w)).toBe("disabled");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-enabled"]).toBe("false");
  });

  it("holds no run slot while checking: with one slot, another site's run goes ahead and finishes", async () => {
    const d = await dnsWorld({ withheld: ["shop"], reconciler: { maxParallelRuns: 1 } });
    const { w } = d;
    const shopFirst = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(await shopFirst).toBe("pending");
    expect(w.reconciler.runningCount()).toBe(0);
    expect(w.reconciler.dnsPendingCount()).toBe(1);

    const blogChecked = w.nextDnsCheck("blog");
    await w.reconciler.requestEnable("blog");
    await w.reconciler.idle();
    expect(await blogChecked).toBe("verified");
    expect(status(w, "tenant-blog")).toBe("ready");
    expect(status(w)).toBe("provisioning");
    expect(w.reconciler.dnsPendingCount()).toBe(1);
    expect(w.runs).toEqual([
      { slug: "shop", result: "dns-pending" },
      { slug: "blog", result: "dns-pending" },
    ]);
  });

  it("re-checks a ready site on resync without taking it out of ready, and reports drift in the last error", async () => {
    let brokenDkim = false;
    const d = await dnsWorld({
      tamper: (_slug, records) =>
        records.map((r) => (brokenDkim && r.purpose === "dkim" ? { ...r, chunks: ["v=DKIM1;k=rsa;p=AAAA"] } : r)),
    });
    const { w } = d;
    const checked = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(await checked).toBe("verified");

    // Someone replaced the DKIM key at the DNS host; the stack (manual provider) cannot repair that.
    brokenDkim = true;
    const again = w.nextDnsCheck("shop");
    await w.reconciler.resync();
    await w.reconciler.idle();
    expect(await again).toBe("pending");
    expect(status(w)).toBe("ready");
    expect((await w.reconciler.status("shop")).dns.records.find((r) => r.purpose === "dkim")?.state).toBe("failed");
    expect((await checkUntilSettled(d, "shop")).outcome).toBe("timed-out");
    expect(status(w)).toBe("ready");
    expect(lastError(w)).toMatch(/^DNS not verified after 15m.*DKIM dkim\._domainkey\.shop\.example failed/);
  });

  it("stops the checks at shutdown, leaving the site provisioning for the next start to check again", async () => {
    const first = await dnsWorld({ withheld: ["shop"] });
    const checked = first.w.nextDnsCheck("shop");
    await first.w.reconciler.requestEnable("shop");
    await first.w.reconciler.idle();
    expect(await checked).toBe("pending");
    await first.w.reconciler.shutdown(0);
    expect(first.clock.waiting()).toBe(0);
    expect(status(first.w)).toBe("provisioning");

    first.publishing.withheld.delete("shop");
    const second = await startWorld({
      from: first.w,
      clock: first.clock,
      dnsChecker: checkerFor(first.server),
      wrapRunner: () => first.publishing,
      reconciler: { dnsCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT } },
    });
    cleanups.push(() => second.reconciler.shutdown(0));
    const rechecked = second.nextDnsCheck("shop");
    await second.reconciler.start();
    await second.reconciler.idle();
    expect(await rechecked).toBe("verified");
    expect(status(second)).toBe("ready");
  });

  it("starts no checks for a run that finishes during the shutdown drain", async () => {
    const { w, clock } = await dnsWorld({ withheld: ["shop"] });
    w.runner.hold();
    await w.reconciler.requestEnable("shop");
    while (w.runner.ups("shop").length === 0) await new Promise((r) => setTimeout(r, 5));
    const stopped = w.reconciler.shutdown(60_000);
    w.runner.release();
    await stopped;
    expect(w.runs).toEqual([{ slug: "shop", result: "dns-pending" }]);
    expect(w.reconciler.dnsPendingCount()).toBe(0);
    expect(clock.waiting()).toBe(0);
    expect(status(w)).toBe("provisioning");
  });
});

describe("GET /sites/:slug/mail/status during DNS checks", () => {
  it("shows each record's state and detail, when it was checked and until when the checks go on", async () => {
    const { w } = await dnsWorld({ tamper: wrongSpf });
    const first = w.nextDnsCheck("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    await first;
    const { app } = appFor(w);
    const res = await request(app).get("/sites/shop/mail/status").set("Authorization", `Bearer ${TOKENS[0]}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "provisioning", lastError: "", run: null });
    expect(res.body.dns.checkedAt).toMatch(/^2026-01-01T00:00:00/);
    expect(res.body.dns.deadline).toMatch(/^2026-01-01T00:15:00/);
    const byPurpose = Object.fromEntries(
      (res.body.dns.records as Array<{ purpose: string; state: string; detail: string }>).map((r) => [r.purpose, r]),
    );
    expect(byPurpose.mx).toMatchObject({ state: "verified", detail: "MX 10 mail.example.net" });
    expect(byPurpose.spf).toMatchObject({ state: "failed", detail: expect.stringContaining('"v=spf1 -all"') });
    const metrics = await request(app).get("/metrics");
    expect(metrics.text).toMatch(/mail_controller_dns_pending_sites 1/);
  });
});
