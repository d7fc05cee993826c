/**
 * A controller built from the real modules (app factory, reconciler, site directory over the Kubernetes API,
 * Mailcow client, mailbox service), pointed at whatever Kubernetes API and Mailcow API it is given, with an
 * injectable runner, clock and logger. The property, fault and leak tests build it in-process against the doubles;
 * `controller-child.ts` builds it in its own process (SIGKILL test, benchmarks).
 */
import { CoreV1Api } from "@kubernetes/client-node";
import type express from "express";
import { createApp } from "../../controller/http/app";
import { ControllerMetrics } from "../../controller/http/metrics";
import { MailboxService } from "../../controller/mailboxes/mailbox-service";
import { MailcowClient } from "../../controller/mailcow/client";
import type { BackoffPolicy } from "../../controller/reconciler/backoff";
import type { Clock } from "../../controller/reconciler/clock";
import { Reconciler, type ReconcilerObserver, type RunResult } from "../../controller/reconciler/reconciler";
import { createRedactor, type Redactor } from "../../controller/redact";
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

export const MAIL_HOST = "mail.example.net";
/** Controller tokens used by every test world (two, as for a rotation). */
export const TEST_TOKENS = ["tok-A-0123456789abcdefghijklmnopqrstuv", "tok-B-0123456789abcdefghijklmnopqrstuv"];

/** pino-compatible subset every component logs through. */
export interface WorldLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ControllerOptions {
  kubernetesUrl: string;
  kubernetesToken?: string;
  mailcowUrl: string;
  mailcowApiKey: string;
  runner: StackRunner;
  tokens?: string[];
  layout?: SiteLayoutKind;
  logger?: WorldLogger;
  clock?: Clock;
  maxParallelRuns?: number;
  retry?: BackoffPolicy;
  mailcowTimeoutMs?: number;
  /** Client-level retries of idempotent Mailcow calls (default 0, so the reconciler's retries are what is counted). */
  mailcowRetries?: number;
  bodyLimit?: string;
  /** More secrets the controller knows and must scrub (e.g. the Pulumi passphrase). */
  secrets?: string[];
  observer?: ReconcilerObserver;
}

export interface Controller {
  app: express.Express;
  reconciler: Reconciler;
  sites: KubernetesSiteDirectory;
  client: MailcowClient;
  metrics: ControllerMetrics;
  redact: Redactor;
  dns: SiteDnsDefaults;
  tokens: string[];
  /** Every run that finished, in order. */
  runs: Array<{ slug: string; result: RunResult }>;
}

export function dnsDefaults(): SiteDnsDefaults {
  return {
    provider: "manual",
    mailHost: MAIL_HOST,
    allowedSuffixes: [],
    dmarcPolicy: "quarantine",
    pop3: false,
    ttl: 3600,
  };
}

export function buildController(options: ControllerOptions): Controller {
  const tokens = options.tokens ?? TEST_TOKENS;
  const redact = createRedactor([...tokens, options.mailcowApiKey, ...(options.secrets ?? [])]);
  const client = new MailcowClient({
    baseUrl: options.mailcowUrl,
    apiKey: options.mailcowApiKey,
    retries: options.mailcowRetries ?? 0,
    backoffMs: 1,
    maxBackoffMs: 5,
    timeoutMs: options.mailcowTimeoutMs ?? 2000,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const sites = new KubernetesSiteDirectory({
    core: kubeConfigFor(options.kubernetesUrl, options.kubernetesToken).makeApiClient(CoreV1Api),
    layout: annotationLayout(options.layout ?? "namespace-per-site", "voxeil.io", "tenant-{slug}"),
    redact,
  });
  const metrics = new ControllerMetrics();
  const runs: Controller["runs"] = [];
  const dns = dnsDefaults();
  const reconciler = new Reconciler(
    {
      sites,
      mailcow: client,
      runner: options.runner,
      ...(options.clock ? { clock: options.clock } : {}),
      random: () => 0.5,
      redact,
      ...(options.logger ? { logger: options.logger } : {}),
      observer: {
        runStarted: (slug) => options.observer?.runStarted?.(slug),
        runFinished: (slug, result, seconds) => {
          runs.push({ slug, result });
          metrics.observer.runFinished?.(slug, result, seconds);
          options.observer?.runFinished?.(slug, result, seconds);
        },
      },
    },
    {
      maxParallelRuns: options.maxParallelRuns ?? 4,
      retry: options.retry ?? { baseMs: 20, capMs: 200, maxAttempts: 3 },
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
    },
  );
  metrics.bindQueue(
    () => reconciler.queueDepth(),
    () => reconciler.runningCount(),
  );
  const { app } = createApp({
    reconciler,
    mailboxes: new MailboxService(sites, client),
    sites,
    mailcow: client,
    metrics,
    tokens,
    bodyLimit: options.bodyLimit ?? "4kb",
    redact,
    ...(options.logger ? { logger: options.logger } : {}),
    readinessTimeoutMs: 1000,
  });
  return { app, reconciler, sites, client, metrics, redact, dns, tokens, runs };
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
