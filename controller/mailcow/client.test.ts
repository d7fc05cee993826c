import { createPublicKey, verify } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type MailcowDouble, startMailcowDouble } from "../../test/doubles/mailcow-api";
import { TEST_DOMAIN_LIMITS } from "../../test/support/domain-limits";
import type { DomainLimits } from "./api";
import { DEFAULT_RATE_LIMIT, MailcowClient } from "./client";
import { MailcowError } from "./errors";

let double: MailcowDouble;
let client: MailcowClient;

beforeEach(async () => {
  // Every request of this suite is also checked against Mailcow's OpenAPI file (when ../shared has it).
  double = await startMailcowDouble({ reuseDkimKeys: true, checkContract: true });
  client = new MailcowClient({ baseUrl: double.url, apiKey: double.apiKey });
});

afterEach(async () => {
  client.close();
  await double.close();
  expect(double.contractViolations).toEqual([]);
});

async function rejection(promise: Promise<unknown>): Promise<MailcowError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailcowError);
  return err as MailcowError;
}

const plain = TEST_DOMAIN_LIMITS;
const limits: DomainLimits = { ...plain, description: "Site a.com" };

describe("domains", () => {
  it("getDomain returns null for a domain Mailcow answers {} for", async () => {
    expect(await client.getDomain("missing.com")).toBeNull();
  });

  it("getDomain converts byte quotas to MiB and 0/1 flags to booleans", async () => {
    double.state.seedDomain("a.com", { defquota: 1024, maxquota: 2048, quota: 4096, active: 0 });
    double.state.seedMailbox("info@a.com");
    const d = await client.getDomain("A.com");
    expect(d).toEqual({
      name: "a.com",
      active: false,
      mailboxCount: 1,
      limits: { description: "a.com", aliases: 400, mailboxes: 10, defquotaMb: 1024, maxquotaMb: 2048, quotaMb: 4096 },
      rateLimit: null,
      owner: null,
    });
  });

  it("ensureDomain creates a missing domain with explicit fields, no SOGo restart and no implicit DKIM", async () => {
    const result = await client.ensureDomain("a.com", "site", limits);
    expect(result.created).toBe(true);
    expect(result.warnings).toBeUndefined();
    const add = double.requests.find((r) => r.route === "add/domain");
    expect(add?.body).toEqual({
      domain: "a.com",
      description: "Site a.com (mail-zone:site=site)",
      aliases: 400,
      mailboxes: 10,
      defquota: 3072,
      maxquota: 10240,
      quota: 10240,
      active: 1,
      restart_sogo: 0,
      dkim_selector: "",
      key_size: 0,
    });
    expect(double.state.dkim.has("a.com")).toBe(false);
  });

  it("ensureDomain creates with one GET and one add/domain, and returns what Mailcow then holds", async () => {
    const result = await client.ensureDomain("a.com", "site", limits, { value: 50, frame: "h" });
    expect(result.created).toBe(true);
    expect(double.count()).toBe(2);
    // What ensureDomain returns without a second GET equals what a GET now shows.
    expect(await client.getDomain("a.com")).toEqual(result.value);
  });

  it("ensureDomain sets the rate limit in add/domain itself, and sends none for a limit of 0", async () => {
    await client.ensureDomain("a.com", "site", limits, { value: 50, frame: "h" });
    const add = double.requests.find((r) => r.path.endsWith("add/domain"));
    expect(add?.body).toMatchObject({ rl_value: 50, rl_frame: "h" });
    expect((await client.getDomain("a.com"))?.rateLimit).toEqual({ value: 50, frame: "h" });
    await client.ensureDomain("b.com", "site", limits, DEFAULT_RATE_LIMIT);
    const addB = double.requests.filter((r) => r.path.endsWith("add/domain"))[1];
    expect(addB?.body).not.toHaveProperty("rl_value");
    expect((await client.getDomain("b.com"))?.rateLimit).toBeNull();
  });

  it("ensureDomain leaves an existing domain's rate limit to the caller", async () => {
    double.state.seedDomain("a.com");
    const result = await client.ensureDomain("a.com", "site", limits, { value: 50, frame: "h" });
    expect(result.created).toBe(false);
    expect(result.value.rateLimit).toBeNull();
    expect(double.count({ method: "POST" })).toBe(0);
  });

  it("ensureDomain records the owning site in the description, after the operator's text", async () => {
    await client.ensureDomain("b.com", "shop", plain);
    expect(double.state.domains.get("b.com")?.description).toBe("mail-zone:site=shop");
    await client.ensureDomain("c.com", "cafe", { ...plain, description: "Cafe" });
    expect(double.state.domains.get("c.com")?.description).toBe("Cafe (mail-zone:site=cafe)");
    expect((await client.getDomain("c.com"))?.owner).toBe("cafe");
  });

  it("ensureDomain called twice creates the domain once", async () => {
    await client.ensureDomain("a.com", "site", limits);
    const second = await client.ensureDomain("a.com", "site", limits);
    expect(second.created).toBe(false);
    expect(double.count({ method: "POST", route: "add/domain" })).toBe(1);
  });

  it("ensureDomain told the domain is absent creates it without reading first, and still reads back one made meanwhile", async () => {
    const made = await client.ensureDomain("a.com", "shop", limits, undefined, { expectAbsent: true });
    expect(made.created).toBe(true);
    expect(double.requests.map((r) => `${r.method} ${r.route}`)).toEqual(["POST add/domain"]);
    double.state.seedDomain("b.com", { description: "mail-zone:site=blog" });
    const raced = await client.ensureDomain("b.com", "shop", limits, undefined, { expectAbsent: true });
    expect(raced.created).toBe(false);
    expect(raced.value.owner).toBe("blog");
  });

  it("ensureDomain treats domain_exists as existing once a GET confirms it", async () => {
    // First GET says {} (as if the domain appeared just after), the add then hits domain_exists.
    double.state.seedDomain("a.com");
    double.faults.inject({ kind: "respond", method: "GET", route: "get/domain/a.com", times: 1, body: "{}" });
    const result = await client.ensureDomain("a.com", "site", limits);
    expect(result.created).toBe(false);
    expect(double.count({ route: "get/domain/a.com" })).toBe(2);
  });

  it("ensureDomain reports domain_exists as a validation error when the GET still shows nothing", async () => {
    double.faults.inject({ kind: "danger", method: "POST", route: "add/domain", msg: ["domain_exists", "a.com"] });
    const err = await rejection(client.ensureDomain("a.com", "site", limits));
    expect(err.kind).toBe("validation");
    expect(err.msgKey).toBe("domain_exists");
    expect(err.msgArgs).toEqual(["a.com"]);
  });

  it("ensureDomain surfaces domain_cannot_match_hostname with Mailcow's key", async () => {
    const err = await rejection(client.ensureDomain("mail.example.net", "site", limits));
    expect(err).toMatchObject({
      kind: "validation",
      msgKey: "domain_cannot_match_hostname",
      operation: "ensureDomain",
    });
  });

  it("ensureDomain refuses inconsistent limits before calling Mailcow", async () => {
    const err = await rejection(client.ensureDomain("a.com", "site", { ...limits, defquotaMb: 20000 }));
    expect(err.kind).toBe("validation");
    expect(err.message).toContain("defquotaMb 20000");
    expect(double.requests).toHaveLength(0);
  });

  it("ensureDomain keeps Mailcow's warnings on a create", async () => {
    double.faults.inject({
      kind: "respond",
      method: "POST",
      route: "add/domain",
      times: 1,
      body: JSON.stringify([{ type: "warning", msg: ["domain_added_sogo_failed", "a.com"] }]),
    });
    double.state.seedDomain("a.com"); // what the real server did despite the warning
    double.faults.inject({ kind: "respond", method: "GET", route: "get/domain/a.com", times: 1, body: "{}" });
    const result = await client.ensureDomain("a.com", "site", limits);
    expect(result).toMatchObject({ created: true, warnings: ["domain_added_sogo_failed (a.com)"] });
  });

  it("ensureDomain converts an IDN to its ASCII form", async () => {
    const result = await client.ensureDomain("bücher.example", "site", limits);
    expect(result.value.name).toBe("xn--bcher-kva.example");
  });

  it("rejects a name that cannot be a domain without calling Mailcow", async () => {
    const err = await rejection(client.getDomain("localhost"));
    expect(err.kind).toBe("validation");
    expect(double.requests).toHaveLength(0);
  });

  it("setDomainActive sends edit/domain with items and attr and toggles the domain", async () => {
    double.state.seedDomain("a.com");
    await client.setDomainActive("a.com", false);
    expect(double.state.domains.get("a.com")?.active).toBe(0);
    expect(double.requests.at(-1)?.body).toEqual({ items: ["a.com"], attr: { active: 0 } });
    await client.setDomainActive("a.com", true);
    expect(double.state.domains.get("a.com")?.active).toBe(1);
  });

  it("setDomainActive on a missing domain fails with domain_invalid", async () => {
    const err = await rejection(client.setDomainActive("nope.com", true));
    expect(err).toMatchObject({ kind: "validation", msgKey: "domain_invalid" });
  });

  it("setDomainRateLimit stores the limit through edit/rl-domain and getDomain reads it back", async () => {
    double.state.seedDomain("a.com");
    await client.setDomainRateLimit("a.com", { value: 50, frame: "h" });
    expect(double.requests.at(-1)).toMatchObject({
      route: "edit/rl-domain",
      body: { items: ["a.com"], attr: { rl_value: "50", rl_frame: "h" } },
    });
    expect((await client.getDomain("a.com"))?.rateLimit).toEqual({ value: 50, frame: "h" });
    await client.setDomainRateLimit("a.com", DEFAULT_RATE_LIMIT);
    expect((await client.getDomain("a.com"))?.rateLimit).toBeNull();
  });

  it("setDomainRateLimit on an unknown domain fails with access_denied", async () => {
    const err = await rejection(client.setDomainRateLimit("nope.com", { value: 5, frame: "m" }));
    expect(err).toMatchObject({ kind: "validation", msgKey: "access_denied" });
  });

  it("setDomainRateLimit refuses a negative or fractional value before calling Mailcow", async () => {
    await rejection(client.setDomainRateLimit("a.com", { value: -1, frame: "m" }));
    await rejection(client.setDomainRateLimit("a.com", { value: 1.5, frame: "m" }));
    expect(double.requests).toHaveLength(0);
  });
});

describe("DKIM", () => {
  beforeEach(() => {
    double.state.seedDomain("a.com");
  });

  it("getDkim returns null when Mailcow has no key", async () => {
    expect(await client.getDkim("a.com")).toBeNull();
  });

  it("ensureDkim creates a 2048-bit key with the selector and returns a usable public key", async () => {
    const result = await client.ensureDkim("a.com", "mail2026");
    expect(result.created).toBe(true);
    expect(result.value.selector).toBe("mail2026");
    expect(result.value.length).toBe(2048);
    expect(double.requests.find((r) => r.route === "add/dkim")?.body).toEqual({
      domains: "a.com",
      dkim_selector: "mail2026",
      key_size: 2048,
    });
    // The TXT carries the key Mailcow signs with: a signature by the double's private key verifies.
    const p = /p=([A-Za-z0-9+/=]+)/.exec(result.value.txt)?.[1] ?? "";
    const publicKey = createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const { sign } = await import("node:crypto");
    const privateKeyPem = double.state.dkim.get("a.com")?.privateKeyPem ?? "";
    const signature = sign("sha256", Buffer.from("hello"), privateKeyPem);
    expect(verify("sha256", Buffer.from("hello"), publicKey, signature)).toBe(true);
  });

  it("ensureDkim called twice creates the key once", async () => {
    const first = await client.ensureDkim("a.com", "dkim");
    const second = await client.ensureDkim("a.com", "dkim");
    expect(second).toEqual({ value: first.value, created: false });
    expect(double.count({ method: "POST", route: "add/dkim" })).toBe(1);
  });

  it("ensureDkim treats dkim_domain_or_sel_invalid as existing once a GET confirms it", async () => {
    await double.state.seedDkim("a.com", "dkim", 1024);
    double.faults.inject({ kind: "respond", method: "GET", route: "get/dkim/a.com", times: 1, body: "{}" });
    const result = await client.ensureDkim("a.com", "dkim");
    expect(result.created).toBe(false);
    expect(result.value.length).toBe(1024);
  });

  it("ensureDkim keeps an existing key with another selector", async () => {
    await double.state.seedDkim("a.com", "old", 1024);
    const result = await client.ensureDkim("a.com", "new");
    expect(result).toMatchObject({ created: false, value: { selector: "old" } });
    expect(double.count({ method: "POST" })).toBe(0);
  });

  it("ensureDkim on a domain Mailcow does not know fails with access_denied", async () => {
    const err = await rejection(client.ensureDkim("other.com", "dkim"));
    expect(err).toMatchObject({ kind: "validation", msgKey: "access_denied", msgArgs: ["other.com"] });
  });

  it("ensureDkim refuses a selector Mailcow would refuse, before calling it", async () => {
    const err = await rejection(client.ensureDkim("a.com", "bad selector"));
    expect(err.kind).toBe("validation");
    expect(double.requests).toHaveLength(0);
  });
});

describe("mailboxes", () => {
  beforeEach(() => {
    double.state.seedDomain("a.com", { mailboxes: 2, maxquota: 1000, quota: 1500, defquota: 500 });
  });

  it("listMailboxes returns [] for a domain without mailboxes (Mailcow answers {})", async () => {
    expect(await client.listMailboxes("a.com")).toEqual([]);
  });

  it("addMailbox sends password twice, quota in MiB and active 1, and listMailboxes shows it", async () => {
    const created = await client.addMailbox({
      localPart: "Info",
      domain: "a.com",
      password: "s3cret-pw",
      quotaMb: 700,
    });
    expect(created).toEqual({
      username: "info@a.com",
      localPart: "info",
      domain: "a.com",
      name: "info",
      active: true,
      quotaMb: 700,
    });
    expect(double.requests.at(-1)?.body).toEqual({
      local_part: "info",
      domain: "a.com",
      name: "info",
      password: "s3cret-pw",
      password2: "s3cret-pw",
      quota: 700,
      active: 1,
    });
    expect(await client.listMailboxes("a.com")).toEqual([created]);
  });

  it("addMailbox of an existing address fails with object_exists", async () => {
    await client.addMailbox({ localPart: "info", domain: "a.com", password: "s3cret-pw", quotaMb: 100 });
    const err = await rejection(
      client.addMailbox({ localPart: "info", domain: "a.com", password: "s3cret-pw", quotaMb: 100 }),
    );
    expect(err).toMatchObject({ kind: "validation", msgKey: "object_exists", msgArgs: ["info@a.com"] });
  });

  it("addMailbox beyond the domain's mailbox count fails with max_mailbox_exceeded", async () => {
    await client.addMailbox({ localPart: "a", domain: "a.com", password: "s3cret-pw", quotaMb: 10 });
    await client.addMailbox({ localPart: "b", domain: "a.com", password: "s3cret-pw", quotaMb: 10 });
    const err = await rejection(
      client.addMailbox({ localPart: "c", domain: "a.com", password: "s3cret-pw", quotaMb: 10 }),
    );
    expect(err.msgKey).toBe("max_mailbox_exceeded");
  });

  it("addMailbox above the per-mailbox maximum fails with mailbox_quota_exceeded", async () => {
    const err = await rejection(
      client.addMailbox({ localPart: "big", domain: "a.com", password: "s3cret-pw", quotaMb: 1001 }),
    );
    expect(err.msgKey).toBe("mailbox_quota_exceeded");
  });

  it("addMailbox beyond what is left of the domain quota fails with mailbox_quota_left_exceeded", async () => {
    await client.addMailbox({ localPart: "a", domain: "a.com", password: "s3cret-pw", quotaMb: 1000 });
    const err = await rejection(
      client.addMailbox({ localPart: "b", domain: "a.com", password: "s3cret-pw", quotaMb: 600 }),
    );
    expect(err.msgKey).toBe("mailbox_quota_left_exceeded");
  });

  it("addMailbox in a domain Mailcow does not have fails as not-found once a GET shows the domain is missing", async () => {
    const err = await rejection(
      client.addMailbox({ localPart: "a", domain: "b.com", password: "s3cret-pw", quotaMb: 1 }),
    );
    // Mailcow says access_denied (its domain-access check fails first); the re-read tells why.
    expect(err).toMatchObject({ kind: "not-found", retryable: false, msgKey: "access_denied" });
    expect(err.message).toContain("b.com does not exist");
    expect(double.requests.map((r) => r.route)).toEqual(["add/mailbox", "get/domain/b.com"]);
    expect(JSON.stringify(err)).not.toContain("s3cret-pw");
  });

  it("addMailbox refused with access_denied in a domain that exists stays a validation error", async () => {
    double.faults.inject({ kind: "danger", route: "add/mailbox", times: 1, msg: ["access_denied"] });
    const err = await rejection(
      client.addMailbox({ localPart: "a", domain: "a.com", password: "s3cret-pw", quotaMb: 1 }),
    );
    expect(err).toMatchObject({ kind: "validation", msgKey: "access_denied" });
  });

  it("addMailbox with a password Mailcow's policy refuses fails with its key and without the password", async () => {
    double.state.passwordPolicy = { length: 6 };
    const err = await rejection(client.addMailbox({ localPart: "a", domain: "a.com", password: "abc", quotaMb: 1 }));
    expect(err.msgKey).toBe("password_complexity");
    expect(JSON.stringify(err)).not.toContain('"abc"');
  });

  it("deleteMailbox sends a bare array and removes the mailbox", async () => {
    double.state.seedMailbox("info@a.com");
    await client.deleteMailbox("info@a.com");
    expect(double.requests.at(-1)?.body).toEqual(["info@a.com"]);
    expect(double.state.mailboxes.size).toBe(0);
  });

  it("deleteMailbox of a mailbox that is not there fails as not-found and changes nothing", async () => {
    double.state.seedMailbox("other@a.com");
    const err = await rejection(client.deleteMailbox("gone@a.com"));
    expect(err).toMatchObject({ kind: "not-found", retryable: false, msgKey: "access_denied" });
    expect(err.message).toContain("gone@a.com does not exist");
    expect([...double.state.mailboxes.keys()]).toEqual(["other@a.com"]);
  });

  it("deleteMailbox refused with access_denied for a mailbox still there stays a validation error", async () => {
    double.state.seedMailbox("info@a.com");
    double.faults.inject({ kind: "danger", route: "delete/mailbox", times: 1, msg: ["access_denied"] });
    const err = await rejection(client.deleteMailbox("info@a.com"));
    expect(err).toMatchObject({ kind: "validation", msgKey: "access_denied" });
  });

  it("deleteMailbox refuses something that is not an address", async () => {
    const err = await rejection(client.deleteMailbox("info"));
    expect(err.kind).toBe("validation");
  });
});

describe("purgeDomain", () => {
  it("deletes the mailboxes, then the domain, then the DKIM key", async () => {
    double.state.seedDomain("a.com");
    double.state.seedMailbox("a@a.com");
    double.state.seedMailbox("b@a.com");
    double.state.seedMailbox("c@other.com");
    await double.state.seedDkim("a.com", "dkim", 1024);
    await client.purgeDomain("a.com");
    const writes = double.requests.filter((r) => r.method === "POST").map((r) => [r.route, r.body]);
    expect(writes).toEqual([
      ["delete/mailbox", ["a@a.com", "b@a.com"]],
      ["delete/domain", ["a.com"]],
      ["delete/dkim", ["a.com"]],
    ]);
    expect(double.state.domains.has("a.com")).toBe(false);
    expect(double.state.dkim.has("a.com")).toBe(false);
    expect([...double.state.mailboxes.keys()]).toEqual(["c@other.com"]);
  });

  it("skips the mailbox delete when there are none and succeeds on an already purged domain", async () => {
    await client.purgeDomain("gone.com");
    expect(double.count({ route: "delete/mailbox" })).toBe(0);
    expect(double.count({ route: "delete/domain" })).toBe(1);
  });

  it("finishes when a mailbox vanished between the list and the delete", async () => {
    double.state.seedDomain("a.com");
    const kept = double.state.seedMailbox("a@a.com");
    const ghost = double.state.seedMailbox("ghost@a.com");
    const listed = JSON.stringify([double.state.mailboxView(kept), double.state.mailboxView(ghost)]);
    double.state.mailboxes.delete("ghost@a.com"); // deleted by someone else after the list below was taken
    double.faults.inject({ kind: "respond", method: "GET", route: "get/mailbox/all/a.com", times: 1, body: listed });
    await client.purgeDomain("a.com");
    expect(double.state.mailboxes.size).toBe(0);
    expect(double.state.domains.has("a.com")).toBe(false);
    expect(double.count({ route: "delete/dkim" })).toBe(1);
  });

  it("stops with domain_not_empty when a mailbox appears between the list and the delete", async () => {
    double.state.seedDomain("a.com");
    double.state.seedMailbox("a@a.com");
    double.faults.inject({ kind: "respond", method: "GET", route: "get/mailbox/all/a.com", times: 1, body: "{}" });
    const err = await rejection(client.purgeDomain("a.com"));
    expect(err.msgKey).toBe("domain_not_empty");
    expect(double.count({ route: "delete/dkim" })).toBe(0);
  });
});

describe("ping", () => {
  it("succeeds with get/status/version", async () => {
    await client.ping();
    expect(double.requests.map((r) => r.route)).toEqual(["get/status/version"]);
  });

  it("works with the read-only key", async () => {
    const ro = new MailcowClient({ baseUrl: double.url, apiKey: double.readOnlyKey });
    await ro.ping();
    ro.close();
  });
});

describe("transport", () => {
  it("sends X-API-Key and JSON headers, no Sec-Fetch-Dest, and no cookie on its first call", async () => {
    double.state.seedDomain("a.com");
    await client.setDomainActive("a.com", true);
    const [req] = double.requests;
    expect(req?.headers["x-api-key"]).toBe(double.apiKey);
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers["sec-fetch-dest"]).toBeUndefined();
    expect(req?.headers.cookie).toBeUndefined();
  });

  it("sends Mailcow's session cookie back, so a whole flow opens one PHP session instead of one per call", async () => {
    await client.ensureDomain("a.com", "site", limits);
    await client.ensureDkim("a.com", "dkim", 1024);
    await client.setDomainActive("a.com", false);
    await client.purgeDomain("a.com");
    expect(double.requests.length).toBeGreaterThan(5);
    expect(double.sessions.size).toBe(1);
    expect(double.requests.slice(1).every((r) => r.newSession === false)).toBe(true);
  });

  it("never sees the stale entry an uncaught exception leaves in its session: the next write runs in a fresh one", async () => {
    double.state.seedDomain("a.com");
    await client.getDomain("a.com");
    double.state.brokenTables.add("domain");
    await rejection(client.setDomainActive("a.com", false));
    double.state.brokenTables.clear();
    await client.setDomainActive("a.com", false);
    expect(double.state.domains.get("a.com")?.active).toBe(0);
  });

  it("starts a fresh session after an answer that was not clean (an empty body can leave the session dirty)", async () => {
    double.state.seedDomain("a.com");
    await client.getDomain("a.com");
    double.faults.inject({ kind: "empty-body", route: "get/domain/a.com", times: 1 });
    await rejection(client.getDomain("a.com"));
    await client.getDomain("a.com");
    expect(double.requests.map((r) => r.newSession)).toEqual([true, false, true]);
  });

  it("keeps a path prefix of the base URL", async () => {
    const prefixed = new MailcowClient({ baseUrl: `${double.url}/prefix/`, apiKey: double.apiKey });
    await rejection(prefixed.ping());
    expect(double.requests[0]?.path).toBe("/prefix/api/v1/get/status/version");
    prefixed.close();
    double.clearRequests(); // the double is not served under /prefix, so the contract check refused it
  });

  it("reports every HTTP request to onRequest", async () => {
    const seen: string[] = [];
    const counted = new MailcowClient({
      baseUrl: double.url,
      apiKey: double.apiKey,
      onRequest: (info) => seen.push(`${info.method} ${info.path}`),
    });
    await counted.getDomain("a.com");
    expect(seen).toEqual(["GET /api/v1/get/domain/a.com"]);
    counted.close();
  });
});
