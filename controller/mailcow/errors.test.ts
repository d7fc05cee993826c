import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { isMailcowError, isTransient, kindForMessageKey, kindForStatus, MailcowError, redact } from "./errors";

describe("MailcowError", () => {
  it("keeps Mailcow's message key and arguments, the operation and the status", () => {
    const err = new MailcowError({
      kind: "validation",
      operation: "ensureDomain",
      detail: "Mailcow refused: domain_exists (a.com)",
      status: 200,
      msgKey: "domain_exists",
      msgArgs: ["a.com"],
    });
    expect(err.message).toBe("mailcow ensureDomain: Mailcow refused: domain_exists (a.com)");
    expect(err.toJSON()).toEqual({
      name: "MailcowError",
      kind: "validation",
      retryable: false,
      operation: "ensureDomain",
      message: err.message,
      status: 200,
      msgKey: "domain_exists",
      msgArgs: ["a.com"],
    });
    expect(isMailcowError(err)).toBe(true);
    expect(err.transient).toBe(false);
  });

  it("redacts every secret from the message, the key, the arguments and the inspected form", () => {
    const secret = "K3y-Very-Secret";
    const err = new MailcowError({
      kind: "protocol",
      operation: "ping",
      detail: `body said ${secret}`,
      msgKey: `x ${secret}`,
      msgArgs: [secret],
      secrets: [secret],
    });
    for (const text of [err.message, err.stack ?? "", JSON.stringify(err), inspect(err, { showHidden: true })]) {
      expect(text).not.toContain(secret);
    }
  });

  it("does not blank out text for secrets shorter than 4 characters", () => {
    expect(redact("a.com", ["a"])).toBe("a.com");
    expect(redact("xx-abcd-xx-abcd", ["abcd"])).toBe("xx-[redacted]-xx-[redacted]");
  });
});

describe("error kinds", () => {
  it("maps HTTP statuses to kinds", () => {
    expect([401, 403, 404, 400, 405, 500, 502, 503].map(kindForStatus)).toEqual([
      "auth",
      "auth",
      "protocol",
      "protocol",
      "protocol",
      "transient",
      "transient",
      "transient",
    ]);
  });

  it("maps domain_not_found to not-found, database errors to transient and other keys to validation", () => {
    expect(kindForMessageKey("domain_not_found")).toBe("not-found");
    expect(kindForMessageKey("mysql_error")).toBe("transient");
    expect(kindForMessageKey("SQLSTATE[42S02]: Base table or view not found")).toBe("transient");
    expect(kindForMessageKey("domain_exists")).toBe("validation");
    expect(kindForMessageKey("access_denied")).toBe("validation");
  });

  it("is retryable by default only when transient, and a protocol error can say it is retryable", () => {
    expect(new MailcowError({ kind: "transient", operation: "x", detail: "y" }).retryable).toBe(true);
    for (const kind of ["validation", "auth", "not-found", "protocol"] as const) {
      expect(new MailcowError({ kind, operation: "x", detail: "y" }).retryable).toBe(false);
    }
    expect(new MailcowError({ kind: "protocol", retryable: true, operation: "x", detail: "y" }).retryable).toBe(true);
  });

  it("isTransient follows retryable, and is false for anything but a MailcowError", () => {
    expect(isTransient(new MailcowError({ kind: "transient", operation: "x", detail: "y" }))).toBe(true);
    expect(isTransient(new MailcowError({ kind: "auth", operation: "x", detail: "y" }))).toBe(false);
    expect(isTransient(new MailcowError({ kind: "protocol", retryable: true, operation: "x", detail: "y" }))).toBe(
      true,
    );
    expect(isTransient(new Error("ECONNRESET"))).toBe(false);
  });
});
