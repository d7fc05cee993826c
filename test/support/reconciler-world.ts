/**
 * A whole controller world on loopback for tests: the Kubernetes API double seeded with namespaces, the Mailcow API
 * double behind the real `MailcowClient`, the real site directory, a scripted stack runner and the reconciler, with
 * a clock whose sleeps return at once (and are recorded). A DNS checker and a clock of the test's own (e.g.
 * `ManualClock`) can be passed in for the DNS-check tests.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { abortError, type Clock } from "../../controller/clock";
import { createApp } from "../../controller/http/app";
import { ControllerMetrics } from "../../controller/http/metrics";
import { MailboxService } from "../../controller/mailboxes/mailbox-service";
import { MailcowClient } from "../../controller/mailcow/client";
import type { DnsRecordChecker } from "../../controller/reconciler/dns-verification";
import {
  type DnsCheckOutcome,
  Reconciler,
  type ReconcilerOptions,
  type Reconciler as ReconcilerType,
  type RunResult,
} from "../../controller/reconciler/reconciler";
import { createRedactor } from "../../controller/redact";
import type { SiteLayoutKind } from "../../controller/settings";
import { annotationLayout } from "../../controller/sites/annotation-layout";
import { KubernetesSiteDirectory } from "../../controller/sites/kubernetes-site-directory";
import type { SiteDnsDefaults } from "../../controller/stacks/site-stack-config";
import type { StackRunner } from "../../controller/stacks/stack-runner";
import {
  type KubernetesDouble,
  kubeConfigFor,
  type NamespaceSeed,
  startKubernetesDouble,
} from "../doubles/kubernetes-api";
import { type MailcowDouble, startMailcowDouble } from "../doubles/mailcow-api";
import { ScriptedRunner, type ScriptStep } from "../doubles/stack-runner/scripted-runner";

export const MAIL_HOST = "mail.example.net";

export const DEFAULT_NAMESPACES: NamespaceSeed[] = [
  {
    name: "tenant-shop",
    labels: { "voxeil.io/tenant-slug": "shop" },
    annotations: { "voxeil.io/domain": "shop.example" },
  },
  { name: "tenant-blog", annotations: { "voxeil.io/domain": "blog.example", "voxeil.io/owner": "u2" } },
  { name: "tenant-nodomain" },
  { name: "tenant-mailhost", annotations: { "voxeil.io/domain": MAIL_HOST } },
];

export interface WorldOptions {
  layout?: SiteLayoutKind;
  namespaces?: NamespaceSeed[];
  runnerDefaults?: ScriptStep;
  reconciler?: Partial<ReconcilerOptions>;
  /** Reuse the doubles of an earlier world (a restarted controller). */
  from?: World;
  /** Checks the records before `ready` (default: none). */
  dnsChecker?: DnsRecordChecker | null;
  /** The reconciler's clock (default: sleeps return at once and are recorded in `sleeps`). */
  clock?: Clock;
  /** Wraps the scripted runner (e.g. in a `PublishingRunner`). */
  wrapRunner?: (runner: ScriptedRunner) => StackRunner;
}

export interface World {
  k8s: KubernetesDouble;
  mailcow: MailcowDouble;
  client: MailcowClient;
  sites: KubernetesSiteDirectory;
  runner: ScriptedRunner;
  reconciler: ReconcilerType;
  /** Every DNS check's outcome, in order. */
  dnsChecks: Array<{ slug: string; outcome: DnsCheckOutcome }>;
  /** Resolves with the outcome of the next DNS check of `slug` (call it before causing the check). */
  nextDnsCheck(slug: string): Promise<DnsCheckOutcome>;
  /** Every backoff delay the reconciler slept. */
  sleeps: number[];
  runs: Array<{ slug: string; result: RunResult }>;
  dns: SiteDnsDefaults;
  /** Annotations of a namespace. */
  annotations(namespace: string): Record<string, string>;
  /** Mailcow requests so far (count), optionally only since `mark()`. */
  mark(): () => number;
  close(): Promise<void>;
}

export const instantClock: (sleeps: number[]) => Clock = (sleeps) => ({
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    sleeps.push(ms);
    if (signal?.aborted) throw abortError();
    await new Promise((r) => setImmediate(r));
  },
});

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const k8s =
    options.from?.k8s ?? (await startKubernetesDouble({ namespaces: options.namespaces ?? DEFAULT_NAMESPACES }));
  const mailcow = options.from?.mailcow ?? (await startMailcowDouble({ hostname: MAIL_HOST, reuseDkimKeys: true }));
  const client = new MailcowClient({ baseUrl: mailcow.url, apiKey: mailcow.apiKey, timeoutMs: 2000 });
  const redact = createRedactor([mailcow.apiKey]);
  const sites = new KubernetesSiteDirectory({
    core: kubeConfigFor(k8s.url).makeApiClient(CoreV1Api),
    layout: annotationLayout(options.layout ?? "namespace-per-site", "voxeil.io", "tenant-{slug}"),
    redact,
  });
  const runner = options.from?.runner ?? new ScriptedRunner(options.runnerDefaults);
  const sleeps: number[] = [];
  const runs: World["runs"] = [];
  const dnsChecks: World["dnsChecks"] = [];
  const dnsWaiters: Array<{ slug: string; resolve: (outcome: DnsCheckOutcome) => void }> = [];
  const dnsChecked = (slug: string, outcome: DnsCheckOutcome) => {
    dnsChecks.push({ slug, outcome });
    for (const w of dnsWaiters.filter((x) => x.slug === slug)) {
      dnsWaiters.splice(dnsWaiters.indexOf(w), 1);
      w.resolve(outcome);
    }
  };
  const dns: SiteDnsDefaults = {
    provider: "manual",
    mailHost: MAIL_HOST,
    allowedSuffixes: [],
    dmarcPolicy: "quarantine",
    pop3: false,
    ttl: 3600,
  };
  const reconciler = new Reconciler(
    {
      sites,
      mailcow: client,
      runner: options.wrapRunner ? options.wrapRunner(runner) : runner,
      clock: options.clock ?? instantClock(sleeps),
      random: () => 1,
      redact,
      observer: { runFinished: (slug, result) => runs.push({ slug, result }), dnsChecked },
      dnsChecker: options.dnsChecker ?? null,
    },
    {
      maxParallelRuns: 4,
      retry: { baseMs: 100, capMs: 1000, maxAttempts: 3 },
      domainLimits: {
        description: "",
        aliases: 400,
        mailboxes: 10,
        defquotaMb: 3072,
        maxquotaMb: 10240,
        quotaMb: 10240,
      },
      rateLimit: { value: 500, frame: "h" },
      dkim: { selector: "dkim", keySize: 2048 },
      dns,
      ...options.reconciler,
    },
  );
  return {
    k8s,
    mailcow,
    client,
    sites,
    runner,
    reconciler,
    dnsChecks,
    nextDnsCheck: (slug) => new Promise((resolve) => dnsWaiters.push({ slug, resolve })),
    sleeps,
    runs,
    dns,
    annotations: (ns) => k8s.annotations(ns),
    mark: () => {
      const start = mailcow.requests.length;
      return () => mailcow.requests.length - start;
    },
    close: async () => {
      await reconciler.shutdown(0);
      await k8s.close();
      await mailcow.close();
    },
  };
}

export const TOKENS = ["t".repeat(40), "r".repeat(40)];

/** The HTTP app over a world (tokens: `TOKENS`). */
export function appFor(world: World, tokens: string[] = TOKENS) {
  const metrics = new ControllerMetrics();
  metrics.bindQueue(
    () => world.reconciler.queueDepth(),
    () => world.reconciler.runningCount(),
    () => world.reconciler.dnsPendingCount(),
  );
  return createApp({
    reconciler: world.reconciler,
    mailboxes: new MailboxService(world.sites, world.client),
    sites: world.sites,
    mailcow: world.client,
    metrics,
    tokens,
    bodyLimit: "4kb",
    redact: createRedactor([...tokens, world.mailcow.apiKey]),
    readinessTimeoutMs: 1000,
  });
}
