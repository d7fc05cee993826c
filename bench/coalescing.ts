/**
 * Benchmark 1: alternating enable/disable calls on one site while each stack run takes `runnerMs`. The reconciler
 * coalesces the calls that arrive during a run into one follow-up run; the naive baseline runs once per call.
 */
import { NaiveController } from "./naive-controller";
import { type BenchReport, secondsSince } from "./support";
import { type BenchWorld, startBenchWorld } from "./world";

export interface CoalescingOptions {
  calls: number;
  runnerMs: number;
}

export const COALESCING_DEFAULTS: CoalescingOptions = { calls: 200, runnerMs: 200 };

const SLUG = "shop";
const NAMESPACE = "tenant-shop";

async function alternate(calls: number, enable: () => Promise<unknown>, disable: () => Promise<unknown>) {
  for (let i = 0; i < calls; i++) {
    if (i % 2 === 0) await enable();
    else await disable();
  }
}

/** What the last call asked for: an even count ends with a disable. */
function lastWantsEnabled(calls: number): boolean {
  return calls % 2 === 1;
}

function converged(w: BenchWorld, calls: number): boolean {
  const wanted = lastWantsEnabled(calls);
  const a = w.annotations(NAMESPACE);
  return (
    a["voxeil.io/mail-enabled"] === String(wanted) &&
    a["voxeil.io/mail-status"] === (wanted ? "ready" : "disabled") &&
    w.runner.enabled(SLUG) === wanted
  );
}

export async function benchCoalescing(options: CoalescingOptions = COALESCING_DEFAULTS): Promise<BenchReport> {
  const { calls, runnerMs } = options;

  const subject = await startBenchWorld({ runnerMs });
  let subjectRuns: number;
  let subjectSeconds: number;
  let subjectConverged: boolean;
  let subjectCallSeconds: number;
  try {
    const start = performance.now();
    await alternate(
      calls,
      () => subject.controller.reconciler.requestEnable(SLUG),
      () => subject.controller.reconciler.requestDisable(SLUG),
    );
    subjectCallSeconds = secondsSince(start);
    await subject.controller.reconciler.idle();
    subjectSeconds = secondsSince(start);
    subjectRuns = subject.controller.runs.length;
    subjectConverged = converged(subject, calls);
  } finally {
    await subject.close();
  }

  const base = await startBenchWorld({ runnerMs });
  let baselineRuns: number;
  let baselineSeconds: number;
  let baselineConverged: boolean;
  try {
    const naive = new NaiveController({
      sites: base.controller.sites,
      mailcow: base.controller.client,
      runner: base.runner,
      dns: base.controller.dns,
      domainLimits: base.controller.settings.domainLimits,
      rateLimit: base.controller.settings.rateLimit,
    });
    const start = performance.now();
    await alternate(
      calls,
      () => naive.requestEnable(SLUG),
      () => naive.requestDisable(SLUG),
    );
    await naive.idle();
    baselineSeconds = secondsSince(start);
    baselineRuns = naive.runs;
    baselineConverged = converged(base, calls);
  } finally {
    await base.close();
  }

  const subjectPerCall = subjectRuns / calls;
  const baselinePerCall = baselineRuns / calls;
  return {
    name: "coalescing",
    summary: `${calls} alternating enable/disable calls on one site, runner ${runnerMs} ms: runs per call, reconciler against a controller that runs once per call`,
    checks: [
      { label: "runs per call (reconciler ÷ naive)", value: subjectPerCall / baselinePerCall, op: "<=", target: 0.05 },
    ],
    details: {
      reconcilerRuns: subjectRuns,
      reconcilerRunsPerCall: subjectPerCall,
      reconcilerCallsSeconds: subjectCallSeconds,
      reconcilerSeconds: subjectSeconds,
      reconcilerConverged: subjectConverged,
      naiveRuns: baselineRuns,
      naiveRunsPerCall: baselinePerCall,
      naiveSeconds: baselineSeconds,
      naiveConverged: baselineConverged,
    },
  };
}
