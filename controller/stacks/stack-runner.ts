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

/** A stack run failed; `transient` when the same run may succeed later (lock conflicts, network). */
export class StackRunError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "StackRunError";
  }
}
