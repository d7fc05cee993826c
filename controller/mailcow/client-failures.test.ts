import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type MailcowDouble, startMailcowDouble } from "../../test/doubles/mailcow-api";
import { TEST_DOMAIN_LIMITS } from "../../test/support/domain-limits";
import { MailcowClient, type MailcowClientOptions, type MailcowLogger } from "./client";
import { isTransient, MailcowError } from "./errors";

let double: MailcowDouble;
const clients: MailcowClient[] = [];

beforeEach(async () => {
  // Every request of this suite is also checked against Mailcow's OpenAPI file (when ../shared has it).
  double = await startMailcowDouble({ reuseDkimKeys: true, checkContract: true });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await double.close();
  expect(double.contractViolations).toEqual([]);
});

function makeClient(options: Partial<MailcowClientOptions> = {}): MailcowClient {
  const c = new MailcowClient({ baseUrl: double.url, apiKey: double.apiKey, ...options });
  clients.push(c);
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<MailcowError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailcowError);
  return err as MailcowError;
}

const LIMITS = TEST_DOMAIN_LIMITS;

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("HTTP error shapes", () => {
  it("maps 401 for an unknown key to a permanent auth error", async () => {
    const c = makeClient({ apiKey: "wrong-key-123" });
    const err = await rejection(c.getDomain("a.com"));
    expect(err).toMatchObject({
      kind: "auth",
      retryable: false,
      status: 401,
      msgKey: "authentication failed",
      operation: "getDomain",
    });
  });

  it("maps 401 for a source address outside API_ALLOW_FROM to a permanent auth error naming the address", async () => {
    const guarded = await startMailcowDouble({ allowFrom: ["10.42.0.7"] });
    try {
      const c = new MailcowClient({ baseUrl: guarded.url, apiKey: guarded.apiKey });
      const err = await rejection(c.ping());
      c.close();
      expect(err).toMatchObject({ kind: "auth", retryable: false, status: 401 });
      expect(err.message).toContain("api access denied for ip 127.0.0.1");
    } finally {
      await guarded.close();
    }
  });

  it("maps 403 for a write with the read-only key to an auth error", async () => {
    double.state.seedDomain("a.com");
    const c = makeClient({ apiKey: double.readOnlyKey });
    const err = await rejection(c.setDomainActive("a.com", false));
    expect(err).toMatchObject({ kind: "auth", status: 403, msgKey: "API read/write access denied" });
    expect(double.state.domains.get("a.com")?.active).toBe(1);
  });

  it("maps 405 to a protocol error", async () => {
    double.faults.inject({ kind: "respond", status: 405, body: '{"type":"error","msg":"only GET method is allowed"}' });
    const err = await rejection(makeClient().getDkim("a.com"));
    expect(err).toMatchObject({ kind: "protocol", status: 405, msgKey: "only GET method is allowed" });
    expect(double.count()).toBe(1);
  });

  it("maps 404 route not found to a permanent protocol error (a wrong base URL, not a missing object)", async () => {
    double.faults.inject({ kind: "respond", status: 404, body: '{"type":"error","msg":"route not found"}' });
    const err = await rejection(makeClient().ping());
    expect(err).toMatchObject({ kind: "protocol", retryable: false, status: 404 });
    expect(err.message).toContain("MAILCOW_API_URL");
  });

  it("maps a 500 HTML page to a retryable transient error that quotes the page briefly", async () => {
    double.faults.inject({ kind: "html-500" });
    const err = await rejection(makeClient().getDomain("a.com"));
    expect(err).toMatchObject({ kind: "transient", retryable: true, status: 500 });
    expect(err.message).toContain("Connection to database failed");
    expect(isTransient(err)).toBe(true);
  });

  it("maps the HTML page every call gets while dockerapi is unreachable to a retryable error", async () => {
    double.state.dockerapi = "unreachable";
    const err = await rejection(makeClient().getDomain("a.com"));
    expect(err).toMatchObject({ kind: "transient", retryable: true, status: 500 });
  });

  it("maps malformed JSON on a GET to a protocol error", async () => {
    double.faults.inject({ kind: "malformed-json" });
    const err = await rejection(makeClient().getDomain("a.com"));
    expect(err.kind).toBe("protocol");
    expect(err.message).toContain("non-JSON");
    expect(double.count()).toBe(1);
  });

  it("maps malformed JSON on a write to a protocol error", async () => {
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "malformed-json", method: "POST" });
    const err = await rejection(makeClient().setDomainActive("a.com", true));
    expect(err.kind).toBe("protocol");
  });

  it("maps an empty 200 body on a GET to a retryable protocol error, never to absent", async () => {
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "empty-body", method: "GET" });
    const c = makeClient();
    for (const call of [c.getDomain("a.com"), c.listMailboxes("a.com"), c.getDkim("a.com")]) {
      const err = await rejection(call);
      expect(err).toMatchObject({ kind: "protocol", retryable: true, status: 200 });
      expect(err.message).toContain("empty body");
    }
  });

  it("fails every read and the deactivation while Mailcow's domain table is broken, reporting nothing as absent", async () => {
    double.state.seedDomain("a.com");
    double.state.seedMailbox("info@a.com");
    double.state.brokenTables.add("domain");
    const c = makeClient();
    for (const call of [c.getDomain("a.com"), c.listMailboxes("a.com"), c.setDomainActive("a.com", false)]) {
      expect(await rejection(call)).toMatchObject({ kind: "protocol", retryable: true });
    }
    // A purge that cannot list the mailboxes deletes nothing.
    await rejection(c.purgeDomain("a.com"));
    expect(double.count({ method: "POST", route: "delete/" })).toBe(0);
    expect(double.state.domains.get("a.com")?.active).toBe(1);
  });

  it("maps an empty body on a write to a retryable protocol error", async () => {
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "empty-body", method: "POST" });
    const err = await rejection(makeClient().setDomainActive("a.com", true));
    expect(err).toMatchObject({ kind: "protocol", retryable: true });
    expect(err.message).toContain("empty body");
  });

  it("maps a database error entry (mysql_error, SQLSTATE) to a retryable transient error", async () => {
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "danger", method: "POST", times: 1, msg: ["mysql_error", "Deadlock found"] });
    const c = makeClient();
    expect(await rejection(c.setDomainActive("a.com", true))).toMatchObject({
      kind: "transient",
      retryable: true,
      msgKey: "mysql_error",
    });
    double.faults.inject({ kind: "danger", method: "POST", times: 1, msg: ["SQLSTATE[HY000]: General error"] });
    expect(await rejection(c.setDomainActive("a.com", true))).toMatchObject({ kind: "transient", retryable: true });
  });

  it("maps a danger entry on every write to permanent validation errors keeping Mailcow's key and arguments", async () => {
    double.faults.inject({ kind: "danger", method: "POST", msg: ["object_is_not_numeric", "ten"] });
    const c = makeClient();
    const errors = await Promise.all([
      rejection(c.ensureDomain("a.com", "site", LIMITS)),
      rejection(c.setDomainActive("a.com", true)),
      rejection(c.deleteMailbox("a@a.com")),
    ]);
    for (const err of errors) {
      expect(err).toMatchObject({
        kind: "validation",
        retryable: false,
        status: 200,
        msgKey: "object_is_not_numeric",
        msgArgs: ["ten"],
      });
    }
    expect(double.state.domains.size).toBe(0);
  });

  it("maps Mailcow's single error object (Cannot add item) to a validation error", async () => {
    double.faults.inject({ kind: "respond", method: "POST", body: '{"type":"error","msg":"Cannot add item"}' });
    const err = await rejection(makeClient().ensureDkim("a.com", "dkim"));
    expect(err).toMatchObject({ kind: "validation", msgKey: "Cannot add item", msgArgs: [] });
  });

  it("succeeds on a write answered with a single success object", async () => {
    double.faults.inject({ kind: "respond", method: "POST", body: '{"type":"success","msg":"Task completed"}' });
    await makeClient().setDomainActive("a.com", true);
  });

  it("maps an answer of an unexpected shape to a protocol error naming the field", async () => {
    double.faults.inject({
      kind: "respond",
      method: "GET",
      body: JSON.stringify({ domain_name: "a.com", active: "yes" }),
    });
    const err = await rejection(makeClient().getDomain("a.com"));
    expect(err.kind).toBe("protocol");
    expect(err.message).toContain("active");
  });

  it("maps a write envelope without a type to a protocol error", async () => {
    double.faults.inject({ kind: "respond", method: "POST", body: '[{"msg":"x"}]' });
    const err = await rejection(makeClient().setDomainActive("a.com", true));
    expect(err.kind).toBe("protocol");
  });
});

describe("one request per call (the reconciler is the only retry layer)", () => {
  it("sends a GET answered with 5xx once and marks the failure retryable", async () => {
    double.faults.inject({ kind: "html-500", method: "GET" });
    const err = await rejection(makeClient().getDomain("a.com"));
    expect(err).toMatchObject({ kind: "transient", retryable: true });
    expect(double.count()).toBe(1);
  });

  it("sends a GET whose connection was reset once and marks the failure retryable", async () => {
    double.faults.inject({ kind: "reset", method: "GET" });
    const err = await rejection(makeClient().getDkim("a.com"));
    expect(err).toMatchObject({ kind: "transient", retryable: true, code: "ECONNRESET" });
    expect(double.count()).toBe(1);
  });

  it("sends a POST answered with 5xx or reset after sending once, retryable (the GET-first ensure repairs it)", async () => {
    double.faults.inject({ kind: "html-500", method: "POST", times: 1 });
    const c = makeClient();
    expect(await rejection(c.ensureDomain("a.com", "site", LIMITS))).toMatchObject({ retryable: true });
    double.faults.inject({ kind: "reset", method: "POST", times: 1 });
    const reset = await rejection(c.ensureDomain("a.com", "site", LIMITS));
    expect(reset).toMatchObject({ kind: "transient", retryable: true, code: "ECONNRESET" });
    expect(double.count({ method: "POST" })).toBe(2);
  });

  it("marks validation, auth and malformed answers as not retryable", async () => {
    const bad = await rejection(makeClient({ apiKey: "wrong-key-123" }).getDomain("a.com"));
    double.faults.inject({ kind: "malformed-json", times: 1 });
    const malformed = await rejection(makeClient().getDomain("a.com"));
    const invalid = await rejection(makeClient().setDomainActive("nope.com", true));
    expect([bad, malformed, invalid].map((e) => [e.kind, e.retryable])).toEqual([
      ["auth", false],
      ["protocol", false],
      ["validation", false],
    ]);
    expect(double.count()).toBe(3);
  });

  it("reports a refused connection once per call as retryable, saying nothing reached Mailcow", async () => {
    const port = await closedPort();
    const attempts: string[] = [];
    const c = makeClient({ baseUrl: `http://127.0.0.1:${port}`, onRequest: (info) => attempts.push(info.method) });
    const getErr = await rejection(c.getDomain("a.com"));
    expect(getErr).toMatchObject({ kind: "transient", retryable: true, code: "ECONNREFUSED" });
    const postErr = await rejection(c.setDomainActive("a.com", true));
    expect(postErr).toMatchObject({ kind: "transient", retryable: true, code: "ECONNREFUSED" });
    expect(postErr.message).toContain("nothing reached Mailcow");
    expect(attempts).toEqual(["GET", "POST"]);
  });

  it("lets a lost answer be repaired by calling ensureDomain again, which finds the domain", async () => {
    double.faults.inject({ kind: "reset", method: "POST", route: "add/domain", afterApply: true, times: 1 });
    const c = makeClient();
    await rejection(c.ensureDomain("a.com", "site", LIMITS));
    expect(double.state.domains.has("a.com")).toBe(true);
    const again = await c.ensureDomain("a.com", "site", LIMITS);
    expect(again.created).toBe(false);
    expect(double.count({ method: "POST", route: "add/domain" })).toBe(1);
  });
});

describe("timeouts", () => {
  it("aborts a GET that never answers and reports a retryable timeout", async () => {
    double.faults.inject({ kind: "hang", method: "GET" });
    const err = await rejection(makeClient({ timeoutMs: 100 }).getDomain("a.com"));
    expect(err).toMatchObject({ kind: "transient", retryable: true, code: "ETIMEDOUT" });
    expect(err.message).toContain("timed out");
    expect(double.count()).toBe(1);
  });

  it("does not re-send a POST that timed out", async () => {
    double.faults.inject({ kind: "hang", method: "POST" });
    const err = await rejection(makeClient({ timeoutMs: 100 }).setDomainActive("a.com", true));
    expect(err).toMatchObject({ kind: "transient", code: "ETIMEDOUT" });
    expect(double.count({ method: "POST" })).toBe(1);
  });
});

describe("secrets", () => {
  const KEY = "Zz9-SECRET-API-KEY-4711";

  function leaks(err: MailcowError, secret: string): string[] {
    const texts = {
      message: err.message,
      stack: err.stack ?? "",
      json: JSON.stringify(err),
      inspect: inspect(err, { depth: 5, showHidden: true }),
      string: String(err),
    };
    // A prefix too: a cut-off key is still a leak.
    return Object.entries(texts)
      .filter(([, text]) => text.includes(secret.slice(0, 8)))
      .map(([where]) => where);
  }

  it("keeps the API key out of every error, whatever the failure", async () => {
    await double.close();
    double = await startMailcowDouble({ apiKey: KEY, checkContract: true });
    const c = makeClient({ apiKey: KEY, timeoutMs: 100 });
    const errors: MailcowError[] = [];
    const echo = `<html>X-API-Key: ${KEY}</html>`;
    const cases: [Parameters<typeof double.faults.inject>[0] | null, () => Promise<unknown>][] = [
      [{ kind: "html-500" }, () => c.getDomain("a.com")],
      [{ kind: "respond", status: 502, body: echo, contentType: "text/html" }, () => c.getDomain("a.com")],
      // The key straddles the point where the quoted snippet is cut.
      [{ kind: "respond", status: 503, body: `${"x".repeat(70)} ${KEY}` }, () => c.getDomain("a.com")],
      [{ kind: "respond", status: 200, body: `${"x".repeat(70)} ${KEY}` }, () => c.getDomain("a.com")],
      [{ kind: "respond", status: 200, body: echo, contentType: "text/html" }, () => c.getDomain("a.com")],
      [{ kind: "respond", body: JSON.stringify({ type: "error", msg: `bad key ${KEY}` }) }, () => c.ping()],
      [{ kind: "danger", msg: ["weird", KEY] }, () => c.setDomainActive("a.com", true)],
      [{ kind: "respond", status: 401, body: JSON.stringify({ type: "error", msg: `no ${KEY}` }) }, () => c.ping()],
      [{ kind: "hang" }, () => c.getDomain("a.com")],
      [{ kind: "reset" }, () => c.setDomainActive("a.com", true)],
      [{ kind: "malformed-json" }, () => c.getDkim("a.com")],
      [{ kind: "empty-body" }, () => c.deleteMailbox("a@a.com")],
      [null, () => c.setDomainActive("missing.com", true)],
      [null, () => c.ensureDkim("missing.com", "dkim")],
      [null, () => c.setDomainRateLimit("a.com", { value: -1, frame: "h" })],
    ];
    for (const [fault, call] of cases) {
      double.faults.clear();
      if (fault) double.faults.inject(fault);
      errors.push(await rejection(call()));
    }
    // And with a wrong key (that key must not leak either) and a refused connection.
    const wrongKey = "Yy8-WRONG-API-KEY-0815";
    errors.push(await rejection(makeClient({ apiKey: wrongKey }).getDomain("a.com")));
    const port = await closedPort();
    errors.push(await rejection(makeClient({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}` }).ping()));

    expect(new Set(errors.map((e) => e.kind))).toEqual(new Set(["transient", "protocol", "validation", "auth"]));
    for (const err of errors) {
      expect(leaks(err, KEY), err.message).toEqual([]);
      expect(leaks(err, wrongKey), err.message).toEqual([]);
    }
    // The redaction is visible where the server echoed the key.
    expect(errors[1]?.message).toContain("[redacted]");
  });

  it("keeps the API key and mailbox passwords out of log lines", async () => {
    const lines: string[] = [];
    const logger: MailcowLogger = {
      debug: (obj, msg) => lines.push(JSON.stringify({ obj, msg })),
      warn: (obj, msg) => lines.push(JSON.stringify({ obj, msg })),
    };
    await double.close();
    double = await startMailcowDouble({ apiKey: KEY, checkContract: true });
    double.state.seedDomain("a.com");
    const c = makeClient({ apiKey: KEY, logger });
    double.faults.inject({ kind: "html-500", method: "GET", times: 1 });
    await rejection(c.getDomain("a.com"));
    await c.getDomain("a.com");
    await c.addMailbox({ localPart: "info", domain: "a.com", password: "Pw-very-secret-1", quotaMb: 10 });
    double.faults.inject({ kind: "danger", msg: ["echo", "Pw-very-secret-2"] });
    const err = await rejection(
      c.addMailbox({ localPart: "x", domain: "a.com", password: "Pw-very-secret-2", quotaMb: 10 }),
    );
    expect(err.msgArgs).toEqual(["[redacted]"]);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const all = lines.join("\n");
    expect(all).not.toContain(KEY);
    expect(all).not.toContain("Pw-very-secret");
  });

  it("keeps Mailcow's session id (as good as the key while it lives) out of errors and log lines", async () => {
    const lines: string[] = [];
    const logger: MailcowLogger = {
      debug: (obj, msg) => lines.push(JSON.stringify({ obj, msg })),
      warn: (obj, msg) => lines.push(JSON.stringify({ obj, msg })),
    };
    double.state.seedDomain("a.com");
    const c = makeClient({ logger });
    await c.getDomain("a.com");
    const session = double.requests[0]?.session ?? "";
    expect(session.length).toBeGreaterThan(8);
    double.faults.inject({ kind: "danger", method: "POST", times: 1, msg: ["echo", `MCSESSID=${session}`] });
    const err = await rejection(c.setDomainActive("a.com", true));
    expect(JSON.stringify(err)).not.toContain(session);
    expect(err.message).not.toContain(session);
    expect(lines.join("\n")).not.toContain(session);
  });

  it("accepts a pino logger", async () => {
    const c = makeClient({ logger: pino({ level: "silent" }) });
    expect(await c.getDomain("a.com")).toBeNull();
  });

  it("refuses bad options naming the option, without echoing the key", () => {
    expect(() => new MailcowClient({ baseUrl: "ftp://x", apiKey: "abc" })).toThrow(/baseUrl/);
    expect(() => new MailcowClient({ baseUrl: "http://x", apiKey: "has space secret" })).toThrow(/apiKey/);
    try {
      new MailcowClient({ baseUrl: "http://x", apiKey: "has space secret" });
    } catch (err) {
      expect(String(err)).not.toContain("has space secret");
    }
    expect(() => new MailcowClient({ baseUrl: "http://x", apiKey: "abc", timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
if (!hasOpenssl) console.warn("skipping the custom-CA test: the openssl binary is not available to make a certificate");

describe("TLS", () => {
  it.skipIf(!hasOpenssl)("trusts a private CA given as `ca` and refuses the same server without it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailcow-ca-"));
    const keyFile = path.join(dir, "key.pem");
    const certFile = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1"].concat([
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ]),
      { stdio: "ignore" },
    );
    const cert = fs.readFileSync(certFile);
    const server = https.createServer({ key: fs.readFileSync(keyFile), cert }, (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end('{"version":"2026-07a"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const baseUrl = `https://127.0.0.1:${port}`;
      await makeClient({ baseUrl, ca: cert }).ping();
      const attempts: string[] = [];
      const err = await rejection(makeClient({ baseUrl, onRequest: (i) => attempts.push(i.method) }).ping());
      expect(err).toMatchObject({ kind: "protocol", retryable: false });
      expect(err.message).toContain("TLS certificate not trusted");
      expect(attempts).toEqual(["GET"]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
