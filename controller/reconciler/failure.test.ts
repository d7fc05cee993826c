import { describe, expect, it } from "vitest";
import { MailcowError } from "../mailcow/errors";
import { SiteStoreError } from "../sites/site";
import { StackRunError } from "../stacks/stack-runner";
import { classifyFailure, PermanentFailure } from "./failure";

describe("classifyFailure", () => {
  it("retries only Mailcow's transient kind", () => {
    const transient = new MailcowError({ kind: "transient", operation: "getDomain", detail: "HTTP 500" });
    const validation = new MailcowError({ kind: "validation", operation: "ensureDomain", detail: "domain_invalid" });
    const auth = new MailcowError({ kind: "auth", operation: "ping", detail: "HTTP 401" });
    expect(classifyFailure(transient).transient).toBe(true);
    expect(classifyFailure(validation)).toEqual({
      transient: false,
      message: "mailcow ensureDomain: domain_invalid",
      staleLock: false,
    });
    expect(classifyFailure(auth).transient).toBe(false);
  });

  it("follows the adapters' own marks and stops on permanent failures", () => {
    expect(classifyFailure(new SiteStoreError("409", true)).transient).toBe(true);
    expect(classifyFailure(new SiteStoreError("403", false)).transient).toBe(false);
    expect(classifyFailure(new StackRunError("locked", true)).transient).toBe(true);
    expect(classifyFailure(new PermanentFailure("bad domain")).transient).toBe(false);
  });

  it("treats the unknown as transient (bounded by the attempts)", () => {
    expect(classifyFailure(new TypeError("fetch failed"))).toEqual({
      transient: true,
      message: "fetch failed",
      staleLock: false,
    });
  });
});
