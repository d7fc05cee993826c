/**
 * Smoke test of the benchmarks: every module loads and runs at tiny sizes and reports finite numbers against
 * targets. No timing is asserted (the machine is shared and noisy); `npm run bench` is where the numbers come from.
 */
import { describe, expect, it } from "vitest";
import { BENCHMARKS, benchExitCode, parseBenchArgs } from "./run";
import { type BenchReport, type Check, formatCheck, formatReport, percentile } from "./support";

function wellFormed(report: BenchReport): void {
  expect(report.checks.length).toBeGreaterThan(0);
  const text = formatReport(report);
  for (const check of report.checks) {
    expect(Number.isFinite(check.value)).toBe(true);
    // Whether it passes is a timing fact (not asserted); that it is judged one way or the other is not.
    expect(text).toMatch(new RegExp(`${check.label.replace(/[()÷.*+?]/g, "\\$&")}: .* (PASS|MISS)`));
  }
}

const check = (value: number, op: Check["op"], target: number): Check => ({ label: "ratio", value, op, target });

describe("benchmarks at tiny sizes", () => {
  it("coalescing ends both controllers in the state of the last call, the naive one with a run per call", async () => {
    const report = await BENCHMARKS.coalescing(true);
    wellFormed(report);
    expect(report.details).toMatchObject({ reconcilerConverged: true, naiveConverged: true, naiveRunsPerCall: 1 });
    expect(report.details.reconcilerRuns).toBeLessThan(report.details.naiveRuns as number);
  });

  it("fan-out brings every site to ready without exceeding the parallel limit", async () => {
    const report = await BENCHMARKS["fan-out"](true);
    wellFormed(report);
    expect(report.details).toMatchObject({ sitesReady: 8 });
    // How many runs overlap at their peak depends on scheduling (a timing fact, not asserted here); the limit holds
    // regardless. That the limit is actually reached is shown with a held runner in the reconciler's tests.
    expect(report.details.maxParallelSeen).toBeGreaterThanOrEqual(1);
    expect(report.details.maxParallelSeen).toBeLessThanOrEqual(4);
  });

  it("mailcow-calls counts the requests of each operation on the double", async () => {
    const report = await BENCHMARKS["mailcow-calls"](true);
    wellFormed(report);
    expect(report.checks.map((c) => c.value).every((v) => Number.isInteger(v) && v > 0)).toBe(true);
    expect(String(report.details.first_enable)).toContain("POST add/domain");
  });

  it("http answers every enable with 202 from a controller in its own process", async () => {
    const report = await BENCHMARKS.http(true);
    wellFormed(report);
    expect(report.details.requestsEach).toBe(40);
    // The floor route was measured too (it answers 202 to every call, or the benchmark throws).
    expect(report.details.floorP99ms).toBeGreaterThan(0);
  });

  it("memory measures an idle and a loaded controller, each in its own process", async () => {
    const report = await BENCHMARKS.memory(true);
    wellFormed(report);
    // All 50 sites are known and due: each is either waiting in the queue or in flight at the held stack step.
    expect(Number(report.details.queued) + Number(report.details.running)).toBe(50);
    expect(report.details.running).toBeGreaterThan(0);
  });
});

describe("judging a value against its target", () => {
  it("passes a value at the target for ≤ and misses it for <", () => {
    expect(formatCheck(check(1.15, "<=", 1.15))).toBe("ratio: 1.150 (target ≤ 1.150) PASS");
    expect(formatCheck(check(1.15, "<", 1.15))).toBe("ratio: 1.150 (target < 1.150) MISS");
    expect(formatCheck(check(1.179, "<=", 1.15))).toBe("ratio: 1.179 (target ≤ 1.150) MISS");
  });
});

describe("npm run bench's exit code", () => {
  const met = [check(1.12, "<=", 1.15), check(20, "<", 100)];
  const missed = [check(1.12, "<=", 1.15), check(1.59, "<=", 1.5)];
  const full = { quick: false, explore: false };

  it("is 1 when a target is missed and 0 when every target is met", () => {
    expect(benchExitCode(missed, full)).toBe(1);
    expect(benchExitCode(met, full)).toBe(0);
  });

  it("is 0 despite a miss with --explore, and with --quick whose sizes mean nothing", () => {
    expect(benchExitCode(missed, parseBenchArgs(["--explore"]))).toBe(0);
    expect(benchExitCode(missed, parseBenchArgs(["--quick"]))).toBe(0);
  });

  it("refuses an unknown flag or benchmark by name instead of running everything", () => {
    expect(() => parseBenchArgs(["--explor"])).toThrow("unknown argument --explor");
    expect(() => parseBenchArgs(["--only", "fanout"])).toThrow("unknown benchmark(s) fanout");
    expect(parseBenchArgs(["--only", "fan-out,http", "--json", "out.json"])).toEqual({
      quick: false,
      explore: false,
      only: ["fan-out", "http"],
      json: "out.json",
    });
  });
});

describe("percentile", () => {
  it("picks by nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile([7], 99)).toBe(7);
  });
});
