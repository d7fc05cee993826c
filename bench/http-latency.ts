/**
 * Benchmark 3: p99 latency of `POST /sites/:slug/mail/enable` at a fixed request rate, against a bare Express route
 * answering 202 served by the same process and the same kind of server (`createHttpServer`). The controller runs in
 * its own process (`controller-child.ts`) wired to the doubles, which stay in this process as the remote Kubernetes
 * and Mailcow APIs; the load comes from one worker thread that stays up for every phase, so its connections and code
 * are warm. Phases alternate (bare, floor, controller, eight times) after a warm-up of each, so drift hits all alike.
 *
 * The floor is reported beside the target: a route in the bare route's app that parses the same body with
 * `express.json` and answers with the enable's own answer. It is what any route answering this request with this
 * answer costs, so enable ÷ floor is what the controller's own work (auth, validation, the reconciler) adds.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { spawnController } from "../test/support/child-process";
import { DEFAULT_SITES, startDoubles, TEST_TOKENS } from "../test/support/controller-world";
import { type BenchReport, percentile } from "./support";

export interface HttpOptions {
  /** Requests per second. */
  rate: number;
  /** Measured seconds per target (split over the phases). */
  seconds: number;
  warmupSeconds: number;
  runnerMs: number;
}

/**
 * Forty seconds of warm-up per target (8,000 requests), so each is measured as a long-running controller serves:
 * after ten, V8 was still optimising the enable's longer code path during the measured phases (`--trace-opt` counted
 * 45-120 compilations there, each a 1.5-4 ms stretch of CPU at the same offsets run after run, landing on whichever
 * request was in flight); after forty, 12-18. The bare route's short path is optimised within seconds either way.
 */
export const HTTP_DEFAULTS: HttpOptions = { rate: 200, seconds: 12, warmupSeconds: 40, runnerMs: 200 };

/** Alternating bare/controller phases: 1.5 s each by default, 300 requests. */
const PAIRS = 8;

interface LoadResult {
  latencies: number[];
  statuses: Record<string, number>;
  errors: number;
  sent: number;
}

/** A route under load: where, and the headers each request carries. */
interface Target {
  url: string;
  headers: Record<string, string>;
}

/** The load generator: one worker thread for every phase, so its connections and code stay warm between phases. */
class LoadGenerator {
  private readonly worker = new Worker(path.join(__dirname, "load-worker.mjs"));

  run({ url, headers }: Target, rate: number, durationMs: number): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`load against ${url} did not finish`));
      }, durationMs + 30_000);
      const onMessage = (m: LoadResult) => {
        cleanup();
        resolve(m);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.worker.off("message", onMessage);
        this.worker.off("error", onError);
      };
      this.worker.once("message", onMessage);
      this.worker.once("error", onError);
      this.worker.postMessage({ url, method: "POST", headers, body: "{}", rate, durationMs });
    });
  }

  async close(): Promise<void> {
    this.worker.postMessage("close");
    await this.worker.terminate();
  }
}

function merge(results: LoadResult[]): LoadResult {
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    latencies: results.flatMap((r) => r.latencies),
    statuses,
    errors: results.reduce((n, r) => n + r.errors, 0),
    sent: results.reduce((n, r) => n + r.sent, 0),
  };
}

export async function benchHttp(options: HttpOptions = HTTP_DEFAULTS): Promise<BenchReport> {
  const doubles = await startDoubles(DEFAULT_SITES);
  const child = spawnController({
    CHILD_K8S_URL: doubles.k8s.url,
    CHILD_MAILCOW_URL: doubles.mailcow.url,
    CHILD_MAILCOW_KEY: doubles.mailcow.apiKey,
    CHILD_RUNNER: "scripted",
    CHILD_RUNNER_MS: String(options.runnerMs),
    CHILD_BARE: "1",
  });
  const generator = new LoadGenerator();
  const load = generator.run.bind(generator);
  try {
    const listening = await child.next("listening", 60_000);
    await child.next("started", 30_000);
    const json = { "Content-Type": "application/json", "Content-Length": "2" };
    const subject: Target = {
      url: `http://127.0.0.1:${listening.port}/sites/shop/mail/enable`,
      headers: { ...json, Authorization: `Bearer ${TEST_TOKENS[0]}` },
    };
    const bare: Target = { url: `http://127.0.0.1:${listening.barePort}/bare`, headers: json };
    const floor: Target = { url: `http://127.0.0.1:${listening.barePort}/floor`, headers: json };
    const warm = options.warmupSeconds * 1000;
    await load(bare, options.rate, warm);
    await load(subject, options.rate, warm);
    // The floor answers what a warm enable answers, byte for byte.
    const answer = await fetch(subject.url, { method: "POST", headers: subject.headers, body: "{}" });
    const answerText = await answer.text();
    if (answer.status !== 202) throw new Error(`the warm enable answered ${answer.status}: ${answerText}`);
    child.send(`floor ${answerText}`);
    await child.next("floor", 10_000);
    await load(floor, options.rate, warm);
    const phase = (options.seconds * 1000) / PAIRS;
    const bareRuns: LoadResult[] = [];
    const floorRuns: LoadResult[] = [];
    const subjectRuns: LoadResult[] = [];
    let kubernetesRequests = 0;
    let mailcowRequests = 0;
    for (let i = 0; i < PAIRS; i++) {
      bareRuns.push(await load(bare, options.rate, phase));
      floorRuns.push(await load(floor, options.rate, phase));
      const before = doubles.k8s.requests.length;
      const mailcowBefore = doubles.mailcow.requests.length;
      subjectRuns.push(await load(subject, options.rate, phase));
      kubernetesRequests += doubles.k8s.requests.length - before;
      mailcowRequests += doubles.mailcow.requests.length - mailcowBefore;
    }
    const b = merge(bareRuns);
    const f = merge(floorRuns);
    const s = merge(subjectRuns);
    for (const [what, r] of [
      ["enable calls", s],
      ["floor calls", f],
    ] as const) {
      if (r.errors > 0 || (r.statuses["202"] ?? 0) !== r.sent) {
        throw new Error(`the ${what} did not all answer 202: ${JSON.stringify(r.statuses)}, ${r.errors} errors`);
      }
    }
    const bareP99 = percentile(b.latencies, 99);
    const floorP99 = percentile(f.latencies, 99);
    const subjectP99 = percentile(s.latencies, 99);
    return {
      name: "http",
      summary: `p99 of POST /sites/:slug/mail/enable at ${options.rate} req/s for ${options.seconds} s against a bare Express route answering 202, same process, loopback; floor: the same body parsed and the same answer sent`,
      checks: [{ label: "p99 ratio (enable ÷ bare)", value: subjectP99 / bareP99, op: "<=", target: 1.5, digits: 2 }],
      details: {
        enableP50ms: percentile(s.latencies, 50),
        enableP99ms: subjectP99,
        bareP50ms: percentile(b.latencies, 50),
        bareP99ms: bareP99,
        floorP50ms: percentile(f.latencies, 50),
        floorP99ms: floorP99,
        enableOverFloorP99: Number((subjectP99 / floorP99).toFixed(2)),
        requestsEach: s.sent,
        kubernetesRequestsPerEnable: kubernetesRequests / s.sent,
        mailcowRequestsPerEnable: mailcowRequests / s.sent,
        pairRatios: subjectRuns
          .map((r, i) => (percentile(r.latencies, 99) / percentile(bareRuns[i].latencies, 99)).toFixed(2))
          .join("/"),
      },
    };
  } finally {
    await generator.close();
    await child.kill();
    await doubles.close();
  }
}
