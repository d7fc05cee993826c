/**
 * Tenant isolation through the assembled controller (settings, cache, real Mailcow client and site directory, as
 * `npm start` wires them), over HTTP: each attack issue 10 reproduced in the sandbox is tried as a hostile tenant
 * would, and each is refused with a 4xx naming the reason while nothing of the other site changes.
 */
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NamespaceSeed } from "../../test/doubles/kubernetes-api";
import { ScriptedRunner } from "../../test/doubles/stack-runner/scripted-runner";
import {
  buildController,
  type Controller,
  type Doubles,
  MAIL_HOST,
  outsideState,
  startDoubles,
  TEST_TOKENS,
} from "../../test/support/controller-world";
import { waitUntil } from "../../test/support/wait";
import { DeliverabilityChecker } from "../deliverability/checker";
import { SettingsError } from "../settings";

const SITES: NamespaceSeed[] = [
  {
    name: "tenant-shop",
    labels: { "voxeil.io/tenant-slug": "shop" },
    annotations: { "voxeil.io/domain": "shop.example" },
  },
  {
    name: "tenant-blog",
    labels: { "voxeil.io/tenant-slug": "blog" },
    annotations: { "voxeil.io/domain": "blog.example" },
  },
  {
    name: "tenant-cafe",
    labels: { "voxeil.io/tenant-slug": "cafe" },
    annotations: { "voxeil.io/domain": "cafe.example" },
  },
];
const AUTH = { Authorization: `Bearer ${TEST_TOKENS[0]}` };

let doubles: Doubles;
let runner: ScriptedRunner;
let controller: Controller;

beforeEach(async () => {
  doubles = await startDoubles(SITES);
  runner = new ScriptedRunner();
  controller = buildController({
    kubernetesUrl: doubles.k8s.url,
    mailcowUrl: doubles.mailcow.url,
    mailcowApiKey: doubles.mailcow.apiKey,
    runner,
  });
  await waitUntil("the namespace cache has synced", () => controller.cache.hasSynced, 5000);
  // shop has mail and a mailbox: the victim.
  expect((await api().post("/sites/shop/mail/enable").set(AUTH).send({})).status).toBe(202);
  await controller.reconciler.idle();
  const added = await api()
    .post("/sites/shop/mail/mailboxes")
    .set(AUTH)
    .send({ localPart: "info", password: "Long-enough-pw-1", quotaMb: 100 });
  expect(added.status).toBe(201);
});

afterEach(async () => {
  await controller.shutdown(0);
  await doubles.close();
});

function api() {
  return request(controller.app);
}

/** The route template of a path, as /openapi.json names it. */
function template(path: string): string {
  return path.replace(/^\/sites\/[^/]+/, "/sites/{slug}").replace(/\/mailboxes\/[^/]+$/, "/mailboxes/{localPart}");
}

/** Every refusal these attacks meet is a documented answer of its route. */
async function expectDocumented(method: string, path: string, status: number): Promise<void> {
  const doc = (await api().get("/openapi.json").set(AUTH)).body as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  expect(doc.paths[template(path)]?.[method]?.responses[String(status)], `${method} ${path} ${status}`).toBeDefined();
}

/** Rewrites a tenant namespace as its tenant may (its own labels and annotations), and waits for the cache to see it. */
async function tenantWrites(name: string, labels: Record<string, string>, annotations: Record<string, string>) {
  doubles.k8s.seed({ name, labels, annotations });
  await waitUntil(
    `the cache shows ${name}'s new annotations`,
    () => JSON.stringify(controller.cache.get(name)?.annotations) === JSON.stringify(annotations),
    5000,
  );
}

/** What of shop a hostile call could change: its Mailcow domain, its mailboxes, its stack and its namespace. */
function shopState(): string {
  const { state } = doubles.mailcow;
  return JSON.stringify({
    domain: state.domains.get("shop.example"),
    mailboxes: [...state.mailboxes.entries()].filter(([address]) => address.endsWith("@shop.example")),
    stack: runner.stacks.get("shop"),
    namespace: doubles.k8s.snapshot()["tenant-shop"],
  });
}

describe("a tenant who declares another site's domain", () => {
  beforeEach(async () => {
    await tenantWrites("tenant-blog", { "voxeil.io/tenant-slug": "blog" }, { "voxeil.io/domain": "shop.example" });
  });

  it("cannot enable, disable, purge or read the status of it: 409 domain_owned_by_other_site, shop unchanged", async () => {
    const before = shopState();
    const blogBefore = doubles.k8s.annotations("tenant-blog");
    for (const [method, path, body] of [
      ["post", "/sites/blog/mail/enable", {}],
      ["post", "/sites/blog/mail/disable", {}],
      ["post", "/sites/blog/mail/purge", { confirm: "blog" }],
      ["get", "/sites/blog/mail/status", undefined],
    ] as const) {
      const call = method === "post" ? api().post(path).set(AUTH).send(body) : api().get(path).set(AUTH);
      const res = await call;
      expect(res.status, path).toBe(409);
      await expectDocumented(method, path, 409);
      expect(res.body.error.code, path).toBe("domain_owned_by_other_site");
      expect(res.body.error.message, path).toMatch(/shop\.example belongs to site shop, not to site blog/);
    }
    await controller.reconciler.idle();
    expect(shopState()).toBe(before);
    expect(doubles.k8s.annotations("tenant-blog")).toEqual(blogBefore);
    expect(doubles.mailcow.state.domains.get("shop.example")?.active).toBe(1);
  });

  it("cannot list, add or delete its mailboxes", async () => {
    const before = shopState();
    const list = await api().get("/sites/blog/mail/mailboxes").set(AUTH);
    const add = await api()
      .post("/sites/blog/mail/mailboxes")
      .set(AUTH)
      .send({ localPart: "evil", password: "Long-enough-pw-1", quotaMb: 100 });
    const remove = await api().delete("/sites/blog/mail/mailboxes/info").set(AUTH);
    await expectDocumented("get", "/sites/blog/mail/mailboxes", 409);
    await expectDocumented("post", "/sites/blog/mail/mailboxes", 409);
    await expectDocumented("delete", "/sites/blog/mail/mailboxes/info", 409);
    expect(list.status).toBe(409);
    expect(list.body.error.code).toBe("domain_owned_by_other_site");
    expect(add.status).toBe(409);
    expect(remove.status).toBe(409);
    expect(remove.body.error.code).toBe("domain_owned_by_other_site");
    expect(shopState()).toBe(before);
  });

  it("gets the run refused too, if it slipped past the request (annotations written straight away)", async () => {
    const before = shopState();
    await tenantWrites(
      "tenant-blog",
      { "voxeil.io/tenant-slug": "blog" },
      { "voxeil.io/domain": "shop.example", "voxeil.io/mail-enabled": "true", "voxeil.io/mail-status": "pending" },
    );
    await controller.reconciler.resync();
    await controller.reconciler.idle();
    expect(doubles.k8s.annotations("tenant-blog")["voxeil.io/mail-status"]).toBe("error");
    expect(doubles.k8s.annotations("tenant-blog")["voxeil.io/mail-last-error"]).toMatch(/belongs to site shop/);
    expect(shopState()).toBe(before);
  });
});

describe("a tenant who forges the controller's own annotations", () => {
  beforeEach(async () => {
    await tenantWrites(
      "tenant-cafe",
      { "voxeil.io/tenant-slug": "cafe" },
      {
        "voxeil.io/domain": "cafe.example",
        "voxeil.io/mail-domain": "shop.example",
        "voxeil.io/mail-enabled": "true",
        "voxeil.io/mail-status": "ready",
      },
    );
  });

  it("reaches none of the other site's mailboxes: the echo is refused naming both domains", async () => {
    const before = shopState();
    const list = await api().get("/sites/cafe/mail/mailboxes").set(AUTH);
    const add = await api()
      .post("/sites/cafe/mail/mailboxes")
      .set(AUTH)
      .send({ localPart: "evil", password: "Long-enough-pw-1", quotaMb: 100 });
    const remove = await api().delete("/sites/cafe/mail/mailboxes/info").set(AUTH);
    for (const res of [list, add, remove]) {
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("mail_domain_mismatch");
      expect(res.body.error.message).toMatch(/names shop\.example, but the site's domain is cafe\.example/);
    }
    expect(shopState()).toBe(before);
  });

  it("cannot disable or purge the other site's domain through the echo", async () => {
    const before = shopState();
    const disable = await api().post("/sites/cafe/mail/disable").set(AUTH).send({});
    const purge = await api().post("/sites/cafe/mail/purge").set(AUTH).send({ confirm: "cafe" });
    for (const res of [disable, purge]) {
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("mail_domain_mismatch");
    }
    await controller.reconciler.idle();
    expect(shopState()).toBe(before);
  });

  it("sees an error state naming both values in its status, not the other site's records", async () => {
    const res = await api().get("/sites/cafe/mail/status").set(AUTH);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ domain: "cafe.example", status: "error" });
    expect(res.body.lastError).toMatch(/names shop\.example, but the site's domain is cafe\.example/);
    expect(res.body.dns.records).toEqual([]);
  });
});

describe("a namespace labelled with another site's slug", () => {
  it("takes nothing over: every request for the slug answers 409 slug_conflict naming both namespaces", async () => {
    await tenantWrites("tenant-evil", { "voxeil.io/tenant-slug": "shop" }, { "voxeil.io/domain": "evil.example" });
    const before = outsideState(doubles, () => [...runner.stacks.entries()]);
    for (const res of [
      await api().get("/sites/shop/mail/status").set(AUTH),
      await api().post("/sites/shop/mail/disable").set(AUTH).send({}),
      await api().post("/sites/shop/mail/purge").set(AUTH).send({ confirm: "shop" }),
      await api().get("/sites/shop/mail/mailboxes").set(AUTH),
    ]) {
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("slug_conflict");
      expect(res.body.error.message).toMatch(/tenant-evil, tenant-shop/);
    }
    await controller.reconciler.idle();
    expect(outsideState(doubles, () => [...runner.stacks.entries()])).toBe(before);
  });
});

describe("the domain policy", () => {
  it("refuses the mail host, its parent and a name under it as a site's domain", async () => {
    const parent = MAIL_HOST.slice(MAIL_HOST.indexOf(".") + 1);
    for (const domain of [MAIL_HOST, parent, `autoconfig.${MAIL_HOST}`]) {
      await tenantWrites("tenant-blog", { "voxeil.io/tenant-slug": "blog" }, { "voxeil.io/domain": domain });
      const before = outsideState(doubles, () => [...runner.stacks.entries()]);
      const res = await api().post("/sites/blog/mail/enable").set(AUTH).send({});
      expect(res.status, domain).toBe(409);
      expect(res.body.error.code, domain).toBe("domain_not_allowed");
      expect(res.body.error.message, domain).toMatch(/mail host/);
      expect(outsideState(doubles, () => [...runner.stacks.entries()])).toBe(before);
    }
  });

  it("refuses a domain outside ALLOWED_DOMAIN_SUFFIXES", async () => {
    const strict = buildController({
      kubernetesUrl: doubles.k8s.url,
      mailcowUrl: doubles.mailcow.url,
      mailcowApiKey: doubles.mailcow.apiKey,
      runner,
      env: { ALLOWED_DOMAIN_SUFFIXES: "sites.example" },
    });
    try {
      await waitUntil("the second cache has synced", () => strict.cache.hasSynced, 5000);
      const res = await request(strict.app).post("/sites/blog/mail/enable").set(AUTH).send({});
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: "domain_not_allowed" });
      expect(res.body.error.message).toMatch(/outside the allowed suffixes.*sites\.example/);
    } finally {
      await strict.shutdown(0);
    }
  });

  it("will not start without ALLOWED_DOMAIN_SUFFIXES, saying how to allow any domain deliberately", () => {
    const start = () =>
      buildController({
        kubernetesUrl: doubles.k8s.url,
        mailcowUrl: doubles.mailcow.url,
        mailcowApiKey: doubles.mailcow.apiKey,
        runner,
        env: { ALLOWED_DOMAIN_SUFFIXES: "" },
      });
    expect(start).toThrow(SettingsError);
    expect(start).toThrow(/ALLOWED_DOMAIN_SUFFIXES: required: .*or \* to allow any domain/);
  });
});

describe("a tenant whose delegation names cluster addresses", () => {
  it("gets no DNS query sent into the cluster: the checks refuse the servers and say why", async () => {
    const asked: string[] = [];
    const checker = new DeliverabilityChecker({
      // The tenant's delegation: its NS host resolves to the cluster DNS Service and to loopback.
      nsLookup: {
        resolveNs: async (name) => (name === "blog.example" ? ["ns1.blog.example"] : []),
        resolveAddresses: async () => ["10.43.0.10", "127.0.0.1"],
      },
      client: {
        query: async (server) => {
          asked.push(server.address);
          throw new Error("no query may be sent");
        },
      },
    });
    const checking = buildController({
      kubernetesUrl: doubles.k8s.url,
      mailcowUrl: doubles.mailcow.url,
      mailcowApiKey: doubles.mailcow.apiKey,
      runner,
      dnsChecker: checker,
    });
    try {
      await waitUntil("the second cache has synced", () => checking.cache.hasSynced, 5000);
      expect((await request(checking.app).post("/sites/blog/mail/enable").set(AUTH).send({})).status).toBe(202);
      await checking.reconciler.idle();
      let status: { status: string; dns: { records: Array<{ state: string; detail?: string }> } } = {
        status: "",
        dns: { records: [] },
      };
      await waitUntil(
        "the first check is reported",
        async () => {
          status = (await request(checking.app).get("/sites/blog/mail/status").set(AUTH)).body;
          return status.dns.records.some((r) => r.detail?.includes("private"));
        },
        30_000,
      );
      expect(status.status).toBe("provisioning");
      expect(status.dns.records.every((r) => r.state === "pending")).toBe(true);
      expect(status.dns.records[0].detail).toMatch(/10\.43\.0\.10.*DNS_CHECK_PRIVATE_NAMESERVERS=true/);
      expect(asked).toEqual([]);
    } finally {
      await checking.shutdown(0);
    }
  });
});
