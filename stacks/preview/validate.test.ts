import { describe, expect, it } from "vitest";
import { type PlannedResource, wrapSecret } from "./engine";
import { findPlanIssues, PlanValidationError, toKubernetesObject, typeMetaFromToken, validatePlan } from "./validate";

function k8s(type: string, inputs: Record<string, unknown>, name = "res"): PlannedResource {
  return { type, name, custom: true, inputs };
}

const deployment = (container: Record<string, unknown>) =>
  k8s(
    "kubernetes:apps/v1:Deployment",
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "mailcow", namespace: "mail-zone" },
      spec: {
        selector: { matchLabels: { app: "mailcow" } },
        template: { metadata: { labels: { app: "mailcow" } }, spec: { containers: [container] } },
      },
    },
    "mailcow-deployment",
  );

const validContainer = { name: "postfix", image: "ghcr.io/mailcow/postfix:1.80", ports: [{ containerPort: 25 }] };

describe("validatePlan", () => {
  it("accepts valid built-in, Traefik, cert-manager and in-repo CRD objects and returns them", () => {
    const resources = [
      k8s("kubernetes:core/v1:Namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "mail-zone" } }),
      deployment(validContainer),
      k8s("kubernetes:core/v1:Secret", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "s", namespace: "mail-zone" },
        stringData: wrapSecret({ A: "b" }),
      }),
      k8s("kubernetes:traefik.io/v1alpha1:IngressRouteTCP", {
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRouteTCP",
        metadata: { name: "smtp", namespace: "mail-zone" },
        spec: { entryPoints: ["smtp"], routes: [{ match: "HostSNI(`*`)", services: [{ name: "p", port: 10025 }] }] },
      }),
      k8s("kubernetes:cert-manager.io/v1:Certificate", {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: "tls", namespace: "mail-zone" },
        spec: { secretName: "tls", dnsNames: ["mail.example.com"], issuerRef: { name: "le", kind: "ClusterIssuer" } },
      }),
      k8s("kubernetes:helm.cattle.io/v1:HelmChartConfig", {
        apiVersion: "helm.cattle.io/v1",
        kind: "HelmChartConfig",
        metadata: { name: "traefik", namespace: "kube-system" },
        spec: { valuesContent: "ports:\n  smtp:\n    port: 2525\n" },
      }),
      k8s("kubernetes:traefik.io/v1alpha1:ServersTransportTCP", {
        apiVersion: "traefik.io/v1alpha1",
        kind: "ServersTransportTCP",
        metadata: { name: "proxy", namespace: "mail-zone" },
        spec: { proxyProtocol: { version: 2 } },
      }),
      { type: "random:index/randomPassword:RandomPassword", name: "pw", custom: true, inputs: { length: 20 } },
      { type: "mail-zone:index:MailZone", name: "zone", custom: false, inputs: {} },
    ];
    expect(validatePlan(resources).map((o) => o.object.kind)).toEqual([
      "Namespace",
      "Deployment",
      "Secret",
      "IngressRouteTCP",
      "Certificate",
      "HelmChartConfig",
      "ServersTransportTCP",
    ]);
  });

  it("names the kind, the object and the path of a field with the wrong type", () => {
    const bad = deployment({ ...validContainer, ports: [{ containerPort: "25" }] });
    expect(() => validatePlan([bad])).toThrow(PlanValidationError);
    expect(() => validatePlan([bad])).toThrow(
      /Deployment mail-zone\/mailcow \(kubernetes:apps\/v1:Deployment "mailcow-deployment"\): spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort: must be integer/,
    );
  });

  it("reports a missing required field at its own path", () => {
    const issues = findPlanIssues([
      k8s("kubernetes:cert-manager.io/v1:Certificate", {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: "tls", namespace: "mail-zone" },
        spec: { dnsNames: ["mail.example.com"], issuerRef: { name: "le" } },
      }),
    ]);
    expect(issues.map((i) => `${i.kind} ${i.name} ${i.path}: ${i.message}`)).toEqual([
      "Certificate mail-zone/tls spec.secretName: is required",
    ]);
  });

  it("rejects a field the Kubernetes API does not know, such as a misspelt volumeMounts", () => {
    const issues = findPlanIssues([deployment({ ...validContainer, volumeMount: [] })]);
    expect(issues.map((i) => i.path)).toEqual(["spec.template.spec.containers[0].volumeMount"]);
    expect(issues[0].message).toMatch(/not a known field/);
  });

  it("rejects a volume mount that names no volume of the pod, as the API server does", () => {
    const issues = findPlanIssues([
      deployment({ ...validContainer, volumeMounts: [{ name: "tree", mountPath: "/srv" }] }),
    ]);
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.template.spec.containers[0].volumeMounts[0].name: "tree" is not a volume of the pod',
    ]);
  });

  it("rejects a container port name longer than 15 characters", () => {
    const issues = findPlanIssues([
      deployment({ ...validContainer, ports: [{ containerPort: 25, name: "smtp-proxy-protocol" }] }),
    ]);
    expect(issues.map((i) => i.path)).toEqual(["spec.template.spec.containers[0].ports[0].name"]);
  });

  it("fails loudly on a kind no schema knows", () => {
    const issues = findPlanIssues([
      k8s("kubernetes:example.com/v1:Mystery", {
        apiVersion: "example.com/v1",
        kind: "Mystery",
        metadata: { name: "m", namespace: "mail-zone" },
      }),
    ]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ kind: "Mystery", name: "mail-zone/m" });
    expect(issues[0].message).toMatch(/no schema for example\.com\/v1\/Mystery/);
  });

  it("checks HelmChartConfig and ServersTransportTCP strictly, including the chart values' YAML", () => {
    const issues = findPlanIssues([
      k8s("kubernetes:helm.cattle.io/v1:HelmChartConfig", {
        apiVersion: "helm.cattle.io/v1",
        kind: "HelmChartConfig",
        metadata: { name: "traefik", namespace: "kube-system" },
        spec: { valuesContent: "ports: [", valuesContnet: "x" },
      }),
      k8s("kubernetes:traefik.io/v1alpha1:ServersTransportTCP", {
        apiVersion: "traefik.io/v1alpha1",
        kind: "ServersTransportTCP",
        metadata: { name: "proxy", namespace: "mail-zone" },
        spec: { proxyProtocol: { version: 3 } },
      }),
    ]);
    expect(issues.map((i) => `${i.kind} ${i.path}: ${i.message.split(":")[0]}`)).toEqual([
      "HelmChartConfig spec.valuesContent: is not valid YAML",
      "HelmChartConfig spec.valuesContnet: is not a known field",
      "ServersTransportTCP spec.proxyProtocol.version: must be 1 or 2",
    ]);
  });

  it("requires an explicit name and, for namespaced kinds, a namespace", () => {
    const issues = findPlanIssues([
      k8s(
        "kubernetes:core/v1:ConfigMap",
        { apiVersion: "v1", kind: "ConfigMap", metadata: {}, data: { a: "b" } },
        "config-resource",
      ),
    ]);
    expect(issues.map((i) => `${i.name} ${i.path}`)).toEqual([
      '(unnamed; Pulumi resource "config-resource") metadata.name',
      '(unnamed; Pulumi resource "config-resource") metadata.namespace',
    ]);
  });

  it("never puts a secret value into an error message", () => {
    const issues = findPlanIssues([
      k8s("kubernetes:core/v1:Secret", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "s", namespace: "mail-zone" },
        data: wrapSecret({ PW: 12345 }),
        stringData: wrapSecret("hunter2-secret-value"),
      }),
    ]);
    expect(issues.length).toBeGreaterThan(0);
    expect(JSON.stringify(issues)).not.toMatch(/hunter2|12345/);
  });
});

describe("toKubernetesObject", () => {
  it("unwraps secrets, drops empty fields and takes the type meta from the token when the inputs lack it", () => {
    const object = toKubernetesObject(
      k8s("kubernetes:core/v1:Secret", {
        metadata: { name: "s", namespace: "ns" },
        stringData: wrapSecret({ K: "v" }),
        type: undefined,
      }),
    );
    expect(object).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "ns" },
      stringData: { K: "v" },
    });
  });

  it("reads group, version and kind from Pulumi type tokens", () => {
    expect(typeMetaFromToken("kubernetes:core/v1:Service")).toEqual({ apiVersion: "v1", kind: "Service" });
    expect(typeMetaFromToken("kubernetes:traefik.io/v1alpha1:IngressRouteTCP")).toEqual({
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRouteTCP",
    });
    expect(typeMetaFromToken("random:index/randomPassword:RandomPassword")).toBeUndefined();
  });
});
