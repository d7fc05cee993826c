import { afterEach, describe, expect, it } from "vitest";
import { MAIL_HOST, startWorld, type World } from "../../test/support/reconciler-world";
import { SiteNotFoundError } from "../sites/site";
import { StackRunError } from "../stacks/stack-runner";
import { RequestRejected } from "./reconciler";

const worlds: World[] = [];
async function world(options?: Parameters<typeof startWorld>[0]): Promise<World> {
  const w = await startWorld(options);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close().catch(() => {});
});

const MAIL_KEYS = (a: Record<string, string>) =>
  Object.fromEntries(Object.entries(a).filter(([k]) => k.startsWith("voxeil.io/mail-")));

describe("enable", () => {
  it("brings a site to ready: Mailcow domain active with its rate limit, DKIM key, stack enabled, every annotation", async () => {
    const w = await world();
    const accepted = await w.reconciler.requestEnable("shop");
    expect(accepted.status).toBe("pending");
    // The answer says a run is coming (it begins on the next turn of the event loop), so a panel keeps polling.
    expect(accepted.run).toMatchObject({ state: "queued", desired: "enabled" });
    await w.reconciler.idle();

    expect(MAIL_KEYS(w.annotations("tenant-shop"))).toEqual({
      "voxeil.io/mail-enabled": "true",
      "voxeil.io/mail-provider": "mailcow",
      "voxeil.io/mail-domain": "shop.example",
      "voxeil.io/mail-status": "ready",
      "voxeil.io/mail-last-error": "",
      // The first request is generation 1, and the run that reached `ready` observed it.
      "voxeil.io/mail-generation": "1",
      "voxeil.io/mail-observed-generation": "1",
    });
    expect(w.annotations("tenant-shop")["voxeil.io/domain"]).toBe("shop.example");
    const domain = await w.client.getDomain("shop.example");
    expect(domain).toMatchObject({ active: true, rateLimit: { value: 500, frame: "h" } });
    expect(await w.client.getDkim("shop.example")).toMatchObject({ selector: "dkim" });
    expect(w.runner.enabled("shop")).toBe(true);
    expect(w.runner.stacks.get("shop")?.["mail-sites:dkim"]?.value).toContain("v=DKIM1");

    const status = await w.reconciler.status("shop");
    expect(status).toMatchObject({ slug: "shop", enabled: true, status: "ready", lastError: "", run: null });
    expect(status.dns.provider).toBe("manual");
    const types = status.dns.records.map((r) => `${r.type} ${r.name}`);
    expect(types).toContain("MX shop.example");
    expect(types).toContain("TXT dkim._domainkey.shop.example");
    expect(status.dns.records.every((r) => r.state === "manual")).toBe(true);
  });

  it("shows records nobody holding an answer can change, and a repeated enable shows the same records", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    const first = await w.reconciler.status("shop");
    const mx = first.dns.records.find((r) => r.type === "MX");
    expect(mx).toBeDefined();
    // One answer's records are shared with the next (they are not rebuilt per request), so they must not change.
    expect(() => {
      (mx as { state: string }).state = "verified";
    }).toThrow(TypeError);
    expect(() => (first.dns.records as unknown[]).push({})).toThrow(TypeError);
    const again = await w.reconciler.requestEnable("shop");
    expect(again.dns.records).toEqual(first.dns.records);
    expect(again.dns.records.every((r) => r.state === "manual")).toBe(true);
  });

  it("makes exactly the Mailcow calls an enable needs, and a repeated enable only reads", async () => {
    const w = await world();
    const calls = () => w.mailcow.requests.map((r) => `${r.method} ${r.route ?? r.path}`);
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    // The request's ownership check finds no domain, so the run creates it without a second read; then the DKIM key
    // (read, create, read back).
    expect(calls()).toEqual([
      "GET get/domain/shop.example",
      "POST add/domain",
      "GET get/dkim/shop.example",
      "POST add/dkim",
      "GET get/dkim/shop.example",
    ]);
    const again = w.mark();
    await w.reconciler.requestEnable("shop", { domain: "SHOP.example." });
    await w.reconciler.idle();
    // Ownership is known from the first run; the run reads the domain and the key and changes nothing.
    expect(calls().slice(-again())).toEqual(["GET get/domain/shop.example", "GET get/dkim/shop.example"]);
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
  });

  it("re-activates an inactive domain without re-creating it", async () => {
    const w = await world();
    w.mailcow.state.seedDomain("blog.example", { active: 0, description: "mail-zone:site=blog" });
    await w.reconciler.requestEnable("blog");
    await w.reconciler.idle();
    expect(await w.client.getDomain("blog.example")).toMatchObject({ active: true });
    expect(w.mailcow.count({ route: "add/domain" })).toBe(0);
  });

  it("refuses another site's domain created between the request and its run, changing nothing of it", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    // The request saw no domain; another site's appears before the run (its marker says so).
    w.mailcow.state.seedDomain("shop.example", { active: 1, description: "mail-zone:site=blog" });
    await w.reconciler.idle();
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("error");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toMatch(/belongs to site blog/);
    expect(w.mailcow.state.domains.get("shop.example")).toMatchObject({
      active: 1,
      description: "mail-zone:site=blog",
    });
    expect(w.mailcow.count({ route: "add/dkim" })).toBe(0);
  });

  it("refuses a Mailcow domain made outside the controller, unless the operator allows adopting it", async () => {
    const w = await world();
    w.mailcow.state.seedDomain("blog.example", { active: 0, description: "made by hand" });
    await expect(w.reconciler.requestEnable("blog")).rejects.toMatchObject({ status: 409, code: "domain_not_marked" });
    expect(w.annotations("tenant-blog")["voxeil.io/mail-enabled"]).toBeUndefined();
    expect(await w.client.getDomain("blog.example")).toMatchObject({ active: false });

    const adopting = await world({ from: w, env: { ADOPT_UNMARKED_DOMAINS: "true" } });
    await adopting.reconciler.requestEnable("blog");
    await adopting.reconciler.idle();
    expect(await w.client.getDomain("blog.example")).toMatchObject({ active: true, owner: "blog" });
    expect(w.mailcow.state.domains.get("blog.example")?.description).toBe("made by hand (mail-zone:site=blog)");
    expect(w.mailcow.count({ route: "add/domain" })).toBe(0);
  });

  it("refuses a domain other than the site's, a site without a domain and the mail host, changing nothing", async () => {
    const w = await world();
    const before = w.k8s.snapshot();
    await expect(w.reconciler.requestEnable("shop", { domain: "other.example" })).rejects.toMatchObject({
      status: 409,
      code: "domain_mismatch",
    });
    await expect(w.reconciler.requestEnable("shop", { domain: "not a domain" })).rejects.toMatchObject({
      status: 400,
      code: "invalid_domain",
    });
    await expect(w.reconciler.requestEnable("nodomain")).rejects.toMatchObject({ code: "site_has_no_domain" });
    await expect(w.reconciler.requestEnable("mailhost")).rejects.toBeInstanceOf(RequestRejected);
    await expect(w.reconciler.requestEnable("ghost")).rejects.toBeInstanceOf(SiteNotFoundError);
    await w.reconciler.idle();
    expect(w.k8s.snapshot()).toEqual(before);
    expect(w.mailcow.requests).toHaveLength(0);
    expect(w.runner.calls).toHaveLength(0);
  });
});

describe("disable", () => {
  it("takes the records down, deactivates the domain and keeps the mailboxes", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    await w.client.addMailbox({ localPart: "info", domain: "shop.example", password: "Pw-123456789", quotaMb: 100 });

    const calls = w.mark();
    const accepted = await w.reconciler.requestDisable("shop");
    expect(accepted.status).toBe("disabling");
    await w.reconciler.idle();

    expect(calls()).toBeLessThanOrEqual(2);
    expect(MAIL_KEYS(w.annotations("tenant-shop"))).toMatchObject({
      "voxeil.io/mail-enabled": "false",
      "voxeil.io/mail-status": "disabled",
      "voxeil.io/mail-last-error": "",
    });
    expect(await w.client.getDomain("shop.example")).toMatchObject({ active: false, mailboxCount: 1 });
    expect((await w.client.listMailboxes("shop.example")).map((m) => m.username)).toEqual(["info@shop.example"]);
    expect(w.runner.enabled("shop")).toBe(false);
    const status = await w.reconciler.status("shop");
    expect(status.dns.records).toEqual([]);
  });

  it("changes neither Mailcow nor the stack for a site that never had mail (one read: the ownership check)", async () => {
    const w = await world();
    await w.reconciler.requestDisable("blog");
    await w.reconciler.idle();
    expect(w.mailcow.requests.map((r) => `${r.method} ${r.route}`)).toEqual(["GET get/domain/blog.example"]);
    expect(w.runner.calls).toHaveLength(0);
    expect(w.annotations("tenant-blog")["voxeil.io/mail-status"]).toBe("disabled");
  });
});

describe("the persisted generation", () => {
  it("lets a restarted controller finish a request whose run never observed it, even with a settled status", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    // A request recorded (generation 2) by a controller that died before its run: the status still says ready.
    await w.k8s.seed({
      name: "tenant-shop",
      labels: { "voxeil.io/tenant-slug": "shop" },
      annotations: {
        ...w.annotations("tenant-shop"),
        "voxeil.io/mail-enabled": "false",
        "voxeil.io/mail-status": "disabled",
        "voxeil.io/mail-generation": "2",
      },
    });
    const restarted = await world({ from: w });
    await restarted.reconciler.start();
    await restarted.reconciler.idle();
    expect(restarted.runs).toEqual([{ slug: "shop", result: "disabled" }]);
    expect(w.annotations("tenant-shop")["voxeil.io/mail-observed-generation"]).toBe("2");
    expect((await w.client.getDomain("shop.example"))?.active).toBe(false);
    // The next request continues from the persisted generation, not from 1.
    await restarted.reconciler.requestEnable("shop");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-generation"]).toBe("3");
    await restarted.reconciler.idle();
    expect(w.annotations("tenant-shop")["voxeil.io/mail-observed-generation"]).toBe("3");
  });
});

describe("failures", () => {
  it("retries while Mailcow is down, then stops at error with the last error", async () => {
    const w = await world();
    w.mailcow.faults.inject({ kind: "html-500" });
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    const a = w.annotations("tenant-shop");
    expect(a["voxeil.io/mail-status"]).toBe("error");
    expect(a["voxeil.io/mail-last-error"]).toMatch(/mailcow ensureDomain/);
    expect(a["voxeil.io/mail-last-error"]).toMatch(/500/);
    expect(a["voxeil.io/mail-last-error"]).not.toContain(w.mailcow.apiKey);
    // three attempts, two backoff sleeps: 100 then 200 ms
    expect(w.sleeps).toEqual([100, 200]);
    expect(w.runs).toEqual([{ slug: "shop", result: "error" }]);
    // One ownership check at the request (Mailcow down: the request is still recorded), then one per attempt.
    expect(w.mailcow.count({ route: "get/domain" })).toBe(4);
  });

  it("recovers when Mailcow comes back before the attempts run out", async () => {
    const w = await world();
    // Down for the request's ownership check and the run's first attempt.
    w.mailcow.faults.inject({ kind: "html-500", times: 2 });
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toBe("");
    expect(w.sleeps).toEqual([100]);
  });

  it("stops at error without retrying when Mailcow refuses the input", async () => {
    const w = await world();
    w.mailcow.faults.inject({ kind: "danger", route: "add/domain", msg: ["domain_invalid", "shop.example"] });
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("error");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toMatch(/domain_invalid/);
    expect(w.sleeps).toEqual([]);
    expect(w.mailcow.count({ route: "add/domain" })).toBe(1);
    expect(w.runner.calls).toHaveLength(0);
  });

  it("retries a Kubernetes conflict on the status write", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    w.k8s.faults.add({ method: "PATCH", status: 409, times: 1 });
    await w.reconciler.idle();
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
    expect(w.sleeps.length).toBe(1);
  });

  it("retries a stack failure and clears a lock conflict before the next attempt", async () => {
    const w = await world();
    w.runner.locked.add("shop");
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(w.runner.calls.map((c) => c.op)).toEqual(["up", "clearStaleLock", "up"]);
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
  });

  it("stops at error when the stack keeps failing", async () => {
    const w = await world();
    const fail = new StackRunError("stack shop: network unreachable", true);
    w.runner.script({ fail }, { fail }, { fail });
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("error");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toBe("stack shop: network unreachable");
    expect(w.runner.ups("shop")).toHaveLength(3);
  });
});

describe("coalescing", () => {
  it("ends 50 interleaved enable/disable calls in the state of the last call, with few runs", async () => {
    const w = await world();
    w.runner.hold(); // the first run stays in its stack step while the calls arrive
    let last: "enable" | "disable" = "enable";
    for (let i = 0; i < 50; i++) {
      last = i % 3 === 1 ? "disable" : "enable";
      if (i === 49) last = "disable";
      if (last === "enable") await w.reconciler.requestEnable("shop");
      else await w.reconciler.requestDisable("shop");
    }
    w.runner.release();
    await w.reconciler.idle();
    expect(last).toBe("disable");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-enabled"]).toBe("false");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("disabled");
    expect((await w.client.getDomain("shop.example"))?.active).toBe(false);
    expect(w.runner.enabled("shop")).toBe(false);
    // one run held in its stack step while the calls arrived, then at most one follow-up with the last state
    expect(w.runs.length).toBeLessThanOrEqual(2);
    expect(w.runs.at(-1)?.result).toBe("disabled");
    expect(w.runner.overlapped).toBe(false);
  });

  it("ends enabled when the last of many calls is an enable", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    w.runner.hold();
    for (let i = 0; i < 20; i++) {
      await w.reconciler.requestDisable("shop");
      await w.reconciler.requestEnable("shop");
    }
    w.runner.release();
    await w.reconciler.idle();
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
    expect(w.runner.enabled("shop")).toBe(true);
    // the first enable, then the disable run held at its stack step, then one run for the final enable
    expect(w.runs.length).toBeLessThanOrEqual(3);
  });

  it("never runs more stack operations at once than the limit, while the next runs do their Mailcow steps", async () => {
    const namespaces = Array.from({ length: 9 }, (_, i) => ({
      name: `tenant-s${i}`,
      annotations: { "voxeil.io/domain": `s${i}.example` },
    }));
    const w = await world({ namespaces, reconciler: { maxParallelRuns: 3 } });
    w.runner.hold();
    for (let i = 0; i < 9; i++) await w.reconciler.requestEnable(`s${i}`);
    // three runs reach their stack step and wait there; three more are in flight, waiting for a stack slot after
    // their Mailcow steps; the last three wait in the queue
    while (w.runner.calls.length < 3 || w.reconciler.runningCount() < 6) await new Promise((r) => setTimeout(r, 5));
    expect(w.reconciler.stackRunsCount()).toBe(3);
    expect(w.runner.calls.length).toBe(3);
    expect(w.reconciler.runningCount()).toBe(6);
    expect(w.reconciler.queueDepth()).toBe(3);
    expect((await w.reconciler.status("s8")).run?.state).toBe("queued");
    w.runner.release();
    await w.reconciler.idle();
    expect(w.runner.maxParallel).toBe(3);
    for (let i = 0; i < 9; i++) expect(w.annotations(`tenant-s${i}`)["voxeil.io/mail-status"]).toBe("ready");
  });
});

describe("restart and shutdown", () => {
  it("queues unsettled sites again on start and clears their stale stack lock first", async () => {
    const w = await world({
      namespaces: [
        {
          name: "tenant-shop",
          annotations: {
            "voxeil.io/domain": "shop.example",
            "voxeil.io/mail-enabled": "true",
            "voxeil.io/mail-domain": "shop.example",
            "voxeil.io/mail-status": "provisioning",
          },
        },
        {
          name: "tenant-blog",
          annotations: {
            "voxeil.io/domain": "blog.example",
            "voxeil.io/mail-enabled": "false",
            "voxeil.io/mail-status": "disabled",
          },
        },
      ],
    });
    w.runner.locked.add("shop");
    await w.reconciler.start();
    await w.reconciler.idle();
    expect(w.runner.calls.map((c) => `${c.op} ${c.slug}`)).toEqual(["clearStaleLock shop", "up shop"]);
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
    expect(w.annotations("tenant-blog")["voxeil.io/mail-status"]).toBe("disabled");
  });

  it("aborts runs at the shutdown deadline, leaving them for the next start", async () => {
    const first = await startWorld({ runnerDefaults: { delayMs: 60_000 } });
    await first.reconciler.requestEnable("shop");
    while (first.runner.ups("shop").length === 0) await new Promise((r) => setTimeout(r, 5));
    await first.reconciler.shutdown(20);
    expect(first.runs).toEqual([{ slug: "shop", result: "aborted" }]);
    expect(first.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("provisioning");
    expect(first.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toMatch(/interrupted/);
    await expect(first.reconciler.requestEnable("shop")).rejects.toMatchObject({ status: 503 });

    const second = await world({ from: first, runnerDefaults: {} });
    // the runner double is shared; let its next call succeed at once
    second.runner.script({ delayMs: 0 });
    await second.reconciler.start();
    await second.reconciler.idle();
    expect(second.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
    expect(second.mailcow.state.domains.size).toBe(1);
  });

  it("re-queues drifted sites on resync", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    await w.client.setDomainActive("shop.example", false); // drift: someone switched it off in the UI
    expect(await w.reconciler.resync()).toBe(1);
    await w.reconciler.idle();
    expect((await w.client.getDomain("shop.example"))?.active).toBe(true);
  });
});

describe("purge", () => {
  it("deletes the mailboxes, the domain and the stack, and says purged", async () => {
    const w = await world();
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    await w.client.addMailbox({ localPart: "info", domain: "shop.example", password: "Pw-123456789", quotaMb: 100 });
    const accepted = await w.reconciler.requestPurge("shop");
    expect(accepted.status).toBe("purging");
    await w.reconciler.idle();
    expect(await w.client.getDomain("shop.example")).toBeNull();
    expect(await w.client.getDkim("shop.example")).toBeNull();
    expect(w.mailcow.state.mailboxes.size).toBe(0);
    expect(w.runner.stacks.has("shop")).toBe(false);
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("purged");
    expect(w.annotations("tenant-shop")["voxeil.io/mail-enabled"]).toBe("false");
  });
});

describe("shared-namespace layout", () => {
  it("enables and disables a site through its per-slug keys, leaving the neighbour alone", async () => {
    const w = await world({
      layout: "shared-namespace",
      namespaces: [
        {
          name: "user-7",
          annotations: {
            "voxeil.io/site-shop-domain": "shop.example",
            "voxeil.io/site-blog-domain": "blog.example",
            "voxeil.io/site-blog-image": "nginx:1",
          },
        },
      ],
    });
    await w.reconciler.requestEnable("shop");
    await w.reconciler.idle();
    expect(w.annotations("user-7")).toEqual({
      "voxeil.io/site-shop-domain": "shop.example",
      "voxeil.io/site-blog-domain": "blog.example",
      "voxeil.io/site-blog-image": "nginx:1",
      "voxeil.io/site-shop-mailEnabled": "true",
      "voxeil.io/site-shop-mailProvider": "mailcow",
      "voxeil.io/site-shop-mailDomain": "shop.example",
      "voxeil.io/site-shop-mailStatus": "ready",
      "voxeil.io/site-shop-mailLastError": "",
      "voxeil.io/site-shop-mailGeneration": "1",
      "voxeil.io/site-shop-mailObservedGeneration": "1",
    });
    await w.reconciler.requestDisable("shop");
    await w.reconciler.idle();
    expect(w.annotations("user-7")["voxeil.io/site-shop-mailStatus"]).toBe("disabled");
    expect(Object.keys(w.annotations("user-7")).filter((k) => k.startsWith("voxeil.io/site-blog-mail"))).toEqual([]);
  });
});

it("refuses the mail host as a site domain", async () => {
  const w = await world();
  await expect(w.reconciler.requestEnable("mailhost")).rejects.toMatchObject({
    code: "domain_not_allowed",
    message: expect.stringContaining(MAIL_HOST),
  });
});
