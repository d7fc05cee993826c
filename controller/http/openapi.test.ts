import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { appFor, startWorld, TOKENS, type World } from "../../test/support/reconciler-world";
import { openApiPath } from "./openapi";

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close().catch(() => {});
});

/** The API as docs/controller.md lists it, written out by hand: neither side comes from the route table. */
const EXPECTED_OPERATIONS = [
  "delete /sites/{slug}/mail/mailboxes/{localPart}",
  "get /healthz",
  "get /metrics",
  "get /openapi.json",
  "get /readyz",
  "get /sites/{slug}/mail/mailboxes",
  "get /sites/{slug}/mail/status",
  "post /sites/{slug}/mail/disable",
  "post /sites/{slug}/mail/enable",
  "post /sites/{slug}/mail/mailboxes",
  "post /sites/{slug}/mail/purge",
];

async function setup() {
  const world = await startWorld();
  worlds.push(world);
  const { app } = appFor(world);
  // The document as a client gets it, not the object the route table built.
  const served = await request(app).get("/openapi.json").set("Authorization", `Bearer ${TOKENS[0]}`);
  expect(served.status).toBe(200);
  return { world, app, openapi: served.body as Record<string, unknown> };
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Method + path of every route Express has registered (not the catch-all 405 handlers). */
function expressRoutes(app: { router: { stack: Layer[] } }): string[] {
  const out: string[] = [];
  for (const layer of app.router.stack) {
    if (!layer.route) continue;
    // app.all() (the 405 answer for known paths) registers every HTTP method; it is not an operation.
    if (Object.keys(layer.route.methods).length > 10) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (on && method !== "_all") out.push(`${method} ${openApiPath(layer.route.path)}`);
    }
  }
  return out.sort();
}

function documentedRoutes(doc: Record<string, unknown>): string[] {
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
    .sort();
}

describe("/openapi.json", () => {
  it("describes exactly the operations the API has, and Express serves exactly those", async () => {
    const { app, openapi } = await setup();
    expect(expressRoutes(app as unknown as { router: { stack: Layer[] } })).toEqual(EXPECTED_OPERATIONS);
    expect(documentedRoutes(openapi)).toEqual(EXPECTED_OPERATIONS);
    expect(openapi.openapi).toBe("3.1.0");
  });

  it("marks only health, readiness and metrics as open", async () => {
    const { openapi } = await setup();
    const paths = openapi.paths as Record<string, Record<string, { security?: unknown[] }>>;
    const open = Object.entries(paths)
      .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => [`${m} ${p}`, op.security] as const))
      .filter(([, security]) => Array.isArray(security) && security.length === 0)
      .map(([route]) => route)
      .sort();
    expect(open).toEqual(["get /healthz", "get /metrics", "get /readyz"]);
  });

  it("documents schemas the real answers satisfy", async () => {
    const { world, app, openapi } = await setup();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const paths = openapi.paths as Record<
      string,
      Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>
    >;
    const check = (path: string, method: string, status: number, body: unknown) => {
      const schema = paths[path][method].responses[String(status)]?.content?.["application/json"]?.schema;
      expect(schema, `${method} ${path} ${status} is documented`).toBeDefined();
      const validate = ajv.compile(schema as object);
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    };
    const auth = { Authorization: `Bearer ${TOKENS[0]}` };
    const enable = await request(app).post("/sites/shop/mail/enable").set(auth).send({});
    check("/sites/{slug}/mail/enable", "post", 202, enable.body);
    const queued = await request(app).get("/sites/shop/mail/status").set(auth);
    check("/sites/{slug}/mail/status", "get", 200, queued.body);
    await world.reconciler.idle();
    const ready = await request(app).get("/sites/shop/mail/status").set(auth);
    check("/sites/{slug}/mail/status", "get", 200, ready.body);
    const add = await request(app)
      .post("/sites/shop/mail/mailboxes")
      .set(auth)
      .send({ localPart: "info", password: "long-enough-1", quotaMb: 5 });
    check("/sites/{slug}/mail/mailboxes", "post", 201, add.body);
    const list = await request(app).get("/sites/shop/mail/mailboxes").set(auth);
    check("/sites/{slug}/mail/mailboxes", "get", 200, list.body);
    const notFound = await request(app).get("/sites/nope/mail/status").set(auth);
    check("/sites/{slug}/mail/status", "get", 404, notFound.body);
    check("/readyz", "get", 200, (await request(app).get("/readyz")).body);
  });
});
