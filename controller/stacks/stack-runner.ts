/**
 * The port through which the reconciler runs a site's DNS stack. `AutomationRunner` drives the Pulumi CLI;
 * `PreviewRunner` plans the same program under the mock engine; tests script one.
 */

export interface StackConfigValue {
  value: string;
  secret?: boolean;
}

/** Fully qualified keys (`mail-sites:<key>`), as `Stack.setAllConfig` takes them. */
export type StackConfig = Record<string, StackConfigValue>;

export interface RunProgress {
  /** Resources whose step finished. */
  done: number;
  /** Resources the engine announced so far (grows while it discovers the program), or the final count. */
  total: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
}

export interface UpResult {
  /** Stack outputs, plain values (secret ones are left out). */
  outputs: Record<string, unknown>;
}

export interface StackRunner {
  up(slug: string, config: StackConfig, options?: RunOptions): Promise<UpResult>;
  /** Clears a lock left by a crashed run; a no-op when the stack is not locked or does not exist. */
  clearStaleLock(slug: string): Promise<void>;
  /** Removes the stack (resources first). Optional: a runner without it leaves an empty stack behind. */
  destroy?(slug: string, options?: RunOptions): Promise<void>;
}

/**
 * Why a stack run failed, as the runner's adapter maps it (the Pulumi Kubernetes Operator maps CLI errors to reasons
 * the same way, at the adapter): the reconciler acts on the reason and never reads the message.
 * - `stack-locked`: another update holds the stack (a crashed run's lock is cleared before the next attempt);
 * - `cli-missing`: the Pulumi CLI or a plugin is not installed; `bad-credentials`: the passphrase or a provider token
 *   is refused; `config-refused`: the program refused the site's config — all three permanent;
 * - `failed`: anything else (network, provider hiccup): transient.
 */
export type StackFailureReason = "stack-locked" | "cli-missing" | "bad-credentials" | "config-refused" | "failed";

const PERMANENT_REASONS: ReadonlySet<StackFailureReason> = new Set([
  "cli-missing",
  "bad-credentials",
  "config-refused",
]);

/** A stack run failed; `transient` when the same run may succeed later (lock conflicts, network). */
export class StackRunError extends Error {
  readonly transient: boolean;
  constructor(
    message: string,
    transientOrReason: boolean | StackFailureReason,
    readonly reason: StackFailureReason = typeof transientOrReason === "string" ? transientOrReason : "failed",
  ) {
    super(message);
    this.name = "StackRunError";
    this.transient =
      typeof transientOrReason === "boolean" ? transientOrReason : !PERMANENT_REASONS.has(transientOrReason);
  }
}
