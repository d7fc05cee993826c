/**
 * Faults of everything behind the controller, driven through the HTTP API with the doubles: Mailcow answering 500
 * with HTML, hanging, resetting connections, sending malformed JSON or `danger` on every write; the Kubernetes API
 * answering 409 and 500; the stack runner failing mid-run. Each case ends in the right status with a last error
 * that says what failed, and the retries stop when they should (attempts counted on the doubles).
 */
import { afterEach, describe, expect, it } from "vitest";
import { StackRunError } from "../../controller/stacks/stack-runner";
import { waitUntil } from "../support/wait";
import { type FaultWorld, startFaultWorld } from "./world";

const worlds: FaultWorld[] = [];
async function world(options?: Parameters<typeof startFaultWorld>[0]): Promise<FaultWorld> {
  const w = await startFaultWorld(options);
  worlds.push(w);
  return w;
}
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close().catch(() => {});
});

const MAX_ATTEMPTS = 3; // the retry policy of buildController

/** Waits for the reconciler to go idle, then checks that nothing more happens: the retries have stopped. */
async function settledFor(w: FaultWorld): Promise<void> {
  await w.controller.reconciler.idle();
  const mailcow = w.doubles.mailcow.requests.length;
  const k8s = w.doubles.k8s.requests.length;
  const runner = w.runner.calls.length;
  await new Promise((r) => setTimeout(r, 100));
  expect(w.controller.reconciler.queueDepth() + w.controller.reconciler.runningCount()).toBe(0);
  expect(w.doubles.mailcow.requests.length).toBe(mailcow);
  expect(w.doubles.k8s.requests.filter((r) => r.method !== "GET").length).toBe(
    w.doubles.k8s.requests.slice(0, k8s).filter((r) => r.method !== "GET").length,
  );
  expect(w.runner.calls.length).toBe(runner);
}

async function statusOf(w: FaultWorld, slug = "shop") {
  const res = await w.get(`/sites/${slug}/mail/status`);
  expect(res.status).toBe(200);
  return res.body as { status: string; lastError: string; enabled: boolean; run: unknown };
}

function expectNoSecret(w: FaultWorld, text: string): void {
  expect(text).not.toContain(w.doubles.mailcow.apiKey);
  for (const t of w.controller.tokens) expect(text).not.toContain(t);
}

describe("Mailcow failing", () => {
  const transient = [
    { name: "a 500 with an HTML page", kind: "html-500" as const, says: /HTTP 500.*database/i, timeoutMs: 2000 },
    { name: "requests that never answer", kind: "hang" as const, says: /timed out after 200 ms/, timeoutMs: 200 },
    { name: "connections reset", kind: "reset" as const, says: /ECONNRESET|socket hang up|reset/i, timeoutMs: 2000 },
  ];
  for (const c of transient) {
    it(`retries ${c.name} ${MAX_ATTEMPTS} times, then stops at error saying what failed`, async () => {
      const w = await world({ controller: { mailcowTimeoutMs: c.timeoutMs } });
      w.doubles.mailcow.faults.inject({ kind: c.kind });
      const accepted = await w.post("/sites/shop/mail/enable");
      expect(accepted.status).toBe(202);
      await settledFor(w);

      const status = await statusOf(w);
      expect(status).toMatchObject({ status: "error", enabled: true, run: null });
      expect(status.lastError).toMatch(/mailcow ensureDomain: GET get\/domain\/shop\.example/);
      expect(status.lastError).toMatch(c.says);
      expectNoSecret(w, status.lastError);
      expect(w.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toBe(status.lastError);
      // The request's ownership check (Mailcow down: the request is still recorded, the run decides), one GET per
      // attempt (the client does not retry on its own), and the status read's ownership check.
      expect(w.doubles.mailcow.count({ route: "get/domain" })).toBe(1 + MAX_ATTEMPTS + 1);
      // Base 20 ms doubling, equal jitter at 0.5: three quarters of 20, then of 40.
      expect(w.sleeps).toEqual([15, 30]);
      expect(w.runner.calls).toHaveLength(0);
      expect(w.controller.runs).toEqual([{ slug: "shop", result: "error" }]);
    });
  }

  it("recovers when Mailcow answers again before the attempts run out, clearing the last error", async () => {
    const w = await world();
    // Down for the request's ownership check and all attempts but the last.
    w.doubles.mailcow.faults.inject({ kind: "html-500", times: MAX_ATTEMPTS });
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
    expect(w.sleeps).toHaveLength(MAX_ATTEMPTS - 1);
  });

  it("stops at the first attempt on malformed JSON, quoting the start of the answer", async () => {
    const w = await world();
    w.doubles.mailcow.faults.inject({ kind: "malformed-json" });
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    const status = await statusOf(w);
    expect(status.status).toBe("error");
    expect(status.lastError).toMatch(/answered non-JSON/);
    // The request's ownership check, the one attempt, and the status read's ownership check: no retry.
    expect(w.doubles.mailcow.count()).toBe(3);
    expect(w.sleeps).toHaveLength(0);
  });

  it("stops at the first attempt when Mailcow refuses every write with danger, naming Mailcow's reason", async () => {
    const w = await world();
    w.doubles.mailcow.faults.inject({ kind: "danger", method: "POST", msg: ["domain_invalid", "shop.example"] });
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    const status = await statusOf(w);
    expect(status.status).toBe("error");
    expect(status.lastError).toMatch(/refused: domain_invalid/);
    expect(w.doubles.mailcow.count({ method: "POST" })).toBe(1);
    expect(w.doubles.mailcow.state.domains.size).toBe(0);
    expect(w.runner.calls).toHaveLength(0);
    expect(w.sleeps).toHaveLength(0);
  });

  it("stops a disable at error when Mailcow refuses the deactivation, and a later disable finishes it", async () => {
    const w = await world();
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    const removeFault = w.doubles.mailcow.faults.inject({ kind: "danger", method: "POST" });
    await w.post("/sites/shop/mail/disable");
    await settledFor(w);
    const failed = await statusOf(w);
    expect(failed).toMatchObject({ status: "error", enabled: false });
    expect(failed.lastError).toMatch(/fault_injected/);
    expect(w.doubles.mailcow.count({ method: "POST", route: "edit/domain" })).toBe(1);
    expect(w.doubles.mailcow.state.domains.get("shop.example")?.active).toBeTruthy();

    removeFault();
    await w.post("/sites/shop/mail/disable");
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "disabled", lastError: "" });
    expect(w.doubles.mailcow.state.domains.get("shop.example")?.active).toBeFalsy();
  });

  it("answers a refused mailbox with 422 and Mailcow's reason, creating nothing", async () => {
    const w = await world();
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    w.doubles.mailcow.faults.inject({ kind: "danger", method: "POST", msg: ["mailbox_quota_exceeded"] });
    const res = await w.post("/sites/shop/mail/mailboxes", {
      localPart: "info",
      password: "Correct-Horse-9",
      quotaMb: 10,
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "mailcow_rejected" });
    expect(res.body.error.message).toMatch(/mailbox_quota_exceeded/);
    expect(res.body.error.message).not.toContain("Correct-Horse-9");
    expect(w.doubles.mailcow.state.mailboxes.size).toBe(0);
  });

  it("repairs a write whose answer was lost: the next attempt finds the domain, and Mailcow holds it once", async () => {
    const w = await world();
    w.doubles.mailcow.faults.inject({ kind: "reset", method: "POST", route: "add/domain", times: 1, afterApply: true });
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
    expect(w.doubles.mailcow.count({ method: "POST", route: "add/domain" })).toBe(1);
    expect([...w.doubles.mailcow.state.domains.keys()]).toEqual(["shop.example"]);
    expect(w.sleeps).toHaveLength(1);
  });
});

describe("the Kubernetes API failing", () => {
  it("answers a request it cannot record with 503 and Retry-After, and starts nothing", async () => {
    for (const status of [409, 500] as const) {
      const w = await world();
      w.doubles.k8s.faults.add({ status, method: "PATCH", times: 1 });
      const res = await w.post("/sites/shop/mail/enable");
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("kubernetes_unavailable");
      expect(res.body.error.message).toContain(String(status));
      expect(res.headers["retry-after"]).toBeDefined();
      await settledFor(w);
      // The request's ownership check may read Mailcow; nothing is written there.
      expect(w.doubles.mailcow.count({ method: "POST" })).toBe(0);
      expect(w.runner.calls).toHaveLength(0);
      expect(w.annotations("tenant-shop")["voxeil.io/mail-enabled"]).toBeUndefined();
    }
  });

  it("retries conflicts on the status writes of a run and ends ready", async () => {
    const w = await world();
    w.runner.hold();
    await w.post("/sites/shop/mail/enable");
    await waitUntil("the run reaches the stack", () => w.runner.calls.length > 0, 5000);
    w.doubles.k8s.faults.add({ status: 409, method: "PATCH", times: 2 });
    w.runner.release();
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
    expect(w.controller.runs).toEqual([{ slug: "shop", result: "ready" }]);
    expect(w.runner.ups("shop").length).toBeLessThanOrEqual(MAX_ATTEMPTS);
  });

  it("retries reads failing with 500 during a run and ends ready", async () => {
    const w = await world();
    w.runner.hold();
    await w.post("/sites/shop/mail/enable");
    await waitUntil("the run reaches the stack", () => w.runner.calls.length > 0, 5000);
    w.doubles.k8s.faults.add({ status: 500, method: "GET", times: 1 });
    w.doubles.k8s.faults.add({ status: 500, method: "PATCH", times: 1 });
    w.runner.release();
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
  });

  it("leaves the site unsettled when the API stays down, and the resync finishes it once it is back", async () => {
    const w = await world();
    w.runner.hold();
    await w.post("/sites/shop/mail/enable");
    await waitUntil("the run reaches the stack", () => w.runner.calls.length > 0, 5000);
    w.doubles.k8s.faults.add({ status: 500, times: 1000 });
    w.runner.release();
    await settledFor(w);
    expect(w.controller.runs.map((r) => r.result)).toEqual(["error"]);
    // The error could not be written either: the annotation still promises work, so nothing is lost.
    expect(w.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("provisioning");
    w.doubles.k8s.faults.clear();
    expect(await w.controller.reconciler.resync()).toBe(1);
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
  });
});

describe("the stack runner failing mid-run", () => {
  it("retries a transient failure and ends ready with the last error cleared", async () => {
    const w = await world();
    w.runner.script({ delayMs: 20, fail: new StackRunError("pulumi up: dial tcp: i/o timeout", true) });
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
    expect(w.runner.ups("shop")).toHaveLength(2);
    expect(w.runner.enabled("shop")).toBe(true);
  });

  it("shows the retry in the last error while it waits", async () => {
    const w = await world();
    w.runner.script({ fail: new StackRunError("pulumi up: dial tcp: i/o timeout", true) });
    const lastErrors: string[] = [];
    const original = w.controller.sites.patchMail.bind(w.controller.sites);
    w.controller.sites.patchMail = async (slug, patch) => {
      if (patch.lastError) lastErrors.push(patch.lastError);
      return original(slug, patch);
    };
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    expect(lastErrors[0]).toMatch(/^attempt 1 of 3 failed, retrying in \d+s: pulumi up: dial tcp: i\/o timeout$/);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
  });

  it("stops at error after the last attempt when the failure persists", async () => {
    const w = await world();
    const fail = new StackRunError("pulumi up: error: failed to load plugin cloudflare: network unreachable", true);
    w.runner.script({ fail }, { fail }, { fail }, { fail });
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    const status = await statusOf(w);
    expect(status.status).toBe("error");
    expect(status.lastError).toContain("failed to load plugin cloudflare");
    expect(w.runner.ups("shop")).toHaveLength(MAX_ATTEMPTS);
  });

  it("stops at once on a permanent failure", async () => {
    const w = await world();
    w.runner.script({
      delayMs: 10,
      fail: new StackRunError("pulumi up: Cloudflare zone shop.example not found", false),
    });
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({
      status: "error",
      lastError: "pulumi up: Cloudflare zone shop.example not found",
    });
    expect(w.runner.ups("shop")).toHaveLength(1);
    expect(w.sleeps).toHaveLength(0);
  });

  it("clears a lock conflict left by a crashed run before trying again", async () => {
    const w = await world();
    w.runner.locked.add("shop");
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "ready", lastError: "" });
    expect(w.runner.calls.map((c) => c.op)).toEqual(["up", "clearStaleLock", "up"]);
  });

  it("fails a disable mid-run at error, keeping the Mailcow domain active until the records are gone", async () => {
    const w = await world();
    await w.post("/sites/shop/mail/enable");
    await settledFor(w);
    w.runner.script({ delayMs: 10, fail: new StackRunError("pulumi up: Cloudflare API 403", false) });
    await w.post("/sites/shop/mail/disable");
    await settledFor(w);
    expect(await statusOf(w)).toMatchObject({ status: "error", enabled: false });
    expect(w.doubles.mailcow.state.domains.get("shop.example")?.active).toBeTruthy();
    expect(w.runner.enabled("shop")).toBe(true);
  });
});
