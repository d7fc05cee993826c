/**
 * No secret value leaves the controller. A full enable → mailbox → disable → purge cycle runs through the HTTP API
 * (the controller assembled as `npm start` does, against the doubles), with failures provoked that echo secrets
 * back at it: a stack error quoting the Pulumi passphrase and the Cloudflare token, a Mailcow error page quoting the
 * API key, a Mailcow refusal quoting a mailbox password, request bodies carrying a token or a password in a bad
 * field. Every log line (a pino destination), every annotation written, every response body and header, every
 * status and every config or output the runner saw is collected and searched for every secret.
 */
import { Writable } from "node:stream";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abortError } from "../../controller/clock";
import { StackRunError } from "../../controller/stacks/stack-runner";
import { ScriptedRunner } from "../doubles/stack-runner/scripted-runner";
import {
  buildController,
  type Controller,
  type Doubles,
  startDoubles,
  TEST_CLOUDFLARE_TOKEN,
  TEST_PASSPHRASE,
  TEST_TOKENS,
} from "../support/controller-world";

const PASSWORDS = ["Mailbox-Pass-One-7731", "Mailbox-Pass-Two-8842", "Mailbox-Pass-Three-9953"];

let doubles: Doubles;
let controller: Controller;
let runner: ScriptedRunner;
const logLines: string[] = [];
const responses: string[] = [];

async function collect(req: request.Test): Promise<request.Response> {
  const res = await req;
  responses.push(`${res.status} ${JSON.stringify(res.headers)} ${res.text ?? ""}`);
  return res;
}
const auth = (i = 0) => `Bearer ${TEST_TOKENS[i]}`;
const post = (path: string, body: object, token = auth()) =>
  collect(request(controller.app).post(path).set("Authorization", token).send(body));
const get = (path: string, token = auth()) => collect(request(controller.app).get(path).set("Authorization", token));
const del = (path: string) => collect(request(controller.app).delete(path).set("Authorization", auth(1)));

function secrets(): Record<string, string> {
  return {
    "Mailcow API key": doubles.mailcow.apiKey,
    "Mailcow read-only key": doubles.mailcow.readOnlyKey,
    "controller token A": TEST_TOKENS[0],
    "controller token B": TEST_TOKENS[1],
    "Pulumi passphrase": TEST_PASSPHRASE,
    "Cloudflare token": TEST_CLOUDFLARE_TOKEN,
    ...Object.fromEntries(PASSWORDS.map((p, i) => [`mailbox password ${i + 1}`, p])),
  };
}

/** The forms a value could take in text: as is, JSON-escaped, URL-encoded, base64. */
function forms(secret: string): string[] {
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    Buffer.from(secret).toString("base64"),
  ];
}

beforeAll(async () => {
  doubles = await startDoubles();
  runner = new ScriptedRunner();
  controller = buildController({
    kubernetesUrl: doubles.k8s.url,
    mailcowUrl: doubles.mailcow.url,
    mailcowApiKey: doubles.mailcow.apiKey,
    runner,
    logLevel: "trace",
    logDestination: new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
    clock: {
      now: () => Date.now(),
      sleep: async (_ms, signal) => {
        if (signal?.aborted) throw abortError();
        await new Promise((r) => setImmediate(r));
      },
    },
  });

  // Enable: the stack run fails once quoting the passphrase and the Cloudflare token, and Mailcow's first answer is
  // an error page quoting the API key; both are retried.
  runner.script({
    fail: new StackRunError(
      `pulumi up: error: could not decrypt with passphrase ${TEST_PASSPHRASE}; CLOUDFLARE_API_TOKEN=${TEST_CLOUDFLARE_TOKEN} was refused`,
      true,
    ),
  });
  doubles.mailcow.faults.inject({
    kind: "respond",
    status: 500,
    contentType: "text/html",
    body: `<html><body><h1>500</h1><pre>request headers: X-API-Key ${doubles.mailcow.apiKey}</pre></body></html>`,
    times: 1,
  });
  await post("/sites/shop/mail/enable", {});
  await get("/sites/shop/mail/status");
  await controller.reconciler.idle();
  await get("/sites/shop/mail/status");

  // Mailboxes: one added, one refused by Mailcow quoting its password, bad bodies carrying passwords.
  await post("/sites/shop/mail/mailboxes", { localPart: "info", password: PASSWORDS[0], quotaMb: 100 });
  doubles.mailcow.faults.inject({
    kind: "danger",
    method: "POST",
    route: "add/mailbox",
    msg: ["password_complexity", PASSWORDS[1]],
    times: 1,
  });
  await post("/sites/shop/mail/mailboxes", { localPart: "sales", password: PASSWORDS[1], quotaMb: 100 });
  await post("/sites/shop/mail/mailboxes", { localPart: "bad..name", password: PASSWORDS[2], quotaMb: 100 });
  await post("/sites/shop/mail/mailboxes", { localPart: "ok", password: PASSWORDS[2], quotaMb: "lots" });
  await post("/sites/shop/mail/mailboxes", { localPart: "ok", password: PASSWORDS[2], quotaMb: 1, pw: PASSWORDS[2] });
  await post("/sites/shop/mail/mailboxes", { localPart: "ok", password: PASSWORDS[2].repeat(20), quotaMb: 1 });
  await post("/sites/blog/mail/mailboxes", { localPart: "info", password: PASSWORDS[2], quotaMb: 1 });
  await get("/sites/shop/mail/mailboxes");
  // A caller pasting a token where a domain goes, and requests with wrong or rotated tokens.
  await post("/sites/shop/mail/enable", { domain: TEST_TOKENS[0] });
  await post("/sites/shop/mail/enable", { domain: `${TEST_TOKENS[1]}.example` });
  await post("/sites/shop/mail/purge", { confirm: TEST_TOKENS[0] });
  await get("/sites/shop/mail/status", `Bearer ${TEST_TOKENS[0]}x`);
  await get("/sites/shop/mail/status", `Basic ${TEST_TOKENS[1]}`);
  await get("/sites/shop/mail/status", auth(1));

  // Disable (the stack run fails once more, quoting the passphrase), then purge.
  await del("/sites/shop/mail/mailboxes/info");
  runner.script({ fail: new StackRunError(`pulumi: passphrase=${TEST_PASSPHRASE} is incorrect`, true) });
  await post("/sites/shop/mail/disable", {});
  await controller.reconciler.idle();
  await get("/sites/shop/mail/status");
  await post("/sites/shop/mail/purge", { confirm: "shop" });
  await controller.reconciler.idle();
  await get("/sites/shop/mail/status");
  await collect(request(controller.app).get("/metrics"));
  await collect(request(controller.app).get("/readyz"));
  await get("/openapi.json");
});

afterAll(async () => {
  await controller?.shutdown(0);
  await doubles?.close();
});

describe("secrets during a full enable, mailbox, disable and purge cycle", () => {
  it("the cycle ran and the provocations happened", () => {
    expect(doubles.k8s.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("purged");
    expect(doubles.mailcow.requests.some((r) => r.status === 500)).toBe(true);
    expect(doubles.mailcow.requests.some((r) => r.fault === "danger")).toBe(true);
    expect(runner.calls.filter((c) => c.op === "up").length).toBeGreaterThanOrEqual(4);
    expect(responses.some((r) => r.startsWith("422 "))).toBe(true);
    expect(responses.some((r) => r.startsWith("401 "))).toBe(true);
    expect(responses.filter((r) => r.startsWith("400 ")).length).toBeGreaterThanOrEqual(5);
    // Retries were logged with their reasons, so the failures did reach the log path.
    expect(logLines.some((l) => l.includes("retrying") && l.includes("[redacted]"))).toBe(true);
    // …and the annotations: the retry's last error was written with the secrets masked.
    const patches = doubles.k8s.requests.filter((r) => r.method === "PATCH").map((r) => JSON.stringify(r.body));
    expect(patches.some((p) => p.includes("mail-last-error") && p.includes("[redacted]"))).toBe(true);
  });

  const sources: Array<[string, () => string[]]> = [
    ["log lines", () => logLines],
    [
      "annotations written",
      () => doubles.k8s.requests.filter((r) => r.method === "PATCH").map((r) => JSON.stringify(r.body)),
    ],
    ["namespaces as they end", () => [JSON.stringify(doubles.k8s.snapshot())]],
    ["response bodies and headers", () => responses],
    [
      "stack configs and outputs the runner saw",
      () => [JSON.stringify(runner.calls), JSON.stringify([...runner.stacks])],
    ],
  ];

  for (const [what, texts] of sources) {
    it(`keeps every secret out of the ${what}`, () => {
      const all = texts();
      expect(all.length).toBeGreaterThan(0);
      for (const [name, secret] of Object.entries(secrets())) {
        for (const form of forms(secret)) {
          const hit = all.find((t) => t.includes(form));
          expect(hit, `${name} found in the ${what}: ${hit?.slice(0, 400)}`).toBeUndefined();
        }
      }
    });
  }
});
