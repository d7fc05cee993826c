import { CoreV1Api } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { type KubernetesDouble, kubeConfigFor, startKubernetesDouble } from "../../test/doubles/kubernetes-api";
import { createRedactor } from "../redact";
import type { SiteLayoutKind } from "../settings";
import { annotationLayout } from "./annotation-layout";
import { KubernetesSiteDirectory } from "./kubernetes-site-directory";
import { SiteNotFoundError, SiteStoreError, SlugConflictError } from "./site";

let double: KubernetesDouble | undefined;
afterEach(async () => {
  await double?.close();
  double = undefined;
});

async function setup(kind: SiteLayoutKind, prefix = "voxeil.io") {
  double = await startKubernetesDouble({
    namespaces: [
      // labelled, name unrelated to the slug
      {
        name: "customer-7",
        labels: { "voxeil.io/tenant-slug": "shop" },
        annotations: { "voxeil.io/domain": "Shop.Example.", "platform/owner": "u7" },
      },
      // unlabelled, found by the name template
      { name: "tenant-blog", annotations: { "voxeil.io/domain": "blog.example" } },
      // template name, but labelled for another slug: not "other"
      { name: "tenant-other", labels: { "voxeil.io/tenant-slug": "misc" } },
      // shared namespace with two sites
      {
        name: "user-1",
        annotations: {
          "voxeil.io/site-alpha-domain": "alpha.example",
          "voxeil.io/site-my-domain-domain": "my-domain.example",
          "voxeil.io/site-alpha-mailStatus": "ready",
          "voxeil.io/site-alpha-mailEnabled": "true",
          "voxeil.io/site-alpha-image": "nginx",
        },
      },
      { name: "kube-system" },
    ],
  });
  const core = kubeConfigFor(double.url).makeApiClient(CoreV1Api);
  const directory = new KubernetesSiteDirectory({
    core,
    layout: annotationLayout(kind, prefix, "tenant-{slug}"),
    redact: createRedactor(["super-secret-api-key"]),
  });
  return { double, directory };
}

describe("KubernetesSiteDirectory, namespace-per-site", () => {
  it("finds a site by its tenant-slug label and normalises its domain", async () => {
    const { directory } = await setup("namespace-per-site");
    expect(await directory.find("shop")).toEqual({
      slug: "shop",
      namespace: "customer-7",
      domain: "shop.example",
      mail: { enabled: false, provider: "", domain: "", status: null, lastError: "" },
    });
  });

  it("falls back to the name template", async () => {
    const { directory } = await setup("namespace-per-site");
    expect((await directory.find("blog"))?.namespace).toBe("tenant-blog");
  });

  it("does not take a templated namespace labelled for another slug", async () => {
    const { directory } = await setup("namespace-per-site");
    expect(await directory.find("other")).toBeNull();
    expect(await directory.find("nothing")).toBeNull();
  });

  it("writes the mail keys with a merge patch and touches no other key", async () => {
    const { double, directory } = await setup("namespace-per-site");
    await directory.patchMail("shop", {
      enabled: true,
      provider: "mailcow",
      domain: "shop.example",
      status: "pending",
      lastError: "",
    });
    expect(double.annotations("customer-7")).toEqual({
      "voxeil.io/domain": "Shop.Example.",
      "platform/owner": "u7",
      "voxeil.io/mail-enabled": "true",
      "voxeil.io/mail-provider": "mailcow",
      "voxeil.io/mail-domain": "shop.example",
      "voxeil.io/mail-status": "pending",
      "voxeil.io/mail-last-error": "",
    });
    const patch = double.requests.find((r) => r.method === "PATCH");
    expect(patch?.contentType).toBe("application/merge-patch+json");
    expect(patch?.body).toEqual({
      metadata: {
        annotations: {
          "voxeil.io/mail-enabled": "true",
          "voxeil.io/mail-provider": "mailcow",
          "voxeil.io/mail-domain": "shop.example",
          "voxeil.io/mail-status": "pending",
          "voxeil.io/mail-last-error": "",
        },
      },
    });
    expect((await directory.find("shop"))?.mail).toEqual({
      enabled: true,
      provider: "mailcow",
      domain: "shop.example",
      status: "pending",
      lastError: "",
    });
  });

  it("keeps the last error short and free of secrets", async () => {
    const { double, directory } = await setup("namespace-per-site");
    await directory.patchMail("blog", {
      status: "error",
      lastError: `Mailcow said no with key super-secret-api-key\n${"detail ".repeat(100)}`,
    });
    const written = double.annotations("tenant-blog")["voxeil.io/mail-last-error"];
    expect(written.length).toBeLessThanOrEqual(256);
    expect(written).not.toContain("super-secret-api-key");
    expect(written).not.toContain("\n");
    expect(written).toContain("[redacted]");
  });

  it("uses a configured prefix", async () => {
    const { double, directory } = await setup("namespace-per-site", "example.org");
    expect(await directory.find("shop")).toBeNull();
    await directory.patchMail("blog", { status: "ready" });
    expect(double.annotations("tenant-blog")["example.org/mail-status"]).toBe("ready");
  });

  it("lists every site once, and leaves out a slug two namespaces claim", async () => {
    const { double, directory } = await setup("namespace-per-site");
    expect((await directory.listSites()).map((s) => [s.slug, s.namespace]).sort()).toEqual([
      ["blog", "tenant-blog"],
      ["misc", "tenant-other"],
      ["shop", "customer-7"],
    ]);
    double.seed({ name: "tenant-shop", annotations: { "voxeil.io/domain": "wrong.example" } });
    expect((await directory.listSites()).map((s) => [s.slug, s.namespace]).sort()).toEqual([
      ["blog", "tenant-blog"],
      ["misc", "tenant-other"],
    ]);
  });

  it("refuses a slug claimed by a label on one namespace and the name template of another, naming both", async () => {
    const { double, directory } = await setup("namespace-per-site");
    double.seed({ name: "tenant-shop", annotations: { "voxeil.io/domain": "wrong.example" } });
    const refused = directory.find("shop");
    await expect(refused).rejects.toBeInstanceOf(SlugConflictError);
    await expect(refused).rejects.toThrow(/customer-7, tenant-shop/);
    await expect(directory.patchMail("shop", { status: "ready" })).rejects.toBeInstanceOf(SlugConflictError);
    expect(double.annotations("customer-7")["voxeil.io/mail-status"]).toBeUndefined();
  });

  it("refuses to patch an unknown site", async () => {
    const { directory } = await setup("namespace-per-site");
    await expect(directory.patchMail("ghost", { status: "ready" })).rejects.toBeInstanceOf(SiteNotFoundError);
  });

  it("says the site is gone when its namespace disappeared between the read and the write", async () => {
    const { double, directory } = await setup("namespace-per-site");
    await directory.find("blog");
    double.namespaces.delete("tenant-blog");
    await expect(directory.patchMail("blog", { status: "ready" })).rejects.toBeInstanceOf(SiteNotFoundError);
    await expect(directory.find("blog")).resolves.toBeNull();
  });

  it("reports conflicts and server errors as transient, with a short message", async () => {
    const { double, directory } = await setup("namespace-per-site");
    await directory.find("blog");
    double.faults.add({ method: "PATCH", status: 409, times: 1 });
    const err = await directory.patchMail("blog", { status: "ready" }).catch((e) => e);
    expect(err).toBeInstanceOf(SiteStoreError);
    expect(err).toMatchObject({ transient: true, status: 409 });
    expect(err.message).toMatch(/^Kubernetes API: patch namespace tenant-blog: 409 Operation cannot be fulfilled/);
    double.faults.add({ method: "GET", status: 500, times: 1 });
    await expect(directory.find("blog")).rejects.toMatchObject({ transient: true, status: 500 });
  });

  it("reports an unreachable API as transient", async () => {
    const { double, directory } = await setup("namespace-per-site");
    await double.close();
    await expect(directory.ping()).rejects.toMatchObject({ transient: true });
  });
});

describe("KubernetesSiteDirectory, shared-namespace", () => {
  it("finds the namespace carrying the site's domain annotation and reads its mail keys", async () => {
    const { directory } = await setup("shared-namespace");
    expect(await directory.find("alpha")).toEqual({
      slug: "alpha",
      namespace: "user-1",
      domain: "alpha.example",
      mail: { enabled: true, provider: "", domain: "", status: "ready", lastError: "" },
    });
    expect((await directory.find("my-domain"))?.domain).toBe("my-domain.example");
    expect(await directory.find("shop")).toBeNull();
  });

  it("writes only the site's own camelCase keys", async () => {
    const { double, directory } = await setup("shared-namespace");
    const before = double.annotations("user-1");
    await directory.patchMail("my-domain", { enabled: false, status: "disabled", lastError: "" });
    expect(double.annotations("user-1")).toEqual({
      ...before,
      "voxeil.io/site-my-domain-mailEnabled": "false",
      "voxeil.io/site-my-domain-mailStatus": "disabled",
      "voxeil.io/site-my-domain-mailLastError": "",
    });
  });

  it("lists the sites of every shared namespace", async () => {
    const { directory } = await setup("shared-namespace");
    expect((await directory.listSites()).map((s) => s.slug).sort()).toEqual(["alpha", "my-domain"]);
  });
});
