/**
 * `StackRunner` over the Pulumi Automation API: project `mail-sites`, one stack per site (stack name = slug), the
 * inline per-site program, a backend from `PULUMI_BACKEND_URL` (default a `file://` folder in the data dir), the
 * passphrase secrets provider, and the Cloudflare token handed to the CLI through its environment only.
 */
import { mkdir, rm } from "node:fs/promises";
import * as path from "node:path";
import {
  CommandError,
  ConcurrentUpdateError,
  type ConfigMap,
  LocalWorkspace,
  type LocalWorkspaceOptions,
  type PulumiFn,
  type Stack,
} from "@pulumi/pulumi/automation";
import { SITE_PROJECT } from "../../stacks/site-config";
import { siteProgram } from "../../stacks/site-program";
import { abortError } from "../clock";
import { errorMessage } from "../redact";
import { pendingOperations, withoutPendingOperations } from "./pending-operations";
import { ProgressTracker } from "./progress";
import {
  type RunOptions,
  type StackConfig,
  type StackFailureReason,
  StackRunError,
  type StackRunner,
  type UpResult,
} from "./stack-runner";

export interface AutomationRunnerOptions {
  /** Per-stack work directories live under `<dataDir>/stacks/<slug>`. */
  dataDir: string;
  backendUrl: string;
  /** One of the two. */
  passphrase?: string;
  passphraseFile?: string;
  cloudflareApiToken?: string;
  /** PULUMI_HOME (plugins, workspace files); default `<dataDir>/pulumi-home`. */
  pulumiHome?: string;
  program?: PulumiFn;
  logger?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

const CONFIG_PREFIX = `${SITE_PROJECT}:`;

export class AutomationRunner implements StackRunner {
  private readonly program: PulumiFn;
  private readonly pulumiHome: string;
  /**
   * Each site's stack, selected once per process: `createOrSelectStack` costs a `pulumi version` and a
   * `stack select` each time. Runs of one site never overlap (the reconciler's per-site lock).
   */
  private readonly stacks = new Map<string, Stack>();
  /** The config this process last wrote to each stack, so an unchanged config costs no CLI call. */
  private readonly written = new Map<string, string>();

  constructor(private readonly options: AutomationRunnerOptions) {
    this.program = options.program ?? siteProgram;
    this.pulumiHome = options.pulumiHome ?? path.join(options.dataDir, "pulumi-home");
  }

  /** The workspace options for a site's stack (exported shape for tests: no secret appears outside `envVars`). */
  workspaceOptions(slug: string): LocalWorkspaceOptions {
    const { backendUrl, passphrase, passphraseFile, cloudflareApiToken } = this.options;
    const envVars: Record<string, string> = {
      PULUMI_BACKEND_URL: backendUrl,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
    };
    if (passphraseFile) envVars.PULUMI_CONFIG_PASSPHRASE_FILE = passphraseFile;
    else if (passphrase !== undefined) envVars.PULUMI_CONFIG_PASSPHRASE = passphrase;
    if (cloudflareApiToken) envVars.CLOUDFLARE_API_TOKEN = cloudflareApiToken;
    return {
      workDir: this.workDir(slug),
      pulumiHome: this.pulumiHome,
      projectSettings: { name: SITE_PROJECT, runtime: "nodejs", backend: { url: backendUrl } },
      secretsProvider: "passphrase",
      envVars,
    };
  }

  async up(slug: string, config: StackConfig, options: RunOptions = {}): Promise<UpResult> {
    if (options.signal?.aborted) throw abortError();
    return this.guard(slug, "up", options.signal, async () => {
      const stack = await this.stack(slug);
      await this.replaceConfig(slug, stack, config);
      const progress = new ProgressTracker(options.onProgress);
      const result = await stack.up({
        onEvent: (e) => progress.handle(e),
        onOutput: (line) => this.options.logger?.debug({ slug, line: line.trimEnd() }, "pulumi"),
        signal: options.signal,
      });
      const outputs: Record<string, unknown> = {};
      for (const [key, output] of Object.entries(result.outputs)) if (!output.secret) outputs[key] = output.value;
      return { outputs };
    });
  }

  async clearStaleLock(slug: string): Promise<void> {
    await this.guard(slug, "cancel", undefined, async () => {
      const stack = await this.stack(slug);
      try {
        await stack.cancel();
        this.options.logger?.warn({ slug }, "cleared a stale stack lock");
      } catch (err) {
        // Nothing to cancel is the common case.
        if (!/no update is currently running|not currently locked|no stack named/i.test(commandText(err))) throw err;
      }
      // A killed run leaves pending operations that Pulumi carries forward; cleared here (docs/decisions/0100).
      const state = await stack.exportStack();
      const pending = pendingOperations(state);
      if (pending.length > 0) {
        await stack.importStack(withoutPendingOperations(state));
        this.options.logger?.warn({ slug, pending }, "cleared the pending operations of a killed run");
      }
    });
  }

  async destroy(slug: string, options: RunOptions = {}): Promise<void> {
    await this.guard(slug, "destroy", options.signal, async () => {
      const stack = await this.stack(slug);
      const progress = new ProgressTracker(options.onProgress);
      await stack.destroy({ onEvent: (e) => progress.handle(e), signal: options.signal });
      await stack.workspace.removeStack(slug);
      this.forget(slug);
    });
    await rm(this.workDir(slug), { recursive: true, force: true });
  }

  private workDir(slug: string): string {
    return path.join(this.options.dataDir, "stacks", slug);
  }

  private async stack(slug: string): Promise<Stack> {
    const known = this.stacks.get(slug);
    if (known) return known;
    await mkdir(this.workDir(slug), { recursive: true });
    await mkdir(this.pulumiHome, { recursive: true });
    await mkdirBackend(this.options.backendUrl);
    const stack = await LocalWorkspace.createOrSelectStack(
      { projectName: SITE_PROJECT, stackName: slug, program: this.program },
      this.workspaceOptions(slug),
    );
    this.stacks.set(slug, stack);
    return stack;
  }

  /** Sets the new config and removes `mail-sites:*` keys the new config no longer has (e.g. a dropped relay). */
  private async replaceConfig(slug: string, stack: Stack, config: StackConfig): Promise<void> {
    const wanted = JSON.stringify(Object.entries(config).sort(([a], [b]) => a.localeCompare(b)));
    if (this.written.get(slug) === wanted) return;
    // Forgotten first: a write that fails half-way must not count as written.
    this.written.delete(slug);
    const current = await stack.getAllConfig();
    const stale = Object.keys(current).filter((k) => k.startsWith(CONFIG_PREFIX) && !(k in config));
    if (stale.length > 0) await stack.removeAllConfig(stale);
    await stack.setAllConfig(config as ConfigMap);
    this.written.set(slug, wanted);
  }

  /** Forgets a stack this process selected (after a destroy, or a failure that may have changed it under us). */
  private forget(slug: string): void {
    this.stacks.delete(slug);
    this.written.delete(slug);
  }

  private async guard<T>(slug: string, op: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Select the stack and read its config afresh next time: a failure may leave either other than we think.
      this.forget(slug);
      if (signal?.aborted) throw abortError();
      if (err instanceof ConcurrentUpdateError) {
        throw new StackRunError(
          `stack ${slug}: ${op}: the stack is locked by another update (ConcurrentUpdateError)`,
          "stack-locked",
        );
      }
      if (err instanceof CommandError) {
        throw new StackRunError(`stack ${slug}: ${op}: ${pulumiError(err)}`, cliFailureReason(commandText(err)));
      }
      throw new StackRunError(`stack ${slug}: ${op}: ${errorMessage(err)}`, cliFailureReason(errorMessage(err)));
    }
  }
}

/**
 * The reason a CLI failure stands for, from the CLI's own words (the only place the runner reads a message). A missing
 * CLI or plugin, refused credentials and a config the program refuses do not heal by retrying.
 */
export function cliFailureReason(text: string): StackFailureReason {
  if (/another update is currently in progress|stack is currently locked|ConcurrentUpdateError/i.test(text)) {
    return "stack-locked";
  }
  // `code: -2` is the spawn's ENOENT: no `pulumi` on the PATH.
  if (
    /\bcode: -2\b|spawn \S*pulumi\S* ENOENT|ENOENT.*pulumi|pulumi: (command )?not found|could not find (the )?pulumi|no pulumi cli|failed to (load|find) plugin|plugin .* not found|no resource plugin/i.test(
      text,
    )
  ) {
    // A plugin download that failed on the network is not a missing plugin.
    if (/network|timeout|dial tcp|temporar/i.test(text)) return "failed";
    return "cli-missing";
  }
  if (
    /incorrect passphrase|failed to decrypt|passphrase must be set|invalid api token|authentication error|unauthori[sz]ed|\b403\b/i.test(
      text,
    )
  ) {
    return "bad-credentials";
  }
  if (
    /SiteConfigError|invalid site config|missing required configuration|configuration key .* (is )?(not|invalid)/i.test(
      text,
    )
  ) {
    return "config-refused";
  }
  return "failed";
}

/** A `file://` backend folder must exist before the CLI logs in to it. */
async function mkdirBackend(url: string): Promise<void> {
  if (!url.startsWith("file://")) return;
  const dir = url.slice("file://".length).replace(/^~(?=\/)/, process.env.HOME ?? "~");
  if (dir) await mkdir(dir, { recursive: true });
}

function commandText(err: unknown): string {
  const result = (err as { commandResult?: { stderr?: string; stdout?: string } }).commandResult;
  return `${errorMessage(err)}\n${result?.stderr ?? ""}\n${result?.stdout ?? ""}`;
}

/** The CLI's `error:` lines, which say what went wrong, rather than its whole output. */
export function pulumiError(err: unknown): string {
  const lines = commandText(err)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^error:/i.test(l));
  const text = lines.length > 0 ? lines.join(" ") : errorMessage(err).split("\n")[0];
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}
