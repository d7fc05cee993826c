/**
 * A hosted site as the controller sees it, and the port through which it reads and writes the site's mail state
 * (namespace annotations in production, anything in tests).
 */

import { SLUG_PATTERN } from "../../stacks/site-config";

/** Voxeil's slug rule (`validateSlug`, one definition in `stacks/site-config.ts`), plus Kubernetes' 63-character limit. */
export { SLUG_PATTERN };
export const SLUG_MAX_LENGTH = 63;

export function isValidSlug(slug: string): boolean {
  return slug.length <= SLUG_MAX_LENGTH && SLUG_PATTERN.test(slug);
}

export const MAIL_STATUSES = [
  "pending",
  "provisioning",
  "ready",
  "disabling",
  "disabled",
  "purging",
  "purged",
  "error",
] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/** Statuses that promise work still to do; a restart queues these sites again. */
const UNSETTLED: ReadonlySet<MailStatus> = new Set(["pending", "provisioning", "disabling", "purging"]);

export function isSettled(status: MailStatus | null): boolean {
  return status === null || !UNSETTLED.has(status);
}

export const MAIL_PROVIDER = "mailcow";

export interface MailState {
  /** The desired state: mail on or off. */
  enabled: boolean;
  provider: string;
  /** The mail domain the controller acted on (empty until the first enable). */
  domain: string;
  /** Null when the controller has never touched the site. */
  status: MailStatus | null;
  /** Short, secret-free; empty when healthy. */
  lastError: string;
  /**
   * The request generation: bumped by the controller with every recorded request (absent: none recorded yet). With
   * `observedGeneration` it tells a restarted controller whether the last request's run finished, like a Kubernetes
   * object's `metadata.generation` and `status.observedGeneration`.
   */
  generation?: number;
  /** The generation whose run last finished (its outcome is the status). */
  observedGeneration?: number;
}

export interface Site {
  slug: string;
  namespace: string;
  /** The site's domain from its annotation; null when the namespace has none. */
  domain: string | null;
  mail: MailState;
}

export interface SiteDirectory {
  find(slug: string): Promise<Site | null>;
  /** Writes only the given fields of the site's mail state; other keys stay as they are. */
  patchMail(slug: string, patch: Partial<MailState>): Promise<void>;
  /** Every site the layout can see (for the restart re-queue and the periodic resync). */
  listSites(): Promise<Site[]>;
  /** Cheap call proving the backing store answers (readiness). */
  ping(): Promise<void>;
}

/** Raised when the site the caller named does not exist (any more). */
export class SiteNotFoundError extends Error {
  constructor(readonly slug: string) {
    super(`site ${slug} not found`);
    this.name = "SiteNotFoundError";
  }
}

/** The site store (the Kubernetes API) failed; `transient` when a retry may succeed (conflict, 429, 5xx, network). */
export class SiteStoreError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "SiteStoreError";
  }
}

/**
 * Two or more namespaces claim one slug (a label, a domain annotation, or the name template). No namespace wins by
 * name: a tenant who labels its namespace with another site's slug would otherwise take that site over. Permanent
 * until an operator removes the wrong claim.
 */
export class SlugConflictError extends Error {
  readonly transient = false;
  constructor(
    readonly slug: string,
    readonly namespaces: readonly string[],
  ) {
    super(
      `site ${slug} is claimed by several namespaces (${[...namespaces].sort().join(", ")}); ` +
        "remove the wrong claim (label or annotation) before the controller acts on it",
    );
    this.name = "SlugConflictError";
  }
}
