/**
 * `npm run bench -- --real`: the controller's real runner (Automation API, the lab's Pulumi CLI and Kubernetes
 * provider, the lab's API server; Mailcow stays the double). Measures:
 *   - enable → ready for one site through the controller process (p50, p95 over `sites` sites, one at a time);
 *   - the runner's cost per run (AutomationRunner.up: select/create, config get/set/remove, up) against the engine
 *     alone (`stack.up()` on a stack already selected and configured): ratio, target ≤ 1.2;
 *   - CLI invocations per run, counted by a logging `pulumi` shim first on PATH, and which are avoidable;
 *   - 40 sites at 8 parallel runs against the ideal (ceil(40/8) × one run's time).
 * The baseline is not a bare `pulumi up` from the CLI: that needs the Node.js language host, which the Go module
 * proxy does not serve (README, "The real suite"); an inline program's `up` is the same engine run minus the runner.
 */
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { loadSettings } from "../../controller/settings";
import { AutomationRunner } from "../../controller/stacks/automation-runner";
import { siteDnsDefaults, siteStackConfigFor } from "../../controller/stacks/site-stack-config";
import { labPathVar, missingBinaries, pulumiLabEnv } from "../../lab/pulumi-env";
import { binaryPath, spec } from "../../lab/versions";
import { SITE_PROJECT } from "../../stacks/site-config";
import { siteProgram } from "../../stacks/site-program";
import { startMailcowDouble } from "../../test/doubles/mailcow-api";
import {
  CONTROLLER_BINARIES,
  controllerApi,
  createTenant,
  ensureNamespace,
  PREFIX,
  startLab,
  startRealController,
  WEB_TLS_NAMESPACE,
} from "../../test/real/support/lab-world";
import { watchNamespaceUntil } from "../../test/real/support/watch";
import { type BenchReport, formatReport } from "../support";

export interface RealBenchOptions {
  /** Sites enabled one at a time for the enable → ready percentiles. */
  sites: number;
  /** Runner vs engine-only runs (each). */
  runs: number;
  fanOutSites: number;
  parallel: number;
}

export const REAL_DEFAULTS: RealBenchOptions = { sites: 6, runs: 5, fanOutSites: 40, parallel: 8 };
const QUICK: RealBenchOptions = { sites: 2, runs: 2, fanOutSites: 4, parallel: 2 };

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const median = (xs: number[]) => percentile(xs, 50);

/** A `pulumi` that logs its arguments, then runs the lab's CLI: how many invocations a run costs, and which. */
function cliShim(dir: string): { pathVar: string; log: string } {
  const bin = join(dir, "shim");
  mkdirSync(bin, { recursive: true });
  const log = join(dir, "cli.log");
  writeFileSync(log, "");
  writeFileSync(
    join(bin, "pulumi"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${binaryPath(spec("pulumi"))}' "$@"\n`,
  );
  chmodSync(join(bin, "pulumi"), 0o755);
  return { pathVar: [bin, labPathVar()].join(delimiter), log };
}

/** `config set-all --stack x --plaintext k=v` → `config set-all`: the verb, without values. */
export function cliVerb(line: string): string {
  const words = line.split(" ").filter((w) => w && !w.startsWith("-"));
  return words.slice(0, words[0] === "stack" || words[0] === "config" ? 2 : 1).join(" ");
}

export async function benchReal(options: RealBenchOptions): Promise<BenchReport> {
  const lab = await startLab();
  const mailcow = await startMailcowDouble({ hostname: "mail.lab.example", reuseDkimKeys: true });
  const work = mkdtempSync(join(tmpdir(), "mail-zone-bench-real-"));
  const restoreEnv = { ...process.env };
  try {
    await ensureNamespace(lab.cluster, WEB_TLS_NAMESPACE);
    const shim = cliShim(work);

    // 1. Runner vs engine alone, in this process, on one site's stack.
    const { env } = pulumiLabEnv(join(work, "direct"), lab.cluster.kubeconfigPath);
    Object.assign(process.env, env, { PATH: shim.pathVar });
    const settings = loadSettings({
      MAILCOW_API_URL: mailcow.url,
      MAILCOW_API_KEY: mailcow.apiKey,
      MAILCOW_HOSTNAME: "mail.lab.example",
      CONTROLLER_TOKENS: "bench-real-token-0123456789abcdef01234567",
      DNS_PROVIDER: "manual",
      ALLOWED_DOMAIN_SUFFIXES: "example.com,example.net",
      SITE_WEB_TLS_ISSUER: "ClusterIssuer/lab-issuer",
      SITE_WEB_TLS_NAMESPACE: WEB_TLS_NAMESPACE,
      PULUMI_CONFIG_PASSPHRASE: "lab-passphrase",
      PULUMI_BACKEND_URL: env.PULUMI_BACKEND_URL,
    });
    const defaults = siteDnsDefaults(settings);
    const dataDir = join(work, "direct");
    const runner = new AutomationRunner({
      dataDir,
      backendUrl: env.PULUMI_BACKEND_URL as string,
      passphrase: "lab-passphrase",
    });
    const slug = "benchsite";
    // An enabled site's stack carries its DKIM record; Mailcow's get/dkim would answer with one like this.
    const dkimKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({
      type: "spki",
      format: "der",
    });
    const config = siteStackConfigFor(
      {
        slug,
        domain: "benchsite.example.com",
        enabled: true,
        dkim: { selector: "dkim", txt: `v=DKIM1;k=rsa;t=s;s=email;p=${dkimKey.toString("base64")}` },
      },
      defaults,
    );
    await runner.up(slug, config); // the first run creates the stack and its objects; not measured
    const runnerMs: number[] = [];
    const engineMs: number[] = [];
    let invocations: string[] = [];
    const ws = runner.workspaceOptions(slug);
    const stack = await LocalWorkspace.selectStack(
      { projectName: SITE_PROJECT, stackName: slug, program: siteProgram },
      ws,
    );
    for (let i = 0; i < options.runs; i++) {
      writeFileSync(shim.log, "");
      let t = performance.now();
      await runner.up(slug, config);
      runnerMs.push(performance.now() - t);
      if (i === 0) invocations = readFileSync(shim.log, "utf8").trim().split("\n").filter(Boolean);
      t = performance.now();
      await stack.up();
      engineMs.push(performance.now() - t);
    }

    // 2. enable → ready through the controller process, then 3. the fan-out.
    Object.assign(process.env, restoreEnv);
    const controller = await startRealController({
      mailcowUrl: mailcow.url,
      mailcowKey: mailcow.apiKey,
      kubeconfigPath: lab.cluster.kubeconfigPath,
      env: { MAX_PARALLEL_RUNS: String(options.parallel), LOG_LEVEL: "warn" },
    });
    const api = controllerApi(controller);
    const ready = async (s: string) =>
      watchNamespaceUntil(
        lab.cluster.kubeConfig(),
        `tenant-${s}`,
        `${s} ready`,
        (a) => a[`${PREFIX}/mail-status`] === "ready",
        900_000,
      );
    const enableMs: number[] = [];
    try {
      for (let i = 0; i < options.sites; i++) {
        const s = `one${i}`;
        await createTenant(lab.cluster, s, `${s}.example.com`);
        const t = performance.now();
        await api.post(`/sites/${s}/mail/enable`);
        await ready(s);
        enableMs.push(performance.now() - t);
      }
      const fan = Array.from({ length: options.fanOutSites }, (_, i) => `fan${i}`);
      for (const s of fan) await createTenant(lab.cluster, s, `${s}.example.net`);
      const t = performance.now();
      await Promise.all(fan.map((s) => api.post(`/sites/${s}/mail/enable`)));
      await Promise.all(fan.map(ready));
      const fanMs = performance.now() - t;
      const ideal = Math.ceil(options.fanOutSites / options.parallel) * median(enableMs);
      const avoidable = invocations.filter((l) => /^(version|stack select|config get|whoami|about)/.test(l));
      const verbs = invocations.map(cliVerb);
      return {
        name: "real-runner",
        summary: `the real runner (Pulumi ${spec("pulumi").version}, kubernetes provider ${spec("pulumi-resource-kubernetes").version}, kube-apiserver ${spec("kube-apiserver").version}) on loopback`,
        checks: [
          {
            label: "runner cost per run / engine alone (median)",
            value: median(runnerMs) / median(engineMs),
            target: 1.2,
            op: "<=",
          },
          {
            label: `${options.fanOutSites} sites at ${options.parallel} parallel / ideal`,
            value: fanMs / ideal,
            target: 1.5,
            op: "<=",
          },
        ],
        details: {
          enable_ready_p50_ms: Math.round(median(enableMs)),
          enable_ready_p95_ms: Math.round(percentile(enableMs, 95)),
          runner_run_median_ms: Math.round(median(runnerMs)),
          engine_run_median_ms: Math.round(median(engineMs)),
          cli_invocations_per_run: invocations.length,
          cli_invocations: verbs.join(" | "),
          cli_avoidable: avoidable.map(cliVerb).join(" | ") || "none",
          fan_out_ms: Math.round(fanMs),
          fan_out_ideal_ms: Math.round(ideal),
        },
      };
    } finally {
      await controller.kill("SIGTERM");
      rmSync(controller.dataDir, { recursive: true, force: true });
    }
  } finally {
    Object.assign(process.env, restoreEnv);
    await mailcow.close();
    await lab.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function runRealBench(args: string[]): Promise<void> {
  const missing = missingBinaries(CONTROLLER_BINARIES);
  if (missing.length) {
    throw new Error(`the lab's binaries are missing (${missing.join(", ")}): run \`npm run lab:build\` first`);
  }
  const quick = args.includes("--quick");
  console.log(`mail-zone real-engine benchmark${quick ? " (quick: sizes too small to mean anything)" : ""}`);
  const report = await benchReal(quick ? QUICK : REAL_DEFAULTS);
  console.log(formatReport(report));
}
