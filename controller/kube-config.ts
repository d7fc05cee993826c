/**
 * Where `npm start` finds the Kubernetes API, checked before the client library is asked. `loadFromDefault()`
 * silently falls back to `http://localhost:8080` when there is no configuration at all, and every call then fails
 * with "HTTP protocol is not allowed when skipTLSVerify is not set or false", which never says what is missing.
 */
import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Why there is no Kubernetes configuration to load, or `undefined` when there is one. */
export function missingKubeConfig(
  env: NodeJS.ProcessEnv,
  exists: (file: string) => boolean = existsSync,
  home: string = os.homedir(),
): string | undefined {
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return undefined; // in a cluster
  const listed = (env.KUBECONFIG ?? "").split(path.delimiter).filter((f) => f !== "");
  if (listed.length > 0) {
    if (listed.some((f) => exists(f))) return undefined;
    return `KUBECONFIG names ${listed.join(", ")}, but no such file exists`;
  }
  const fallback = path.join(home, ".kube", "config");
  if (exists(fallback)) return undefined;
  return (
    `no Kubernetes configuration: KUBECONFIG is not set, ${fallback} does not exist, and this is not a pod ` +
    "(no KUBERNETES_SERVICE_HOST); point KUBECONFIG at a cluster's kubeconfig, or try `npm run sandbox` without one"
  );
}
