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
import { DEFAULT_DOMAIN_LIMITS, MailcowClient, type MailcowClientOptions, type MailcowLogger } from "./client";
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
  const c = new MailcowClient({ baseUrl: double.url, apiKey: double.apiKey, retries: 2, backoffMs: 1, ...options });
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

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("HTTP error shapes", () => {
  it("maps 401 for an unknown key to an auth error, without retrying", async () => {
    const c = makeClient({ apiKey: "wrong-key-123" });
    const err = await rejection(c.getDomain("a.com"));
    expect(err).toMatchObject({ kind: "auth", status: 401, msgKey: "authentication failed", operation: "getDomain" });
    expect(double.count()).toBe(1);
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

  it("maps 404 route not found to not-found", async () => {
    double.faults.inject({ kind: "respond", status: 404, body: '{"type":"error","msg":"route not found"}' });
    const err = await rejection(makeClient().ping());
    expect(err).toMatchObject({ kind: "not-found", status: 404 });
  });

  it("maps a 500 HTML page to a transient error that quotes the page briefly", async () => {
    double.faults.inject({ kind: "html-500" });
    const err = await rejection(makeClient({ retries: 0 }).getDomain("a.com"));
    expect(err).toMatchObject({ kind: "transient", status: 500 });
    expect(err.message).toContain("Connection to database failed");
    expect(isTransient(err)).toBe(true);
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

  it("treats an empty body on a GET as not found", async () => {
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "empty-body", method: "GET" });
    expect(await makeClient().getDomain("a.com")).toBeNull();
  });

  it("maps an empty body on a write to a protocol error", async () => {
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "empty-body", method: "POST" });
    const err = await rejection(makeClient().setDomainActive("a.com", true));
    expect(err).toMatchObject({ kind: "protocol" });
    expect(err.message).toContain("empty body");
  });

  it("maps a danger entry on every write to validation errors keeping Mailcow's key and arguments", async () => {
    double.faults.inject({ kind: "danger", method: "POST", msg: ["mysql_error", "Deadlock found"] });
    const c = makeClient();
    const errors = await Promise.all([
      rejection(c.ensureDomain("a.com", "site", DEFAULT_DOMAIN_LIMITS)),
      rejection(c.setDomainActive("a.com", true)),
      rejection(c.deleteMailbox("a@a.com")),
    ]);
    for (const err of errors) {
      expect(err).toMatchObject({
        kind: "validation",
        status: 200,
        msgKey: "mysql_error",
        msgArgs: ["Deadlock found"],
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

describe("retries", () => {
  it("retries a GET after 5xx up to the configured number of retries", async () => {
    double.faults.inject({ kind: "html-500", method: "GET" });
    const err = await rejection(makeClient({ retries: 2 }).getDomain("a.com"));
    expect(err.kind).toBe("transient");
    expect(double.count()).toBe(3);
  });

  it("retries a GET that failed once and returns the later answer", async () => {
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "html-500", method: "GET", times: 1 });
    expect((await makeClient().getDomain("a.com"))?.name).toBe("a.com");
    expect(double.count()).toBe(2);
  });

  it("retries a GET whose connection was reset", async () => {
    double.faults.inject({ kind: "reset", method: "GET", times: 2 });
    expect(await makeClient({ retries: 2 }).getDkim("a.com")).toBeNull();
    expect(double.count()).toBe(3);
  });

  it("never re-sends a POST answered with 5xx", async () => {
    double.faults.inject({ kind: "html-500", method: "POST" });
    const err = await rejection(makeClient({ retries: 3 }).ensureDomain("a.com", "site", DEFAULT_DOMAIN_LIMITS));
    expect(err.kind).toBe("transient");
    expect(double.count({ method: "POST" })).toBe(1);
  });

  it("never re-sends a POST whose connection was reset after sending", async () => {
    double.faults.inject({ kind: "reset", method: "POST" });
    const err = await rejection(makeClient({ retries: 3 }).ensureDomain("a.com", "site", DEFAULT_DOMAIN_LIMITS));
    expect(err.kind).toBe("transient");
    expect(err.code).toBe("ECONNRESET");
    expect(double.count({ method: "POST" })).toBe(1);
  });

  it("does not retry validation, auth or protocol errors", async () => {
    const c = makeClient({ retries: 3, apiKey: "wrong-key-123" });
    await rejection(c.getDomain("a.com"));
    double.faults.inject({ kind: "malformed-json" });
    await rejection(makeClient({ retries: 3 }).getDomain("a.com"));
    expect(double.count()).toBe(2);
  });

  it("retries GETs and POSTs whose connection was refused, since nothing reached Mailcow", async () => {
    const port = await closedPort();
    const attempts: string[] = [];
    const c = makeClient({
      baseUrl: `http://127.0.0.1:${port}`,
      retries: 2,
      onRequest: (info) => attempts.push(info.method),
    });
    const getErr = await rejection(c.getDomain("a.com"));
    expect(getErr).toMatchObject({ kind: "transient", code: "ECONNREFUSED" });
    const postErr = await rejection(c.setDomainActive("a.com", true));
    expect(postErr).toMatchObject({ kind: "transient", code: "ECONNREFUSED" });
    expect(attempts).toEqual(["GET", "GET", "GET", "POST", "POST", "POST"]);
  });

  it("lets a lost answer be repaired by calling ensureDomain again, which finds the domain", async () => {
    double.faults.inject({ kind: "reset", method: "POST", route: "add/domain", afterApply: true, times: 1 });
    const c = makeClient();
    await rejection(c.ensureDomain("a.com", "site", DEFAULT_DOMAIN_LIMITS));
    expect(double.state.domains.has("a.com")).toBe(true);
    const again = await c.ensureDomain("a.com", "site", DEFAULT_DOMAIN_LIMITS);
    expect(again.created).toBe(false);
    expect(double.count({ method: "POST", route: "add/domain" })).toBe(1);
  });
});

describe("timeouts", () => {
  it("aborts a GET that never answers and reports a transient timeout", async () => {
    double.faults.inject({ kind: "hang", method: "GET" });
    const err = await rejection(makeClient({ timeoutMs: 100, retries: 1 }).getDomain("a.com"));
    expect(err).toMatchObject({ kind: "transient", code: "ETIMEDOUT" });
    expect(err.message).toContain("timed out");
    expect(double.count()).toBe(2);
  });

  it("does not re-send a POST that timed out", async () => {
    double.faults.inject({ kind: "hang", method: "POST" });
    const err = await rejection(makeClient({ timeoutMs: 100, retries: 3 }).setDomainActive("a.com", true));
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
    const c = makeClient({ apiKey: KEY, retries: 1, timeoutMs: 100 });
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
    const c = makeClient({ apiKey: KEY, logger, retries: 1 });
    double.faults.inject({ kind: "html-500", method: "GET", times: 1 });
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
    expect(() => new MailcowClient({ baseUrl: "http://x", apiKey: "abc", retries: -1 })).toThrow(/retries/);
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
      const attempts: number[] = [];
      const err = await rejection(
        makeClient({ baseUrl, retries: 2, onRequest: (i) => attempts.push(i.attempt) }).ping(),
      );
      expect(err.kind).toBe("protocol");
      expect(err.message).toContain("TLS certificate not trusted");
      expect(attempts).toEqual([1]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
