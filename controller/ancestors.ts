/**
 * Ends a long-running dev process (the sandbox) with whatever started it. `npm run sandbox` runs npm → sh → tsx →
 * node; stopping npm by its pid (an IDE's stop button, `kill <npm pid>`) does not reach tsx or node, which then keep
 * the port. The process notes its ancestors at start and stops once any of them is gone (on Linux through /proc,
 * elsewhere through its own parent pid).
 */
import { readFileSync } from "node:fs";

/** The parent pid of `pid` from /proc (`undefined` when unreadable: not Linux, or the process is gone). */
export type ParentOf = (pid: number) => number | undefined;

export const procParentOf: ParentOf = (pid) => {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
};

/** The chain of ancestors of `pid`, nearest first, up to (not including) init. */
export function ancestorsOf(pid: number, parentOf: ParentOf, max = 32): number[] {
  const chain: number[] = [];
  let current = parentOf(pid);
  while (current !== undefined && current > 1 && chain.length < max) {
    chain.push(current);
    current = parentOf(current);
  }
  return chain;
}

export interface AncestorWatch {
  stop(): void;
}

/** Calls `onGone` once when an ancestor present at start has exited (checked every `intervalMs`). */
export function whenAncestorsGone(
  onGone: (pid: number) => void,
  options: { intervalMs?: number; parentOf?: ParentOf; pid?: number; alive?: (pid: number) => boolean } = {},
): AncestorWatch {
  const pid = options.pid ?? process.pid;
  const parentOf = options.parentOf ?? procParentOf;
  const alive =
    options.alive ??
    ((p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
      }
    });
  const chain = ancestorsOf(pid, parentOf);
  const watched = chain.length > 0 ? chain : [process.ppid];
  const startParent = process.ppid;
  const timer = setInterval(() => {
    // A re-parented process lost its parent even where pids are reused quickly.
    const gone = process.ppid !== startParent && pid === process.pid ? startParent : watched.find((p) => !alive(p));
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, options.intervalMs ?? 500);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
