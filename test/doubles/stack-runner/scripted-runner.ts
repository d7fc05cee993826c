/**
 * A `StackRunner` double with scripted outcomes: per-call failures and delays, a simulated stale lock, and a record
 * of every call and of the config each stack holds. Successful `up`s answer with records of an enabled site built
 * here, by hand, from the config it was given (never with the production `recordsForSite`, so a test comparing the
 * status with the runner's outputs compares two independent things), and none for a disabled one.
 */

import type { MailDnsRecord } from "../../../components/site-records";
import { abortError, systemClock } from "../../../controller/clock";
import type { RunOptions, StackConfig, StackRunner, UpResult } from "../../../controller/stacks/stack-runner";
import { StackRunError } from "../../../controller/stacks/stack-runner";

/** The records a mail site publishes, written out from RFC 7208/6376/7489 and Mailcow's docs, not from the code. */
export function scriptedRecords(config: StackConfig): MailDnsRecord[] {
  const value = (key: string) => config[`mail-sites:${key}`]?.value ?? "";
  if (value("enabled") !== "true") return [];
  const domain = value("domain");
  const mailHost = value("mailHost");
  const ttl = Number(value("ttl") || "3600");
  const dkim = JSON.parse(value("dkim") || "{}") as { selector?: string; txt?: string };
  const txt = (name: string, content: string, purpose: string): MailDnsRecord => ({
    name,
    type: "TXT",
    content,
    chunks: content.match(/.{1,255}/g) ?? [content],
    ttl,
    purpose,
  });
  const records: MailDnsRecord[] = [
    { name: domain, type: "MX", content: mailHost, priority: 10, ttl, purpose: "mx" },
    txt(domain, "v=spf1 mx -all", "spf"),
  ];
  if (dkim.selector && dkim.txt) records.push(txt(`${dkim.selector}._domainkey.${domain}`, dkim.txt, "dkim"));
  records.push(
    txt(`_dmarc.${domain}`, `v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${domain}`, "dmarc"),
    { name: `autoconfig.${domain}`, type: "CNAME", content: mailHost, ttl, purpose: "autoconfig" },
    { name: `autodiscover.${domain}`, type: "CNAME", content: mailHost, ttl, purpose: "autodiscover" },
    // RFC 6186: submission on 587, IMAP over TLS on 993, at the mail host.
    {
      name: `_submission._tcp.${domain}`,
      type: "SRV",
      content: `0 1 587 ${mailHost}`,
      priority: 0,
      ttl,
      purpose: "srv-submission",
    },
    {
      name: `_imaps._tcp.${domain}`,
      type: "SRV",
      content: `0 1 993 ${mailHost}`,
      priority: 0,
      ttl,
      purpose: "srv-imaps",
    },
  );
  return records;
}

export interface ScriptStep {
  /** Fail this call with this error (after the delay). */
  fail?: Error;
  /** How long the call takes (ms); aborting the signal ends it early with an AbortError. */
  delayMs?: number;
}

export interface RunnerCall {
  op: "up" | "clearStaleLock" | "destroy";
  slug: string;
  config?: StackConfig;
}

export class ScriptedRunner implements StackRunner {
  readonly calls: RunnerCall[] = [];
  /** The config each stack holds after its last successful `up`; deleted by `destroy`. */
  readonly stacks = new Map<string, StackConfig>();
  /** Stacks holding a lock (as a crashed run leaves it): `up` fails with a lock conflict until cleared. */
  readonly locked = new Set<string>();
  private readonly steps: ScriptStep[] = [];
  private active = 0;
  private readonly activeSlugs = new Map<string, number>();
  maxParallel = 0;
  /** True if two calls for one stack ever overlapped. */
  overlapped = false;
  private gate: Promise<void> | null = null;
  private openGate: () => void = () => {};

  constructor(private readonly defaults: ScriptStep = {}) {}

  /** Queues outcomes for the next calls of `up`/`destroy`, in order; later calls use the defaults. */
  script(...steps: ScriptStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  /** Makes every call wait until `release()` (deterministic "a run is in progress" for tests). */
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.gate = null;
    this.openGate();
  }

  ups(slug?: string): RunnerCall[] {
    return this.calls.filter((c) => c.op === "up" && (slug === undefined || c.slug === slug));
  }

  /** Whether the stack's last applied config has mail on. */
  enabled(slug: string): boolean | undefined {
    const config = this.stacks.get(slug);
    return config ? config["mail-sites:enabled"]?.value === "true" : undefined;
  }

  async up(slug: string, config: StackConfig, options: RunOptions = {}): Promise<UpResult> {
    this.calls.push({ op: "up", slug, config });
    return this.perform(slug, options, () => {
      if (this.locked.has(slug)) {
        throw new StackRunError(
          `stack ${slug}: ConcurrentUpdateError: the stack is currently locked by 1 lock(s)`,
          "stack-locked",
        );
      }
      const records = scriptedRecords(config);
      const total = records.length;
      for (let done = 1; done <= total; done++) options.onProgress?.({ done, total });
      this.stacks.set(slug, config);
      return { outputs: { provider: config["mail-sites:dnsProvider"]?.value ?? "manual", records } };
    });
  }

  async clearStaleLock(slug: string): Promise<void> {
    this.calls.push({ op: "clearStaleLock", slug });
    this.locked.delete(slug);
  }

  async destroy(slug: string, options: RunOptions = {}): Promise<void> {
    this.calls.push({ op: "destroy", slug });
    await this.perform(slug, options, () => {
      this.stacks.delete(slug);
    });
  }

  private async perform<T>(slug: string, options: RunOptions, body: () => T): Promise<T> {
    const step = this.steps.shift() ?? this.defaults;
    this.active++;
    this.maxParallel = Math.max(this.maxParallel, this.active);
    const mine = (this.activeSlugs.get(slug) ?? 0) + 1;
    if (mine > 1) this.overlapped = true;
    this.activeSlugs.set(slug, mine);
    try {
      if (this.gate) await this.gate;
      if (step.delayMs) await systemClock.sleep(step.delayMs, options.signal);
      else if (options.signal?.aborted) throw abortError();
      if (step.fail) throw step.fail;
      return body();
    } finally {
      this.active--;
      this.activeSlugs.set(slug, (this.activeSlugs.get(slug) ?? 1) - 1);
    }
  }
}
