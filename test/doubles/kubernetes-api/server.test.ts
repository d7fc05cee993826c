import * as http from "node:http";
import { CoreV1Api, PatchStrategy, setHeaderOptions, Watch } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { waitUntil } from "../../support/wait";
import {
  type KubernetesDouble,
  type KubernetesDoubleOptions,
  kubeConfigFor,
  matchesSelector,
  mergePatch,
  startKubernetesDouble,
} from "./index";

let double: KubernetesDouble | undefined;
afterEach(async () => {
  await double?.close();
  double = undefined;
});

async function start(options: Partial<KubernetesDoubleOptions> = {}) {
  double = await startKubernetesDouble({
    ...options,
    token: "t0k",
    namespaces: [
      { name: "tenant-a", labels: { "voxeil.io/tenant-slug": "a" }, annotations: { "voxeil.io/domain": "a.test" } },
      { name: "user-1", annotations: { "voxeil.io/site-b-domain": "b.test" } },
    ],
  });
  return { double, core: kubeConfigFor(double.url, "t0k").makeApiClient(CoreV1Api) };
}

describe("the Kubernetes API double", () => {
  it("serves namespaces to the real client, by name and by label selector", async () => {
    const { core } = await start();
    expect((await core.readNamespace({ name: "tenant-a" })).metadata?.annotations?.["voxeil.io/domain"]).toBe("a.test");
    const list = await core.listNamespace({ labelSelector: "voxeil.io/tenant-slug=a" });
    expect(list.items.map((n) => n.metadata?.name)).toEqual(["tenant-a"]);
    expect((await core.listNamespace()).items).toHaveLength(2);
  });

  it("answers a missing namespace with a 404 Status the client surfaces", async () => {
    const { core } = await start();
    await expect(core.readNamespace({ name: "nope" })).rejects.toMatchObject({ code: 404 });
  });

  it("applies merge patches, deleting keys set to null and bumping the resourceVersion", async () => {
    const { double, core } = await start();
    const before = double.namespaces.get("tenant-a")?.metadata.resourceVersion;
    await core.patchNamespace(
      { name: "tenant-a", body: { metadata: { annotations: { "voxeil.io/domain": null, x: "1" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(double.annotations("tenant-a")).toEqual({ x: "1" });
    expect(double.namespaces.get("tenant-a")?.metadata.resourceVersion).not.toBe(before);
    const last = double.requests.at(-1);
    expect(last).toMatchObject({ method: "PATCH", path: "/api/v1/namespaces/tenant-a", status: 200 });
    expect(last?.contentType).toBe("application/merge-patch+json");
  });

  it("refuses a patch that is not a merge patch", async () => {
    const { core } = await start();
    await expect(
      core.patchNamespace({ name: "tenant-a", body: [{ op: "add", path: "/metadata/labels/x", value: "1" }] }),
    ).rejects.toMatchObject({ code: 415 });
  });

  it("injects faults a set number of times", async () => {
    const { double, core } = await start();
    double.faults.add({ method: "GET", status: 500, times: 1 });
    await expect(core.readNamespace({ name: "tenant-a" })).rejects.toMatchObject({ code: 500 });
    await expect(core.readNamespace({ name: "tenant-a" })).resolves.toBeTruthy();
  });

  it("rejects a wrong token", async () => {
    const { double } = await start();
    const core = kubeConfigFor(double.url, "wrong").makeApiClient(CoreV1Api);
    await expect(core.listNamespace()).rejects.toMatchObject({ code: 401 });
  });
});

interface Stream {
  status: number;
  body: unknown;
  events: Array<{ type: string; object: { metadata?: { name?: string; resourceVersion?: string }; code?: number } }>;
  ended: boolean;
  close(): void;
}

/** A raw watch request, as the wire sees it: the status, then one JSON event per line. */
function watchRaw(d: KubernetesDouble, query: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${d.url}/api/v1/namespaces?${query}`, { headers: { authorization: "Bearer t0k" } }, (res) => {
      const stream: Stream = {
        status: res.statusCode ?? 0,
        body: undefined,
        events: [],
        ended: false,
        close: () => req.destroy(),
      };
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let i = buffer.indexOf("\n");
        while (i >= 0) {
          stream.events.push(JSON.parse(buffer.slice(0, i)));
          buffer = buffer.slice(i + 1);
          i = buffer.indexOf("\n");
        }
      });
      res.on("end", () => {
        if (buffer) stream.body = JSON.parse(buffer);
        stream.ended = true;
      });
      res.on("error", () => {
        stream.ended = true;
      });
      resolve(stream);
    });
    req.on("error", reject);
  });
}

const names = (s: Stream) => s.events.map((e) => `${e.type} ${e.object.metadata?.name}`);

describe("the Kubernetes API double's watch", () => {
  it("lists with the collection's resourceVersion, and a watch from it streams every later change", async () => {
    const { double, core } = await start();
    const list = await core.listNamespace();
    const from = list.metadata?.resourceVersion ?? "";
    expect(from).toBe(double.resourceVersion());
    const stream = await watchRaw(double, `watch=1&resourceVersion=${from}`);
    expect(stream.status).toBe(200);
    await core.patchNamespace(
      { name: "tenant-a", body: { metadata: { annotations: { x: "1" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    double.seed({ name: "tenant-new" });
    double.remove("user-1");
    double.namespaces.delete("tenant-new");
    await waitUntil("four events", () => stream.events.length === 4, 5000);
    expect(names(stream)).toEqual(["MODIFIED tenant-a", "ADDED tenant-new", "DELETED user-1", "DELETED tenant-new"]);
    const versions = stream.events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions[0]).toBeGreaterThan(Number(from));
    expect(stream.events[0].object).toMatchObject({ metadata: { annotations: { x: "1" } } });
    stream.close();
  });

  it("replays the changes after a recent resourceVersion, and starts with every namespace without one", async () => {
    const { double } = await start();
    const from = double.resourceVersion();
    double.seed({ name: "tenant-b" });
    double.seed({ name: "tenant-a", annotations: { y: "2" } });
    const resumed = await watchRaw(double, `watch=true&resourceVersion=${from}`);
    await waitUntil("two replayed events", () => resumed.events.length === 2, 5000);
    expect(names(resumed)).toEqual(["ADDED tenant-b", "MODIFIED tenant-a"]);
    const fresh = await watchRaw(double, "watch=1");
    await waitUntil("three initial events", () => fresh.events.length === 3, 5000);
    expect(names(fresh)).toEqual(["ADDED tenant-a", "ADDED tenant-b", "ADDED user-1"]);
    resumed.close();
    fresh.close();
  });

  it("refuses a resourceVersion older than its history with a 410 Expired ERROR event and ends the stream", async () => {
    const { double } = await start({ watchHistory: 2 });
    const from = double.resourceVersion();
    for (const name of ["n1", "n2", "n3"]) double.seed({ name });
    const stream = await watchRaw(double, `watch=1&resourceVersion=${from}`);
    await waitUntil("the stream ends", () => stream.ended, 5000);
    expect(stream.status).toBe(200);
    expect(stream.events).toEqual([
      { type: "ERROR", object: expect.objectContaining({ kind: "Status", code: 410, reason: "Expired" }) },
    ]);
    // One version later is still within the history.
    const recent = await watchRaw(double, `watch=1&resourceVersion=${Number(double.resourceVersion()) - 2}`);
    await waitUntil("the replay", () => recent.events.length === 2, 5000);
    expect(names(recent)).toEqual(["ADDED n2", "ADDED n3"]);
    recent.close();
  });

  it("can refuse a too-old resourceVersion with a 410 Gone answer instead", async () => {
    const { double } = await start({ expiredWatch: "status" });
    const from = double.resourceVersion();
    double.seed({ name: "n1" });
    double.watch.compact();
    const stream = await watchRaw(double, `watch=1&resourceVersion=${from}`);
    await waitUntil("the answer ends", () => stream.ended, 5000);
    expect(stream.status).toBe(410);
    expect(stream.body).toMatchObject({ kind: "Status", code: 410, reason: "Gone" });
    // Being up to date is not too old.
    const current = await watchRaw(double, `watch=1&resourceVersion=${double.resourceVersion()}`);
    expect(current.status).toBe(200);
    current.close();
  });

  it("drops open watches on demand, and injects faults into watch requests only", async () => {
    const { double } = await start();
    const stream = await watchRaw(double, `watch=1&resourceVersion=${double.resourceVersion()}`);
    await waitUntil("the watch is open", () => double?.watch.open === 1, 5000);
    expect(double.watch.drop()).toBe(1);
    await waitUntil("the stream ends", () => stream.ended, 5000);
    expect(double.watch.open).toBe(0);
    double.faults.add({ method: "GET", watch: true, status: 500, times: 1 });
    const refused = await watchRaw(double, "watch=1");
    expect(refused.status).toBe(500);
    expect(double.faults.pending).toHaveLength(0);
    double.faults.add({ method: "GET", watch: false, status: 500, times: 1 });
    const served = await watchRaw(double, "watch=1");
    expect(served.status).toBe(200);
    expect(double.faults.pending).toHaveLength(1);
    served.close();
  });

  it("sends raw events, ends a watch after timeoutSeconds, and filters by label selector", async () => {
    const { double } = await start();
    const selected = await watchRaw(double, `watch=1&labelSelector=voxeil.io/tenant-slug%3Da&timeoutSeconds=1`);
    await waitUntil("the initial event", () => selected.events.length === 1, 5000);
    expect(names(selected)).toEqual(["ADDED tenant-a"]);
    double.seed({ name: "user-1", annotations: { z: "1" } });
    expect(double.watch.send({ type: "MODIFIED", object: { metadata: { name: "old", resourceVersion: "1" } } })).toBe(
      1,
    );
    await waitUntil("the stream ends after its timeout", () => selected.ended, 5000);
    expect(names(selected)).toEqual(["ADDED tenant-a", "MODIFIED old"]);
  });

  it("feeds @kubernetes/client-node's Watch", async () => {
    const { double } = await start();
    const seen: string[] = [];
    const watch = new Watch(kubeConfigFor(double.url, "t0k"));
    let done: unknown = "open";
    const controller = await watch.watch(
      "/api/v1/namespaces",
      { resourceVersion: double.resourceVersion() },
      (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
      (err) => {
        done = err;
      },
    );
    double.seed({ name: "tenant-z" });
    await waitUntil("the event", () => seen.length === 1, 5000);
    expect(seen).toEqual(["ADDED tenant-z"]);
    expect(double.requests.at(-1)?.query).toMatchObject({ watch: "true" });
    double.watch.drop();
    await waitUntil("the watch ends", () => done !== "open", 5000);
    controller.abort();
  });
});

describe("mergePatch", () => {
  it("follows RFC 7386's examples", () => {
    expect(mergePatch({ a: "b" }, { a: "c" })).toEqual({ a: "c" });
    expect(mergePatch({ a: "b" }, { b: "c" })).toEqual({ a: "b", b: "c" });
    expect(mergePatch({ a: "b" }, { a: null })).toEqual({});
    expect(mergePatch({ a: [{ b: "c" }] }, { a: [1] })).toEqual({ a: [1] });
    expect(mergePatch({ a: { b: "c" } }, { a: { b: "d", c: null } })).toEqual({ a: { b: "d" } });
    expect(mergePatch(["a", "b"], ["c", "d"])).toEqual(["c", "d"]);
    expect(mergePatch({ a: "foo" }, "bar")).toBe("bar");
    expect(mergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });
});

describe("matchesSelector", () => {
  it("handles equality, inequality and existence", () => {
    const labels = { a: "1", b: "2" };
    expect(matchesSelector(labels, "a=1,b==2")).toBe(true);
    expect(matchesSelector(labels, "a!=1")).toBe(false);
    expect(matchesSelector(labels, "a,!c")).toBe(true);
    expect(matchesSelector(labels, "c")).toBe(false);
  });
});
