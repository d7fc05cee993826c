/**
 * The status a site's answers show, and the views kept so that answering again serialises nothing: a repeated enable
 * or a status poll of an unchanged site builds its view, finds it equal to the kept one and answers with the very
 * object the previous answer had, whose bytes the HTTP layer made once (`controller/http/json-answer.ts`). Every
 * view handed out is frozen all the way down, because answers share it and its bytes are kept.
 *
 * Measured under the HTTP benchmark's load: the records' per-answer copies were most of what survived each scavenge,
 * and serialising the ~2.3 KB status was a quarter of what an enable allocated (docs/decisions/0163).
 */
import type { MailDnsRecord } from "../../components/site-records";
import type { MailStatus } from "../sites/site";
import type { Desired } from "./converge";
import type { DnsReport } from "./dns-check-scheduler";
import type { RecordCheck } from "./dns-verification";

export interface RunView {
  readonly state: "queued" | "running" | "retrying";
  /** What the run works toward. */
  readonly desired: Desired | null;
  readonly attempt: number;
  readonly done: number;
  readonly total: number;
  readonly startedAt: string | null;
}

/** Read-only all the way down: answers share a view, and its bytes are kept. */
export interface DnsRecordView extends Readonly<Omit<MailDnsRecord, "chunks">> {
  readonly chunks?: readonly string[];
  /**
   * With DNS checks: `verified` (the authoritative servers answer it), `failed` (they answer something else),
   * `pending` (not there yet, not checked yet, or a run is due). Without checks, or for a `ready` site not checked
   * since the controller started: `published` (in the DNS provider) or `manual` (publish it by hand).
   */
  readonly state: "published" | "manual" | "pending" | "verified" | "failed";
  /** What the last check found (DNS checks only). */
  readonly detail?: string;
}

export interface MailStatusView {
  readonly slug: string;
  readonly enabled: boolean;
  readonly provider: string;
  readonly domain: string;
  readonly status: MailStatus;
  readonly lastError: string;
  readonly dns: {
    readonly provider: "cloudflare" | "manual";
    readonly records: readonly DnsRecordView[];
    /** When the records were last checked at the authoritative servers (null: not since the controller started). */
    readonly checkedAt: string | null;
    /** While the checks continue: the next one, and when the site goes to `error` if they have not verified. */
    readonly nextCheckAt: string | null;
    readonly deadline: string | null;
    /** Manual DNS with mail off: what to take down by hand. */
    readonly notice?: string;
  };
  readonly run: RunView | null;
}

/** How many sites' last views are kept (most recently answered first); each is ~0.5 KB plus its ~2.3 KB of bytes. */
export const KEPT_VIEWS = 1024;

export class StatusViews {
  /** Record views by the records array they show (a run's new records are a new array). */
  private readonly recordViews = new WeakMap<
    readonly MailDnsRecord[],
    {
      state: DnsRecordView["state"];
      checked: DnsReport | undefined;
      verifying: boolean;
      views: readonly DnsRecordView[];
    }
  >();
  /** The last view answered per site, oldest first (a Map keeps insertion order). */
  private readonly kept = new Map<string, MailStatusView>();

  constructor(private readonly limit = KEPT_VIEWS) {}

  /** The records as a status shows them, built again only when what they are made of changes. */
  records(
    records: readonly MailDnsRecord[],
    state: DnsRecordView["state"],
    checked: DnsReport | undefined,
    verifying: boolean,
  ): readonly DnsRecordView[] {
    const kept = this.recordViews.get(records);
    if (kept && kept.state === state && kept.checked === checked && kept.verifying === verifying) return kept.views;
    const views = Object.freeze(
      records.map((r, i): DnsRecordView => {
        const check = checked ? checkFor(checked.records, r, i) : undefined;
        // Each branch below copies the record; only the chunks array inside it needs a frozen copy of its own.
        const shown = r.chunks ? { ...r, chunks: Object.freeze([...r.chunks]) } : r;
        if (check) return Object.freeze({ ...shown, state: check.state, detail: check.detail });
        if (verifying) return Object.freeze({ ...shown, state: "pending", detail: "not checked yet" });
        return Object.freeze({ ...shown, state });
      }),
    );
    this.recordViews.set(records, { state, checked, verifying, views });
    return views;
  }

  /** The kept view of the site if it shows the same as `view`, else `view` frozen and kept in its place. */
  keep(view: MailStatusView): MailStatusView {
    const kept = this.kept.get(view.slug);
    this.kept.delete(view.slug);
    const answer = kept && sameValue(kept, view) ? kept : freezeView(view);
    this.kept.set(view.slug, answer);
    if (this.kept.size > this.limit) this.kept.delete(this.kept.keys().next().value as string);
    return answer;
  }

  /** How many sites' views are kept (for tests). */
  get size(): number {
    return this.kept.size;
  }
}

function freezeView(view: MailStatusView): MailStatusView {
  Object.freeze(view.dns);
  if (view.run) Object.freeze(view.run);
  return Object.freeze(view);
}

/**
 * Whether two JSON-like values show the same: primitives by value, arrays and objects member by member (the same
 * object short-cuts, so a kept records array is not walked). Generic, so a field added to the view is compared too.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const key in x) {
    if (!Object.hasOwn(y, key) || !sameValue(x[key], y[key])) return false;
    keys++;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

/** The check of `record` in a report made for the same list (same index), else found by name, type and purpose. */
function checkFor(checks: readonly RecordCheck[], record: MailDnsRecord, index: number): RecordCheck | undefined {
  const same = (c: RecordCheck | undefined) =>
    c !== undefined && c.type === record.type && c.purpose === record.purpose && c.name === record.name.toLowerCase();
  if (same(checks[index])) return checks[index];
  return checks.find(same);
}
