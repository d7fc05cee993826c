import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type MailcowDouble, startMailcowDouble } from "../../test/doubles/mailcow-api";
import { TEST_DOMAIN_LIMITS } from "../../test/support/domain-limits";
import { isAbortError } from "../clock";
import { MailcowClient, type MailcowClientOptions } from "./client";
import { MailcowError } from "./errors";

// A timeout far beyond the test timeout: only the signal can end these calls.
const FOREVER_MS = 600_000;
const LIMITS = TEST_DOMAIN_LIMITS;

let double: MailcowDouble;
const clients: MailcowClient[] = [];

beforeEach(async () => {
  double = await startMailcowDouble({ reuseDkimKeys: true });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await double.close();
});

function makeClient(options: Partial<MailcowClientOptions> = {}): MailcowClient {
  const c = new MailcowClient({
    baseUrl: double.url,
    apiKey: double.apiKey,
    timeoutMs: FOREVER_MS,
    ...options,
  });
  clients.push(c);
  return c;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

/** Awaits the rejection and checks it is an AbortError, not a Mailcow failure the reconciler would record. */
async function abortRejection(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAbortError(err)).toBe(true);
  expect(err).not.toBeInstanceOf(MailcowError);
  return err as Error;
}

describe("aborting a call", () => {
  it("rejects at once without a request when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await abortRejection(makeClient().getDomain("a.com", { signal: controller.signal }));
    await abortRejection(makeClient().setDomainActive("a.com", true, { signal: controller.signal }));
    expect(double.count()).toBe(0);
  });

  it("destroys a request in flight and does not retry it when the signal aborts mid-request", async () => {
    double.faults.inject({ kind: "hang", method: "GET" });
    const attempts: string[] = [];
    const controller = new AbortController();
    const call = makeClient({ onRequest: (info) => attempts.push(info.path) }).getDomain("a.com", {
      signal: controller.signal,
    });
    await until(() => double.count() === 1);
    controller.abort();
    await abortRejection(call);
    expect(attempts).toEqual(["/api/v1/get/domain/a.com"]);
    expect(double.count()).toBe(1);
  });

  it("stops a purge between its writes, leaving the domain in place", async () => {
    double.state.seedDomain("a.com");
    double.state.seedMailbox("info@a.com");
    double.faults.inject({ kind: "hang", method: "POST", route: "delete/mailbox" });
    const controller = new AbortController();
    const call = makeClient().purgeDomain("a.com", { signal: controller.signal });
    await until(() => double.count({ route: "delete/mailbox" }) === 1);
    controller.abort();
    await abortRejection(call);
    expect(double.count({ route: "delete/domain" })).toBe(0);
    expect(double.state.domains.has("a.com")).toBe(true);
  });

  it("aborts an ensureDomain whose add/domain hangs, and a signal that never aborts changes nothing", async () => {
    const c = makeClient();
    const idle = new AbortController();
    expect((await c.ensureDomain("a.com", "site", LIMITS, undefined, { signal: idle.signal })).created).toBe(true);
    expect((await c.ensureDkim("a.com", "dkim", 2048, { signal: idle.signal })).created).toBe(true);

    double.faults.inject({ kind: "hang", method: "POST", route: "add/domain" });
    const controller = new AbortController();
    const call = c.ensureDomain("b.com", "site", LIMITS, undefined, { signal: controller.signal });
    await until(() => double.count({ route: "add/domain" }) === 2);
    controller.abort();
    await abortRejection(call);
    expect(double.count({ route: "add/domain" })).toBe(2);
  });
});
