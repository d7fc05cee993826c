/**
 * The controller under benchmark: assembled as `npm start` assembles it (test/support/controller-world.ts), against
 * the Kubernetes and Mailcow API doubles on loopback, with a scripted runner whose every run takes `runnerMs`.
 */
import type { NamespaceSeed } from "../test/doubles/kubernetes-api";
import { ScriptedRunner } from "../test/doubles/stack-runner/scripted-runner";
import { buildController, type Controller, type Doubles, startDoubles } from "../test/support/controller-world";

export interface BenchWorld {
  doubles: Doubles;
  controller: Controller;
  runner: ScriptedRunner;
  annotations(namespace: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startBenchWorld(options: {
  namespaces?: NamespaceSeed[];
  runnerMs: number;
  parallel?: number;
}): Promise<BenchWorld> {
  const doubles = await startDoubles(options.namespaces);
  const runner = new ScriptedRunner({ delayMs: options.runnerMs });
  const controller = buildController({
    kubernetesUrl: doubles.k8s.url,
    mailcowUrl: doubles.mailcow.url,
    mailcowApiKey: doubles.mailcow.apiKey,
    runner,
    maxParallelRuns: options.parallel ?? 4,
  });
  return {
    doubles,
    controller,
    runner,
    annotations: (ns) => doubles.k8s.annotations(ns),
    close: async () => {
      await controller.shutdown(0);
      await doubles.close();
    },
  };
}

/** Namespaces `tenant-s<i>` labelled with slug `s<i>`, domain `s<i>.example`. */
export function siteSeeds(count: number, extra: Record<string, string> = {}): NamespaceSeed[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `tenant-s${i}`,
    labels: { "voxeil.io/tenant-slug": `s${i}` },
    annotations: { "voxeil.io/domain": `s${i}.example`, ...extra },
  }));
}
