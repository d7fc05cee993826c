/**
 * Benchmark 5: Mailcow API calls per operation, counted on the Mailcow API double's request log (every HTTP request
 * the controller makes, retries included): a first enable, a repeated enable of a ready site, and a disable.
 */
import type { BenchReport } from "./support";
import { siteSeeds, startBenchWorld } from "./world";

export interface MailcowCallsOptions {
  /** Sites measured; the worst site counts. */
  sites: number;
}

export const MAILCOW_CALLS_DEFAULTS: MailcowCallsOptions = { sites: 5 };

export async function benchMailcowCalls(options: MailcowCallsOptions = MAILCOW_CALLS_DEFAULTS): Promise<BenchReport> {
  const w = await startBenchWorld({ namespaces: siteSeeds(options.sites), runnerMs: 0 });
  const first: number[] = [];
  const repeated: number[] = [];
  const disable: number[] = [];
  /** The request sequence of the first site, per operation, to show where the calls go. */
  const routes = new Map<string, string[]>();
  const note = (what: string, from: number) => {
    if (routes.has(what)) return;
    routes.set(
      what,
      w.doubles.mailcow.requests.slice(from).map((r) => `${r.method} ${r.route.replace(/s\d+\.example/, "<domain>")}`),
    );
  };
  try {
    for (let i = 0; i < options.sites; i++) {
      const slug = `s${i}`;
      for (const [what, into, act] of [
        ["first enable", first, () => w.controller.reconciler.requestEnable(slug)],
        ["repeated enable", repeated, () => w.controller.reconciler.requestEnable(slug)],
        ["disable", disable, () => w.controller.reconciler.requestDisable(slug)],
      ] as const) {
        const from = w.doubles.mailcow.requests.length;
        await act();
        await w.controller.reconciler.idle();
        into.push(w.doubles.mailcow.requests.length - from);
        note(what, from);
      }
      const status = w.annotations(`tenant-${slug}`)["voxeil.io/mail-status"];
      if (status !== "disabled") throw new Error(`site ${slug} ended ${status}, expected disabled`);
    }
  } finally {
    await w.close();
  }
  const worst = (xs: number[]) => Math.max(...xs);
  return {
    name: "mailcow-calls",
    summary: `Mailcow API requests per operation, counted on the double, worst of ${options.sites} sites`,
    checks: [
      { label: "calls per first enable", value: worst(first), op: "<=", target: 5, digits: 0 },
      { label: "calls per repeated enable", value: worst(repeated), op: "<=", target: 2, digits: 0 },
      { label: "calls per disable", value: worst(disable), op: "<=", target: 2, digits: 0 },
    ],
    details: Object.fromEntries([...routes].map(([what, seq]) => [what.replace(/ /g, "_"), `[${seq.join(", ")}]`])),
  };
}
