/**
 * What the controller needs from Mailcow, as typed operations. `MailcowClient` implements it over HTTP; tests may
 * swap in anything that honours the same contract. Every method either resolves with a normalised result or rejects
 * with a `MailcowError` (see `errors.ts`), or, when the call's `signal` aborts, with an `AbortError`.
 */

/** Per-call options of the calls a reconciler run makes. */
export interface CallOptions {
  /**
   * Aborts the call: a request in flight is destroyed and a retry wait ends. The call then rejects with an Error
   * named `AbortError` (never a `MailcowError`, never retried).
   */
  signal?: AbortSignal;
}

/** The DKIM key lengths Mailcow's UI offers; the controller's setting and the client accept these alone. */
export const DKIM_KEY_SIZES = [1024, 2048, 3072, 4096] as const;

/** Options of `ensureDomain`. */
export interface EnsureDomainOptions extends CallOptions {
  /**
   * The caller has just seen the domain absent: skip the first GET and create it. A domain made meanwhile answers
   * `domain_exists`, which is read back as usual, so the result is the same, one read cheaper.
   */
  expectAbsent?: boolean;
}

export interface DomainLimits {
  /** Free-text description shown in the Mailcow UI. */
  description: string;
  /** Maximum aliases in the domain. */
  aliases: number;
  /** Maximum mailboxes in the domain. */
  mailboxes: number;
  /** Default quota of a new mailbox, MiB. */
  defquotaMb: number;
  /** Maximum quota of one mailbox, MiB. */
  maxquotaMb: number;
  /** Quota of the whole domain, MiB. */
  quotaMb: number;
}

export interface RateLimit {
  /** Messages per frame; 0 clears the limit. */
  value: number;
  frame: "s" | "m" | "h" | "d";
}

export interface MailcowDomain {
  name: string;
  active: boolean;
  mailboxCount: number;
  /** Current limits, in the units of `DomainLimits`. */
  limits: DomainLimits;
  rateLimit: RateLimit | null;
  /** The slug of the site that owns the domain (the marker in its description), `null` when none is recorded. */
  owner: string | null;
}

export interface DkimKey {
  selector: string;
  /** The TXT record value, e.g. `v=DKIM1;k=rsa;t=s;s=email;p=...`, as one unsplit string. */
  txt: string;
  /** Key length in bits as Mailcow reports it. */
  length: number;
}

export interface Mailbox {
  /** Full address, `local@domain`. */
  username: string;
  localPart: string;
  domain: string;
  name: string;
  active: boolean;
  quotaMb: number;
}

export interface NewMailbox {
  localPart: string;
  domain: string;
  /** Display name; defaults to the local part. */
  name?: string;
  password: string;
  quotaMb: number;
}

export interface EnsureResult<T> {
  value: T;
  /** True when this call created the object; false when it already existed. */
  created: boolean;
  /** Mailcow's `warning` entries for the create (e.g. `domain_added_sogo_failed (a.com)`); absent when none. */
  warnings?: readonly string[];
}

export interface MailcowApi {
  getDomain(domain: string, options?: CallOptions): Promise<MailcowDomain | null>;
  /**
   * GET first; creates the domain with explicit limits, `active: 1`, `restart_sogo: 0`, no DKIM, and `owner`'s marker
   * in its description (`ownership.ts`) when missing.
   * A `rateLimit` with a value above 0 is applied by the same `add/domain` call. An existing domain is returned as it
   * is: its activity and rate limit are the caller's to compare and change.
   */
  ensureDomain(
    domain: string,
    owner: string,
    limits: DomainLimits,
    rateLimit?: RateLimit,
    options?: EnsureDomainOptions,
  ): Promise<EnsureResult<MailcowDomain>>;
  setDomainActive(domain: string, active: boolean, options?: CallOptions): Promise<void>;
  /**
   * Writes `owner`'s marker into the description of a domain made outside the controller (an adoption the operator
   * allowed), keeping the text `description` it had, so later operations see it as that site's.
   */
  setDomainOwner(domain: string, owner: string, description: string, options?: CallOptions): Promise<void>;
  setDomainRateLimit(domain: string, limit: RateLimit, options?: CallOptions): Promise<void>;
  getDkim(domain: string, options?: CallOptions): Promise<DkimKey | null>;
  /** GET first; creates a key of `keySize` bits with `selector` when missing. */
  ensureDkim(domain: string, selector: string, keySize?: number, options?: CallOptions): Promise<EnsureResult<DkimKey>>;
  listMailboxes(domain: string): Promise<Mailbox[]>;
  addMailbox(mailbox: NewMailbox): Promise<Mailbox>;
  deleteMailbox(address: string): Promise<void>;
  /** Deletes every mailbox of the domain, then the domain, then its DKIM key. The only call that destroys mail. */
  purgeDomain(domain: string, options?: CallOptions): Promise<void>;
  /** Cheap authenticated call used by readiness checks. */
  ping(): Promise<void>;
}
