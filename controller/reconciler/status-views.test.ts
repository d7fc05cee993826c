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

  it("answers with a new view when anything shown changes, however deep", () => {
    const views = new StatusViews();
    const first = views.keep(viewOf(views, "shop"));
    const progressed = views.keep(
      viewOf(views, "shop", {
        run: { state: "running", desired: "enabled", attempt: 1, done: 1, total: 4, startedAt: "2026-12-01T00:00:00Z" },
      }),
    );
    expect(progressed).not.toBe(first);
    expect(progressed.run?.done).toBe(1);
    const failed = views.keep(viewOf(views, "shop", { status: "error", lastError: "Mailcow answered 500" }));
    expect(failed).not.toBe(progressed);
    expect(failed.lastError).toBe("Mailcow answered 500");
    const noticed = viewOf(views, "shop");
    noticed.dns = { ...noticed.dns, notice: "remove the records you published by hand" };
    expect(views.keep(noticed)).not.toBe(failed);
    expect(views.keep(viewOf(views, "shop", { run: null })).run).toBeNull();
  });

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
