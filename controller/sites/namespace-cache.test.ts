import { afterEach, describe, expect, it } from "vitest";
import {
  type KubernetesDouble,
  type KubernetesDoubleOptions,
  kubeConfigFor,
  type NamespaceSeed,
  startKubernetesDouble,
} from "../../test/doubles/kubernetes-api";
import { waitUntil } from "../../test/support/wait";
import { isNewer, NamespaceCache, type NamespaceCacheOptions } from "./namespace-cache";

const open: Array<{ cache: NamespaceCache; double: KubernetesDouble }> = [];
afterEach(async () => {
  for (const { cache, double } of open.splice(0)) {
    await cache.stop();
    await double.close();
  }
});

const SEEDS: NamespaceSeed[] = [
  { name: "tenant-a", labels: { "voxeil.io/tenant-slug": "a" }, annotations: { "voxeil.io/domain": "a.test" } },
  { name: "user-1", annotations: { "voxeil.io/site-b-domain": "b.test" } },
];

async function setup(
  doubleOptions: Partial<KubernetesDoubleOptions> = {},
  cacheOptions: Partial<NamespaceCacheOptions> = {},
) {
  const double = await startKubernetesDouble({ namespaces: SEEDS, ...doubleOptions });
  const cache = new NamespaceCache({
    kubeConfig: kubeConfigFor(double.url),
    backoff: { baseMs: 5, capMs: 20 },
    ...cacheOptions,
  });
  open.push({ cache, double });
  return { double, cache };
}

const lists = (d: KubernetesDouble) => d.requests.filter((r) => r.method === "GET" && r.query.watch === undefined);
const watches = (d: KubernetesDouble) => d.requests.filter((r) => r.query.watch !== undefined);
const annotation = (c: NamespaceCache, name: string, key: string) => c.get(name)?.annotations[key];

describe("NamespaceCache", () => {
  it("lists once, then watches from the list's resourceVersion, and serves every namespace from memory", async () => {
    const { double, cache } = await setup();
    expect(cache.hasSynced).toBe(false);
    await cache.start();
    expect(cache.hasSynced).toBe(true);
    await waitUntil("the watch is open", () => double.watch.open === 1, 5000);
    expect(lists(double)).toHaveLength(1);
    expect(watches(double)[0]?.query).toMatchObject({ watch: "true", resourceVersion: double.resourceVersion() });
    const before = double.requests.length;
    expect(cache.list().map((n) => n.name)).toEqual(["tenant-a", "user-1"]);
    expect(cache.get("tenant-a")).toMatchObject({
      labels: { "voxeil.io/tenant-slug": "a" },
      annotations: { "voxeil.io/domain": "a.test" },
    });
    expect(double.requests.length).toBe(before);
  });

  it("takes in changes made elsewhere through the watch: seeds, patches, deletions", async () => {
    const { double, cache } = await setup();
    await cache.start();
    double.seed({ name: "tenant-new", annotations: { "voxeil.io/domain": "new.test" } });
    await waitUntil("the new namespace arrives", () => cache.get("tenant-new") !== undefined, 5000);
    double.seed({ name: "tenant-a", annotations: { "voxeil.io/domain": "moved.test" } });
    await waitUntil(
      "the change arrives",
      () => annotation(cache, "tenant-a", "voxeil.io/domain") === "moved.test",
      5000,
    );
    double.remove("user-1");
    await waitUntil("the deletion arrives", () => cache.get("user-1") === undefined, 5000);
    expect(cache.version).toBe(double.resourceVersion());
    expect(lists(double)).toHaveLength(1);
  });

  it("resumes a dropped watch from the last version it saw, without listing again", async () => {
    const { double, cache } = await setup();
    await cache.start();
    await waitUntil("the watch is open", () => double.watch.open === 1, 5000);
    double.seed({ name: "seen-before" });
    await waitUntil("the first change arrives", () => cache.get("seen-before") !== undefined, 5000);
    const seen = cache.version;
    expect(double.watch.drop()).toBe(1);
    double.seed({ name: "while-down" });
    await waitUntil("the change made while down arrives", () => cache.get("while-down") !== undefined, 5000);
    expect(watches(double).at(-1)?.query.resourceVersion).toBe(seen);
    expect(lists(double)).toHaveLength(1);
    expect(cache.counters.expired).toBe(0);
  });

  for (const expiredWatch of ["error-event", "status"] as const) {
    it(`lists again when the watch's version has expired (410 as ${expiredWatch})`, async () => {
      const { double, cache } = await setup({ expiredWatch });
      await cache.start();
      await waitUntil("the watch is open", () => double.watch.open === 1, 5000);
      // All at once, before the cache can reconnect: a change it missed, then a history that no longer has it.
      double.watch.drop();
      double.seed({ name: "missed" });
      double.remove("user-1");
      double.watch.compact();
      await waitUntil("the list after the 410 brings the change", () => cache.get("missed") !== undefined, 5000);
      expect(cache.get("user-1")).toBeUndefined();
      expect(cache.counters.expired).toBe(1);
      expect(lists(double)).toHaveLength(2);
      await waitUntil("the watch is open again", () => double.watch.open === 1, 5000);
      double.seed({ name: "after" });
      await waitUntil("later changes arrive by watch", () => cache.get("after") !== undefined, 5000);
    });
  }

  it("ignores an event older than what it holds, and a deletion older than it", async () => {
    const { double, cache } = await setup();
    await cache.start();
    await waitUntil("the watch is open", () => double.watch.open === 1, 5000);
    const held = cache.get("tenant-a");
    const stale = {
      metadata: { name: "tenant-a", resourceVersion: String(Number(held?.resourceVersion) - 1), annotations: {} },
    };
    double.watch.send({ type: "MODIFIED", object: stale });
    double.watch.send({ type: "DELETED", object: stale });
    double.seed({ name: "marker" });
    await waitUntil("the marker after the stale events", () => cache.get("marker") !== undefined, 5000);
    expect(cache.get("tenant-a")).toEqual(held);
    expect(cache.counters.staleIgnored).toBe(2);
  });

  it("takes a write's answer at once, but never one older than what the watch already brought", async () => {
    const { double, cache } = await setup();
    await cache.start();
    const held = cache.get("tenant-a");
    if (!held) throw new Error("tenant-a not cached");
    const newer = { ...held, resourceVersion: String(Number(double.resourceVersion()) + 5), annotations: { x: "1" } };
    expect(cache.observe(newer)).toBe(true);
    expect(cache.get("tenant-a")?.annotations).toEqual({ x: "1" });
    expect(cache.observe({ ...held, annotations: { x: "old" } })).toBe(false);
    expect(cache.observe({ ...newer })).toBe(false);
    expect(cache.get("tenant-a")?.annotations).toEqual({ x: "1" });
    // A name the synced cache does not hold, at a version its list already covered, is a deleted namespace.
    expect(cache.observe({ name: "ghost", resourceVersion: "1", labels: {}, annotations: {} })).toBe(false);
  });

  it("does not bring a deleted namespace back from a late answer", async () => {
    const { double, cache } = await setup();
    await cache.start();
    const held = cache.get("user-1");
    if (!held) throw new Error("user-1 not cached");
    double.remove("user-1");
    await waitUntil("the deletion arrives", () => cache.get("user-1") === undefined, 5000);
    expect(cache.observe(held)).toBe(false);
    expect(cache.get("user-1")).toBeUndefined();
  });

  it("keeps indexes current as namespaces change and disappear", async () => {
    const { double, cache } = await setup();
    cache.addIndex("domain", (ns) => (ns.annotations["voxeil.io/domain"] ? [ns.annotations["voxeil.io/domain"]] : []));
    await cache.start();
    expect(cache.byIndex("domain", "a.test").map((n) => n.name)).toEqual(["tenant-a"]);
    double.seed({ name: "tenant-a", annotations: { "voxeil.io/domain": "c.test" } });
    await waitUntil("the change arrives", () => cache.byIndex("domain", "c.test").length === 1, 5000);
    expect(cache.byIndex("domain", "a.test")).toEqual([]);
    double.remove("tenant-a");
    await waitUntil("the deletion arrives", () => cache.byIndex("domain", "c.test").length === 0, 5000);
    expect(() => cache.byIndex("nope", "x")).toThrow(/no index nope/);
  });

  it("is not healthy until synced, keeps retrying a failing list with backoff, and syncs once the API answers", async () => {
    const { double, cache } = await setup({}, { syncTimeoutMs: 50 });
    double.faults.add({ method: "GET", watch: false, status: 500, times: 3 });
    const started = cache.start();
    expect(cache.health()).toMatch(/^not synced yet/);
    await started; // gives up waiting after syncTimeoutMs, or syncs: either way it does not throw
    await waitUntil("synced after the failures", () => cache.hasSynced, 5000);
    expect(cache.health()).toBeUndefined();
    expect(lists(double).map((r) => r.status)).toEqual([500, 500, 500, 200]);
  });

  it("reconnects a watch the API refuses, after backing off", async () => {
    const { double, cache } = await setup();
    await cache.start();
    await waitUntil("the watch is open", () => double.watch.open === 1, 5000);
    double.faults.add({ watch: true, status: 503, times: 2 });
    double.watch.drop();
    await waitUntil("the watch is open again", () => double.watch.open === 1, 5000);
    expect(watches(double).map((r) => r.status)).toEqual([200, 503, 503, 200]);
    double.seed({ name: "later" });
    await waitUntil("changes arrive again", () => cache.get("later") !== undefined, 5000);
  });

  it("reports a watch that stays down, and recovers", async () => {
    const { double, cache } = await setup({}, { staleAfterMs: 0 });
    await cache.start();
    // The double counts the watch open when the request arrives, the cache when the answer does: wait for the
    // cache's own view (waiting for the double's raced with the answer and failed now and then).
    await waitUntil("the cache's watch is open", () => double.watch.open === 1 && cache.watching, 5000);
    expect(cache.health()).toBeUndefined();
    double.faults.add({ watch: true, status: 500, times: 1000 });
    double.watch.drop();
    await waitUntil("the cache says the watch is down", () => !cache.watching, 5000);
    expect(cache.health()).toMatch(/^watch down for \d+ s/);
    double.faults.clear();
    await waitUntil("the watch is back", () => cache.health() === undefined, 5000);
  });

  it("stops watching on stop", async () => {
    const { double, cache } = await setup();
    await cache.start();
    await waitUntil("the watch is open", () => double.watch.open === 1, 5000);
    await cache.stop();
    await waitUntil("the watch is closed", () => double.watch.open === 0, 5000);
    const requests = double.requests.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(double.requests.length).toBe(requests);
  });
});

describe("isNewer", () => {
  it("compares decimal resourceVersions as numbers and anything else by difference", () => {
    expect(isNewer("10", "9")).toBe(true);
    expect(isNewer("9", "10")).toBe(false);
    expect(isNewer("10", "10")).toBe(false);
    expect(isNewer("12345678901234567890", "9")).toBe(true);
    expect(isNewer("007", "7")).toBe(false);
    expect(isNewer("abc", "abd")).toBe(true);
    expect(isNewer("abc", "abc")).toBe(false);
  });
});
