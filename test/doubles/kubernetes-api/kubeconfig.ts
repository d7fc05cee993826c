import { KubeConfig } from "@kubernetes/client-node";

/** A KubeConfig pointing the real client at a loopback API double (plain HTTP, a bearer token). */
export function kubeConfigFor(url: string, token = "double-token"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "double", server: url, skipTLSVerify: true }],
    users: [{ name: "double", token }],
    contexts: [{ name: "double", cluster: "double", user: "double" }],
    currentContext: "double",
  });
  return kc;
}
