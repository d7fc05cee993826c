import { describe, expect, it } from "vitest";
import { frozenJsonBytes } from "./json-answer";

function deepFreeze<T extends object>(value: T): T {
  for (const member of Object.values(value)) if (typeof member === "object" && member !== null) deepFreeze(member);
  return Object.freeze(value);
}

describe("frozenJsonBytes", () => {
  it("serialises a body frozen all the way down once, to the bytes JSON.stringify gives", () => {
    const body = deepFreeze({
      slug: "shop",
      records: [{ name: "shop.example", chunks: ["v=spf1 mx -all"] }],
      run: null,
    });
    const bytes = frozenJsonBytes(body);
    expect(bytes?.toString("utf8")).toBe(JSON.stringify(body));
    expect(frozenJsonBytes(body)).toBe(bytes);
  });

  it("keeps non-ASCII text intact, counted in bytes", () => {
    const body = deepFreeze({ lastError: "Mailcow answered „nein“ — 500" });
    const bytes = frozenJsonBytes(body);
    expect(bytes).toBeInstanceOf(Buffer);
    expect(bytes?.length).toBe(Buffer.byteLength(JSON.stringify(body)));
    expect(JSON.parse(bytes?.toString("utf8") ?? "")).toEqual(body);
  });

  it("keeps nothing for a body that could still change, so no answer goes stale", () => {
    const open = { status: "ready" };
    expect(frozenJsonBytes(open)).toBeUndefined();
    // Frozen on top, but a member object is still mutable.
    const shallow = Object.freeze({ run: { state: "queued" } });
    expect(frozenJsonBytes(shallow)).toBeUndefined();
    shallow.run.state = "running";
    expect(frozenJsonBytes(shallow)).toBeUndefined();
    expect(frozenJsonBytes(null)).toBeUndefined();
    expect(frozenJsonBytes("text")).toBeUndefined();
  });

  it("keeps the bytes in a buffer of their own, not a slice of Buffer's shared pool", () => {
    const bytes = frozenJsonBytes(deepFreeze({ small: "x" }));
    expect(bytes).toBeInstanceOf(Buffer);
    expect(bytes?.buffer.byteLength).toBe(bytes?.length);
  });
});
