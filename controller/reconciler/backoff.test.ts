import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff";

const policy = { baseMs: 100, capMs: 1000, maxAttempts: 10 };

describe("backoffDelay", () => {
  it("doubles from the base up to the cap", () => {
    const max = (n: number) => backoffDelay(n, policy, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(max)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("keeps at least half of the delay however the jitter falls", () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(200);
  });
});
