import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { appFor, startWorld, TOKENS, type World } from "../../test/support/reconciler-world";
import { ControllerMetrics } from "./metrics";

const worlds: World[] = [];
async function setup() {
  const world = await startWorld();
  worlds.push(world);
  const { app } = appFor(world);
  return { world, app, auth: { Authorization: `Bearer ${TOKENS[0]}` } };
}
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close().catch(() => {});
});

/** Everything the controller could have changed: annotations, Mailcow's state and calls, stack runs. */
function everything(world: World) {
  return JSON.stringify({
    k8s: world.k8s.snapshot(),
    k8sWrites: world.k8s.requests.filter((r) => r.method !== "GET").length,
    mailcowDomains: [...world.mailcow.state.domains.keys()],
    mailcowMailboxes: [...world.mailcow.state.mailboxes.keys()],
    mailcowWrites: world.mailcow.requests.filter((r) => r.method !== "GET").length,
    runner: world.runner.calls.length,
  });
}

describe("authentication", () => {
  it("answers 401 without a token or with a wrong one, and accepts every configured token", async () => {
    const { app } = await setup();
    const missing = await request(app).get("/sites/shop/mail/status");
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: { code: "unauthorized", message: expect.stringMatching(/missing bearer/) } });
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
    const wrong = await request(app)
      .get("/sites/shop/mail/status")
      .set("Authorization", `Bearer ${"x".repeat(40)}`);
    expect(wrong.status).toBe(401);
    const basic = await request(app).get("/sites/shop/mail/status").set("Authorization", `Basic ${TOKENS[0]}`);
    expect(basic.status).toBe(401);
    for (const token of TOKENS) {
      const ok = await request(app).get("/sites/shop/mail/status").set("Authorization", `Bearer ${token}`);
      expect(ok.status).toBe(200);
    }
  });

  it("checks the token before reading the body or the slug", async () => {
    const { world, app } = await setup();
    const before = everything(world);
    const res = await request(app)
      .post("/sites/NOT_A_SLUG/mail/enable")
      .set("Content-Type", "text/plain")
      .send("hello");
    expect(res.status).toBe(401);
    expect(everything(world)).toBe(before);
  });

  it("leaves health and metrics open", async () => {
    const { app } = await setup();
    expect((await request(app).get("/healthz")).body).toEqual({ status: "ok" });
    const metrics = await request(app).get("/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain("mail_controller_queue_depth");
  });
});

describe("the mail flow over HTTP", () => {
  it("enables, reports status, adds, lists and deletes a mailbox, then disables", async () => {
    const { world, app, auth } = await setup();
    const enable = await request(app).post("/sites/shop/mail/enable").set(auth).send({ domain: "shop.example" });
    expect(enable.status).toBe(202);
    expect(enable.body).toMatchObject({ slug: "shop", enabled: true, status: "pending", domain: "shop.example" });
    await world.reconciler.idle();

    const status = await request(app).get("/sites/shop/mail/status").set(auth);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      enabled: true,
      provider: "mailcow",
      status: "ready",
      lastError: "",
      run: null,
    });
    expect(status.body.dns.records.length).toBeGreaterThan(4);

    const password = "Secret-Pass-987";
    const add = await request(app)
      .post("/sites/shop/mail/mailboxes")
      .set(auth)
      .send({ localPart: "Info", password, quotaMb: 512 });
    expect(add.status).toBe(201);
    expect(add.body).toMatchObject({ username: "info@shop.example", quotaMb: 512 });
    expect(JSON.stringify(add.body)).not.toContain(password);

    const list = await request(app).get("/sites/shop/mail/mailboxes").set(auth);
    expect(list.body.mailboxes.map((m: { username: string }) => m.username)).toEqual(["info@shop.example"]);

    const duplicate = await request(app)
      .post("/sites/shop/mail/mailboxes")
      .set(auth)
      .send({ localPart: "info", password, quotaMb: 512 });
    expect(duplicate.status).toBe(409);
    expect(JSON.stringify(duplicate.body)).not.toContain(password);

    expect((await request(app).delete("/sites/shop/mail/mailboxes/info").set(auth)).status).toBe(204);
    expect((await request(app).delete("/sites/shop/mail/mailboxes/info").set(auth)).status).toBe(404);

    const disable = await request(app).post("/sites/shop/mail/disable").set(auth);
    expect(disable.status).toBe(202);
    expect(disable.body.status).toBe("disabling");
    await world.reconciler.idle();
    const after = await request(app).get("/sites/shop/mail/status").set(auth);
    expect(after.body).toMatchObject({ enabled: false, status: "disabled", dns: { records: [] } });
    // Manual DNS: the records were published by hand, so the answer says to take them down by hand.
    expect(after.body.dns.notice).toMatch(/^mail is off: remove the records you published by hand for shop\.example/);
  });

  it("answers a purge without a body, or without confirm, in its own words naming what to send", async () => {
    const { app, auth } = await setup();
    for (const res of [
      await request(app).post("/sites/shop/mail/purge").set(auth),
      await request(app).post("/sites/shop/mail/purge").set(auth).send({}),
    ]) {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_body");
      expect(res.body.error.message).toBe(
        'confirm (missing): required: repeat the site\'s slug to confirm the purge, e.g. {"confirm": "shop"}',
      );
      expect(res.body.error.message).not.toMatch(/Invalid input|received undefined/);
    }
    const numeric = await request(app).post("/sites/shop/mail/purge").set(auth).send({ confirm: 7 });
    expect(numeric.body.error.message).toBe("confirm 7: expected the site's slug as a string");
  });

  it("is idempotent: a second enable and a second disable answer 202 alike", async () => {
    const { world, app, auth } = await setup();
    for (let i = 0; i < 2; i++) {
      expect((await request(app).post("/sites/shop/mail/enable").set(auth).send({})).status).toBe(202);
      await world.reconciler.idle();
    }
    expect(world.mailcow.count({ route: "add/domain" })).toBe(1);
    for (let i = 0; i < 2; i++) {
      expect((await request(app).post("/sites/shop/mail/disable").set(auth).send({})).status).toBe(202);
      await world.reconciler.idle();
    }
    expect(world.mailcow.count({ route: "edit/domain" })).toBe(1);
  });

  it("answers a repeated status alike, as JSON, and a changed site with what changed", async () => {
    const { world, app, auth } = await setup();
    await request(app).post("/sites/shop/mail/enable").set(auth).send({});
    await world.reconciler.idle();
    const first = await request(app).get("/sites/shop/mail/status").set(auth);
    const again = await request(app).get("/sites/shop/mail/status").set(auth);
    expect(first.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(again.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(again.text).toBe(first.text);
    expect(first.body).toMatchObject({ enabled: true, status: "ready", run: null });
    // What makes the bytes kept: the reconciler answers an unchanged site with the same frozen view.
    const view = await world.reconciler.status("shop");
    expect(await world.reconciler.status("shop")).toBe(view);
    expect(Object.isFrozen(view.dns.records)).toBe(true);
    // The kept answer must not outlive the state it shows.
    const disabled = await request(app).post("/sites/shop/mail/disable").set(auth).send({});
    expect(disabled.body).toMatchObject({ enabled: false, status: "disabling" });
    await world.reconciler.idle();
    const after = await request(app).get("/sites/shop/mail/status").set(auth);
    expect(after.body).toMatchObject({ enabled: false, status: "disabled", run: null });
  });

  it("refuses a mailbox while mail is off", async () => {
    const { app, auth } = await setup();
    const res = await request(app)
      .post("/sites/blog/mail/mailboxes")
      .set(auth)
      .send({ localPart: "info", password: "long-enough-1", quotaMb: 10 });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("mail_not_enabled");
  });

  it("purges only with the slug repeated", async () => {
    const { world, app, auth } = await setup();
    await request(app).post("/sites/shop/mail/enable").set(auth).send({});
    await world.reconciler.idle();
    const before = everything(world);
    const wrong = await request(app).post("/sites/shop/mail/purge").set(auth).send({ confirm: "DELETE" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe("confirmation_mismatch");
    expect(everything(world)).toBe(before);
    const ok = await request(app).post("/sites/shop/mail/purge").set(auth).send({ confirm: "shop" });
    expect(ok.status).toBe(202);
    await world.reconciler.idle();
    expect((await request(app).get("/sites/shop/mail/status").set(auth)).body.status).toBe("purged");
    expect(world.mailcow.state.domains.size).toBe(0);
  });
});

describe("bad input", () => {
  const cases: Array<{
    name: string;
    method: "post" | "get" | "delete";
    path: string;
    body?: string | object;
    type?: string;
    status: number;
    code: string;
  }> = [
    {
      name: "a slug with capitals",
      method: "post",
      path: "/sites/Shop/mail/enable",
      body: {},
      status: 400,
      code: "invalid_slug",
    },
    {
      name: "a slug with a trailing hyphen",
      method: "get",
      path: "/sites/shop-/mail/status",
      status: 400,
      code: "invalid_slug",
    },
    {
      name: "a 64-character slug",
      method: "get",
      path: `/sites/${"a".repeat(64)}/mail/status`,
      status: 400,
      code: "invalid_slug",
    },
    {
      name: "an encoded slash in the slug",
      method: "get",
      path: "/sites/a%2Fb/mail/status",
      status: 400,
      code: "invalid_slug",
    },
    {
      name: "an unknown site",
      method: "post",
      path: "/sites/ghost/mail/enable",
      body: {},
      status: 404,
      code: "site_not_found",
    },
    {
      name: "an unknown field",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: { domain: "shop.example", force: true },
      status: 400,
      code: "invalid_body",
    },
    {
      name: "a domain of the wrong type",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: { domain: 42 },
      status: 400,
      code: "invalid_body",
    },
    {
      name: "another site's domain",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: { domain: "blog.example" },
      status: 409,
      code: "domain_mismatch",
    },
    {
      name: "a malformed domain",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: { domain: "shop..example" },
      status: 400,
      code: "invalid_domain",
    },
    {
      name: "a site without a domain",
      method: "post",
      path: "/sites/nodomain/mail/enable",
      body: {},
      status: 409,
      code: "site_has_no_domain",
    },
    {
      name: "the mail host as the site's domain",
      method: "post",
      path: "/sites/mailhost/mail/enable",
      body: {},
      status: 409,
      code: "domain_not_allowed",
    },
    {
      name: "a body on disable",
      method: "post",
      path: "/sites/shop/mail/disable",
      body: { now: true },
      status: 400,
      code: "invalid_body",
    },
    {
      name: "a JSON array",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: "[]",
      type: "application/json",
      status: 400,
      code: "invalid_body",
    },
    {
      name: "JSON null",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: "null",
      type: "application/json",
      status: 400,
      code: "malformed_json",
    },
    {
      name: "malformed JSON",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: '{"domain":',
      type: "application/json",
      status: 400,
      code: "malformed_json",
    },
    {
      name: "a form body",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: "domain=shop.example",
      type: "application/x-www-form-urlencoded",
      status: 415,
      code: "unsupported_media_type",
    },
    {
      name: "a text body",
      method: "post",
      path: "/sites/shop/mail/disable",
      body: "{}",
      type: "text/plain",
      status: 415,
      code: "unsupported_media_type",
    },
    {
      name: "a body over the limit",
      method: "post",
      path: "/sites/shop/mail/enable",
      body: { domain: "x".repeat(5000) },
      status: 413,
      code: "body_too_large",
    },
    {
      name: "a short password",
      method: "post",
      path: "/sites/shop/mail/mailboxes",
      body: { localPart: "a", password: "short", quotaMb: 1 },
      status: 400,
      code: "invalid_body",
    },
    {
      name: "a bad local part",
      method: "post",
      path: "/sites/shop/mail/mailboxes",
      body: { localPart: "a b", password: "long-enough-1", quotaMb: 1 },
      status: 400,
      code: "invalid_body",
    },
    {
      name: "a fractional quota",
      method: "post",
      path: "/sites/shop/mail/mailboxes",
      body: { localPart: "a", password: "long-enough-1", quotaMb: 1.5 },
      status: 400,
      code: "invalid_body",
    },
    {
      name: "a bad local part in the path",
      method: "delete",
      path: "/sites/shop/mail/mailboxes/a..b",
      status: 400,
      code: "invalid_localPart",
    },
    {
      name: "a purge without confirm",
      method: "post",
      path: "/sites/shop/mail/purge",
      body: {},
      status: 400,
      code: "invalid_body",
    },
    { name: "an unknown route", method: "get", path: "/sites/shop/mail", status: 404, code: "route_not_found" },
    { name: "a wrong method", method: "get", path: "/sites/shop/mail/enable", status: 405, code: "method_not_allowed" },
  ];

  for (const c of cases) {
    it(`answers ${c.status} ${c.code} to ${c.name}, and changes nothing`, async () => {
      const { world, app, auth } = await setup();
      const before = everything(world);
      let req = request(app)[c.method](c.path).set(auth);
      if (c.type) req = req.set("Content-Type", c.type);
      const res = c.body === undefined ? await req : await req.send(c.body);
      expect(res.status).toBe(c.status);
      expect(res.body.error.code).toBe(c.code);
      expect(res.body.error.message.length).toBeGreaterThan(5);
      await world.reconciler.idle();
      expect(everything(world)).toBe(before);
    });
  }

  it("answers 400 to a path that is not valid percent-encoding and to a body that is not what its encoding says", async () => {
    const { world, app, auth } = await setup();
    const before = everything(world);
    for (const raw of ["%E0%A4%A", "%", "%zz"]) {
      const res = await request(app).post(`/sites/${raw}/mail/enable`).set(auth).send({});
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_path");
    }
    for (const encoding of ["gzip", "deflate", "br"]) {
      const res = await request(app)
        .post("/sites/shop/mail/enable")
        .set(auth)
        .set("Content-Type", "application/json")
        .set("Content-Encoding", encoding)
        .send("{}");
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_body_encoding");
    }
    const unknown = await request(app)
      .post("/sites/shop/mail/enable")
      .set(auth)
      .set("Content-Type", "application/json")
      .set("Content-Encoding", "zstd-ish")
      .send("{}");
    expect(unknown.status).toBe(415);
    await world.reconciler.idle();
    expect(everything(world)).toBe(before);
  });

  it("names the field, the value and the rule in a validation error, but never a password", async () => {
    const { app, auth } = await setup();
    const res = await request(app).post("/sites/shop/mail/mailboxes").set(auth).send({
      localPart: "info",
      password: "tiny",
      quotaMb: 1,
    });
    expect(res.body.error.message).toBe("password: a password has at least 8 characters");
    const slug = await request(app).get("/sites/Bad_Slug/mail/status").set(auth);
    expect(slug.body.error.message).toMatch(/^slug "Bad_Slug": expected a slug/);
  });
});

describe("dependencies failing", () => {
  it("answers 503 when Mailcow is down, and readiness says which check failed", async () => {
    const { world, app, auth } = await setup();
    await request(app).post("/sites/shop/mail/enable").set(auth).send({});
    await world.reconciler.idle();
    expect((await request(app).get("/readyz")).status).toBe(200);
    world.mailcow.faults.inject({ kind: "html-500" });
    const add = await request(app)
      .post("/sites/shop/mail/mailboxes")
      .set(auth)
      .send({ localPart: "info", password: "long-enough-1", quotaMb: 1 });
    expect(add.status).toBe(503);
    expect(add.body.error.code).toBe("mailcow_unavailable");
    const ready = await request(app).get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.checks.kubernetes).toBe("ok");
    expect(ready.body.checks.mailcow).not.toBe("ok");
  });

  it("keeps secrets out of the public readiness checks", async () => {
    const { world, app } = await setup();
    const secret = world.mailcow.apiKey;
    world.sites.ping = async () => {
      throw new Error(`namespace cache: not synced yet (watch: ${secret} refused)`);
    };
    const ready = await request(app).get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.checks.kubernetes).toBe("namespace cache: not synced yet (watch: [redacted] refused)");
    expect(JSON.stringify(ready.body)).not.toContain(secret);
  });

  it("answers 503 when the Kubernetes API is down", async () => {
    const { world, app, auth } = await setup();
    world.k8s.faults.add({ status: 500, times: 100 });
    const res = await request(app).get("/sites/shop/mail/status").set(auth);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("kubernetes_unavailable");
  });
});

describe("metrics", () => {
  it("counts requests by route pattern and status, and runs by result", async () => {
    const { app, auth } = await setup();
    await request(app).get("/sites/shop/mail/status").set(auth);
    await request(app).get("/sites/nope/mail/status").set(auth);
    const text = (await request(app).get("/metrics")).text;
    expect(text).toMatch(
      /mail_controller_http_requests_total\{method="GET",route="\/sites\/:slug\/mail\/status",status="200"\} 1/,
    );
    expect(text).toMatch(/route="\/sites\/:slug\/mail\/status",status="404"\} 1/);

    const metrics = new ControllerMetrics();
    metrics.observer.runFinished?.("shop", "ready", 1.5);
    const rendered = (await metrics.render()).body;
    expect(rendered).toMatch(/mail_controller_runs_total\{result="ready"\} 1/);
    expect(rendered).toMatch(/mail_controller_run_duration_seconds_count\{result="ready"\} 1/);
  });
});
