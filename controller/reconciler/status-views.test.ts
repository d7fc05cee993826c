import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MailDnsRecord } from "../../components/site-records";
import { type MailStatusView, StatusViews, sameValue } from "./status-views";

const RECORDS: MailDnsRecord[] = [
  { name: "shop.example", type: "MX", content: "mail.example.net", priority: 10, ttl: 3600, purpose: "mx" },
  {
    name: "shop.example",
    type: "TXT",
    content: "v=spf1 mx -all",
    chunks: ["v=spf1 mx -all"],
    ttl: 3600,
    purpose: "spf",
  },
];

/** A view as the reconciler builds one for every answer: a new object each time. */
function viewOf(views: StatusViews, slug: string, changes: Partial<MailStatusView> = {}): MailStatusView {
  return {
    slug,
    enabled: true,
    provider: "mailcow",
    domain: `${slug}.example`,
    status: "ready",
    lastError: "",
    dns: {
      provider: "manual",
      records: views.records(RECORDS, "manual", undefined, false),
      checkedAt: null,
      nextCheckAt: null,
      deadline: null,
    },
    run: { state: "queued", desired: "enabled", attempt: 0, done: 0, total: 0, startedAt: null },
    ...changes,
  };
}

describe("StatusViews", () => {
  it("answers an unchanged site with the very view it answered before", () => {
    const views = new StatusViews();
    const first = views.keep(viewOf(views, "shop"));
    expect(views.keep(viewOf(views, "shop"))).toBe(first);
  });

  // Each change alone, against the unchanged view: a comparison that skipped any one of these would answer stale.
  const changes: Array<[string, (v: MailStatusView) => MailStatusView]> = [
    ["the status", (v) => ({ ...v, status: "error" })],
    ["the last error", (v) => ({ ...v, lastError: "Mailcow answered 500" })],
    ["whether mail is on", (v) => ({ ...v, enabled: false })],
    ["the domain", (v) => ({ ...v, domain: "other.example" })],
    ["the DNS provider", (v) => ({ ...v, dns: { ...v.dns, provider: "cloudflare" } })],
    ["the records", (v) => ({ ...v, dns: { ...v.dns, records: v.dns.records.slice(1) } })],
    ["the last check", (v) => ({ ...v, dns: { ...v.dns, checkedAt: "2026-12-01T00:00:00.000Z" } })],
    ["the next check", (v) => ({ ...v, dns: { ...v.dns, nextCheckAt: "2026-12-01T00:00:30.000Z" } })],
    ["the deadline", (v) => ({ ...v, dns: { ...v.dns, deadline: "2026-12-01T00:15:00.000Z" } })],
    ["a notice", (v) => ({ ...v, dns: { ...v.dns, notice: "remove the records you published by hand" } })],
    ["no run any more", (v) => ({ ...v, run: null })],
    ["the run's state", (v) => ({ ...v, run: v.run && { ...v.run, state: "running" } })],
    ["the run's progress", (v) => ({ ...v, run: v.run && { ...v.run, done: 1 } })],
    ["the run's attempt", (v) => ({ ...v, run: v.run && { ...v.run, attempt: 2 } })],
    ["the run's start", (v) => ({ ...v, run: v.run && { ...v.run, startedAt: "2026-12-01T00:00:00.000Z" } })],
  ];
  for (const [what, change] of changes) {
    it(`answers with a new view when ${what} changes, and with a new one again when it changes back`, () => {
      const views = new StatusViews();
      const before = views.keep(viewOf(views, "shop"));
      const changed = views.keep(change(viewOf(views, "shop")));
      expect(changed).not.toBe(before);
      expect(sameValue(changed, before)).toBe(false);
      const back = views.keep(viewOf(views, "shop"));
      expect(back).not.toBe(changed);
      expect(sameValue(back, before)).toBe(true);
    });
  }

  it("hands out views frozen all the way down, records and their chunks included", () => {
    const views = new StatusViews();
    const kept = views.keep(viewOf(views, "shop"));
    expect(Object.isFrozen(kept)).toBe(true);
    expect(Object.isFrozen(kept.dns)).toBe(true);
    expect(Object.isFrozen(kept.run)).toBe(true);
    expect(Object.isFrozen(kept.dns.records)).toBe(true);
    for (const record of kept.dns.records) {
      expect(Object.isFrozen(record)).toBe(true);
      if (record.chunks) expect(Object.isFrozen(record.chunks)).toBe(true);
    }
    // The records' source stays the reconciler's to change: the views copy the chunks rather than freeze them.
    expect(Object.isFrozen(RECORDS[1].chunks)).toBe(false);
  });

  it("keeps each site's view apart", () => {
    const views = new StatusViews();
    const shop = views.keep(viewOf(views, "shop"));
    const blog = views.keep(viewOf(views, "blog"));
    expect(blog).not.toBe(shop);
    expect(views.keep(viewOf(views, "shop"))).toBe(shop);
    expect(views.keep(viewOf(views, "blog"))).toBe(blog);
  });

  it("keeps the most recently answered sites only, up to its limit", () => {
    const views = new StatusViews(2);
    const a = views.keep(viewOf(views, "a"));
    views.keep(viewOf(views, "b"));
    expect(views.keep(viewOf(views, "a"))).toBe(a); // a is now the most recent
    views.keep(viewOf(views, "c")); // b, the oldest, goes
    expect(views.size).toBe(2);
    expect(views.keep(viewOf(views, "a"))).toBe(a);
    const b = viewOf(views, "b");
    expect(views.keep(b)).toBe(b);
  });
});

describe("sameValue", () => {
  // The oracle is Node's deep equality over JSON values (after a round trip, so -0 and 0 are one number, as in JSON).
  const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

  it("says two JSON values are the same exactly when Node's deep equality does", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(sameValue(a, b)).toBe(isDeepStrictEqual(a, b));
      }),
    );
  });

  it("finds a value the same as its copy, and different once any member changes", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json, { minKeys: 1 }), fc.nat(), (value, pick) => {
        const copy = structuredClone(value);
        expect(sameValue(value, copy)).toBe(true);
        const key = Object.keys(copy)[pick % Object.keys(copy).length];
        copy[key] = { changed: copy[key] };
        expect(sameValue(value, copy)).toBe(false);
      }),
    );
  });

  it("tells an array from an object with the same members, and a missing member from an undefined one", () => {
    expect(sameValue(["x"], { 0: "x" })).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameValue({ a: 1, b: undefined }, { a: 1 })).toBe(false);
  });
});
