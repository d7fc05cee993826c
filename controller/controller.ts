/**
 * Assembles a controller from its adapters (site directory, Mailcow, stack runner) and the settings: reconciler,
 * mailbox service, metrics and the HTTP app, with start (listen, re-queue unsettled sites) and a graceful shutdown.
 * `main.ts` feeds it the real adapters, `sandbox.ts` the doubles, tests whatever they need.
 *
 * The DNS checker is a part like the others: `main.ts` builds it from the `DNS_CHECK*` settings
 * (`dnsCheckerFromSettings`); without one (or with `DNS_CHECK=off`) a site is `ready` right after its stack's `up`.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "./clock";
import { createApp } from "./http/app";
import { ControllerMetrics } from "./http/metrics";
import type { ControllerLogger } from "./logger";
import { MailboxService } from "./mailboxes/mailbox-service";
import type { MailcowApi } from "./mailcow/api";
import type { DnsRecordChecker } from "./reconciler/dns-verification";
import { Reconciler } from "./reconciler/reconciler";
import type { Redactor } from "./redact";
import type { Settings } from "./settings";
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
}

export interface Controller {
  app: ReturnType<typeof createApp>["app"];
  reconciler: Reconciler;
  metrics: ControllerMetrics;
  /** Listens on HOST:PORT (PORT 0: any free port) and queues unsettled sites; resolves with the URL. */
  start(): Promise<{ url: string; server: Server }>;
  /** Stops accepting, lets runs finish until SHUTDOWN_DEADLINE_SECONDS, aborts the rest, closes the server. */
  shutdown(): Promise<void>;
}

export function buildController(parts: ControllerParts): Controller {
  const { settings, sites, mailcow, runner, logger, redact } = parts;
  const metrics = new ControllerMetrics({ defaultMetrics: true });
  const reconciler = new Reconciler(
    {
      sites,
      mailcow,
      runner,
      clock: parts.clock,
      logger: logger.child({ component: "reconciler" }),
      observer: metrics.observer,
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
      dnsCheck: {
        intervalMs: settings.dnsCheck.intervalSeconds * 1000,
        timeoutMs: settings.dnsCheck.timeoutSeconds * 1000,
      },
    },
  );
  metrics.bindQueue(
    () => reconciler.queueDepth(),
    () => reconciler.runningCount(),
    () => reconciler.dnsPendingCount(),
  );
  const { app } = createApp({
    reconciler,
    mailboxes: new MailboxService(sites, mailcow),
    sites,
    mailcow,
    metrics,
    tokens: settings.tokens,
    bodyLimit: settings.bodyLimit,
    redact,
    logger: logger.child({ component: "http" }),
    version: parts.version,
  });

  let server: Server | undefined;
  let stopping: Promise<void> | undefined;

  return {
    app,
    reconciler,
    metrics,
    async start() {
      const listening = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(settings.port, settings.host, (err?: Error) => (err ? reject(err) : resolve(s)));
        s.on("error", reject);
      });
      server = listening;
      // Slow clients must not hold a shutdown open.
      listening.requestTimeout = 30_000;
      listening.headersTimeout = 10_000;
      await parts.siteCache?.start();
      await reconciler.start();
      const { port } = listening.address() as AddressInfo;
      const host = settings.host === "0.0.0.0" ? "127.0.0.1" : settings.host;
      const url = `http://${host}:${port}`;
      logger.info({ url, layout: settings.siteLayout, runner: settings.pulumi.runner }, "controller listening");
      return { url, server: listening };
    },
    shutdown() {
      stopping ??= (async () => {
        logger.info({ deadlineSeconds: settings.shutdownDeadlineSeconds }, "shutting down");
        const closed = new Promise<void>((resolve) => {
          if (!server) resolve();
          else server.close(() => resolve());
          server?.closeIdleConnections();
        });
        await reconciler.shutdown(settings.shutdownDeadlineSeconds * 1000);
        await parts.siteCache?.stop();
        server?.closeAllConnections();
        await closed;
        logger.info({}, "stopped");
      })();
      return stopping;
    },
  };
}
