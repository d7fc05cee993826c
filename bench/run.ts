/**
 * `npm run bench`: runs every benchmark, each measuring the subject and its baseline in the same run, and prints
 * every ratio with its target and PASS/MISS. Options:
 *   --only a,b   run only these (coalescing, fan-out, http, memory, mailcow-calls)
 *   --quick      tiny sizes (a smoke run; the numbers mean nothing)
 *   --json FILE  also write the reports as JSON
 *   --real       the real engine instead (bench/real/run.ts; needs the lab's binaries)
 * Exit code 0 even when a target is missed: the misses and their reasons are recorded in bench/RESULTS.md.
 */
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import { benchCoalescing, COALESCING_DEFAULTS } from "./coalescing";
import { benchFanOut, FAN_OUT_DEFAULTS } from "./fan-out";
import { benchHttp, HTTP_DEFAULTS } from "./http-latency";
import { benchMailcowCalls, MAILCOW_CALLS_DEFAULTS } from "./mailcow-calls";
import { benchMemory, MEMORY_DEFAULTS } from "./memory";
import { type BenchReport, formatReport, passes } from "./support";

export const BENCHMARKS: Record<string, (quick: boolean) => Promise<BenchReport>> = {
  coalescing: (quick) => benchCoalescing(quick ? { calls: 10, runnerMs: 20 } : COALESCING_DEFAULTS),
  "fan-out": (quick) => benchFanOut(quick ? { sites: 8, parallel: 4, runnerMs: 20 } : FAN_OUT_DEFAULTS),
  http: (quick) => benchHttp(quick ? { rate: 50, seconds: 0.4, warmupSeconds: 0.1, runnerMs: 20 } : HTTP_DEFAULTS),
  memory: (quick) => benchMemory(quick ? { sites: 50 } : MEMORY_DEFAULTS),
  "mailcow-calls": (quick) => benchMailcowCalls(quick ? { sites: 1 } : MAILCOW_CALLS_DEFAULTS),
};

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export function machine(): string {
  const mem = (os.totalmem() / 1024 ** 3).toFixed(1);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  return `${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? "unknown"}), ${mem} GiB, node ${process.version}, load ${load}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--real")) return (await import("./real/run")).runRealBench(args);
  const quick = args.includes("--quick");
  const only = argValue(args, "--only")?.split(",");
  const names = Object.keys(BENCHMARKS).filter((n) => !only || only.includes(n));
  const unknown = only?.filter((n) => !(n in BENCHMARKS)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown benchmark(s) ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
  console.log(`mail-zone benchmarks${quick ? " (quick: sizes too small to mean anything)" : ""}`);
  console.log(`machine: ${machine()}; ${new Date().toISOString()}`);
  const reports: BenchReport[] = [];
  const started = performance.now();
  for (const name of names) {
    const t = performance.now();
    const report = await BENCHMARKS[name](quick);
    reports.push(report);
    console.log(formatReport(report));
    console.log(`  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const checks = reports.flatMap((r) => r.checks);
  const missed = checks.filter((c) => !passes(c));
  console.log(
    `\n${checks.length - missed.length} of ${checks.length} targets met in ${((performance.now() - started) / 1000).toFixed(1)} s${missed.length ? `; missed: ${missed.map((c) => c.label).join("; ")}` : ""}`,
  );
  console.log(
    `machine after: load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const jsonFile = argValue(args, "--json");
  if (jsonFile)
    writeFileSync(
      jsonFile,
      `${JSON.stringify({ machine: machine(), date: new Date().toISOString(), reports }, null, 2)}\n`,
    );
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
