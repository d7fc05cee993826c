/**
 * The parallel limit applied where it costs: at most `limit` stack operations (each may be a Pulumi CLI process) at
 * once. A run does its Mailcow steps and status writes outside a slot, so a slot freed by one run is taken at once by
 * a run already waiting at its stack step, instead of idling while the next run talks to Mailcow and Kubernetes
 * (measured in the fan-out benchmark: ~14 ms of every ~215 ms run, 7 % of the wall time on a quiet machine).
 */
import { abortError } from "../clock";
import type { RunOptions, StackConfig, StackRunner, UpResult } from "../stacks/stack-runner";

export class StackSlots {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    this.free = limit;
  }

  /** Runs `section` in a slot, first come first served; an abort while waiting gives up the place in line. */
  async run<T>(section: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await section();
    } finally {
      this.release();
    }
  }

  /** Slots in use. */
  busy(): number {
    return this.limit - this.free;
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(granted);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError());
      };
      const granted = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(granted);
    });
  }

  private release(): void {
    // Handed straight to the next in line, so no newcomer can take it in between.
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/** `runner` with every stack operation (up, destroy, clearing a stale lock) taking one of `slots`. */
export function slotLimitedRunner(runner: StackRunner, slots: StackSlots): StackRunner {
  const limited: StackRunner = {
    up: (slug: string, config: StackConfig, options?: RunOptions): Promise<UpResult> =>
      slots.run(() => runner.up(slug, config, options), options?.signal),
    clearStaleLock: (slug: string) => slots.run(() => runner.clearStaleLock(slug)),
  };
  const destroy = runner.destroy?.bind(runner);
  if (destroy) limited.destroy = (slug, options) => slots.run(() => destroy(slug, options), options?.signal);
  return limited;
}
