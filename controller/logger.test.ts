import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger";
import { createRedactor } from "./redact";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

describe("createLogger", () => {
  it("removes auth headers and key fields, and known secret values anywhere in a line", () => {
    const { lines, stream } = capture();
    const log = createLogger("info", createRedactor(["the-api-key-value"]), stream);
    log.info(
      { req: { headers: { authorization: "Bearer abcdefghijklmnop" } }, apiKey: "k1", nested: { password: "pw" } },
      "calling with the-api-key-value",
    );
    log.warn({ err: new Error("failed: the-api-key-value rejected") }, "oops");
    const text = lines.join("");
    expect(text).not.toContain("abcdefghijklmnop");
    expect(text).not.toContain("the-api-key-value");
    expect(text).not.toMatch(/"apiKey":"k1"/);
    expect(text).not.toMatch(/"password":"pw"/);
    expect(text).toContain("[redacted]");
    expect(JSON.parse(lines[0]).msg).toBe("calling with [redacted]");
  });
});
