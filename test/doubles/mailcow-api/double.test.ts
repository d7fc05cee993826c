import { createPublicKey } from "node:crypto";
import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type MailcowDouble, startMailcowDouble } from ".";

let double: MailcowDouble;

beforeEach(async () => {
  double = await startMailcowDouble({ hostname: "mail.host.test" });
});

afterEach(async () => {
  await double.close();
});

interface CallOptions {
  key?: string | null;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

/** One raw HTTP call; `key: null` sends no X-API-Key; POST bodies go out as JSON unless `raw` is given. */
function call(
  method: "GET" | "POST" | "PUT",
  route: string,
  options: CallOptions = {},
): Promise<{ status: number; text: string; json: unknown; headers: http.IncomingHttpHeaders }> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? double.apiKey : options.key;
  if (key !== null) headers["X-API-Key"] = key;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined && headers["Content-Type"] === undefined) headers["Content-Type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = http.request(`${double.url}/api/v1/${route}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json, headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** The message key of an entry, whether `msg` is a bare key or `[key, …args]`. */
function keyOf(entry: { msg: string | unknown[] }): unknown {
  return typeof entry.msg === "string" ? entry.msg : entry.msg[0];
}

const domainBody = {
  domain: "a.com",
  description: "A",
  aliases: 400,
  mailboxes: 2,
  defquota: 100,
  maxquota: 200,
  quota: 300,
  active: 1,
  restart_sogo: 0,
  dkim_selector: "",
  key_size: 0,
};

describe("auth and routing", () => {
  it("answers 401 authentication failed for an unknown key", async () => {
    const res = await call("GET", "get/domain/all", { key: "nope" });
    expect(res).toMatchObject({ status: 401, json: { type: "error", msg: "authentication failed" } });
    expect(double.requests[0]?.key).toBe("bad");
  });

  it("answers a call without a key: GET an empty body, add/* access_denied, edit/* and delete/* 403", async () => {
    expect(await call("GET", "get/domain/all", { key: null })).toMatchObject({ status: 200, text: "" });
    expect(await call("POST", "add/domain", { key: null, body: domainBody })).toMatchObject({
      status: 200,
      json: [expect.objectContaining({ type: "danger", msg: "access_denied" })],
    });
    for (const route of ["edit/domain", "delete/domain"]) {
      const res = await call("POST", route, { key: null, body: { items: ["a.com"], attr: { active: 0 } } });
      expect(res).toMatchObject({ status: 403, json: { type: "error", msg: "API read/write access denied" } });
    }
    expect(double.state.domains.size).toBe(0);
  });

  it("answers 401 api access denied for ip … to a key used from outside API_ALLOW_FROM", async () => {
    const guarded = await startMailcowDouble({ allowFrom: ["10.42.0.7"] });
    try {
      const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        http
          .get(`${guarded.url}/api/v1/get/domain/all`, { headers: { "X-API-Key": guarded.apiKey } }, (r) => {
            let text = "";
            r.on("data", (c: Buffer) => {
              text += c.toString("utf8");
            });
            r.on("end", () => resolve({ status: r.statusCode ?? 0, text }));
          })
          .on("error", reject);
      });
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toEqual({ type: "error", msg: "api access denied for ip 127.0.0.1" });
    } finally {
      await guarded.close();
    }
  });

  it("answers every call with a 500 HTML page while dockerapi is unreachable", async () => {
    double.state.dockerapi = "unreachable";
    for (const res of [await call("GET", "get/domain/all"), await call("POST", "add/domain", { body: domainBody })]) {
      expect(res.status).toBe(500);
      expect(res.headers["content-type"]).toContain("text/html");
      expect(res.json).toBeUndefined();
    }
  });

  it("opens one PHP session per call without a cookie, and reuses the one a returned cookie names", async () => {
    const first = await call("GET", "get/domain/all");
    await call("GET", "get/domain/all");
    expect(double.sessions.size).toBe(2);
    const cookie = /MCSESSID=[^;]+/.exec(String(first.headers["set-cookie"]))?.[0] ?? "";
    expect(cookie).not.toBe("");
    const again = await call("GET", "get/domain/all", { headers: { Cookie: cookie } });
    expect(again.headers["set-cookie"]).toBeUndefined();
    expect(double.sessions.size).toBe(2);
    // An id the server never issued is not adopted: a new session, as PHP's Redis handler does.
    await call("GET", "get/domain/all", { headers: { Cookie: "MCSESSID=made-up" } });
    expect(double.sessions.size).toBe(3);
  });

  it("lets the read-only key read but answers 403 to its writes", async () => {
    expect((await call("GET", "get/domain/all", { key: double.readOnlyKey })).status).toBe(200);
    const res = await call("POST", "add/domain", { key: double.readOnlyKey, body: domainBody });
    expect(res).toMatchObject({ status: 403, json: { type: "error", msg: "API read/write access denied" } });
    expect(double.state.domains.size).toBe(0);
  });

  it("answers 405 to a POST on get/*, and a GET on add/* with Cannot find attributes in post data", async () => {
    expect(await call("POST", "get/domain/all", { body: {} })).toMatchObject({
      status: 405,
      json: { msg: "only GET method is allowed" },
    });
    expect(await call("GET", "add/domain")).toMatchObject({
      status: 200,
      json: { type: "error", msg: "Cannot find attributes in post data" },
    });
  });

  it("answers 404 route not found for an unknown route", async () => {
    expect(await call("GET", "fetch/domain/all")).toMatchObject({ status: 404, json: { msg: "route not found" } });
  });

  it("answers 403 with no body to a Sec-Fetch-Dest other than empty", async () => {
    const res = await call("GET", "get/domain/all", { headers: { "Sec-Fetch-Dest": "document" } });
    expect(res).toMatchObject({ status: 403, text: "" });
  });

  it("ignores a body sent without a JSON content type, and answers 400 to invalid JSON", async () => {
    const plain = await call("POST", "add/domain", { raw: "{}", headers: { "Content-Type": "text/plain" } });
    expect(plain).toMatchObject({ status: 200, json: { type: "error", msg: "Cannot find attributes in post data" } });
    const broken = await call("POST", "add/domain", { raw: "{nope" });
    expect(broken).toMatchObject({ status: 400, json: { msg: "Request body doesn't contain valid json!" } });
  });
});

describe("domains", () => {
  it("answers {} for a missing domain and for get/domain/all with no domains", async () => {
    expect((await call("GET", "get/domain/x.com")).json).toEqual({});
    expect((await call("GET", "get/domain/all")).json).toEqual({});
  });

  it("adds a domain and reports it with quotas in bytes, active a number, modified null, domain_admins '-'", async () => {
    expect((await call("POST", "add/domain", { body: domainBody })).json).toEqual([
      expect.objectContaining({ type: "success", msg: ["domain_added", "a.com"] }),
    ]);
    const one = (await call("GET", "get/domain/a.com")).json as Record<string, unknown>;
    expect(one).toMatchObject({
      domain_name: "a.com",
      description: "A",
      active: 1,
      modified: null,
      domain_admins: "-",
      max_quota_for_domain: 300 * 1024 * 1024,
      max_num_mboxes_for_domain: 2,
      rl: false,
    });
    expect((await call("GET", "get/domain/all")).json).toHaveLength(1);
  });

  it("stores the description as given and shows it back, the domain name when it was empty", async () => {
    await call("POST", "add/domain", { body: { ...domainBody, description: "Shop (mail-zone:site=shop)" } });
    await call("POST", "add/domain", { body: { ...domainBody, domain: "b.com", description: "" } });
    expect(((await call("GET", "get/domain/a.com")).json as { description: string }).description).toBe(
      "Shop (mail-zone:site=shop)",
    );
    expect(((await call("GET", "get/domain/b.com")).json as { description: string }).description).toBe("b.com");
  });

  it("checks add/domain's quotas before its name, and answers both with bare keys", async () => {
    const bad = { ...domainBody, domain: "not a domain" };
    expect((await call("POST", "add/domain", { body: { ...bad, defquota: 300 } })).json).toEqual([
      expect.objectContaining({ type: "danger", msg: "mailbox_defquota_exceeds_mailbox_maxquota" }),
    ]);
    expect((await call("POST", "add/domain", { body: { ...bad, maxquota: 400 } })).json).toEqual([
      expect.objectContaining({ type: "danger", msg: "mailbox_quota_exceeds_domain_quota" }),
    ]);
    expect((await call("POST", "add/domain", { body: bad })).json).toEqual([
      expect.objectContaining({ type: "danger", msg: "domain_invalid" }),
    ]);
  });

  it("refuses a re-add with domain_exists and the hostname with domain_cannot_match_hostname", async () => {
    await call("POST", "add/domain", { body: domainBody });
    expect((await call("POST", "add/domain", { body: domainBody })).json).toEqual([
      expect.objectContaining({ type: "danger", msg: ["domain_exists", "a.com"] }),
    ]);
    const host = await call("POST", "add/domain", { body: { ...domainBody, domain: "mail.host.test" } });
    expect(host.json).toEqual([expect.objectContaining({ msg: "domain_cannot_match_hostname" })]);
  });

  it("makes a DKIM key implicitly when add/domain is not told otherwise, as Mailcow does", async () => {
    const res = await call("POST", "add/domain", { body: { domain: "b.com" } });
    expect((res.json as { msg: string[] }[]).map(keyOf)).toEqual(["dkim_added", "domain_added"]);
    expect(double.state.dkim.get("b.com")?.selector).toBe("dkim");
    expect(double.state.domains.get("b.com")).toMatchObject({ mailboxes: 10, quota: 10240 });
  });

  it("answers a SOGo restart request with domain_added_sogo_failed, although the domain was made", async () => {
    const res = await call("POST", "add/domain", { body: { ...domainBody, restart_sogo: 1 } });
    expect(res.json).toEqual([expect.objectContaining({ type: "warning", msg: "domain_added_sogo_failed" })]);
    expect(double.state.domains.has("a.com")).toBe(true);
  });

  it("edits with {items, attr}, refuses unknown domains with domain_invalid, and ignores rl fields", async () => {
    await call("POST", "add/domain", { body: domainBody });
    const res = await call("POST", "edit/domain", {
      body: { items: ["a.com", "z.com"], attr: { active: 0, rl_value: 5, rl_frame: "s" } },
    });
    expect((res.json as { type: string; msg: unknown }[]).map((e) => [e.type, e.msg])).toEqual([
      ["success", ["domain_modified", "a.com"]],
      ["danger", "domain_invalid"],
    ]);
    expect(double.state.domains.get("a.com")).toMatchObject({ active: 0, rl: null });
    expect(((await call("GET", "get/domain/a.com")).json as { modified: unknown }).modified).toEqual(
      expect.any(String),
    );
  });

  it("stores, returns and clears a domain rate limit, refusing a bad frame and an unknown domain", async () => {
    await call("POST", "add/domain", { body: domainBody });
    await call("POST", "edit/rl-domain", { body: { items: ["a.com"], attr: { rl_value: "50", rl_frame: "h" } } });
    expect((await call("GET", "get/rl-domain/a.com")).json).toEqual({ value: "50", frame: "h" });
    expect(((await call("GET", "get/domain/a.com")).json as { rl: unknown }).rl).toEqual({ value: "50", frame: "h" });
    const bad = await call("POST", "edit/rl-domain", {
      body: { items: ["a.com"], attr: { rl_value: "5", rl_frame: "w" } },
    });
    expect(bad.json).toEqual([expect.objectContaining({ type: "danger", msg: "rl_timeframe" })]);
    const unknown = await call("POST", "edit/rl-domain", {
      body: { items: ["z.com"], attr: { rl_value: "5", rl_frame: "s" } },
    });
    expect(unknown.json).toEqual([expect.objectContaining({ type: "danger", msg: "access_denied" })]);
    await call("POST", "edit/rl-domain", { body: { items: ["a.com"], attr: { rl_value: "0", rl_frame: "s" } } });
    expect((await call("GET", "get/rl-domain/a.com")).json).toEqual({});
  });

  it("deletes with a bare array, answers {items:[…]} with an empty 200, and refuses a domain with mailboxes", async () => {
    await call("POST", "add/domain", { body: domainBody });
    double.state.seedMailbox("x@a.com");
    expect(await call("POST", "delete/domain", { body: { items: ["a.com"] } })).toMatchObject({
      status: 200,
      text: "",
    });
    expect(await call("POST", "delete/dkim", { body: { items: ["a.com"] } })).toMatchObject({ status: 200, text: "" });
    expect((await call("POST", "delete/domain", { body: ["a.com"] })).json).toEqual([
      expect.objectContaining({ type: "danger", msg: ["domain_not_empty", "a.com"] }),
    ]);
    double.state.mailboxes.clear();
    await double.state.seedDkim("a.com", "dkim", 1024);
    // Without dockerapi the mail storage stays: a bare warning before the success, as measured.
    expect((await call("POST", "delete/domain", { body: ["a.com"] })).json).toEqual([
      expect.objectContaining({ type: "warning", msg: "Could not move mail storage to garbage collector: " }),
      expect.objectContaining({ type: "success", msg: ["domain_removed", "a.com"] }),
    ]);
    // delete/domain leaves the DKIM key behind, as upstream does.
    expect(double.state.dkim.has("a.com")).toBe(true);
    expect(double.state.maildirCleanups).toEqual([]);
  });

  it("hands deleted domains' and mailboxes' maildirs to dockerapi's cleanup when it is up", async () => {
    double.state.dockerapi = "up";
    double.state.seedDomain("a.com");
    double.state.seedMailbox("info@a.com");
    const mailbox = await call("POST", "delete/mailbox", { body: ["info@a.com"] });
    await call("POST", "delete/domain", { body: ["a.com"] });
    expect(double.state.maildirCleanups).toEqual(["a.com/info/", "a.com/"]);
    expect((mailbox.json as { type: string }[]).map((e) => e.type)).toEqual(["success"]);
  });

  it("answers the next write in a session an uncaught exception dirtied with the stale mysql_error first", async () => {
    double.state.seedDomain("a.com");
    const first = await call("GET", "get/domain/a.com");
    const cookie = /MCSESSID=[^;]+/.exec(String(first.headers["set-cookie"]))?.[0] ?? "";
    const edit = { items: ["a.com"], attr: { active: 0 } };
    double.state.brokenTables.add("domain");
    expect((await call("POST", "edit/domain", { body: edit, headers: { Cookie: cookie } })).text).toBe("");
    double.state.brokenTables.clear();
    const dirty = await call("POST", "edit/domain", { body: edit, headers: { Cookie: cookie } });
    expect((dirty.json as { type: string; msg: unknown[] }[]).map((e) => [e.type, e.msg[0]])).toEqual([
      ["danger", "mysql_error"],
      ["success", "domain_modified"],
    ]);
    // Answered once: the session is clean again.
    const clean = await call("POST", "edit/domain", { body: edit, headers: { Cookie: cookie } });
    expect((clean.json as unknown[]).length).toBe(1);
  });

  it("answers 200 with an empty body, as an uncaught PHP exception does, while the domain table is broken", async () => {
    double.state.seedDomain("a.com");
    double.state.brokenTables.add("domain");
    for (const res of [
      await call("GET", "get/domain/a.com"),
      await call("GET", "get/mailbox/all/a.com"),
      await call("POST", "edit/domain", { body: { items: ["a.com"], attr: { active: 0 } } }),
    ]) {
      expect(res).toMatchObject({ status: 200, text: "" });
    }
    expect(double.state.domains.get("a.com")?.active).toBe(1);
  });
});

describe("DKIM", () => {
  beforeEach(async () => {
    await call("POST", "add/domain", { body: domainBody });
  });

  it("makes a real RSA key of the asked size and publishes its SPKI in dkim_txt", async () => {
    const add = await call("POST", "add/dkim", { body: { domains: "a.com", dkim_selector: "s1", key_size: 1024 } });
    expect(add.json).toEqual([expect.objectContaining({ type: "success", msg: ["dkim_added", "a.com"] })]);
    const got = (await call("GET", "get/dkim/a.com")).json as Record<string, string>;
    expect(got).toMatchObject({ length: "1024", dkim_selector: "s1", privkey: "" });
    expect(got.dkim_txt).toBe(`v=DKIM1;k=rsa;t=s;s=email;p=${got.pubkey}`);
    const key = createPublicKey({ key: Buffer.from(got.pubkey ?? "", "base64"), format: "der", type: "spki" });
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(1024);
  });

  it("accepts any key size, as upstream does, and reports the size asked", async () => {
    const add = await call("POST", "add/dkim", { body: { domains: "a.com", dkim_selector: "dkim", key_size: 768 } });
    expect(add.json).toEqual([expect.objectContaining({ type: "success", msg: ["dkim_added", "a.com"] })]);
    expect(((await call("GET", "get/dkim/a.com")).json as { length: string }).length).toBe("768");
  });

  it("refuses a re-add with dkim_domain_or_sel_invalid and an unknown domain with access_denied", async () => {
    const body = { domains: "a.com", dkim_selector: "dkim", key_size: 1024 };
    await call("POST", "add/dkim", { body });
    expect((await call("POST", "add/dkim", { body })).json).toEqual([
      expect.objectContaining({ type: "danger", msg: ["dkim_domain_or_sel_invalid", "a.com"] }),
    ]);
    expect((await call("POST", "add/dkim", { body: { ...body, domains: "z.com" } })).json).toEqual([
      expect.objectContaining({ type: "danger", msg: ["access_denied", "z.com"] }),
    ]);
  });

  it("answers {} without a key and deletes with a bare array", async () => {
    expect((await call("GET", "get/dkim/a.com")).json).toEqual({});
    await double.state.seedDkim("a.com", "dkim", 1024);
    await call("POST", "delete/dkim", { body: ["a.com"] });
    expect(double.state.dkim.has("a.com")).toBe(false);
  });

  it("hands every domain the same key when reuseDkimKeys is on", async () => {
    const fast = await startMailcowDouble({ reuseDkimKeys: true });
    try {
      fast.state.seedDomain("a.com");
      fast.state.seedDomain("b.com");
      const a = await fast.state.seedDkim("a.com", "dkim", 1024);
      const b = await fast.state.seedDkim("b.com", "dkim", 1024);
      expect(a.pubkey).toBe(b.pubkey);
    } finally {
      await fast.close();
    }
  });
});

describe("mailboxes", () => {
  const box = {
    local_part: "info",
    domain: "a.com",
    name: "Info",
    password: "s3cret-pw",
    password2: "s3cret-pw",
    quota: 100,
    active: 1,
  };

  beforeEach(async () => {
    await call("POST", "add/domain", { body: domainBody });
  });

  it("adds, lists (bytes) and deletes a mailbox; lists {} when there are none", async () => {
    expect((await call("GET", "get/mailbox/all/a.com")).json).toEqual({});
    expect((await call("POST", "add/mailbox", { body: box })).json).toEqual([
      expect.objectContaining({ type: "success", msg: ["rl_saved", "info@a.com"] }),
      expect.objectContaining({ type: "success", msg: ["mailbox_added", "info@a.com"] }),
    ]);
    expect((await call("GET", "get/mailbox/all/a.com")).json).toEqual([
      expect.objectContaining({ username: "info@a.com", quota: 100 * 1024 * 1024, active: 1, custom_attributes: [] }),
    ]);
    expect((await call("POST", "delete/mailbox", { body: ["info@a.com"] })).json).toEqual([
      expect.objectContaining({ type: "warning", msg: "Could not move maildir to garbage collector: " }),
      expect.objectContaining({ type: "success", msg: ["mailbox_removed", "info@a.com"] }),
    ]);
    expect(double.state.mailboxes.size).toBe(0);
  });

  it("takes a missing quota as 0 (unlimited) and a missing name as empty", async () => {
    const { quota: _q, name: _n, ...bare } = box;
    await call("POST", "add/mailbox", { body: bare });
    expect(double.state.mailboxes.get("info@a.com")).toMatchObject({ quota: 0, name: "" });
    expect((await call("GET", "get/mailbox/all/a.com")).json).toEqual([
      expect.objectContaining({ quota: 0, percent_in_use: "- ", percent_class: "info" }),
    ]);
  });

  it("answers access_denied for a missing mailbox, still deleting the others of the batch", async () => {
    double.state.seedMailbox("info@a.com");
    const res = await call("POST", "delete/mailbox", { body: ["gone@a.com", "info@a.com"] });
    expect((res.json as { type: string; msg: unknown }[]).map((e) => [e.type, e.msg])).toEqual([
      ["danger", "access_denied"],
      ["warning", "Could not move maildir to garbage collector: "],
      ["success", ["mailbox_removed", "info@a.com"]],
    ]);
    expect(double.state.mailboxes.size).toBe(0);
    expect((await call("POST", "delete/mailbox", { body: [] })).json).toEqual({
      type: "success",
      msg: "Task completed",
    });
  });

  it("refuses duplicates, mismatched passwords and limits with Mailcow's keys", async () => {
    double.state.seedDomain("q.com", { mailboxes: 3, defquota: 100, maxquota: 200, quota: 300 });
    const q = { ...box, domain: "q.com" };
    const msgs = async (body: object) =>
      ((await call("POST", "add/mailbox", { body })).json as { msg: unknown }[]).map((e) => e.msg);
    const added = (user: string) => [
      ["rl_saved", user],
      ["mailbox_added", user],
    ];
    expect(await msgs(q)).toEqual(added("info@q.com"));
    expect(await msgs(q)).toEqual([["object_exists", "info@q.com"]]);
    expect(await msgs({ ...q, local_part: "b", password2: "other-pw" })).toEqual(["password_mismatch"]);
    // An empty password fails the policy check before the comparison; a short one only under a policy.
    expect(await msgs({ ...q, local_part: "b", password: "", password2: "x" })).toEqual(["password_complexity"]);
    double.state.passwordPolicy = { length: 6 };
    expect(await msgs({ ...q, local_part: "b", password: "abc", password2: "abc" })).toEqual(["password_complexity"]);
    double.state.passwordPolicy = { length: 0 };
    expect(await msgs({ ...q, local_part: "b c" })).toEqual(["mailbox_invalid"]);
    // Numeric arguments are JSON numbers.
    expect(await msgs({ ...q, local_part: "b", quota: 201 })).toEqual([["mailbox_quota_exceeded", 200]]);
    expect(await msgs({ ...q, local_part: "b", quota: 150 })).toEqual(added("b@q.com"));
    expect(await msgs({ ...q, local_part: "c", quota: 60 })).toEqual([["mailbox_quota_left_exceeded", 50]]);
    expect(await msgs({ ...q, local_part: "c", quota: 50 })).toEqual(added("c@q.com"));
    expect(await msgs({ ...q, local_part: "d", quota: 1 })).toEqual([["max_mailbox_exceeded", 3, 3]]);
    // A missing domain fails the domain-access check first: access_denied, never domain_not_found.
    expect(await msgs({ ...q, domain: "z.com" })).toEqual(["access_denied"]);
  });
});

describe("faults and the request log", () => {
  it("injects a fault for a number of matching requests only", async () => {
    double.faults.inject({ kind: "html-500", method: "GET", route: "get/domain/", times: 1 });
    expect((await call("GET", "get/dkim/a.com")).status).toBe(200);
    const failed = await call("GET", "get/domain/a.com");
    expect(failed.status).toBe(500);
    expect(failed.text).toContain("<html>");
    expect((await call("GET", "get/domain/a.com")).status).toBe(200);
  });

  it("answers danger on every write without changing the state", async () => {
    double.faults.inject({ kind: "danger", method: "POST" });
    expect((await call("POST", "add/domain", { body: domainBody })).json).toEqual([
      { type: "danger", msg: ["fault_injected"] },
    ]);
    expect(double.state.domains.size).toBe(0);
  });

  it("applies the write first and then fails the answer with afterApply", async () => {
    double.faults.inject({ kind: "malformed-json", route: "add/domain", afterApply: true });
    const res = await call("POST", "add/domain", { body: domainBody });
    expect(res.json).toBeUndefined();
    expect(double.state.domains.has("a.com")).toBe(true);
  });

  it("removes a fault with the function inject returns", async () => {
    const remove = double.faults.inject({ kind: "empty-body" });
    expect((await call("GET", "get/domain/all")).text).toBe("");
    remove();
    expect((await call("GET", "get/domain/all")).text).toBe("{}");
  });

  it("resets the connection for a reset fault", async () => {
    double.faults.inject({ kind: "reset" });
    await expect(call("GET", "get/domain/all")).rejects.toThrow();
  });

  it("records method, route, parsed body, key role and status, and counts by filter", async () => {
    await call("POST", "add/domain", { body: domainBody });
    await call("GET", "get/domain/a.com", { key: double.readOnlyKey });
    expect(double.requests.map((r) => [r.method, r.route, r.key, r.status])).toEqual([
      ["POST", "add/domain", "rw", 200],
      ["GET", "get/domain/a.com", "ro", 200],
    ]);
    expect(double.requests[0]?.body).toEqual(domainBody);
    expect(double.count({ method: "POST" })).toBe(1);
    expect(double.count({ route: /^get\// })).toBe(1);
    double.clearRequests();
    expect(double.count()).toBe(0);
  });
});
