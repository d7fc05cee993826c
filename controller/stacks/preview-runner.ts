/**
 * `StackRunner` on Pulumi's mock engine: the real per-site program and components, no CLI, no credentials, nothing
 * created. What the sandbox and `npm run preview` use. Plans run one at a time (the mock engine's state is
 * process-wide); an optional artificial delay, outside that lock, stands in for a real run's duration in benchmarks.
 */
import { planProgram, redactSecrets } from "../../stacks/preview/engine";
import { previewCalls } from "../../stacks/preview/preview-calls";
import { SITE_PROJECT } from "../../stacks/site-config";
import { siteProgram } from "../../stacks/site-program";
import { abortError, systemClock } from "../clock";
import { errorMessage } from "../redact";
import { type RunOptions, type StackConfig, StackRunError, type StackRunner, type UpResult } from "./stack-runner";

export interface PreviewRunnerOptions {
  /** Artificial duration of every `up`, in ms (benchmarks). */
  delayMs?: number;
  program?: () => Promise<unknown>;
}

export class PreviewRunner implements StackRunner {
  /** What each stack would hold: its last config (in memory only). */
  readonly stacks = new Map<string, StackConfig>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PreviewRunnerOptions = {}) {}

  async up(slug: string, config: StackConfig, options: RunOptions = {}): Promise<UpResult> {
    if (this.options.delayMs) await systemClock.sleep(this.options.delayMs, options.signal);
    if (options.signal?.aborted) throw abortError();
    const plain = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));
    const secretKeys = Object.entries(config)
      .filter(([, v]) => v.secret)
      .map(([k]) => k);
    const program = this.options.program ?? siteProgram;
    let plan: Awaited<ReturnType<typeof planProgram>>;
    try {
      plan = await this.exclusive(() =>
        planProgram(program, { project: SITE_PROJECT, stack: slug, config: plain, secretKeys, call: previewCalls }),
      );
    } catch (err) {
      // The program refused its config: no retry will change that.
      throw new StackRunError(`stack ${slug}: preview: ${errorMessage(err)}`, false);
    }
    const resources = plan.resources.filter((r) => r.custom);
    const total = resources.length;
    options.onProgress?.({ done: 0, total });
    for (let done = 1; done <= total; done++) options.onProgress?.({ done, total });
    this.stacks.set(slug, config);
    // Like the Automation runner, never hand secret outputs on.
    return { outputs: (redactSecrets(plan.outputs) ?? {}) as Record<string, unknown> };
  }

  async clearStaleLock(): Promise<void> {
    // The mock engine holds no locks.
  }

  async destroy(slug: string): Promise<void> {
    this.stacks.delete(slug);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => {});
    return run;
  }
}
