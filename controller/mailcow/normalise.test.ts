import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bytesToMiB,
  dkimFromApi,
  domainFromApi,
  isEmptyGet,
  mailboxFromApi,
  normaliseEnvelope,
  parseBody,
  parseMsg,
  rateLimitFromApi,
  ShapeError,
  snippet,
  toBool,
  toList,
  toNumber,
  writeOutcome,
} from "./normalise";

const MIB = 1024 * 1024;

describe("write envelopes", () => {
  it("turns a single object into a one-entry array", () => {
    expect(normaliseEnvelope({ type: "success", msg: "Task completed" })).toEqual([
      { type: "success", key: "Task completed", args: [] },
    ]);
  });

  it("splits msg arrays into key and string arguments", () => {
    expect(parseMsg(["max_mailbox_exceeded", 10, "x"])).toEqual({ key: "max_mailbox_exceeded", args: ["10", "x"] });
  });

  it("counts a write as failed when any entry is danger, even after successes", () => {
    const outcome = writeOutcome([
      { type: "success", msg: ["rl_saved", "a.com"] },
      { type: "danger", msg: ["domain_exists", "a.com"] },
    ]);
    expect(outcome).toMatchObject({ ok: false, failure: { type: "danger", key: "domain_exists", args: ["a.com"] } });
  });

  it("counts Mailcow's framework error object as a failure", () => {
    expect(writeOutcome({ type: "error", msg: "Cannot add item" })).toMatchObject({
      ok: false,
      failure: { key: "Cannot add item" },
    });
  });

  it("keeps warnings on a successful write", () => {
    const outcome = writeOutcome([
      { type: "warning", msg: ["domain_added_sogo_failed", "a.com"] },
      { type: "success", msg: ["domain_added", "a.com"] },
    ]);
    expect(outcome).toMatchObject({ ok: true, warnings: [{ key: "domain_added_sogo_failed", args: ["a.com"] }] });
  });

  it("rejects envelopes it does not understand", () => {
    expect(() => normaliseEnvelope([])).toThrow(ShapeError);
    expect(() => normaliseEnvelope(["x"])).toThrow(ShapeError);
    expect(() => normaliseEnvelope([{ type: "great", msg: "x" }])).toThrow(/type/);
    expect(() => normaliseEnvelope([{ type: "success", msg: 5 }])).toThrow(/msg/);
  });
});

describe("GET bodies", () => {
  it("treats {}, [], null, false and an empty body as nothing", () => {
    for (const empty of [{}, [], null, false, "", undefined]) expect(isEmptyGet(empty)).toBe(true);
    expect(isEmptyGet({ a: 1 })).toBe(false);
    expect(isEmptyGet([{}])).toBe(false);
  });

  it("turns one object, a list or nothing into a list", () => {
    expect(toList({})).toEqual([]);
    expect(toList({ a: 1 })).toEqual([{ a: 1 }]);
    expect(toList([{ a: 1 }, { a: 2 }])).toHaveLength(2);
  });

  it("parses JSON, recognises an empty body and quotes an HTML page without its tags", () => {
    expect(parseBody(" \n")).toEqual({ kind: "empty" });
    expect(parseBody('{"a":1}')).toEqual({ kind: "json", value: { a: 1 } });
    expect(parseBody("<html><body><h1>502 Bad Gateway</h1></body></html>")).toEqual({
      kind: "not-json",
      snippet: "502 Bad Gateway",
    });
  });

  it("removes secrets from a snippet before cutting it", () => {
    const parsed = parseBody(`${"a".repeat(75)} SECRET-KEY-1234`, ["SECRET-KEY-1234"]);
    expect(parsed.kind === "not-json" && parsed.snippet).not.toContain("SECRET");
    expect(snippet("x".repeat(100)).length).toBe(81);
  });
});

describe("scalar coercion", () => {
  it("reads numbers given as numbers or strings", () => {
    expect(toNumber(5, "f")).toBe(5);
    expect(toNumber("5076666944", "f")).toBe(5076666944);
    expect(() => toNumber("", "f")).toThrow(/f: expected a number/);
    expect(() => toNumber("12abc", "f")).toThrow(ShapeError);
  });

  it("reads flags given as 0/1, '0'/'1' or booleans", () => {
    expect([1, "1", true].map((v) => toBool(v, "active"))).toEqual([true, true, true]);
    expect([0, "0", false].map((v) => toBool(v, "active"))).toEqual([false, false, false]);
    expect(() => toBool("yes", "active")).toThrow(/active/);
  });

  it("converts whole MiB in bytes back to the same MiB", () => {
    fc.assert(fc.property(fc.nat(10_000_000), (mib) => bytesToMiB(mib * MIB) === mib));
  });
});

describe("domains", () => {
  const raw = {
    active: "1",
    active_int: 1,
    description: "Some description",
    domain_name: "Domain.TLD",
    max_num_aliases_for_domain: 400,
    max_num_mboxes_for_domain: "10",
    def_quota_for_mbox: 3221225472,
    max_quota_for_mbox: "10737418240",
    max_quota_for_domain: 10737418240,
    mboxes_in_domain: "2",
    rl: { value: "50", frame: "h" },
  };

  it("maps Mailcow's domain to MiB limits, booleans and a typed rate limit", () => {
    expect(domainFromApi(raw)).toEqual({
      name: "domain.tld",
      active: true,
      mailboxCount: 2,
      limits: {
        description: "Some description",
        aliases: 400,
        mailboxes: 10,
        defquotaMb: 3072,
        maxquotaMb: 10240,
        quotaMb: 10240,
      },
      rateLimit: { value: 50, frame: "h" },
      owner: null,
    });
  });

  it("reads the owning site from the marker in the description", () => {
    expect(domainFromApi({ ...raw, description: "Shop (mail-zone:site=shop)" }).owner).toBe("shop");
    expect(domainFromApi({ ...raw, description: "mail-zone:site=shop-2" }).owner).toBe("shop-2");
    expect(domainFromApi({ ...raw, description: "not mail-zone:site=" }).owner).toBeNull();
    expect(domainFromApi({ ...raw, description: "xmail-zone:site=shop" }).owner).toBeNull();
  });

  it("prefers active_int over a rendered active field", () => {
    expect(domainFromApi({ ...raw, active: "&#10008;", active_int: 0 }).active).toBe(false);
  });

  it("reads rl false, {} and a zero value as no rate limit and refuses an unknown frame", () => {
    expect(rateLimitFromApi(false)).toBeNull();
    expect(rateLimitFromApi({})).toBeNull();
    expect(rateLimitFromApi({ value: "0", frame: "s" })).toBeNull();
    expect(() => rateLimitFromApi({ value: "5", frame: "w" })).toThrow(/rl.frame/);
  });

  it("names the field that is missing", () => {
    expect(() => domainFromApi({ ...raw, max_quota_for_mbox: undefined })).toThrow(/max_quota_for_mbox/);
    expect(() => domainFromApi("a.com")).toThrow(ShapeError);
  });
});

describe("DKIM", () => {
  it("maps get/dkim, reading the length as a number", () => {
    expect(
      dkimFromApi({
        pubkey: "MIIB",
        length: "2048",
        dkim_txt: "v=DKIM1;k=rsa;t=s;s=email;p=MIIB",
        dkim_selector: "dkim",
        privkey: "",
      }),
    ).toEqual({ selector: "dkim", txt: "v=DKIM1;k=rsa;t=s;s=email;p=MIIB", length: 2048 });
  });

  it("reads a length of '>= 8192' as 8192", () => {
    expect(
      dkimFromApi({ length: ">= 8192", dkim_txt: "v=DKIM1;k=rsa;t=s;s=email;p=AAAA", dkim_selector: "s" }).length,
    ).toBe(8192);
  });

  it("refuses a record that is not a DKIM key", () => {
    expect(() => dkimFromApi({ length: "2048", dkim_txt: "hello", dkim_selector: "dkim" })).toThrow(/dkim_txt/);
    expect(() => dkimFromApi({ length: "2048", dkim_txt: "v=DKIM1;p=AAAA", dkim_selector: "" })).toThrow(
      /dkim_selector/,
    );
  });
});

describe("mailboxes", () => {
  it("maps a mailbox with its quota in MiB", () => {
    expect(
      mailboxFromApi({
        username: "Info@Domain.tld",
        local_part: "info",
        domain: "domain.tld",
        name: "Full name",
        active: "1",
        quota: 3221225472,
      }),
    ).toEqual({
      username: "info@domain.tld",
      localPart: "info",
      domain: "domain.tld",
      name: "Full name",
      active: true,
      quotaMb: 3072,
    });
  });

  it("derives local part and domain from the username when absent", () => {
    expect(mailboxFromApi({ username: "a@b.tld", active: 0, quota: "0" })).toMatchObject({
      localPart: "a",
      domain: "b.tld",
      quotaMb: 0,
      active: false,
    });
  });
});
