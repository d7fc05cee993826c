/**
 * A controller assembled the way `npm start` assembles it — settings parsed by `loadSettings` from an environment,
 * the redactor from `secretValues`, the pino logger from `createLogger`, the real site directory over the
 * Kubernetes API with its namespace cache (list + watch) and the real Mailcow client handed to
 * `controller/controller.ts` `buildController` — but pointed at the doubles, with an injectable runner, clock and log
 * destination. The property, fault and leak tests build it in-process; `controller-child.ts` builds it in its own
 * process (SIGKILL test, benchmarks).
 */
import type pino from "pino";
import type { Clock } from "../../controller/clock";
import { type Controller as Assembled, buildController as assemble } from "../../controller/controller";
import { createLogger } from "../../controller/logger";
import { MailcowClient } from "../../controller/mailcow/client";
import type { DnsRecordChecker } from "../../controller/reconciler/dns-verification";
import type { Reconciler, RunResult } from "../../controller/reconciler/reconciler";
import { createRedactor, type Redactor } from "../../controller/redact";
import { loadSettings, type Settings, type SiteLayoutKind, secretValues } from "../../controller/settings";
import { annotationLayout } from "../../controller/sites/annotation-layout";
import { cachedSiteDirectory, type KubernetesSiteDirectory } from "../../controller/sites/kubernetes-site-directory";
import type { NamespaceCache } from "../../controller/sites/namespace-cache";
import { type SiteDnsDefaults, siteDnsDefaults } from "../../controller/stacks/site-stack-config";
import type { StackRunner } from "../../controller/stacks/stack-runner";
import {
  type KubernetesDouble,
  kubeConfigFor,
  type NamespaceSeed,
  startKubernetesDouble,
} from "../doubles/kubernetes-api";
import { type MailcowDouble, startMailcowDouble } from "../doubles/mailcow-api";

export const MAIL_HOST = "mail.example.net";
/** Controller tokens used by every test world (two, as for a rotation). */
export const TEST_TOKENS = ["tok-A-0123456789abcdefghijklmnopqrstuv", "tok-B-0123456789abcdefghijklmnopqrstuv"];
/** The secrets a real controller holds besides the Mailcow key and the tokens. */
export const TEST_PASSPHRASE = "pulumi-passphrase-Zq8xW2vN7kL4";
export const TEST_CLOUDFLARE_TOKEN = "cf-token-Hh3Jk9Lm2Nb5Vc8Xz1Qw";

export interface ControllerOptions {
  kubernetesUrl: string;
  kubernetesToken?: string;
  mailcowUrl: string;
  mailcowApiKey: string;
  runner: StackRunner;
  tokens?: string[];
  layout?: SiteLayoutKind;
  clock?: Clock;
  /** The backoff jitter's source (default `Math.random`). */
  random?: () => number;
  maxParallelRuns?: number;
  retry?: { baseMs: number; capMs: number; maxAttempts: number };
  mailcowTimeoutMs?: number;
  bodyLimit?: string;
  /** pino level (default silent) and where the lines go (default stdout). */
  logLevel?: Settings["logLevel"];
  logDestination?: pino.DestinationStream;
  /** More environment for `loadSettings`. */
  env?: Record<string, string>;
  /** Checks the records before `ready` (used while DNS_CHECK is on, the default); absent: none. */
  dnsChecker?: DnsRecordChecker;
}

export interface Controller {
  app: Assembled["app"];
  reconciler: Reconciler;
  sites: KubernetesSiteDirectory;
  /** The namespace cache behind `sites`. */
  cache: NamespaceCache;
  client: MailcowClient;
  metrics: Assembled["metrics"];
  settings: Settings;
  redact: Redactor;
  dns: SiteDnsDefaults;
  tokens: string[];
  /** Every run that finished, in order. */
  runs: Array<{ slug: string; result: RunResult }>;
  /** Listens on 127.0.0.1 (any free port) and re-queues unsettled sites, as `npm start` does. */
  start(): Promise<{ url: string }>;
  /** The assembly's shutdown: reconciler, namespace cache and server (default deadline: SHUTDOWN_DEADLINE_SECONDS). */
  shutdown(deadlineMs?: number): Promise<void>;
}

export function buildController(options: ControllerOptions): Controller {
  const retry = options.retry ?? { baseMs: 20, capMs: 200, maxAttempts: 3 };
  const settings = loadSettings({
    MAILCOW_API_URL: options.mailcowUrl,
    MAILCOW_API_KEY: options.mailcowApiKey,
    MAILCOW_HOSTNAME: MAIL_HOST,
    MAILCOW_TIMEOUT_MS: String(options.mailcowTimeoutMs ?? 2000),
    CONTROLLER_TOKENS: (options.tokens ?? TEST_TOKENS).join(","),
    SITE_LAYOUT: options.layout ?? "namespace-per-site",
    STACK_RUNNER: "automation",
    PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
    CLOUDFLARE_API_TOKEN: TEST_CLOUDFLARE_TOKEN,
    DNS_PROVIDER: "manual",
    ALLOWED_DOMAIN_SUFFIXES: "*",
    MAX_PARALLEL_RUNS: String(options.maxParallelRuns ?? 4),
    RETRY_BASE_MS: String(retry.baseMs),
    RETRY_CAP_MS: String(retry.capMs),
    RETRY_MAX_ATTEMPTS: String(retry.maxAttempts),
    RESYNC_INTERVAL_SECONDS: "0",
    SHUTDOWN_DEADLINE_SECONDS: "1",
    HOST: "127.0.0.1",
    PORT: "0",
    BODY_LIMIT: options.bodyLimit ?? "4kb",
    DATA_DIR: "/nonexistent/mail-zone-test",
    LOG_LEVEL: options.logLevel ?? "silent",
    ...options.env,
  });
  const redact = createRedactor(secretValues(settings));
  const logger = createLogger(settings.logLevel, redact, options.logDestination);
  const client = new MailcowClient({
    baseUrl: settings.mailcow.apiUrl,
    apiKey: settings.mailcow.apiKey,
    timeoutMs: settings.mailcow.timeoutMs,
    logger: logger.child({ component: "mailcow" }),
  });
  const { sites, cache } = cachedSiteDirectory({
    kubeConfig: kubeConfigFor(options.kubernetesUrl, options.kubernetesToken),
    layout: annotationLayout(settings.siteLayout, settings.annotationPrefix, settings.namespaceTemplate),
    redact,
    logger: logger.child({ component: "namespace-cache" }),
    cache: { backoff: { baseMs: 20, capMs: 500 }, syncTimeoutMs: 10_000 },
  });
  const runs: Controller["runs"] = [];
  const assembled = assemble({
    settings,
    sites,
    mailcow: client,
    runner: options.runner,
    logger,
    redact,
    siteCache: cache,
    observer: { runFinished: (slug, result) => runs.push({ slug, result }) },
    ...(options.dnsChecker ? { dnsChecker: options.dnsChecker } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  // Worlds that serve `app` without `start()` read from the cache too: it starts now (start() only waits for it).
  // They end with `shutdown()`, which stops the cache as well: a cache left running would reconnect to whichever
  // double gets the port next.
  void cache.start();
  return {
    app: assembled.app,
    reconciler: assembled.reconciler,
    sites,
    cache,
    client,
    metrics: assembled.metrics,
    settings,
    redact,
    dns: siteDnsDefaults(settings),
    tokens: settings.tokens,
    runs,
    start: async () => ({ url: (await assembled.start()).url }),
    shutdown: (deadlineMs) => assembled.shutdown(deadlineMs),
  };
}

export const DEFAULT_SITES: NamespaceSeed[] = [
  {
    name: "tenant-shop",
    labels: { "voxeil.io/tenant-slug": "shop" },
    annotations: { "voxeil.io/domain": "shop.example", "voxeil.io/owner": "u1" },
  },
  { name: "tenant-blog", annotations: { "voxeil.io/domain": "blog.example" } },
  { name: "tenant-nodomain" },
  { name: "tenant-idn", annotations: { "voxeil.io/domain": "bücher.example" } },
];

export interface Doubles {
  k8s: KubernetesDouble;
  mailcow: MailcowDouble;
  close(): Promise<void>;
}

export async function startDoubles(namespaces: NamespaceSeed[] = DEFAULT_SITES): Promise<Doubles> {
  const k8s = await startKubernetesDouble({ namespaces });
  const mailcow = await startMailcowDouble({ hostname: MAIL_HOST, reuseDkimKeys: true });
  return {
    k8s,
    mailcow,
    close: async () => {
      await k8s.close();
      await mailcow.close();
    },
  };
}

/** Everything outside the controller a call could change: namespaces, Mailcow's state, the runner's stacks. */
export function outsideState(doubles: Doubles, stacks: () => unknown): string {
  const { state } = doubles.mailcow;
  return JSON.stringify({
    namespaces: doubles.k8s.snapshot(),
    domains: [...state.domains.entries()],
    mailboxes: [...state.mailboxes.entries()],
    dkim: [...state.dkim.keys()],
    stacks: stacks(),
  });
}
