/**
 * The real suite's world: the lab's control plane (etcd + kube-apiserver, CRDs installed, the simulator playing the
 * missing controllers), the Mailcow double, and the controller started as `npm start` starts it, in its own process,
 * with STACK_RUNNER=automation and the lab's Pulumi CLI and plugins on PATH.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { externalCluster, freePort, type LabCluster, startCluster } from "../../../lab/cluster";
import { CRD_DIR, installCrds } from "../../../lab/crds";
import { missingBinaries, pulumiLabEnv } from "../../../lab/pulumi-env";
import { type Simulator, startSimulator } from "../../../lab/simulator";
import type { BinaryName } from "../../../lab/versions";

export const REPO_ROOT = resolve(__dirname, "../../..");
export const PREFIX = "voxeil.io";
export const WEB_TLS_NAMESPACE = "mail-zone";

/** The binaries a suite needs; the reason it cannot run when one is missing (printed by the skip). */
export function labUnavailable(names: readonly BinaryName[]): string | undefined {
  // The lab installs the upstream CRDs (Traefik, cert-manager, HelmChartConfig) from ../shared, never from a copy.
  if (!existsSync(CRD_DIR)) return `the upstream CRDs are not at ${CRD_DIR} (../shared beside the repository)`;
  const missing = missingBinaries(names);
  return missing.length
    ? `lab binaries missing (${missing.join(", ")}): run \`npx tsx lab/build.ts\` (see README, "The real suite")`
    : undefined;
}

/** On an external cluster (MAIL_ZONE_REAL_SERVER) the lab's own control plane is not needed. */
const CONTROL_PLANE: readonly BinaryName[] = process.env.MAIL_ZONE_REAL_SERVER ? [] : ["kube-apiserver", "etcd"];
export const CONTROLLER_BINARIES: readonly BinaryName[] = ["pulumi", "pulumi-resource-kubernetes", ...CONTROL_PLANE];
export const ZONE_BINARIES: readonly BinaryName[] = [...CONTROLLER_BINARIES, "pulumi-resource-random"];

export interface Lab {
  cluster: LabCluster;
  simulator: Simulator;
  stop(): Promise<void>;
}

export async function startLab(): Promise<Lab> {
  const external = externalCluster();
  if (external) {
    // A real cluster's CRDs may already be there (k3s ships Traefik's and HelmChartConfig); 409s are fine.
    await installCrds(external.api);
    return {
      cluster: external,
      simulator: { errors: [], tick: async () => {}, stop: async () => {} },
      stop: () => external.stop(),
    };
  }
  const cluster = await startCluster();
  try {
    await installCrds(cluster.api);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const simulator = startSimulator(cluster.api);
  return {
    cluster,
    simulator,
    async stop() {
      await simulator.stop();
      await cluster.stop();
    },
  };
}

/** A tenant namespace as Voxeil's seed writes it: labelled with the slug, the domain in an annotation. */
export async function createTenant(cluster: LabCluster, slug: string, domain: string): Promise<void> {
  const res = await cluster.api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: `tenant-${slug}`,
      labels: { [`${PREFIX}/tenant`]: "true", [`${PREFIX}/tenant-slug`]: slug },
      annotations: { [`${PREFIX}/domain`]: domain },
    },
  });
  if (res.status !== 201) throw new Error(`creating tenant-${slug}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
}

export async function ensureNamespace(cluster: LabCluster, name: string): Promise<void> {
  const res = await cluster.api.request("POST", "/api/v1/namespaces", { metadata: { name } });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating ${name}: HTTP ${res.status}`);
}

export interface RealController {
  url: string;
  token: string;
  child: ChildProcess;
  dataDir: string;
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface ControllerOptions {
  mailcowUrl: string;
  mailcowKey: string;
  kubeconfigPath: string;
  /** Reuse a data dir (and so the Pulumi backend and workspaces) across a restart. */
  dataDir?: string;
  token?: string;
  env?: Record<string, string>;
}

/** Starts `tsx controller/main.ts` (what `npm start` runs) and waits until /healthz answers. */
export async function startRealController(options: ControllerOptions): Promise<RealController> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "mail-zone-real-controller-"));
  const token = options.token ?? randomBytes(24).toString("hex");
  const port = await freePort();
  const { env: labEnv, backendUrl } = pulumiLabEnv(dataDir, options.kubeconfigPath);
  const env: NodeJS.ProcessEnv = {
    ...labEnv,
    MAILCOW_API_URL: options.mailcowUrl,
    MAILCOW_API_KEY: options.mailcowKey,
    MAILCOW_HOSTNAME: "mail.lab.example",
    CONTROLLER_TOKENS: token,
    STACK_RUNNER: "automation",
    PULUMI_BACKEND_URL: backendUrl,
    DNS_PROVIDER: "manual",
    ALLOWED_DOMAIN_SUFFIXES: "example.com,example.net,example.org",
    DNS_CHECK: "off",
    SITE_WEB_TLS_ISSUER: "ClusterIssuer/lab-issuer",
    SITE_WEB_TLS_NAMESPACE: WEB_TLS_NAMESPACE,
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: String(port),
    RETRY_BASE_MS: "500",
    RETRY_CAP_MS: "5000",
    RETRY_MAX_ATTEMPTS: "20",
    RESYNC_INTERVAL_SECONDS: "0",
    SHUTDOWN_DEADLINE_SECONDS: "30",
    LOG_LEVEL: process.env.REAL_LOG_LEVEL ?? "info",
    ...options.env,
  };
  const child = spawn(process.execPath, [join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs"), "controller/main.ts"], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a SIGKILL of the group takes the CLI and plugins down with it, as a pod kill does.
    detached: true,
  });
  const pid = child.pid as number;
  const reap = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", reap);
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`controller exited (${child.exitCode}) before listening:\n${out.slice(-4000)}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`controller did not answer /healthz within 120s:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    token,
    child,
    dataDir,
    output: () => out,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) {
        if (signal === "SIGKILL") reap();
        else child.kill(signal);
        await exited;
      }
      // Whatever the controller left running (a CLI, a plugin) goes too.
      reap();
      process.removeListener("exit", reap);
      if (signal === "SIGKILL") killPluginsOf(dataDir);
    },
  };
}

/**
 * Pulumi starts each provider plugin in a process group of its own, so a SIGKILL of the controller's group leaves
 * them running here (in a pod, the container's end takes them). They are found by the PULUMI_HOME under `dataDir`.
 */
export function killPluginsOf(dataDir: string): void {
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return; // no /proc: nothing to look at
  }
  for (const pid of pids) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (environ.includes(`PULUMI_HOME=${join(dataDir, "pulumi-home")}`)) process.kill(Number(pid), "SIGKILL");
    } catch {
      // gone, or not ours to read
    }
  }
}

export function removeDir(dir: string): void {
  if (!process.env.MAIL_ZONE_LAB_KEEP) rmSync(dir, { recursive: true, force: true });
}

export interface Api {
  post(path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

export function controllerApi(c: { url: string; token: string }): Api {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${c.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  return { post: (p, b = {}) => call("POST", p, b), get: (p) => call("GET", p) };
}
