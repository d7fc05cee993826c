/**
 * A `StackRunner` whose stacks survive the process, like Pulumi's file backend: each stack is `<dir>/<slug>.json`
 * (its last applied config), a run holds `<dir>/<slug>.lock` while it works (a killed process leaves it behind, and
 * the next `up` fails with Pulumi's lock conflict until `clearStaleLock`), and every operation is appended to
 * `<dir>/journal.log` so a test can see what happened across processes.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { systemClock } from "../../controller/clock";
import {
  type RunOptions,
  type StackConfig,
  StackRunError,
  type StackRunner,
  type UpResult,
} from "../../controller/stacks/stack-runner";
import { decodeSiteConfig, recordsForSite } from "../../stacks/site-config";

export interface JournalEntry {
  pid: number;
  op: "up-start" | "up-done" | "up-locked" | "clear-lock" | "destroy";
  slug: string;
  enabled?: boolean;
}

export class FileStackRunner implements StackRunner {
  constructor(
    readonly dir: string,
    /** How long an `up` takes (ms), in steps so progress shows. */
    private readonly delayMs = 0,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  async up(slug: string, config: StackConfig, options: RunOptions = {}): Promise<UpResult> {
    const lock = this.lockFile(slug);
    if (existsSync(lock)) {
      this.log({ op: "up-locked", slug });
      throw new StackRunError(`stack ${slug}: ConcurrentUpdateError: the stack is currently locked by 1 lock(s)`, true);
    }
    const plain = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));
    const input = decodeSiteConfig(plain);
    writeFileSync(lock, String(process.pid));
    this.log({ op: "up-start", slug, enabled: input.enabled });
    const records = recordsForSite(input);
    const total = Math.max(1, records.length);
    for (let done = 1; done <= total; done++) {
      await systemClock.sleep(this.delayMs / total, options.signal);
      options.onProgress?.({ done, total });
    }
    writeFileSync(this.stackFile(slug), JSON.stringify(config));
    rmSync(lock, { force: true });
    this.log({ op: "up-done", slug, enabled: input.enabled });
    return { outputs: { provider: input.dnsProvider, records } };
  }

  async clearStaleLock(slug: string): Promise<void> {
    if (existsSync(this.lockFile(slug))) this.log({ op: "clear-lock", slug });
    rmSync(this.lockFile(slug), { force: true });
  }

  async destroy(slug: string): Promise<void> {
    rmSync(this.stackFile(slug), { force: true });
    this.log({ op: "destroy", slug });
  }

  // ---- for tests ----

  /** The stack's last applied config, or undefined. */
  config(slug: string): StackConfig | undefined {
    const file = this.stackFile(slug);
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as StackConfig) : undefined;
  }

  enabled(slug: string): boolean | undefined {
    const config = this.config(slug);
    return config ? config["mail-sites:enabled"]?.value === "true" : undefined;
  }

  locked(slug: string): boolean {
    return existsSync(this.lockFile(slug));
  }

  journal(): JournalEntry[] {
    const file = path.join(this.dir, "journal.log");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JournalEntry);
  }

  private log(entry: Omit<JournalEntry, "pid">): void {
    appendFileSync(path.join(this.dir, "journal.log"), `${JSON.stringify({ pid: process.pid, ...entry })}\n`);
  }

  private lockFile(slug: string): string {
    return path.join(this.dir, `${slug}.lock`);
  }

  private stackFile(slug: string): string {
    return path.join(this.dir, `${slug}.json`);
  }
}
