import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { type KubernetesDouble, kubeConfigFor, matchesSelector, mergePatch, startKubernetesDouble } from "./index";

let double: KubernetesDouble | undefined;
afterEach(async () => {
  await double?.close();
  double = undefined;
});

async function start() {
  double = await startKubernetesDouble({
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
