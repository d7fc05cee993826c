/**
 * A Kubernetes control plane without nodes on loopback: etcd and kube-apiserver from the lab's binaries, on free
 * ports, in a temp dir, with a service-account signing key (so the TokenRequest API works), RBAC authorization and
 * the default admission plugins (ValidatingAdmissionPolicy among them). The admin is a static token in
 * system:masters; everything else authenticates as it would on k3s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { type ApiClient, apiClient } from "./kube-http";
import { binaryPath, spec } from "./versions";

export interface LabCluster {
  readonly url: string;
  readonly adminToken: string;
  /** A kubeconfig file for the admin (insecure-skip-tls-verify: the serving cert is self-signed). */
  readonly kubeconfigPath: string;
  readonly dir: string;
  readonly api: ApiClient;
  kubeConfig(token?: string): KubeConfig;
  /** Writes a kubeconfig file for another bearer token (e.g. a ServiceAccount's). */
  writeKubeconfig(name: string, token: string): string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function kubeconfigYaml(url: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: lab",
    "  cluster:",
    `    server: ${url}`,
    "    insecure-skip-tls-verify: true",
    "users:",
    "- name: lab",
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: lab",
    "  context: {cluster: lab, user: lab}",
    "current-context: lab",
    "",
  ].join("\n");
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  tail: () => string,
  dead: () => string | undefined = () => undefined,
) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const gone = dead();
    if (gone) throw new Error(`${what}: ${gone} exited\n--- log tail ---\n${tail()}`);
    try {
      if (await check()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} not ready within ${timeoutMs / 1000}s (${last})\n--- log tail ---\n${tail()}`);
}

export async function startCluster(options: { readyTimeoutMs?: number } = {}): Promise<LabCluster> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const dir = mkdtempSync(join(tmpdir(), "mail-zone-lab-cluster-"));
  const logPath = join(dir, "cluster.log");
  const log = createWriteStream(logPath);
  const procs: ChildProcess[] = [];
  const tail = (n = 40) => {
    try {
      return readFileSync(logPath, "utf8").split("\n").slice(-n).join("\n");
    } catch {
      return "";
    }
  };
  const launch = (name: string, bin: string, args: string[]) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], detached: false });
    child.stdout?.on("data", (d: Buffer) => log.write(`[${name}] ${d}`));
    child.stderr?.on("data", (d: Buffer) => log.write(`[${name}] ${d}`));
    child.on("exit", (code, signal) => log.write(`[${name}] exited code=${code} signal=${signal}\n`));
    procs.push(child);
    return child;
  };
  const stop = async () => {
    for (const p of [...procs].reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGTERM");
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            p.kill("SIGKILL");
            resolve();
          }, 10_000);
          p.once("exit", () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    }
    log.end();
    if (!process.env.MAIL_ZONE_LAB_KEEP) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    launch("etcd", binaryPath(spec("etcd")), [
      "--name=lab",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=lab=http://127.0.0.1:${etcdPeer}`,
      // A throwaway store: durability buys nothing here and fsync is slow on a shared disk.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);

    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
    writeFileSync(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
    const adminToken = randomBytes(24).toString("hex");
    writeFileSync(join(dir, "tokens.csv"), `${adminToken},lab-admin,lab-admin,"system:masters"\n`, { mode: 0o600 });
    mkdirSync(join(dir, "certs"));

    launch("kube-apiserver", binaryPath(spec("kube-apiserver")), [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      // No nodes, no Service endpoints to reconcile; and a loopback address may not be the `kubernetes` endpoint.
      "--endpoint-reconciler-type=none",
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, "certs")}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--api-audiences=https://kubernetes.default.svc.cluster.local",
      // Never routed anywhere: the API server only allocates ClusterIPs from it.
      "--service-cluster-ip-range=10.43.0.0/16",
      "--allow-privileged=true",
      "--enable-admission-plugins=ValidatingAdmissionPolicy",
      "--runtime-config=admissionregistration.k8s.io/v1=true",
      "--profiling=false",
      "--v=0",
    ]);
    const url = `https://127.0.0.1:${apiPort}`;
    const api = apiClient(url, adminToken);
    await waitFor(
      "kube-apiserver /readyz",
      readyTimeoutMs,
      async () => (await api.request("GET", "/readyz")).status === 200,
      tail,
      () => procs.find((p) => p.exitCode !== null || p.signalCode !== null)?.spawnfile,
    );
    // The default namespace and RBAC bootstrap roles appear shortly after readyz.
    await waitFor(
      "namespace default",
      60_000,
      async () => (await api.request("GET", "/api/v1/namespaces/default")).status === 200,
      tail,
    );
    return clusterAccess(url, adminToken, dir, api, tail, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * An existing cluster instead of the lab's own (the GitHub Actions job on k3s): `MAIL_ZONE_REAL_SERVER` and
 * `MAIL_ZONE_REAL_TOKEN` (a cluster-admin bearer token). Its own controllers run, so no simulator is needed.
 */
export function externalCluster(env: NodeJS.ProcessEnv = process.env): LabCluster | undefined {
  const url = env.MAIL_ZONE_REAL_SERVER;
  const adminToken = env.MAIL_ZONE_REAL_TOKEN;
  if (!url || !adminToken) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "mail-zone-lab-external-"));
  return clusterAccess(
    url,
    adminToken,
    dir,
    apiClient(url, adminToken),
    () => "(an external cluster: no lab log)",
    async () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** The admin's kubeconfig file in `dir`, and the ways to reach the cluster as the admin or another token. */
function clusterAccess(
  url: string,
  adminToken: string,
  dir: string,
  api: ApiClient,
  logTail: (lines?: number) => string,
  stop: () => Promise<void>,
): LabCluster {
  const kubeconfigPath = join(dir, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeconfigYaml(url, adminToken), { mode: 0o600 });
  return {
    url,
    adminToken,
    kubeconfigPath,
    dir,
    api,
    kubeConfig(token = adminToken) {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfigYaml(url, token));
      return kc;
    },
    writeKubeconfig(name, token) {
      const p = join(dir, `kubeconfig-${name}`);
      writeFileSync(p, kubeconfigYaml(url, token), { mode: 0o600 });
      return p;
    },
    logTail,
    stop,
  };
}
