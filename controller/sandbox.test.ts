/**
 * The sandbox keeps its own contract: every answer it gives on the walk a newcomer takes (enable, status polls until
 * ready, mailboxes, disable, the refusals) is checked against the `/openapi.json` the same sandbox serves. TXT
 * `chunks` once came out as `{"type":"Buffer","data":[…]}` (dns-packet encodes arrays in place), which this catches.
 */
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../test/support/wait";
import { type Sandbox, startSandbox } from "./sandbox-world";

let sandbox: Sandbox;
let doc: { paths: Record<string, Record<string, { responses: Record<string, ResponseDoc> }>> };
type ResponseDoc = { content?: Record<string, { schema?: object }> };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const checked: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    logLevel: "silent",
    dnsCheck: true,
    publishDelayMs: 100,
    runnerDelayMs: 50,
    dnsCheckIntervalSeconds: 1,
    dnsCheckTimeoutSeconds: 120,
  });
  doc = (await (await call("get", "/openapi.json")).json()) as typeof doc;
});

afterAll(async () => {
  await sandbox?.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, {
    method: method.toUpperCase(),
    headers: {
      Authorization: `Bearer ${sandbox.token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Calls the sandbox and checks the answer against the schema its /openapi.json gives for that status. */
async function answer(
  method: string,
  path: string,
  template: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await call(method, path, body);
  const text = await res.text();
  const json = text === "" ? undefined : JSON.parse(text);
  const documented = doc.paths[template]?.[method]?.responses[String(res.status)];
  expect(documented, `${method} ${template} ${res.status} is documented`).toBeDefined();
  const schema = documented?.content?.["application/json"]?.schema;
  if (schema) {
    const validate = ajv.compile(schema);
    expect(validate(json), `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  } else {
    expect(json, `${method} ${template} ${res.status} documents no body`).toBeUndefined();
  }
  checked.push(`${method} ${template} ${res.status}`);
  return { status: res.status, json };
}

describe("the sandbox against its own /openapi.json", () => {
  it("answers the whole walk of the README as documented, TXT chunks as strings included", async () => {
    const status = "/sites/{slug}/mail/status";
    expect((await answer("post", "/sites/shop/mail/enable", "/sites/{slug}/mail/enable", {})).status).toBe(202);
    let last: { status?: string; dns?: { records: Array<{ type: string; chunks?: unknown[] }> } } = {};
    await waitUntil(
      "shop is ready",
      async () => {
        last = (await answer("get", "/sites/shop/mail/status", status)).json as typeof last;
        return last.status === "ready";
      },
      60_000,
      200,
    );
    const txt = last.dns?.records.filter((r) => r.type === "TXT") ?? [];
    expect(txt.length).toBeGreaterThan(0);
    for (const r of txt) for (const chunk of r.chunks ?? []) expect(typeof chunk).toBe("string");

    const box = { localPart: "info", password: "Change-me-2024", quotaMb: 1024 };
    expect((await answer("post", "/sites/shop/mail/mailboxes", "/sites/{slug}/mail/mailboxes", box)).status).toBe(201);
    expect((await answer("post", "/sites/shop/mail/mailboxes", "/sites/{slug}/mail/mailboxes", box)).status).toBe(409);
    expect((await answer("get", "/sites/shop/mail/mailboxes", "/sites/{slug}/mail/mailboxes")).status).toBe(200);
    const remove = "/sites/{slug}/mail/mailboxes/{localPart}";
    expect((await answer("delete", "/sites/shop/mail/mailboxes/info", remove)).status).toBe(204);
    expect((await answer("delete", "/sites/shop/mail/mailboxes/info", remove)).status).toBe(404);
    expect((await answer("post", "/sites/shop/mail/disable", "/sites/{slug}/mail/disable", {})).status).toBe(202);
    await sandbox.controller.reconciler.idle();
    const disabled = (await answer("get", "/sites/shop/mail/status", status)).json as { dns: { notice?: string } };
    expect(disabled.dns.notice).toMatch(/remove the records you published by hand/);

    expect((await answer("get", "/sites/nope/mail/status", status)).status).toBe(404);
    expect((await answer("get", "/sites/Not_A_Slug/mail/status", status)).status).toBe(400);
    expect(
      (await answer("post", "/sites/blog/mail/enable", "/sites/{slug}/mail/enable", { domain: "shop.example.com" }))
        .status,
    ).toBe(409);
    expect((await answer("post", "/sites/blog/mail/purge", "/sites/{slug}/mail/purge", {})).status).toBe(400);
    expect(
      (await answer("post", "/sites/blog/mail/purge", "/sites/{slug}/mail/purge", { confirm: "blog" })).status,
    ).toBe(202);
    await sandbox.controller.reconciler.idle();
    expect((await answer("get", "/healthz", "/healthz")).status).toBe(200);
    expect([200, 503]).toContain((await answer("get", "/readyz", "/readyz")).status);
    expect(checked.length).toBeGreaterThan(15);
  });
});
