/**
 * `npm run test:real`: builds the lab's missing binaries (a cold build takes long, a cached one a second), then runs
 * the real suite (vitest.real.config.mts). Exits non-zero if a required binary cannot be built or a test fails.
 * Arguments after `--` go to vitest (e.g. `npm run test:real -- test/real/controller.test.ts`).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { buildMissing } from "./build";
import { type BinaryName, spec } from "./versions";

async function main(): Promise<void> {
  const started = Date.now();
  const outcome = await buildMissing();
  const buildSeconds = Math.round((Date.now() - started) / 1000);
  console.log(
    `[test:real] binaries: ${outcome.built.length} built, ${outcome.cached.length} cached, ${outcome.failed.length} not built (${buildSeconds}s)`,
  );
  for (const f of outcome.failed) {
    const note = spec(f.name as BinaryName).note;
    console.log(
      `[test:real]   ${f.required ? "REQUIRED" : `optional (${note ?? "the tests that need it skip"})`} ${f.reason}`,
    );
  }
  if (outcome.failed.some((f) => f.required)) {
    console.log("[test:real] a required binary could not be built: the real suite cannot run");
    process.exit(1);
  }
  const vitest = join(__dirname, "..", "node_modules", "vitest", "vitest.mjs");
  const res = spawnSync(process.execPath, [vitest, "run", "-c", "vitest.real.config.mts", ...process.argv.slice(2)], {
    cwd: join(__dirname, ".."),
    stdio: "inherit",
  });
  process.exit(res.status ?? 1);
}

void main();
