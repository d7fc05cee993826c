/**
 * Prometheus metrics, one registry per app instance (so tests and the benchmark can run several controllers in a
 * process): HTTP requests by route and status, runs by result and their duration, queue depth, runs in progress.
 */
import client from "prom-client";
import type { DnsCheckOutcome, ReconcilerObserver, RunResult } from "../reconciler/reconciler";

export class ControllerMetrics {
  readonly registry = new client.Registry();
  private readonly httpRequests: client.Counter<"method" | "route" | "status">;
  private readonly runs: client.Counter<"result">;
  private readonly runDuration: client.Histogram<"result">;
  private readonly dnsChecks: client.Counter<"outcome">;
  private queueDepthSource: () => number = () => 0;
  private runningSource: () => number = () => 0;
  private dnsPendingSource: () => number = () => 0;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.httpRequests = new client.Counter({
      name: "mail_controller_http_requests_total",
      help: "HTTP requests by route pattern, method and status code.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.runs = new client.Counter({
      name: "mail_controller_runs_total",
      help: "Reconcile runs by result (ready, dns-pending, disabled, purged, error, aborted, superseded, gone).",
      labelNames: ["result"],
      registers,
    });
    this.runDuration = new client.Histogram({
      name: "mail_controller_run_duration_seconds",
      help: "Duration of reconcile runs, retries included.",
      labelNames: ["result"],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.dnsChecks = new client.Counter({
      name: "mail_controller_dns_checks_total",
      help: "DNS checks of sites' published records by outcome (verified, pending, timed-out, superseded).",
      labelNames: ["outcome"],
      registers,
    });
    const self = this;
    new client.Gauge({
      name: "mail_controller_dns_pending_sites",
      help: "Sites whose records are being checked before they are ready (they hold no run slot).",
      registers,
      collect() {
        this.set(self.dnsPendingSource());
      },
    });
    new client.Gauge({
      name: "mail_controller_queue_depth",
      help: "Sites waiting for a free run slot.",
      registers,
      collect() {
        this.set(self.queueDepthSource());
      },
    });
    new client.Gauge({
      name: "mail_controller_runs_in_progress",
      help: "Runs in progress.",
      registers,
      collect() {
        this.set(self.runningSource());
      },
    });
    if (options.defaultMetrics) client.collectDefaultMetrics({ register: this.registry, prefix: "mail_controller_" });
  }

  /** What the reconciler reports runs to. */
  readonly observer: ReconcilerObserver = {
    runFinished: (_slug: string, result: RunResult, seconds: number) => {
      this.runs.inc({ result });
      this.runDuration.observe({ result }, seconds);
    },
    dnsChecked: (_slug: string, outcome: DnsCheckOutcome) => {
      this.dnsChecks.inc({ outcome });
    },
  };

  bindQueue(depth: () => number, running: () => number, dnsPending?: () => number): void {
    this.queueDepthSource = depth;
    this.runningSource = running;
    if (dnsPending) this.dnsPendingSource = dnsPending;
  }

  countRequest(method: string, route: string, status: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
