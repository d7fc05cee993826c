/**
 * A clock that only moves when the test says so: `sleep` waits until `advance` (or `advanceToNext`) moves time past
 * its wake-up. Lets tests walk through minutes of DNS re-checks and a 15-minute deadline without real waits and
 * without timing thresholds.
 */
import { abortError, type Clock } from "../../controller/clock";

interface Sleeper {
  at: number;
  wake: () => void;
}

export class ManualClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];
  /** Every pause asked for, in order (ms). */
  readonly slept: number[] = [];

  constructor(start = Date.parse("2026-01-01T00:00:00Z")) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.slept.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError());
        return;
      }
      const sleeper: Sleeper = {
        at: this.t + Math.max(ms, 0),
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(abortError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Sleepers not yet woken (cancelled ones are gone). */
  waiting(): number {
    return this.sleepers.length;
  }

  /** Moves time forward by `ms` and wakes every sleeper that is due, earliest first. */
  advance(ms: number): void {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t).sort((a, b) => a.at - b.at);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.wake();
  }

  /** Moves time to the earliest wake-up and wakes whoever is due then; returns how far time moved (ms). */
  advanceToNext(): number {
    if (this.sleepers.length === 0) throw new Error("ManualClock: nobody is sleeping");
    const next = Math.min(...this.sleepers.map((s) => s.at));
    const step = Math.max(next - this.t, 0);
    this.advance(step);
    return step;
  }
}
