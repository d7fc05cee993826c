/**
 * The one assembly of a controller from its adapters (site directory, Mailcow, stack runner) and the settings:
 * reconciler, ownership checks, mailbox service, metrics and the HTTP app, with start (listen, re-queue unsettled
 * sites) and a graceful shutdown. `main.ts` feeds it the real adapters, `sandbox.ts` and the test and benchmark worlds
 * (`test/support/*-world.ts`, `bench/world.ts`) the doubles; nobody wires the parts another way.
 *
 * The DNS checker is a part like the others: `main.ts` builds it from the `DNS_CHECK*` settings
 * (`dnsCheckerFromSettings`); without one (or with `DNS_CHECK=off`) a site is `ready` right after its stack's `up`.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "./clock";
import { createApp } from "./http/app";
import { ControllerMetrics } from "./http/metrics";
import { createHttpServer } from "./http/server";
import type { ControllerLogger } from "./logger";
import { MailboxService } from "./mailboxes/mailbox-service";
import type { MailcowApi } from "./mailcow/api";
import type { DnsRecordChecker } from "./reconciler/dns-verification";
import { Reconciler, type ReconcilerObserver, type ReconcilerOptions } from "./reconciler/reconciler";
import type { Redactor } from "./redact";
import type { Settings } from "./settings";
import { DomainOwnership } from "./sites/ownership";
import type { SiteDirectory } from "./sites/site";
import { siteDnsDefaults } from "./stacks/site-stack-config";
import type { StackRunner } from "./stacks/stack-runner";

export interface ControllerParts {
  settings: Settings;
  sites: SiteDirectory;
  mailcow: MailcowApi;
  runner: StackRunner;
  logger: ControllerLogger;
  redact: Redactor;
  clock?: Clock;
  version?: string;
  /** Checks the published records before `ready` (used only while `settings.dnsCheck.enabled`); absent: no checks. */
  dnsChecker?: DnsRecordChecker | null;
  /**
   * The namespace cache behind `sites`, if any: started (and waited for, bounded) after the server listens and before
   * unsettled sites are queued again, stopped on shutdown. `/readyz` says not ready until it has synced.
   */
  siteCache?: { start(): Promise<void>; stop(): Promise<void> };
  /** Told of every run and DNS check, after the metrics (tests and benchmarks record results here). */
  observer?: ReconcilerObserver;
  /** The backoff jitter's source (default `Math.random`). */
  random?: () => number;
  /** Reconciler tuning the settings do not carry (tests: a DNS-check policy in milliseconds). */
  reconcilerOptions?: Partial<Pick<ReconcilerOptions, "dnsCheck">>;
  /** How long `/readyz` waits for each dependency (default 3 s). */
  readinessTimeoutMs?: number;
}

export interface Controller {
  app: ReturnType<typeof createApp>["app"];
  reconciler: Reconciler;
  metrics: ControllerMetrics;
  /** Listens on HOST:PORT (PORT 0: any free port) and queues unsettled sites; resolves with the URL. */
  start(): Promise<{ url: string; server: Server }>;
  /**
   * Stops accepting, lets runs finish until SHUTDOWN_DEADLINE_SECONDS (or `deadlineMs`), aborts the rest, stops the
   * namespace cache and closes the server (if started).
   */
  shutdown(deadlineMs?: number): Promise<void>;
}

export function buildController(parts: ControllerParts): Controller {
  const { settings, sites, mailcow, runner, logger, redact } = parts;
  const metrics = new ControllerMetrics({ defaultMetrics: true });
  const extra = parts.observer;
  const observer: ReconcilerObserver = extra
    ? {
        runStarted: (slug) => {
          metrics.observer.runStarted?.(slug);
          extra.runStarted?.(slug);
        },
        runFinished: (slug, result, seconds) => {
          metrics.observer.runFinished?.(slug, result, seconds);
          extra.runFinished?.(slug, result, seconds);
        },
        dnsChecked: (slug, outcome) => {
          metrics.observer.dnsChecked?.(slug, outcome);
          extra.dnsChecked?.(slug, outcome);
        },
      }
    : metrics.observer;
  const reconciler = new Reconciler(
    {
      sites,
      mailcow,
      runner,
      clock: parts.clock,
      ...(parts.random ? { random: parts.random } : {}),
      logger: logger.child({ component: "reconciler" }),
      observer,
      redact,
      dnsChecker: settings.dnsCheck.enabled ? (parts.dnsChecker ?? null) : null,
    },
    {
      maxParallelRuns: settings.maxParallelRuns,
      retry: settings.retry,
      domainLimits: settings.domainLimits,
      rateLimit: settings.rateLimit,
      dkim: settings.dkim,
      dns: siteDnsDefaults(settings),
      resyncIntervalMs: settings.resyncIntervalSeconds * 1000,
      dnsCheck: parts.reconcilerOptions?.dnsCheck ?? {
        intervalMs: settings.dnsCheck.intervalSeconds * 1000,
        timeoutMs: settings.dnsCheck.timeoutSeconds * 1000,
      },
      adoptUnmarkedDomains: settings.adoptUnmarkedDomains,
    },
  );
  metrics.bindQueue(
    () => reconciler.queueDepth(),
    () => reconciler.runningCount(),
    () => reconciler.dnsPendingCount(),
  );
  const { app } = createApp({
    reconciler,
    mailboxes: new MailboxService(
      sites,
      mailcow,
      new DomainOwnership(mailcow, sites, { adoptUnmarked: settings.adoptUnmarkedDomains }),
    ),
    sites,
    mailcow,
    metrics,
    tokens: settings.tokens,
    bodyLimit: settings.bodyLimit,
    redact,
    logger: logger.child({ component: "http" }),
    version: parts.version,
    ...(parts.readinessTimeoutMs !== undefined ? { readinessTimeoutMs: parts.readinessTimeoutMs } : {}),
  });

  let server: Server | undefined;
  let stopping: Promise<void> | undefined;

  return {
    app,
    reconciler,
    metrics,
    async start() {
      const listening = await new Promise<Server>((resolve, reject) => {
        const s = createHttpServer(app);
        s.on("error", reject);
        s.listen(settings.port, settings.host, () => resolve(s));
      });
      server = listening;
      // Slow clients must not hold a shutdown open.
      listening.requestTimeout = 30_000;
      listening.headersTimeout = 10_000;
      const { port } = listening.address() as AddressInfo;
      const host = settings.host === "0.0.0.0" ? "127.0.0.1" : settings.host;
      const url = `http://${host}:${port}`;
      // Said at once: the namespace cache's first sync may take a while, and /readyz shows it meanwhile.
      logger.info({ url, layout: settings.siteLayout, runner: settings.pulumi.runner }, "controller listening");
      await parts.siteCache?.start();
      await reconciler.start();
      return { url, server: listening };
    },
    shutdown(deadlineMs = settings.shutdownDeadlineSeconds * 1000) {
      stopping ??= (async () => {
        logger.info({ deadlineSeconds: settings.shutdownDeadlineSeconds }, "shutting down");
        const closed = new Promise<void>((resolve) => {
          if (!server) resolve();
          else server.close(() => resolve());
          server?.closeIdleConnections();
        });
        await reconciler.shutdown(deadlineMs);
        await parts.siteCache?.stop();
        server?.closeAllConnections();
        await closed;
        logger.info({}, "stopped");
      })();
      return stopping;
    },
  };
}
