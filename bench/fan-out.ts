/**
 * Benchmark 2: enable `sites` sites at once with `parallel` run slots and a runner taking `runnerMs`. The wall time
 * from the first request until every site is ready is compared with the ideal `sites × runnerMs ÷ parallel`; a bare
 * pool running the same runner calls without a controller is measured alongside, to show the timer overhead alone.
 */

import { siteStackConfigFor } from "../controller/stacks/site-stack-config";
import { ScriptedRunner } from "../test/doubles/stack-runner/scripted-runner";
import { type BenchReport, secondsSince } from "./support";
import { siteSeeds, startBenchWorld } from "./world";

export interface FanOutOptions {
  sites: number;
  parallel: number;
  runnerMs: number;
}

export const FAN_OUT_DEFAULTS: FanOutOptions = { sites: 500, parallel: 8, runnerMs: 200 };

export async function benchFanOut(options: FanOutOptions = FAN_OUT_DEFAULTS): Promise<BenchReport> {
  const { sites, parallel, runnerMs } = options;
  const ideal = (sites * runnerMs) / 1000 / parallel;

  const w = await startBenchWorld({ namespaces: siteSeeds(sites), runnerMs, parallel });
  let wall: number;
  let requestsSeconds: number;
  let ready = 0;
  let maxParallel: number;
  try {
    const start = performance.now();
    for (let i = 0; i < sites; i++) await w.controller.reconciler.requestEnable(`s${i}`);
    requestsSeconds = secondsSince(start);
    await w.controller.reconciler.idle();
    wall = secondsSince(start);
    maxParallel = w.runner.maxParallel;
    for (let i = 0; i < sites; i++) {
      if (w.annotations(`tenant-s${i}`)["voxeil.io/mail-status"] === "ready") ready++;
    }
  } finally {
    await w.close();
  }

  // The same runner calls through a bare pool of `parallel` workers: no Kubernetes, no Mailcow, no reconciler.
  const runner = new ScriptedRunner({ delayMs: runnerMs });
  const dns = w.controller.dns;
  const poolStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < sites) {
        const i = next++;
        await runner.up(`s${i}`, siteStackConfigFor({ slug: `s${i}`, domain: `s${i}.example`, enabled: false }, dns));
      }
    }),
  );
  const poolSeconds = secondsSince(poolStart);

  return {
    name: "fan-out",
    summary: `enable ${sites} sites, ${parallel} parallel runs, runner ${runnerMs} ms: wall time ÷ (${sites} × ${runnerMs / 1000} s ÷ ${parallel})`,
    checks: [{ label: "wall ÷ ideal", value: wall / ideal, op: "<=", target: 1.15 }],
    details: {
      wallSeconds: wall,
      idealSeconds: ideal,
      requestsSeconds,
      sitesReady: ready,
      maxParallelSeen: maxParallel,
      barePoolSeconds: poolSeconds,
      barePoolRatio: poolSeconds / ideal,
    },
  };
}
