/**
 * `npm run bench`: runs every benchmark, each measuring the subject and its baseline in the same run, and prints
 * every ratio with its target and PASS/MISS. Options:
 *   --only a,b   run only these (coalescing, fan-out, http, memory, mailcow-calls)
 *   --quick      tiny sizes (a smoke run; the numbers mean nothing)
 *   --json FILE  also write the reports as JSON
 *   --explore    report the numbers without failing on a missed target
 *   --real       the real engine instead (bench/real/run.ts; needs the lab's binaries)
 * Exit code 1 when a target is missed (so a regression fails CI or a script), unless --explore or --quick (whose
 * sizes are too small for the targets to mean anything); 2 for bad arguments.
 */
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import { benchCoalescing, COALESCING_DEFAULTS } from "./coalescing";
import { benchFanOut, FAN_OUT_DEFAULTS } from "./fan-out";
import { benchHttp, HTTP_DEFAULTS } from "./http-latency";
import { benchMailcowCalls, MAILCOW_CALLS_DEFAULTS } from "./mailcow-calls";
import { benchMemory, MEMORY_DEFAULTS } from "./memory";
import { type BenchReport, type Check, formatReport, passes } from "./support";

export const BENCHMARKS: Record<string, (quick: boolean) => Promise<BenchReport>> = {
  coalescing: (quick) => benchCoalescing(quick ? { calls: 10, runnerMs: 20 } : COALESCING_DEFAULTS),
  "fan-out": (quick) => benchFanOut(quick ? { sites: 8, parallel: 4, runnerMs: 20 } : FAN_OUT_DEFAULTS),
  http: (quick) => benchHttp(quick ? { rate: 50, seconds: 0.8, warmupSeconds: 0.1, runnerMs: 20 } : HTTP_DEFAULTS),
  memory: (quick) => benchMemory(quick ? { sites: 50 } : MEMORY_DEFAULTS),
  "mailcow-calls": (quick) => benchMailcowCalls(quick ? { sites: 1 } : MAILCOW_CALLS_DEFAULTS),
};

export interface BenchArgs {
  quick: boolean;
  explore: boolean;
  only?: string[];
  json?: string;
}

export class BenchUsageError extends Error {}

const FLAGS = ["--quick", "--explore"] as const;
const VALUED = ["--only", "--json"] as const;

/** Reads the command line; an unknown flag or a bad benchmark name is refused by name, not ignored. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, explore: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") args.quick = true;
    else if (arg === "--explore") args.explore = true;
    else if ((VALUED as readonly string[]).includes(arg)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new BenchUsageError(`${arg} needs a value`);
      if (arg === "--json") args.json = value;
      else args.only = value.split(",").filter(Boolean);
    } else {
      throw new BenchUsageError(`unknown argument ${arg}; known: ${[...FLAGS, ...VALUED].join(", ")}`);
    }
  }
  const unknown = args.only?.filter((n) => !(n in BENCHMARKS)) ?? [];
  if (unknown.length > 0)
    throw new BenchUsageError(
      `unknown benchmark(s) ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}`,
    );
  return args;
}

/** 1 when a target was missed in a run that means something; 0 otherwise. */
export function benchExitCode(checks: readonly Check[], args: Pick<BenchArgs, "quick" | "explore">): 0 | 1 {
  if (args.quick || args.explore) return 0;
  return checks.every(passes) ? 0 : 1;
}

export function machine(): string {
  const mem = (os.totalmem() / 1024 ** 3).toFixed(1);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  return `${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? "unknown"}), ${mem} GiB, node ${process.version}, load ${load}`;
}

async function main(args: BenchArgs): Promise<0 | 1> {
  const { quick, only } = args;
  const names = Object.keys(BENCHMARKS).filter((n) => !only || only.includes(n));
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
  const jsonFile = args.json;
  if (jsonFile)
    writeFileSync(
      jsonFile,
      `${JSON.stringify({ machine: machine(), date: new Date().toISOString(), reports }, null, 2)}\n`,
    );
  const code = benchExitCode(checks, args);
  if (missed.length > 0)
    console.log(
      code === 0
        ? `exit 0 despite the miss (${quick ? "--quick" : "--explore"})`
        : "exit 1: a target was missed (pass --explore to report without failing)",
    );
  return code;
}

if (require.main === module && process.argv.includes("--real")) {
  // The real engine's benchmarks read their own flags (bench/real/run.ts).
  import("./real/run")
    .then((real) => real.runRealBench(process.argv.slice(2)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    });
} else if (require.main === module) {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  }
  main(args).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
