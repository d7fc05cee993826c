import { describe, expect, it } from "vitest";
import { missingKubeConfig } from "./kube-config";

describe("missingKubeConfig", () => {
  const none = () => false;

  it("says there is no kubeconfig when nothing names one and ~/.kube/config is absent", () => {
    const problem = missingKubeConfig({}, none, "/home/dev");
    expect(problem).toMatch(
      /^no Kubernetes configuration: KUBECONFIG is not set, \/home\/dev\/\.kube\/config does not exist/,
    );
    expect(problem).toMatch(/npm run sandbox/);
  });

  it("names the KUBECONFIG files that do not exist", () => {
    expect(missingKubeConfig({ KUBECONFIG: "/tmp/a.yaml" }, none, "/home/dev")).toBe(
      "KUBECONFIG names /tmp/a.yaml, but no such file exists",
    );
  });

  it("accepts an existing KUBECONFIG, the default file, or a pod's service account", () => {
    expect(missingKubeConfig({ KUBECONFIG: "/tmp/a.yaml" }, (f) => f === "/tmp/a.yaml", "/h")).toBeUndefined();
    expect(missingKubeConfig({}, (f) => f === "/h/.kube/config", "/h")).toBeUndefined();
    expect(
      missingKubeConfig({ KUBERNETES_SERVICE_HOST: "10.43.0.1", KUBERNETES_SERVICE_PORT: "443" }, none, "/h"),
    ).toBeUndefined();
  });
});
