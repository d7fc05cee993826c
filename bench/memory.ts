/**
 * Benchmark 4: the controller's resident memory with `sites` known sites against an idle controller. Each
 * controller runs in its own process (`test/support/controller-child.ts`, started with `--expose-gc`), so the RSS is
 * the controller's alone; the doubles stay in this process. The loaded controller lists every site at start and
 * queues them all (each is `pending`); its runner holds every run, so the queue stays full while it is measured.
 */

import { type NamespaceSeed, startKubernetesDouble } from "../test/doubles/kubernetes-api";
import { startMailcowDouble } from "../test/doubles/mailcow-api";
import { spawnController } from "../test/support/child-process";
import { MAIL_HOST } from "../test/support/controller-world";
import { type BenchReport, sleep } from "./support";

export interface MemoryOptions {
  sites: number;
}

export const MEMORY_DEFAULTS: MemoryOptions = { sites: 10_000 };

const MB = 1024 * 1024;

interface Sample {
  rss: number;
  heapUsed: number;
  queueDepth: number;
  running: number;
}

function pendingSites(count: number): NamespaceSeed[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `tenant-s${i}`,
    labels: { "voxeil.io/tenant-slug": `s${i}` },
    annotations: {
      "voxeil.io/domain": `s${i}.example`,
      "voxeil.io/mail-enabled": "true",
      "voxeil.io/mail-provider": "mailcow",
      "voxeil.io/mail-status": "pending",
    },
  }));
}

async function measure(sites: number): Promise<Sample> {
  const k8s = await startKubernetesDouble({ namespaces: pendingSites(sites) });
  const mailcow = await startMailcowDouble({ hostname: MAIL_HOST, reuseDkimKeys: true });
  const child = spawnController(
    {
      CHILD_K8S_URL: k8s.url,
      CHILD_MAILCOW_URL: mailcow.url,
      CHILD_MAILCOW_KEY: mailcow.apiKey,
      CHILD_RUNNER: "held",
      CHILD_MAX_PARALLEL: "4",
    },
    ["--expose-gc"],
  );
  try {
    await child.next("started", 60_000);
    // Let the first runs reach the held stack step.
    await sleep(500);
    // RSS moves with GC timing; the lowest of a few samples after full GCs is the steady footprint.
    const samples: Sample[] = [];
    for (let i = 0; i < 3; i++) {
      child.send("memory");
      const m = await child.next("memory", 30_000);
      if (m.gc !== true) throw new Error("the child ran without --expose-gc");
      samples.push({
        rss: Number(m.rss),
        heapUsed: Number(m.heapUsed),
        queueDepth: Number(m.queueDepth),
        running: Number(m.running),
      });
      await sleep(200);
    }
    return samples.reduce((a, b) => (b.rss < a.rss ? b : a));
  } finally {
    await child.kill();
    await k8s.close();
    await mailcow.close();
  }
}

export async function benchMemory(options: MemoryOptions = MEMORY_DEFAULTS): Promise<BenchReport> {
  const idle = await measure(0);
  const loaded = await measure(options.sites);
  const growth = (loaded.rss - idle.rss) / MB;
  return {
    name: "memory",
    summary: `controller RSS with ${options.sites} known sites (listed at start, all queued) against an idle controller, each in its own process`,
    checks: [{ label: "RSS growth", value: growth, op: "<", target: 100, unit: "MB", digits: 1 }],
    details: {
      idleRssMB: idle.rss / MB,
      loadedRssMB: loaded.rss / MB,
      idleHeapMB: idle.heapUsed / MB,
      loadedHeapMB: loaded.heapUsed / MB,
      heapGrowthMB: (loaded.heapUsed - idle.heapUsed) / MB,
      queued: loaded.queueDepth,
      running: loaded.running,
    },
  };
}
