import { afterEach, describe, expect, it } from "vitest";
import { instantClock, startWorld, type World } from "../../test/support/reconciler-world";
import { MailcowClient } from "../mailcow/client";
import { Reconciler, type RunResult } from "./reconciler";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
});

/**
 * A reconciler over the world's doubles whose Mailcow client would wait far beyond the test timeout for a hanging
 * request: only the run's abort signal can end such a call.
 */
function patientReconciler(w: World) {
  const client = new MailcowClient({ baseUrl: w.mailcow.url, apiKey: w.mailcow.apiKey, timeoutMs: 600_000 });
  const runs: Array<{ slug: string; result: RunResult }> = [];
  const reconciler = new Reconciler(
    {
      sites: w.sites,
      mailcow: client,
      runner: w.runner,
      clock: instantClock([]),
      random: () => 1,
      observer: { runFinished: (slug, result) => runs.push({ slug, result }) },
    },
    {
      maxParallelRuns: 4,
      retry: { baseMs: 100, capMs: 1000, maxAttempts: 3 },
      domainLimits: {
        description: "",
        aliases: 400,
        mailboxes: 10,
        defquotaMb: 3072,
        maxquotaMb: 10240,
        quotaMb: 10240,
      },
      rateLimit: { value: 500, frame: "h" },
      dkim: { selector: "dkim", keySize: 2048 },
      dns: w.dns,
    },
  );
  cleanups.push(() => client.close());
  return { reconciler, runs };
}

describe("shutdown while a Mailcow call hangs", () => {
  it("aborts the hanging call at the deadline, ending the run aborted and leaving the site for the next start", async () => {
    const first = await startWorld();
    cleanups.push(() => first.close());
    // The DKIM read hangs: the request's ownership check and the domain's creation answer, the run then waits.
    first.mailcow.faults.inject({ kind: "hang", method: "GET", route: "get/dkim" });
    const { reconciler, runs } = patientReconciler(first);

    await reconciler.requestEnable("shop");
    while (first.mailcow.count({ route: "get/dkim" }) === 0) await new Promise((r) => setTimeout(r, 5));
    await reconciler.shutdown(20);

    expect(runs).toEqual([{ slug: "shop", result: "aborted" }]);
    expect(first.mailcow.count({ route: "get/dkim" })).toBe(1);
    expect(first.runner.ups("shop")).toEqual([]);
    expect(first.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("provisioning");
    expect(first.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toMatch(/interrupted/);

    first.mailcow.faults.clear();
    const second = await startWorld({ from: first });
    await second.reconciler.start();
    await second.reconciler.idle();
    await second.reconciler.shutdown(0);
    expect(second.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
  });
});
