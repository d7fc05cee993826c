/**
 * The controller as its own process, built by `buildController` from the real modules and wired by environment
 * variables to doubles that live in the parent (the SIGKILL fault test, the HTTP and memory benchmarks):
 *
 *   CHILD_K8S_URL, CHILD_MAILCOW_URL, CHILD_MAILCOW_KEY   the doubles (loopback)
 *   CHILD_TOKENS        comma-separated bearer tokens (default TEST_TOKENS)
 *   CHILD_RUNNER        file (stacks in CHILD_STACK_DIR) | scripted | held (every run waits forever); default scripted
 *   CHILD_RUNNER_MS     how long a stack run takes (default 0)
 *   CHILD_MAX_PARALLEL  parallel runs (default 4)
 *   CHILD_BARE          1: also serve, on a port of their own, the HTTP benchmark's two reference routes: `POST /bare`
 *                       answering 202 `{}` (its baseline) and `POST /floor`, which parses the JSON body with
 *                       `express.json` and answers 202 with the answer the `floor <json>` command set (what any route
 *                       answering the enable's request with the enable's answer must do)
 *   CHILD_LOG           a pino level to log to stderr (default silent)
 *
 * It starts as `npm start` does (listen, then re-queue unsettled sites) and prints one JSON line per event on stdout
 * (`listening` with the ports, then `started`)
 * and answers commands on stdin: `memory` (after a full GC), `idle`, `floor <json>`, `shutdown`.
 */
import type { AddressInfo } from "node:net";
import * as readline from "node:readline";
import express from "express";
import pino from "pino";
import { createHttpServer } from "../../controller/http/server";
import type { Settings } from "../../controller/settings";
import type { StackRunner } from "../../controller/stacks/stack-runner";
import { ScriptedRunner } from "../doubles/stack-runner/scripted-runner";
import { buildController, TEST_TOKENS } from "./controller-world";
import { FileStackRunner } from "./file-stack-runner";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`controller-child: ${name} is required`);
  return value;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function listen(app: express.Express): Promise<number> {
  return new Promise((resolve) => {
    // Served as the controller is (`createHttpServer`), so the baseline differs from it only by the handler.
    const server = createHttpServer(app).listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  const runnerMs = Number(process.env.CHILD_RUNNER_MS ?? "0");
  const kind = process.env.CHILD_RUNNER ?? "scripted";
  let runner: StackRunner;
  if (kind === "file") runner = new FileStackRunner(required("CHILD_STACK_DIR"), runnerMs);
  else {
    const scripted = new ScriptedRunner({ delayMs: runnerMs });
    if (kind === "held") scripted.hold();
    runner = scripted;
  }
  const controller = buildController({
    kubernetesUrl: required("CHILD_K8S_URL"),
    mailcowUrl: required("CHILD_MAILCOW_URL"),
    mailcowApiKey: required("CHILD_MAILCOW_KEY"),
    tokens: process.env.CHILD_TOKENS ? process.env.CHILD_TOKENS.split(",") : TEST_TOKENS,
    runner,
    maxParallelRuns: Number(process.env.CHILD_MAX_PARALLEL ?? "4"),
    retry: { baseMs: 50, capMs: 500, maxAttempts: 6 },
    logLevel: (process.env.CHILD_LOG ?? "silent") as Settings["logLevel"],
    logDestination: pino.destination(2),
  });
  let barePort: number | undefined;
  let floorAnswer: unknown = {};
  if (process.env.CHILD_BARE === "1") {
    const bare = express();
    // As the controller's app is set (controller/http/app.ts), so neither reference route does work it does not.
    bare.disable("x-powered-by");
    bare.set("etag", false);
    bare.post("/bare", (_req, res) => {
      res.status(202).json({});
    });
    bare.post("/floor", express.json({ strict: true, type: "application/json" }), (_req, res) => {
      res.status(202).json(floorAnswer);
    });
    barePort = await listen(bare);
  }
  // As `npm start`: listen, then queue the sites a previous process left unsettled.
  const { url } = await controller.start();
  emit({ event: "listening", pid: process.pid, port: Number(new URL(url).port), barePort });
  emit({ event: "started" });

  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    void (async () => {
      const command = line.trim();
      if (command.startsWith("floor ")) {
        try {
          floorAnswer = JSON.parse(command.slice("floor ".length));
          emit({ event: "floor" });
        } catch (err) {
          emit({ event: "floor-refused", error: String(err) });
        }
      } else if (command === "memory") {
        const gc = (globalThis as { gc?: () => void }).gc;
        for (let i = 0; i < 3; i++) {
          gc?.();
          await new Promise((r) => setTimeout(r, 50));
        }
        const m = process.memoryUsage();
        emit({
          event: "memory",
          gc: gc !== undefined,
          rss: m.rss,
          heapUsed: m.heapUsed,
          heapTotal: m.heapTotal,
          external: m.external,
          queueDepth: controller.reconciler.queueDepth(),
          running: controller.reconciler.runningCount(),
        });
      } else if (command === "idle") {
        await controller.reconciler.idle();
        emit({ event: "idle" });
      } else if (command === "shutdown") {
        await controller.shutdown();
        emit({ event: "stopped" });
        process.exit(0);
      }
    })();
  });
  // The parent going away ends the child (no orphans if a test fails).
  lines.on("close", () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`controller-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
