/**
 * A whole controller world on loopback for tests: the Kubernetes API double seeded with namespaces, the Mailcow API
 * double behind the real `MailcowClient`, the real site directory (without a cache, so every read is the API's), a
 * scripted stack runner, all assembled by the one `buildController` (`controller/controller.ts`) with settings from
 * `loadSettings`, and a clock whose sleeps return at once (and are recorded). A DNS checker and a clock of the test's
 * own (e.g. `ManualClock`) can be passed in for the DNS-check tests.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { abortError, type Clock } from "../../controller/clock";
import { type Controller as Assembled, buildController } from "../../controller/controller";
import { createLogger } from "../../controller/logger";
import { MailcowClient } from "../../controller/mailcow/client";
import type { DnsRecordChecker } from "../../controller/reconciler/dns-verification";
import type {
  DnsCheckOutcome,
  ReconcilerOptions,
  Reconciler as ReconcilerType,
  RunResult,
} from "../../controller/reconciler/reconciler";
import { createRedactor } from "../../controller/redact";
import { loadSettings, type SiteLayoutKind } from "../../controller/settings";
import { annotationLayout } from "../../controller/sites/annotation-layout";
import { KubernetesSiteDirectory } from "../../controller/sites/kubernetes-site-directory";
import { type SiteDnsDefaults, siteDnsDefaults } from "../../controller/stacks/site-stack-config";
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
  /** Parallel runs (MAX_PARALLEL_RUNS) and the DNS-check policy in milliseconds. */
  reconciler?: Partial<Pick<ReconcilerOptions, "maxParallelRuns" | "dnsCheck">>;
  /** More environment for `loadSettings` (e.g. ADOPT_UNMARKED_DOMAINS). */
  env?: Record<string, string>;
  /** Bearer tokens of the world's app (default `TOKENS`). */
  tokens?: string[];
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
  /** The assembled controller (its `app` serves the world with `tokens`). */
  controller: Assembled;
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
  const tokens = options.tokens ?? TOKENS;
  const settings = loadSettings({
    MAILCOW_API_URL: mailcow.url,
    MAILCOW_API_KEY: mailcow.apiKey,
    MAILCOW_HOSTNAME: MAIL_HOST,
    MAILCOW_TIMEOUT_MS: "2000",
    CONTROLLER_TOKENS: tokens.join(","),
    SITE_LAYOUT: options.layout ?? "namespace-per-site",
    STACK_RUNNER: "preview",
    DNS_PROVIDER: "manual",
    ALLOWED_DOMAIN_SUFFIXES: "*",
    DMARC_POLICY: "quarantine",
    DNS_TTL: "3600",
    DNS_CHECK: options.dnsChecker ? "on" : "off",
    DKIM_SELECTOR: "dkim",
    DKIM_KEY_SIZE: "2048",
    MAIL_RATE_LIMIT_VALUE: "500",
    MAIL_RATE_LIMIT_FRAME: "h",
    MAX_PARALLEL_RUNS: String(options.reconciler?.maxParallelRuns ?? 4),
    RETRY_BASE_MS: "100",
    RETRY_CAP_MS: "1000",
    RETRY_MAX_ATTEMPTS: "3",
    RESYNC_INTERVAL_SECONDS: "0",
    SHUTDOWN_DEADLINE_SECONDS: "0",
    HOST: "127.0.0.1",
    PORT: "0",
    BODY_LIMIT: "4kb",
    LOG_LEVEL: "silent",
    ...options.env,
  });
  const client = new MailcowClient({ baseUrl: mailcow.url, apiKey: mailcow.apiKey, timeoutMs: 2000 });
  const redact = createRedactor([mailcow.apiKey, ...tokens]);
  const sites = new KubernetesSiteDirectory({
    core: kubeConfigFor(k8s.url).makeApiClient(CoreV1Api),
    layout: annotationLayout(settings.siteLayout, settings.annotationPrefix, settings.namespaceTemplate),
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
  const controller = buildController({
    settings,
    sites,
    mailcow: client,
    runner: options.wrapRunner ? options.wrapRunner(runner) : runner,
    logger: createLogger("silent", redact),
    redact,
    clock: options.clock ?? instantClock(sleeps),
    random: () => 1,
    observer: { runFinished: (slug, result) => runs.push({ slug, result }), dnsChecked },
    dnsChecker: options.dnsChecker ?? null,
    readinessTimeoutMs: 1000,
    ...(options.reconciler?.dnsCheck ? { reconcilerOptions: { dnsCheck: options.reconciler.dnsCheck } } : {}),
  });
  const reconciler = controller.reconciler;
  const dns = siteDnsDefaults(settings);
  return {
    k8s,
    mailcow,
    client,
    sites,
    runner,
    reconciler,
    controller,
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

/** The HTTP app over a world (tokens: the world's, default `TOKENS`). */
export function appFor(world: World): { app: Assembled["app"] } {
  return { app: world.controller.app };
}
