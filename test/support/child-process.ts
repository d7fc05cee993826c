/**
 * Starting and talking to `controller-child.ts` from a test or a benchmark: spawn it under tsx, wait for its events
 * with a deadline, send commands, kill it. Every wait is bounded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";

const ROOT = path.resolve(__dirname, "../..");
const ENTRY = path.join(__dirname, "controller-child.ts");

export interface ChildEvent {
  event: string;
  [key: string]: unknown;
}

export interface ControllerChild {
  process: ChildProcess;
  pid: number;
  /** Every event printed so far. */
  events: ChildEvent[];
  /** Its stderr so far (logs, crashes). */
  stderr(): string;
  /** Waits for the next event of that name not yet consumed (or one already seen, once). */
  next(name: string, timeoutMs?: number): Promise<ChildEvent>;
  send(command: string): void;
  /** SIGKILL and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<number | null>;
}

export function spawnController(env: Record<string, string>, nodeArgs: string[] = []): ControllerChild {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", ENTRY], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const events: ChildEvent[] = [];
  const consumed = new Set<ChildEvent>();
  const waiters: Array<{ name: string; resolve: (e: ChildEvent) => void }> = [];
  let errText = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errText += chunk.toString("utf8");
    if (errText.length > 200_000) errText = errText.slice(-100_000);
  });
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    let event: ChildEvent;
    try {
      event = JSON.parse(line) as ChildEvent;
    } catch {
      return;
    }
    events.push(event);
    const i = waiters.findIndex((w) => w.name === event.event);
    if (i >= 0) {
      consumed.add(event);
      waiters.splice(i, 1)[0].resolve(event);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    process: child,
    pid: child.pid ?? -1,
    events,
    stderr: () => errText,
    next: (name, timeoutMs = 30_000) => {
      const seen = events.find((e) => e.event === name && !consumed.has(e));
      if (seen) {
        consumed.add(seen);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const waiter = { name, resolve };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(`controller child: no "${name}" event within ${timeoutMs} ms; stderr:\n${errText.slice(-2000)}`),
          );
        }, timeoutMs);
        waiter.resolve = (e) => {
          clearTimeout(timer);
          resolve(e);
        };
        waiters.push(waiter);
        void exited.then((code) => {
          if (waiters.includes(waiter)) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(new Error(`controller child exited (${code}) before "${name}"; stderr:\n${errText.slice(-2000)}`));
          }
        });
      });
    },
    send: (command) => {
      child.stdin?.write(`${command}\n`);
    },
    kill: async (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    exited,
  };
}
