/**
 * What the reconciler knows about each site beyond its annotations, in one object per site that only the Reconciler
 * writes: the request generation, the run in progress, the records to serve, the stack-lock suspicion and the domain
 * whose ownership it has verified. The converger returns values the Reconciler records here; the DNS-check scheduler
 * keeps its own checks and reports and only reads the generation.
 */
import type { MailDnsRecord } from "../../components/site-records";
import type { Desired } from "./converge";

export interface LiveRun {
  desired: Desired | null;
  attempt: number;
  done: number;
  total: number;
  retrying: boolean;
  startedAt: number;
}

export interface SiteState {
  /** Requests for the site since the controller started (0: none); a run's outcome is written only if unchanged. */
  generation: number;
  /** What the last request asked for. */
  desired: Desired | null;
  live: LiveRun | null;
  /** Last known records of an enabled site (from its run's outputs), so status polls cost no Mailcow call. */
  records: MailDnsRecord[] | null;
  /** The site's stack lock may be stale (a crashed run, or a lock conflict no run of ours holds). */
  staleLock: boolean;
  /** The Mailcow domain this process has seen carry the site's owner marker (status polls skip the check). */
  ownedDomain: string | null;
  /**
   * The domain a request just found absent from Mailcow: the run that follows may create it without reading it
   * again (a hint, used once; a domain made meanwhile still comes back as `domain_exists` and is checked).
   */
  absentDomain: string | null;
}

export class SiteStates {
  private readonly states = new Map<string, SiteState>();

  /** The site's state, created on first use. */
  of(slug: string): SiteState {
    let state = this.states.get(slug);
    if (!state) {
      state = {
        generation: 0,
        desired: null,
        live: null,
        records: null,
        staleLock: false,
        ownedDomain: null,
        absentDomain: null,
      };
      this.states.set(slug, state);
    }
    return state;
  }

  /** The site's state if the reconciler has any (reads must not create one per polled slug). */
  peek(slug: string): SiteState | undefined {
    return this.states.get(slug);
  }
}
