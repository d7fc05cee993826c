/**
 * The namespace cache inside the controller as `npm start` assembles it (test/support/controller-world): requests
 * whose desired state is already recorded cost no Kubernetes API call, a change costs one PATCH, and `/readyz` waits
 * for the first sync.
 */
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { ScriptedRunner } from "../../test/doubles/stack-runner/scripted-runner";
import {
  buildController,
  type Controller,
  type Doubles,
  startDoubles,
  TEST_TOKENS,
} from "../../test/support/controller-world";
import { waitUntil } from "../../test/support/wait";

let world: { doubles: Doubles; controller: Controller } | undefined;
afterEach(async () => {
  await world?.controller.shutdown();
  await world?.doubles.close();
  world = undefined;
});

async function setup(before?: (doubles: Doubles) => void) {
  const doubles = await startDoubles();
  before?.(doubles);
  const runner = new ScriptedRunner();
  const controller = buildController({
    kubernetesUrl: doubles.k8s.url,
    mailcowUrl: doubles.mailcow.url,
    mailcowApiKey: doubles.mailcow.apiKey,
    runner,
  });
  world = { doubles, controller };
  return { doubles, controller, runner };
}

const auth = { Authorization: `Bearer ${TEST_TOKENS[0]}` };
/** Kubernetes API requests other than the cache's watch. */
const apiCalls = (d: Doubles) => d.k8s.requests.filter((r) => r.query.watch === undefined);

describe("the controller over the namespace cache", () => {
  it("answers a repeated enable with no Kubernetes API call, and a change of desired state with one PATCH", async () => {
    const { doubles, controller, runner } = await setup();
    const { url } = await controller.start();
    expect(controller.cache.hasSynced).toBe(true);
    await request(url).post("/sites/shop/mail/enable").set(auth).send({}).expect(202);
    await controller.reconciler.idle();
    expect((await request(url).get("/sites/shop/mail/status").set(auth)).body.status).toBe("ready");

    // Each enable queues a run; a run that finds everything in place writes nothing either.
    const before = apiCalls(doubles).length;
    const runs = controller.runs.length;
    for (let i = 0; i < 10; i++) await request(url).post("/sites/shop/mail/enable").set(auth).send({}).expect(202);
    await request(url).get("/sites/shop/mail/status").set(auth).expect(200);
    await controller.reconciler.idle();
    expect(controller.runs.length).toBeGreaterThan(runs);
    expect(apiCalls(doubles).slice(before)).toEqual([]);

    runner.hold(); // the disable's run waits at the stack, so only the request's own write happens
    await request(url).post("/sites/shop/mail/disable").set(auth).send({}).expect(202);
    expect(
      apiCalls(doubles)
        .slice(before)
        .map((r) => [r.method, r.path]),
    ).toEqual([["PATCH", "/api/v1/namespaces/tenant-shop"]]);
    expect((await request(url).get("/sites/shop/mail/status").set(auth)).body).toMatchObject({
      enabled: false,
      status: "disabling",
    });
    runner.release();
    await controller.reconciler.idle();
    expect(doubles.k8s.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("disabled");
  });

  it("sees a desired state written by someone else through the watch", async () => {
    const { doubles, controller } = await setup();
    const { url } = await controller.start();
    const ns = doubles.k8s.namespaces.get("tenant-blog");
    if (!ns) throw new Error("tenant-blog missing");
    doubles.k8s.seed({
      name: "tenant-blog",
      annotations: { ...ns.metadata.annotations, "voxeil.io/mail-status": "error", "voxeil.io/mail-last-error": "x" },
    });
    await waitUntil(
      "the status shows the outside change",
      async () => (await request(url).get("/sites/blog/mail/status").set(auth)).body.status === "error",
      5000,
    );
  });

  it("is not ready until the cache has synced", async () => {
    // Every list fails from the start (the cache starts when the controller is built), so the cache cannot sync.
    const { doubles, controller } = await setup((d) => d.k8s.faults.add({ status: 500, times: 100_000 }));
    await waitUntil("the cache's list failed", () => doubles.k8s.requests.some((r) => r.status === 500), 5000);
    const notReady = await request(controller.app).get("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks.kubernetes).toMatch(/^namespace cache: not synced yet/);
    expect(controller.cache.hasSynced).toBe(false);
    doubles.k8s.faults.clear();
    await waitUntil("the cache synced", () => controller.cache.hasSynced, 5000);
    const ready = await request(controller.app).get("/readyz");
    expect(ready.body.checks.kubernetes).toBe("ok");
  });
});
