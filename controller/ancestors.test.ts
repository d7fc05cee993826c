import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { waitUntil } from "../test/support/wait";
import { ancestorsOf, procParentOf } from "./ancestors";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("ancestorsOf", () => {
  it("walks the parent chain up to init", () => {
    const parents: Record<number, number> = { 40: 30, 30: 20, 20: 1 };
    expect(ancestorsOf(40, (pid) => parents[pid])).toEqual([30, 20]);
  });

  it.skipIf(process.platform !== "linux")("reads this process's real parent from /proc", () => {
    expect(procParentOf(process.pid)).toBe(process.ppid);
  });
});

describe.skipIf(process.platform !== "linux")("whenAncestorsGone", () => {
  it("ends a grandchild when the process that started the chain is killed, as npm is", async () => {
    // starter (killed) → middle (like tsx, stays) → worker (like the sandbox's node): the worker must end.
    const workerScript = `
      const { whenAncestorsGone } = require(${JSON.stringify(require.resolve("./ancestors.ts"))});
      whenAncestorsGone(() => process.exit(0), { intervalMs: 50 });
      setInterval(() => {}, 1000);
      console.log(process.pid);
    `;
    const middleScript = `
      const { spawn } = require("node:child_process");
      const worker = spawn(process.execPath, ["--import", "tsx", "-e", ${JSON.stringify(workerScript)}], { stdio: ["ignore", "inherit", "inherit"] });
      setInterval(() => {}, 1000);
    `;
    const starterScript = `
      const { spawn } = require("node:child_process");
      spawn(process.execPath, ["-e", ${JSON.stringify(middleScript)}], { stdio: ["ignore", "inherit", "inherit"] });
      setInterval(() => {}, 1000);
    `;
    const starter = spawn(process.execPath, ["-e", starterScript], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    starter.stdout.on("data", (chunk) => {
      out += String(chunk);
    });
    await waitUntil("the worker reports its pid", () => /\d+/.test(out), 20_000);
    const worker = Number(out.trim().split("\n")[0]);
    expect(alive(worker)).toBe(true);
    const middle = procParentOf(worker);
    starter.kill("SIGKILL");
    await waitUntil("the worker has ended", () => !alive(worker), 10_000);
    // The middle process stands in for tsx, which ends when its child does; this one does not, so end it here.
    if (middle && middle > 1 && alive(middle)) process.kill(middle, "SIGKILL");
  });
});
