import { describe, expect, it } from "vitest";
import { CoalescingQueue } from "./work-queue";

function gate() {
  let open: () => void = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe("CoalescingQueue", () => {
  it("runs a key once however often it is queued while waiting", async () => {
    const runs: string[] = [];
    const block = gate();
    // one slot, busy: queue a, a, b, a
    const busy = new CoalescingQueue(1, async (k) => {
      runs.push(k);
      if (k === "first") await block.promise;
    });
    busy.enqueue("first");
    for (const k of ["a", "a", "b", "a"]) busy.enqueue(k);
    expect(busy.depth()).toBe(2);
    block.open();
    await busy.idle();
    expect(runs).toEqual(["first", "a", "b"]);
  });

  it("coalesces requests during a run into exactly one follow-up run", async () => {
    const runs: string[] = [];
    const block = gate();
    const q = new CoalescingQueue(2, async (k) => {
      runs.push(k);
      if (runs.length === 1) await block.promise;
    });
    q.enqueue("a");
    for (let i = 0; i < 20; i++) q.enqueue("a");
    expect(q.isRunning("a")).toBe(true);
    expect(q.isQueued("a")).toBe(true);
    block.open();
    await q.idle();
    expect(runs).toEqual(["a", "a"]);
  });

  it("drops the follow-up run when told the run already settled it", async () => {
    const runs: string[] = [];
    let q: CoalescingQueue | undefined;
    q = new CoalescingQueue(1, async (k) => {
      runs.push(k);
      if (runs.length === 1) {
        q?.enqueue("a");
        q?.settle("a");
      }
    });
    q.enqueue("a");
    await q.idle();
    expect(runs).toEqual(["a"]);
  });

  it("never runs more keys at once than its limit, and never one key twice at once", async () => {
    let active = 0;
    let peak = 0;
    const activeKeys = new Set<string>();
    let overlap = false;
    const q = new CoalescingQueue(3, async (k) => {
      if (activeKeys.has(k)) overlap = true;
      activeKeys.add(k);
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1));
      active--;
      activeKeys.delete(k);
    });
    for (let i = 0; i < 40; i++) q.enqueue(`k${i % 7}`);
    await q.idle();
    expect(peak).toBe(3);
    expect(overlap).toBe(false);
  });

  it("stops starting runs, and aborts running ones on request", async () => {
    const aborted: string[] = [];
    const q = new CoalescingQueue(1, (k, signal) => {
      return new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          aborted.push(k);
          resolve();
        });
      });
    });
    q.enqueue("a");
    q.enqueue("b");
    await new Promise((r) => setImmediate(r)); // a's run begins on this turn; b waits for the slot
    q.stop();
    expect(await q.drain(5)).toBe(false);
    await q.abortAll();
    expect(aborted).toEqual(["a"]);
    await q.idle();
  });

  it("leaves a key queued after stop unrun and uncounted, so idle still resolves", async () => {
    const runs: string[] = [];
    const q = new CoalescingQueue(1, async (k) => {
      runs.push(k);
    });
    q.stop();
    q.enqueue("late");
    expect(q.depth()).toBe(0);
    expect(q.isQueued("late")).toBe(false);
    await q.idle();
    expect(runs).toEqual([]);
  });

  it("lets whoever queued a key carry on before the key's run begins", async () => {
    const events: string[] = [];
    const q = new CoalescingQueue(1, async () => {
      events.push("run begins");
    });
    // A request queues the site, then builds and sends its answer over a few more awaits.
    await (async () => {
      q.enqueue("a");
      expect(q.isRunning("a")).toBe(true);
      for (let i = 0; i < 10; i++) await Promise.resolve();
      events.push("answered");
    })();
    await q.idle();
    expect(events).toEqual(["answered", "run begins"]);
  });

  it("does not begin a run aborted before its turn came, and still goes idle", async () => {
    const runs: string[] = [];
    const q = new CoalescingQueue(1, async (k) => {
      runs.push(k);
    });
    q.enqueue("a");
    await q.abortAll();
    await q.idle();
    expect(runs).toEqual([]);
    expect(q.running()).toBe(0);
  });

  it("does not begin a run taken just before stop, and still goes idle", async () => {
    const runs: string[] = [];
    const q = new CoalescingQueue(1, async (k) => {
      runs.push(k);
    });
    q.enqueue("a");
    q.stop();
    expect(await q.drain(1000)).toBe(true);
    await q.idle();
    expect(runs).toEqual([]);
  });

  it("reports a worker's exception and keeps going", async () => {
    const errors: string[] = [];
    const q = new CoalescingQueue(
      1,
      async (k) => {
        if (k === "bad") throw new Error("boom");
      },
      (k, err) => errors.push(`${k}: ${(err as Error).message}`),
    );
    q.enqueue("bad");
    q.enqueue("good");
    await q.idle();
    expect(errors).toEqual(["bad: boom"]);
  });
});
