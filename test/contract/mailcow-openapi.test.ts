/**
 * Contract test, both ways: every request the Mailcow client sends, across every operation and its recovery paths,
 * must be one that Mailcow's own OpenAPI description allows (path, method, body schema), except for the documented
 * `KNOWN_DIFFERENCES`; and every answer the double gives to those requests must match the spec's response schema or
 * example, except for the documented `RESPONSE_DIFFERENCES` (where the real server, as measured, departs from its
 * spec). Needs `../shared/reference/mailcow/openapi.yaml`.
 */
import fs from "node:fs";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { DomainLimits } from "../../controller/mailcow/api";
import { DEFAULT_RATE_LIMIT, MailcowClient } from "../../controller/mailcow/client";
import { dkimFromApi, domainFromApi, mailboxFromApi, writeOutcome } from "../../controller/mailcow/normalise";
import { type MailcowDouble, type RecordedRequest, startMailcowDouble } from "../doubles/mailcow-api";
import { RESPONSE_DIFFERENCES, type ResponseDifference, SpecResponses } from "../doubles/mailcow-api/spec-responses";
import { TEST_DOMAIN_LIMITS } from "../support/domain-limits";
import { KNOWN_DIFFERENCES, type KnownDifference, MAILCOW_OPENAPI_PATH, OpenApiContract } from "./openapi-contract";

const contract = OpenApiContract.load();
const responses = SpecResponses.load();
if (!contract || !responses) {
  console.warn(
    `SKIPPED the Mailcow OpenAPI contract test: ${MAILCOW_OPENAPI_PATH} is absent (it lives in ../shared, beside the repo)`,
  );
}

const LIMITS: DomainLimits = { ...TEST_DOMAIN_LIMITS, description: "Contract" };

/** The answers worth checking: the double's own (no injected fault), with a JSON body. */
function answered(requests: readonly RecordedRequest[]): { req: RecordedRequest; body: unknown }[] {
  return requests.flatMap((req) => {
    if (req.fault || req.status === undefined || !req.response) return [];
    try {
      return [{ req, body: JSON.parse(req.response) as unknown }];
    } catch {
      return [];
    }
  });
}

/** Every spec operation the client is expected to use. */
const EXPECTED_OPERATIONS = [
  "GET /api/v1/get/status/version",
  "GET /api/v1/get/domain/{id}",
  "POST /api/v1/add/domain",
  "POST /api/v1/edit/domain",
  "POST /api/v1/edit/rl-domain/",
  "GET /api/v1/get/dkim/{domain}",
  "POST /api/v1/add/dkim",
  "GET /api/v1/get/mailbox/all/{domain}",
  "POST /api/v1/add/mailbox",
  "POST /api/v1/delete/mailbox",
  "POST /api/v1/delete/domain",
  "POST /api/v1/delete/dkim",
];

describe("the Mailcow client against Mailcow's OpenAPI description", () => {
  let double: MailcowDouble;
  let client: MailcowClient;

  beforeAll(async () => {
    double = await startMailcowDouble({ checkContract: true, reuseDkimKeys: true });
    client = new MailcowClient({ baseUrl: double.url, apiKey: double.apiKey });
  });

  afterAll(async () => {
    client?.close();
    await double?.close();
  });

  it.skipIf(!contract)("sends only what the spec allows, apart from the documented differences", async () => {
    const spec = contract as OpenApiContract;
    const limits = LIMITS;
    await client.ping();
    expect(await client.getDomain("a.com")).toBeNull();
    expect((await client.ensureDomain("a.com", "site", limits)).created).toBe(true);
    expect((await client.ensureDomain("a.com", "site", limits)).created).toBe(false);
    // The domain_exists recovery path: the first GET misses, the add is refused, the second GET finds it.
    double.faults.inject({ kind: "respond", method: "GET", route: "get/domain/a.com", times: 1, body: "{}" });
    expect((await client.ensureDomain("a.com", "site", limits)).created).toBe(false);
    await client.setDomainActive("a.com", false);
    await client.setDomainActive("a.com", true);
    await client.setDomainRateLimit("a.com", { value: 50, frame: "h" });
    await client.setDomainRateLimit("a.com", DEFAULT_RATE_LIMIT);
    expect(await client.getDkim("a.com")).toBeNull();
    expect((await client.ensureDkim("a.com", "dkim")).created).toBe(true);
    expect((await client.ensureDkim("a.com", "dkim")).created).toBe(false);
    double.faults.inject({ kind: "respond", method: "GET", route: "get/dkim/a.com", times: 1, body: "{}" });
    expect((await client.ensureDkim("a.com", "dkim")).created).toBe(false);
    expect(await client.listMailboxes("a.com")).toEqual([]);
    await client.addMailbox({ localPart: "info", domain: "a.com", password: "s3cret-pw", quotaMb: 100 });
    await client.addMailbox({
      localPart: "sales",
      domain: "a.com",
      name: "Sales",
      password: "s3cret-pw",
      quotaMb: 100,
    });
    expect(await client.listMailboxes("a.com")).toHaveLength(2);
    await client.deleteMailbox("sales@a.com");
    // The refusals whose answers the spec does not foresee: a bare msg key, a missing mailbox, an empty delete.
    double.state.passwordPolicy = { length: 6 };
    await expect(client.deleteMailbox("sales@a.com")).rejects.toMatchObject({ kind: "not-found" });
    await expect(client.setDomainActive("b.com", true)).rejects.toMatchObject({ msgKey: "domain_invalid" });
    await expect(
      client.addMailbox({ localPart: "weak", domain: "a.com", password: "abc", quotaMb: 1 }),
    ).rejects.toMatchObject({ msgKey: "password_complexity" });
    await client.purgeDomain("a.com");
    expect(double.state.domains.size + double.state.mailboxes.size + double.state.dkim.size).toBe(0);

    // The double checked each request as it arrived (and would have refused a violation) …
    expect(double.contractChecked).toBe(true);
    expect(double.contractViolations).toEqual([]);
    // … and the log, checked again here, covers every operation and needs every documented difference.
    const operations = new Set<string>();
    const used = new Set<KnownDifference>();
    for (const req of double.requests) {
      const result = spec.check(req);
      expect(result.violations).toEqual([]);
      operations.add(`${req.method} ${result.operation}`);
      for (const d of result.differences) used.add(d);
    }
    expect([...operations].sort()).toEqual([...EXPECTED_OPERATIONS].sort());
    const unused = KNOWN_DIFFERENCES.filter((d) => !used.has(d)).map((d) => `${d.path} ${d.instancePath} ${d.keyword}`);
    expect(unused, "known differences no request needed: drop them from the table").toEqual([]);
  });

  it.skipIf(!responses)("is answered only what the spec describes, apart from the documented differences", async () => {
    const spec = responses as SpecResponses;
    // The flow above, plus an empty delete (the generic "Task completed") and a 401.
    double.state.seedDomain("c.com");
    await client.ensureDomain("c.com", "site", LIMITS);
    await client.setDomainRateLimit("c.com", { value: 5, frame: "m" });
    expect((await client.getDomain("c.com"))?.rateLimit).toEqual({ value: 5, frame: "m" });
    // A mailbox without a limit of its own shows its domain's.
    await client.addMailbox({ localPart: "rl", domain: "c.com", password: "s3cret-pw", quotaMb: 10 });
    expect(await client.listMailboxes("c.com")).toHaveLength(1);
    await client.purgeDomain("c.com");
    const raw = await post(double, "delete/mailbox", []);
    expect(raw).toEqual({ type: "success", msg: "Task completed" });
    const stranger = new MailcowClient({ baseUrl: double.url, apiKey: "unknown-key-123" });
    await expect(stranger.ping()).rejects.toMatchObject({ kind: "auth" });
    stranger.close();

    const violations: string[] = [];
    const used = new Set<ResponseDifference>();
    const against = new Set<string>();
    for (const { req, body } of answered(double.requests)) {
      const result = spec.check({ method: req.method, path: req.path, status: req.status ?? 0, body });
      violations.push(...result.violations);
      for (const d of result.differences) used.add(d);
      if (result.against !== "nothing") against.add(`${req.method} ${result.operation} ${req.status}`);
    }
    expect(violations).toEqual([]);
    // Every operation of the flow had a schema or an example to be checked against.
    expect([...against].filter((a) => a.endsWith(" 200")).length).toBeGreaterThanOrEqual(EXPECTED_OPERATIONS.length);
    expect(against).toContain("GET /api/v1/get/status/version 401");
    const unused = RESPONSE_DIFFERENCES.filter((d) => !used.has(d)).map(
      (d) => `${d.method} ${d.path} ${d.at} ${d.what}`,
    );
    expect(unused, "response differences no answer needed: drop them from the table").toEqual([]);
  });
});

/** A raw POST, for answers the client never provokes. */
function post(double: MailcowDouble, route: string, body: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${double.url}/api/v1/${route}`,
      { method: "POST", headers: { "X-API-Key": double.apiKey, "Content-Type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("the spec's own examples", () => {
  const spec = fs.existsSync(MAILCOW_OPENAPI_PATH)
    ? (parseYaml(fs.readFileSync(MAILCOW_OPENAPI_PATH, "utf8")) as { paths: Record<string, Record<string, unknown>> })
    : null;
  function example(path: string, method: string): unknown {
    const op = spec?.paths[path]?.[method] as
      | { responses: Record<string, { content: Record<string, { examples: { response: { value: unknown } } }> }> }
      | undefined;
    return op?.responses["200"]?.content["application/json"]?.examples.response.value;
  }

  it.skipIf(!spec)("are read by the client's normalisers, so an answer shaped like the spec is understood", () => {
    const [domain] = example("/api/v1/get/domain/{id}", "get") as unknown[];
    expect(domainFromApi(domain)).toMatchObject({ name: "domain.tld", active: true, mailboxCount: 0 });
    const [mailbox] = example("/api/v1/get/mailbox/all/{domain}", "get") as unknown[];
    expect(mailboxFromApi(mailbox)).toMatchObject({ username: "info@domain3.tld", quotaMb: 3072 });
    expect(dkimFromApi(example("/api/v1/get/dkim/{domain}", "get"))).toMatchObject({ selector: "dkim", length: 2048 });
    expect(writeOutcome(example("/api/v1/add/domain", "post")).ok).toBe(true);
  });
});

describe("the contract checker", () => {
  it.skipIf(!contract)(
    "flags a path the spec lacks, a wrong method, a wrongly typed field and an unknown field",
    () => {
      const spec = contract as OpenApiContract;
      expect(spec.check({ method: "GET", path: "/api/v1/get/domains/a.com" }).violations[0]?.problem).toBe(
        "path not in the spec",
      );
      expect(spec.check({ method: "GET", path: "/api/v1/add/domain" }).violations[0]?.problem).toMatch(
        /GET not allowed/,
      );
      const typed = spec.check({ method: "POST", path: "/api/v1/add/dkim", body: { domains: 5 } });
      expect(typed.violations.map((v) => v.problem)).toEqual(["body/domains must be string"]);
      const unknown = spec.check({
        method: "POST",
        path: "/api/v1/add/mailbox",
        body: { local_part: "a", domain: "a.com", pasword: "x" },
      });
      expect(unknown.violations.map((v) => v.problem)).toEqual(["body must NOT have additional properties (pasword)"]);
    },
  );

  it.skipIf(!contract)("accepts a known difference only where it is documented", () => {
    const spec = contract as OpenApiContract;
    const deleteDomain = spec.check({ method: "POST", path: "/api/v1/delete/domain", body: ["a.com"] });
    expect(deleteDomain.ok).toBe(true);
    expect(deleteDomain.differences.map((d) => d.path)).toEqual(["/api/v1/delete/domain"]);
    // The same 0/1 flag is accepted on edit/domain (documented) and refused on edit/mailbox (not documented).
    const flag = { items: ["a.com"], attr: { active: 0 } };
    expect(spec.check({ method: "POST", path: "/api/v1/edit/domain", body: flag }).ok).toBe(true);
    const problems = spec.check({ method: "POST", path: "/api/v1/edit/mailbox", body: flag }).violations;
    expect(problems.map((v) => v.problem)).toContain("body/attr/active must be boolean");
  });

  it.skipIf(!contract)("maps concrete paths to the most specific template", () => {
    const spec = contract as OpenApiContract;
    expect(spec.matchPath("/api/v1/get/mailbox/all/a.com")).toBe("/api/v1/get/mailbox/all/{domain}");
    expect(spec.matchPath("/api/v1/get/mailbox/info@a.com")).toBe("/api/v1/get/mailbox/{id}");
    expect(spec.matchPath("/api/v1/edit/rl-domain")).toBe("/api/v1/edit/rl-domain/");
  });

  it("gives a reason for every known difference", () => {
    for (const d of KNOWN_DIFFERENCES) expect(d.reason.length).toBeGreaterThan(20);
  });
});

describe("the double with contract checking on", () => {
  it.skipIf(!contract)("refuses a request that breaks the contract with HTTP 400 and records it", async () => {
    const double = await startMailcowDouble({ checkContract: true });
    try {
      const body = JSON.stringify({ local_part: "a", domain: "a.com", pasword: "x" });
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${double.url}/api/v1/add/mailbox`,
          { method: "POST", headers: { "X-API-Key": double.apiKey, "Content-Type": "application/json" } },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
      expect(status).toBe(400);
      expect(double.contractViolations).toHaveLength(1);
      expect(double.requests[0]?.contract?.[0]?.problem).toContain("pasword");
      expect(double.state.mailboxes.size).toBe(0);
    } finally {
      await double.close();
    }
  });
});
