/**
 * The environment a real Pulumi run gets in the lab: the lab's CLI and plugins first on PATH (plugin acquisition
 * off, so nothing is downloaded and a missing plugin fails at once), a `file://` backend and PULUMI_HOME in a temp
 * dir, no update check, and the lab's kubeconfig.
 */
import { existsSync, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { BINARIES, type BinaryName, binaryDir, binaryPath, spec } from "./versions";

export function labPathVar(base = process.env.PATH ?? ""): string {
  return [...BINARIES.map((b) => binaryDir(b)), base].join(delimiter);
}

export function missingBinaries(names: readonly BinaryName[]): string[] {
  return names.filter((n) => !existsSync(binaryPath(spec(n)))).map((n) => `${n} ${spec(n).version}`);
}

export interface PulumiLabEnv {
  env: NodeJS.ProcessEnv;
  backendUrl: string;
  pulumiHome: string;
}

export function pulumiLabEnv(dir: string, kubeconfigPath: string, passphrase = "lab-passphrase"): PulumiLabEnv {
  const backend = join(dir, "backend");
  const pulumiHome = join(dir, "pulumi-home");
  mkdirSync(backend, { recursive: true });
  mkdirSync(pulumiHome, { recursive: true });
  const backendUrl = `file://${backend}`;
  return {
    backendUrl,
    pulumiHome,
    env: {
      ...process.env,
      PATH: labPathVar(),
      PULUMI_HOME: pulumiHome,
      PULUMI_BACKEND_URL: backendUrl,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "false",
      KUBECONFIG: kubeconfigPath,
      // Loopback only: no proxy may route the lab's traffic elsewhere.
      NO_PROXY: "127.0.0.1,localhost",
    },
  };
}
