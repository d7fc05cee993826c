import { afterEach, describe, expect, it } from "vitest";
import {
  type KubernetesDouble,
  kubeConfigFor,
  type NamespaceSeed,
  startKubernetesDouble,
} from "../../test/doubles/kubernetes-api";
import { waitUntil } from "../../test/support/wait";
import { createRedactor } from "../redact";
import type { SiteLayoutKind } from "../settings";
import { annotationLayout } from "./annotation-layout";
import { cachedSiteDirectory } from "./kubernetes-site-directory";
import type { NamespaceCache } from "./namespace-cache";
import { SiteNotFoundError } from "./site";

const open: Array<{ cache: NamespaceCache; double: KubernetesDouble }> = [];
afterEach(async () => {
  for (const { cache, double } of open.splice(0)) {
    await cache.stop();
    await double.close();
  }
});

const SEEDS: NamespaceSeed[] = [
  {
    name: "customer-7",
    labels: { "voxeil.io/tenant-slug": "shop" },
    annotations: { "voxeil.io/domain": "shop.example", "platform/owner": "u7" },
  },
  { name: "tenant-blog", annotations: { "voxeil.io/domain": "blog.example" } },
  { name: "tenant-other", labels: { "voxeil.io/tenant-slug": "misc" } },
  {
    name: "user-1",
    annotations: {
      "voxeil.io/site-alpha-domain": "alpha.example",
      "voxeil.io/site-beta-domain": "beta.example",
      "voxeil.io/site-alpha-mailEnabled": "true",
      "voxeil.io/site-alpha-mailStatus": "ready",
    },
  },
];

async function setup(kind: SiteLayoutKind, options: { start?: boolean; namespaces?: NamespaceSeed[] } = {}) {
  const double = await startKubernetesDouble({ namespaces: options.namespaces ?? SEEDS });
  const { sites, cache } = cachedSiteDirectory({
    kubeConfig: kubeConfigFor(double.url),
    layout: annotationLayout(kind, "voxeil.io", "tenant-{slug}"),
    redact: createRedactor([]),
    cache: { backoff: { baseMs: 5, capMs: 20 } },
  });
  open.push({ cache, double });
  if (options.start !== false) {
    await cache.start();
    await waitUntil("the watch is open", () => double.watch.open === 1, 5000);
  }
  return { double, sites, cache };
}

/** Requests other than the cache's own watch. */
const calls = (d: KubernetesDouble) => d.requests.filter((r) => r.query.watch === undefined);

/** Stops the watch from delivering anything: the open one is cut and every reconnect refused. */
function cutWatch(double: KubernetesDouble): void {
  double.faults.add({ watch: true, status: 503, times: 100_000 });
  double.watch.drop();
}

describe("KubernetesSiteDirectory over a NamespaceCache, namespace-per-site", () => {
  it("serves finds and lists from memory once synced: no API call", async () => {
    const { double, sites } = await setup("namespace-per-site");
    const before = calls(double).length;
    for (let i = 0; i < 20; i++) {
      expect((await sites.find("shop"))?.namespace).toBe("customer-7");
      expect((await sites.find("blog"))?.domain).toBe("blog.example");
    }
    expect((await sites.listSites()).map((s) => [s.slug, s.namespace]).sort()).toEqual([
      ["blog", "tenant-blog"],
      ["misc", "tenant-other"],
      ["shop", "customer-7"],
    ]);
    expect(calls(double).length).toBe(before);
    // A slug the cache does not hold is confirmed against the API (a label lookup and the templated name).
    expect(await sites.find("other")).toBeNull();
    expect(calls(double).length - before).toBe(2);
  });

  it("finds the labelled namespace, and the template when nothing is labelled", async () => {
    const { sites } = await setup("namespace-per-site");
    expect((await sites.find("shop"))?.namespace).toBe("customer-7");
    expect((await sites.find("blog"))?.namespace).toBe("tenant-blog");
  });

  it("refuses a slug that a labelled namespace and the templated one both claim, from memory too", async () => {
    const { sites } = await setup("namespace-per-site", {
      namespaces: [...SEEDS, { name: "tenant-shop", annotations: { "voxeil.io/domain": "wrong.example" } }],
    });
    await expect(sites.find("shop")).rejects.toThrow(
      /site shop is claimed by several namespaces \(customer-7, tenant-shop\)/,
    );
    expect((await sites.listSites()).map((s) => s.slug)).not.toContain("shop");
  });

  it("writes with one merge patch and no read, and reads its own write at once, even with the watch cut", async () => {
    const { double, sites } = await setup("namespace-per-site");
    cutWatch(double);
    const before = calls(double).length;
    await sites.patchMail("shop", { enabled: true, provider: "mailcow", domain: "shop.example", status: "pending" });
    expect(
      calls(double)
        .slice(before)
        .map((r) => [r.method, r.path]),
    ).toEqual([["PATCH", "/api/v1/namespaces/customer-7"]]);
    expect((await sites.find("shop"))?.mail).toEqual({
      enabled: true,
      provider: "mailcow",
      domain: "shop.example",
      status: "pending",
      lastError: "",
    });
    expect(calls(double).length).toBe(before + 1);
    expect(double.annotations("customer-7")["platform/owner"]).toBe("u7");
  });

  it("skips a write of values the cache already shows, and writes again once they differ", async () => {
    const { double, sites } = await setup("namespace-per-site");
    const patches = () => calls(double).filter((r) => r.method === "PATCH").length;
    await sites.patchMail("shop", { enabled: true, status: "ready", lastError: "" });
    expect(patches()).toBe(1);
    await sites.patchMail("shop", { enabled: true, status: "ready", lastError: "" });
    await sites.patchMail("shop", { status: "ready" });
    expect(patches()).toBe(1);
    await sites.patchMail("shop", { status: "ready", lastError: "attempt 1 failed" });
    expect(patches()).toBe(2);
    // Someone else changes the status: once the watch brings it, the same write is due again.
    const ns = double.namespaces.get("customer-7");
    if (!ns) throw new Error("customer-7 missing");
    double.seed({
      name: "customer-7",
      labels: ns.metadata.labels,
      annotations: { ...ns.metadata.annotations, "voxeil.io/mail-status": "error" },
    });
    await waitUntil("the change arrives", async () => (await sites.find("shop"))?.mail.status === "error", 5000);
    await sites.patchMail("shop", { status: "ready" });
    expect(patches()).toBe(3);
    expect(double.annotations("customer-7")["voxeil.io/mail-status"]).toBe("ready");
  });

  it("sees a change made outside the controller through the watch", async () => {
    const { double, sites } = await setup("namespace-per-site");
    expect((await sites.find("shop"))?.mail.enabled).toBe(false);
    double.seed({
      name: "customer-7",
      labels: { "voxeil.io/tenant-slug": "shop" },
      annotations: { "voxeil.io/domain": "shop.example", "voxeil.io/mail-enabled": "true" },
    });
    await waitUntil("the change arrives", async () => (await sites.find("shop"))?.mail.enabled === true, 5000);
    // A label moved to another namespace moves the site.
    double.seed({ name: "customer-7" });
    double.seed({ name: "customer-9", labels: { "voxeil.io/tenant-slug": "shop" } });
    await waitUntil("the move arrives", async () => (await sites.find("shop"))?.namespace === "customer-9", 5000);
  });

  it("asks the API for a site it does not hold yet, and keeps the answer", async () => {
    const { double, sites, cache } = await setup("namespace-per-site");
    cutWatch(double);
    double.seed({ name: "tenant-fresh", annotations: { "voxeil.io/domain": "fresh.example" } });
    expect((await sites.find("fresh"))?.domain).toBe("fresh.example");
    expect(cache.get("tenant-fresh")).toBeDefined();
    const before = calls(double).length;
    expect((await sites.find("fresh"))?.namespace).toBe("tenant-fresh");
    expect(calls(double).length).toBe(before);
  });

  it("says a site is gone when its namespace was deleted before the write, and forgets it", async () => {
    const { double, sites, cache } = await setup("namespace-per-site");
    cutWatch(double);
    double.remove("tenant-blog");
    await expect(sites.patchMail("blog", { status: "ready" })).rejects.toBeInstanceOf(SiteNotFoundError);
    expect(cache.get("tenant-blog")).toBeUndefined();
    expect(await sites.find("blog")).toBeNull();
  });

  it("reads from the API before the first sync, and is not ready until then", async () => {
    const { double, sites, cache } = await setup("namespace-per-site", { start: false });
    await expect(sites.ping()).rejects.toMatchObject({ transient: true, message: /namespace cache: not synced yet/ });
    expect((await sites.find("shop"))?.namespace).toBe("customer-7");
    expect(calls(double).some((r) => r.method === "GET")).toBe(true);
    await cache.start();
    await expect(sites.ping()).resolves.toBeUndefined();
  });
});

describe("KubernetesSiteDirectory over a NamespaceCache, shared-namespace", () => {
  it("finds sites through the domain-annotation index among many shared namespaces, without API calls", async () => {
    const namespaces: NamespaceSeed[] = [];
    for (let u = 0; u < 500; u++) {
      const annotations: Record<string, string> = {};
      for (let s = 0; s < 4; s++) annotations[`voxeil.io/site-u${u}-s${s}-domain`] = `s${s}.u${u}.example`;
      namespaces.push({ name: `user-${u}`, annotations });
    }
    const { double, sites } = await setup("shared-namespace", { namespaces });
    const before = calls(double).length;
    expect(await sites.find("u123-s2")).toMatchObject({ namespace: "user-123", domain: "s2.u123.example" });
    expect(await sites.find("u499-s0")).toMatchObject({ namespace: "user-499", domain: "s0.u499.example" });
    expect(await sites.listSites()).toHaveLength(2000);
    expect(calls(double).length).toBe(before);
    // The site's annotation moves to another namespace: the index follows.
    double.seed({ name: "user-123", annotations: {} });
    double.seed({ name: "user-7", annotations: { "voxeil.io/site-u123-s2-domain": "moved.example" } });
    await waitUntil("the move arrives", async () => (await sites.find("u123-s2"))?.namespace === "user-7", 5000);
    expect((await sites.find("u123-s2"))?.domain).toBe("moved.example");
  });

  it("writes only the site's keys and reads them back from memory", async () => {
    const { double, sites } = await setup("shared-namespace");
    expect(await sites.find("alpha")).toMatchObject({ namespace: "user-1", mail: { enabled: true, status: "ready" } });
    await sites.patchMail("beta", { enabled: true, status: "pending" });
    const before = calls(double).length;
    expect((await sites.find("beta"))?.mail).toMatchObject({ enabled: true, status: "pending" });
    expect((await sites.find("alpha"))?.mail).toMatchObject({ enabled: true, status: "ready" });
    expect(calls(double).length).toBe(before);
    expect(double.annotations("user-1")["voxeil.io/site-beta-mailStatus"]).toBe("pending");
  });
});
