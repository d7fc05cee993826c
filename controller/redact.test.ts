import { describe, expect, it } from "vitest";
import { createRedactor, errorMessage, shortMessage, withSecrets } from "./redact";

describe("createRedactor", () => {
  it("replaces every known secret value, longest first", () => {
    const redact = createRedactor(["abcd1234", "abcd12345678"]);
    expect(redact("key abcd12345678 and abcd1234")).toBe("key [redacted] and [redacted]");
  });

  it("masks credential shapes it was not told about", () => {
    const redact = createRedactor([]);
    expect(redact("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x")).toBe("Authorization: Bearer [redacted]");
    expect(redact('{"X-API-Key": "k-123-456"}')).toBe('{"X-API-Key": "[redacted]"}');
    expect(redact("password=hunter22&x=1")).toBe("password=[redacted]&x=1");
  });

  it("adds request-scoped secrets", () => {
    const redact = withSecrets(createRedactor(["server-key"]), ["S3cret!pw"]);
    expect(redact("server-key S3cret!pw")).toBe("[redacted] [redacted]");
  });
});

describe("shortMessage", () => {
  it("makes one short line", () => {
    const msg = shortMessage(`first\nsecond ${"x".repeat(400)}`, createRedactor([]));
    expect(msg.startsWith("first second")).toBe(true);
    expect(msg.length).toBe(256);
  });
});

describe("errorMessage", () => {
  it("reads errors, strings and objects", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage({ a: 1 })).toBe('{"a":1}');
  });
});
