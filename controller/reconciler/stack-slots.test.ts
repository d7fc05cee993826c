import { describe, expect, it } from "vitest";
import { isAbortError } from "../clock";
import type { StackRunner } from "../stacks/stack-runner";
import { StackSlots, slotLimitedRunner } from "./stack-slots";

function gate() {
  let open: () => void = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("StackSlots", () => {
  it("lets `limit` sections run at once and starts the next in line as one ends", async () => {
    const slots = new StackSlots(2);
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      slots.run(async () => {
        started.push(i);
        await g.promise;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(slots.busy()).toBe(2);
    gates[1].open();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[0].open();
    gates[2].open();
    await Promise.all(runs);
    expect(slots.busy()).toBe(0);
  });

  it("gives up a waiting place on abort without losing the slot", async () => {
    const slots = new StackSlots(1);
    const holder = gate();
    const held = slots.run(() => holder.promise);
    const abort = new AbortController();
    let ran = false;
    const waiting = slots.run(async () => {
      ran = true;
    }, abort.signal);
    abort.abort();
    const err = await waiting.catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    holder.open();
    await held;
    expect(ran).toBe(false);
    expect(slots.busy()).toBe(0);
    await slots.run(async () => {});
  });

  it("frees the slot when a section fails", async () => {
    const slots = new StackSlots(1);
    await expect(slots.run(() => Promise.reject(new Error("up failed")))).rejects.toThrow("up failed");
    expect(slots.busy()).toBe(0);
  });
});

describe("slotLimitedRunner", () => {
  it("puts up, destroy and clearing a lock in the slots, and keeps destroy absent when the runner has none", async () => {
    const slots = new StackSlots(1);
    const seen: string[] = [];
    const runner: StackRunner = {
      up: async (slug) => {
        seen.push(`up ${slug} busy=${slots.busy()}`);
        return { outputs: {} };
      },
      clearStaleLock: async (slug) => {
        seen.push(`clear ${slug} busy=${slots.busy()}`);
      },
      destroy: async (slug) => {
        seen.push(`destroy ${slug} busy=${slots.busy()}`);
      },
    };
    const limited = slotLimitedRunner(runner, slots);
    await limited.up("a", {});
    await limited.clearStaleLock("a");
    await limited.destroy?.("a");
    expect(seen).toEqual(["up a busy=1", "clear a busy=1", "destroy a busy=1"]);
    expect(slotLimitedRunner({ up: runner.up, clearStaleLock: runner.clearStaleLock }, slots).destroy).toBeUndefined();
  });
});
