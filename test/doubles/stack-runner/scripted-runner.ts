/**
 * A `StackRunner` double with scripted outcomes: per-call failures and delays, a simulated stale lock, and a record
 * of every call and of the config each stack holds. Successful `up`s answer like the real site program: the records
 * of an enabled site (from the config it was given), none for a disabled one.
 */
import { abortError, systemClock } from "../../../controller/clock";
import type { RunOptions, StackConfig, StackRunner, UpResult } from "../../../controller/stacks/stack-runner";
import { StackRunError } from "../../../controller/stacks/stack-runner";
import { decodeSiteConfig, recordsForSite } from "../../../stacks/site-config";

export interface ScriptStep {
  /** Fail this call with this error (after the delay). */
  fail?: Error;
  /** How long the call takes (ms); aborting the signal ends it early with an AbortError. */
  delayMs?: number;
}

export interface RunnerCall {
  op: "up" | "clearStaleLock" | "destroy";
  slug: string;
  config?: StackConfig;
}

export class ScriptedRunner implements StackRunner {
  readonly calls: RunnerCall[] = [];
  /** The config each stack holds after its last successful `up`; deleted by `destroy`. */
  readonly stacks = new Map<string, StackConfig>();
  /** Stacks holding a lock (as a crashed run leaves it): `up` fails with a lock conflict until cleared. */
  readonly locked = new Set<string>();
  private readonly steps: ScriptStep[] = [];
  private active = 0;
  private readonly activeSlugs = new Map<string, number>();
  maxParallel = 0;
  /** True if two calls for one stack ever overlapped. */
  overlapped = false;
  private gate: Promise<void> | null = null;
  private openGate: () => void = () => {};

  constructor(private readonly defaults: ScriptStep = {}) {}

  /** Queues outcomes for the next calls of `up`/`destroy`, in order; later calls use the defaults. */
  script(...steps: ScriptStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  /** Makes every call wait until `release()` (deterministic "a run is in progress" for tests). */
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.gate = null;
    this.openGate();
  }

  ups(slug?: string): RunnerCall[] {
    return this.calls.filter((c) => c.op === "up" && (slug === undefined || c.slug === slug));
  }

  /** Whether the stack's last applied config has mail on. */
  enabled(slug: string): boolean | undefined {
    const config = this.stacks.get(slug);
    return config ? config["mail-sites:enabled"]?.value === "true" : undefined;
  }

  async up(slug: string, config: StackConfig, options: RunOptions = {}): Promise<UpResult> {
    this.calls.push({ op: "up", slug, config });
    return this.perform(slug, options, () => {
      if (this.locked.has(slug)) {
        throw new StackRunError(
          `stack ${slug}: ConcurrentUpdateError: the stack is currently locked by 1 lock(s)`,
          true,
        );
      }
      const plain = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));
      const input = decodeSiteConfig(plain);
      const records = recordsForSite(input);
      const total = records.length;
      for (let done = 1; done <= total; done++) options.onProgress?.({ done, total });
      this.stacks.set(slug, config);
      return { outputs: { provider: input.dnsProvider, records } };
    });
  }

  async clearStaleLock(slug: string): Promise<void> {
    this.calls.push({ op: "clearStaleLock", slug });
    this.locked.delete(slug);
  }

  async destroy(slug: string, options: RunOptions = {}): Promise<void> {
    this.calls.push({ op: "destroy", slug });
    await this.perform(slug, options, () => {
      this.stacks.delete(slug);
    });
  }

  private async perform<T>(slug: string, options: RunOptions, body: () => T): Promise<T> {
    const step = this.steps.shift() ?? this.defaults;
    this.active++;
    this.maxParallel = Math.max(this.maxParallel, this.active);
    const mine = (this.activeSlugs.get(slug) ?? 0) + 1;
    if (mine > 1) this.overlapped = true;
    this.activeSlugs.set(slug, mine);
    try {
      if (this.gate) await this.gate;
      if (step.delayMs) await systemClock.sleep(step.delayMs, options.signal);
      else if (options.signal?.aborted) throw abortError();
      if (step.fail) throw step.fail;
      return body();
    } finally {
      this.active--;
      this.activeSlugs.set(slug, (this.activeSlugs.get(slug) ?? 1) - 1);
    }
  }
}
