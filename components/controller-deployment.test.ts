import { describe, expect, it } from "vitest";
import { isWrappedSecret, redactSecrets, unwrapSecrets } from "../stacks/preview/engine";
import { planControllerDeployment } from "../test/support/controller-deployment-plan";
import { CONTROLLER_POD_LABELS } from "./labels";

function plan(extra: Record<string, unknown> = {}) {
  return planControllerDeployment({
    settings: { SITE_LAYOUT: "shared-namespace", DNS_PROVIDER: "cloudflare" },
    cloudflareTokenSecret: { name: "cloudflare", key: "token" },
    ...extra,
  });
}

type Obj = Record<string, unknown>;
const byType = (resources: Array<{ type: string; inputs: Obj }>, type: string) =>
  resources.filter((r) => r.type === type).map((r) => unwrapSecrets(r.inputs) as Obj);

function secretData(p: Awaited<ReturnType<typeof plan>>, name: string): Record<string, string> {
  const secret = p.resources.find(
    (r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs.metadata as Obj | undefined)?.name === name,
  );
  if (!secret) throw new Error(`no Secret ${name} in the plan`);
  return unwrapSecrets(secret.inputs.stringData) as Record<string, string>;
}

describe("ControllerDeployment", () => {
  it("runs one non-root replica with Recreate, probes, limits, a read-only root and the state volume", async () => {
    const p = await plan();
    const [deployment] = byType(p.resources, "kubernetes:apps/v1:Deployment") as Array<{
      metadata: Obj;
      spec: {
        replicas: number;
        strategy: Obj;
        selector: { matchLabels: Obj };
        template: { metadata: { labels: Obj }; spec: unknown };
      };
    }>;
    expect(deployment.metadata).toMatchObject({ name: "mail-zone-controller", namespace: "platform" });
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    expect(deployment.spec.selector.matchLabels).toEqual(CONTROLLER_POD_LABELS);
    expect(deployment.spec.template.metadata.labels).toMatchObject(CONTROLLER_POD_LABELS);
    const pod = deployment.spec.template.spec as {
      serviceAccountName: string;
      securityContext: Obj;
      containers: unknown[];
      volumes: Array<Obj>;
    };
    expect(pod.serviceAccountName).toBe("mail-zone-controller");
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const [container] = pod.containers as Array<{
      image: string;
      securityContext: Obj;
      livenessProbe: { httpGet: Obj };
      readinessProbe: { httpGet: Obj };
      resources: { requests: Obj; limits: Obj };
      envFrom: Array<{ secretRef: { name: string } }>;
      env: Array<{ name: string; value?: string; valueFrom?: Obj }>;
      volumeMounts: Array<{ mountPath: string }>;
    }>;
    expect(container.image).toBe("ghcr.io/example/mail-zone-controller:1.0.0");
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: "/healthz" });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: "/readyz" });
    expect(container.resources.requests).toHaveProperty("memory");
    expect(container.resources.limits).toHaveProperty("memory");
    expect(container.envFrom.map((e) => e.secretRef.name)).toEqual([
      "mail-zone-controller",
      "mail-zone-controller-auth",
      "mail-zone-controller-state",
    ]);
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      DATA_DIR: "/data",
      PORT: "8080",
      SITE_LAYOUT: "shared-namespace",
      DNS_PROVIDER: "cloudflare",
      CLOUDFLARE_API_TOKEN: { secretKeyRef: { name: "cloudflare", key: "token" } },
    });
    expect(container.volumeMounts.map((m) => m.mountPath).sort()).toEqual(["/data", "/tmp"]);
    expect(pod.volumes).toContainEqual({
      name: "data",
      persistentVolumeClaim: { claimName: "mail-zone-controller-data" },
    });
  });

  it("may only read and patch namespaces", async () => {
    const p = await plan();
    const [role] = byType(p.resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole");
    expect(role.rules).toEqual([
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch", "patch"] },
    ]);
    const [binding] = byType(p.resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "mail-zone-controller", namespace: "platform" }]);
  });

  it("runs the controller only behind its bound admission policy: the Deployment takes the name from the binding", async () => {
    const p = await plan();
    const [deployment] = byType(p.resources, "kubernetes:apps/v1:Deployment");
    const [binding] = byType(
      p.resources,
      "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
    );
    expect((binding.spec as Obj).policyName).toBe("mail-zone-controller-annotations-only");
    expect((deployment.metadata as Obj).annotations).toEqual({
      "mail-zone/admission-policy": "mail-zone-controller-annotations-only",
    });
    // Registered after the binding: the Deployment waited for it.
    const order = p.resources.map((r) => r.type);
    expect(order.indexOf("kubernetes:apps/v1:Deployment")).toBeGreaterThan(
      order.indexOf("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"),
    );
  });

  it("exposes a Service and a volume, and names every object", async () => {
    const p = await plan({ storageSize: "5Gi" });
    const [service] = byType(p.resources, "kubernetes:core/v1:Service") as Array<{
      spec: { ports: Obj[]; selector: Obj };
    }>;
    expect(service.spec.selector).toEqual(CONTROLLER_POD_LABELS);
    expect(service.spec.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
    const [pvc] = byType(p.resources, "kubernetes:core/v1:PersistentVolumeClaim") as Array<{ spec: Obj }>;
    expect(pvc.spec).toMatchObject({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } });
    for (const r of p.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
      expect((r.inputs.metadata as Obj | undefined)?.name, r.type).toBeTruthy();
    }
    expect(p.outputs.url).toBe("http://mail-zone-controller.platform.svc.cluster.local:8080");
  });

  it("lets only the platform namespace's pods open a connection to the controller by default", async () => {
    const p = await plan();
    const [deployment] = byType(p.resources, "kubernetes:apps/v1:Deployment") as Array<{
      spec: { template: { metadata: { labels: Obj }; spec: { containers: Array<{ ports: Obj[] }> } } };
    }>;
    const policies = byType(p.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy") as Array<{
      metadata: Obj;
      spec: { podSelector: { matchLabels: Obj }; policyTypes: string[]; ingress: Obj[] };
    }>;
    expect(policies).toHaveLength(1);
    const [policy] = policies;
    expect(policy.metadata).toMatchObject({ name: "mail-zone-controller-ingress", namespace: "platform" });
    // It isolates the controller's own pods (the selector matches the pod template), and no others.
    expect(deployment.spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
    expect(Object.keys(policy.spec.podSelector.matchLabels).length).toBeGreaterThan(0);
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    // Namespaces are matched by the name label the API server sets, which a tenant cannot change.
    expect(policy.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "platform" } },
            podSelector: { matchLabels: {} },
          },
        ],
        ports: [{ protocol: "TCP", port: deployment.spec.template.spec.containers[0].ports[0].containerPort }],
      },
    ]);
  });

  it("lets in exactly the pods of controller.allowFrom, and nobody when it is empty", async () => {
    const policyOf = async (allowFrom: unknown) => {
      const p = await plan({ allowFrom });
      return (byType(p.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy")[0] as { spec: { ingress: Obj[] } })
        .spec;
    };
    expect(
      (await policyOf([{ namespace: "panel", podLabels: { app: "panel" } }, { namespace: "monitoring" }])).ingress,
    ).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "panel" } },
            podSelector: { matchLabels: { app: "panel" } },
          },
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
            podSelector: { matchLabels: {} },
          },
        ],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
    expect((await policyOf([])).ingress).toEqual([]);
  });

  it("generates the token and passphrase into Secrets and nowhere else in plain text", async () => {
    const p = await plan();
    expect(isWrappedSecret(p.outputs.token)).toBe(true);
    const data = secretData(p, "mail-zone-controller-auth");
    const token = (p.outputs.token as unknown as { value: string }).value;
    expect(data.CONTROLLER_TOKENS).toBe(token);
    expect(secretData(p, "mail-zone-controller-state").PULUMI_CONFIG_PASSPHRASE.length).toBeGreaterThanOrEqual(32);
    const rendered = JSON.stringify(p.resources.map((r) => redactSecrets(r.inputs)));
    for (const value of [...p.secretValues, token]) expect(rendered).not.toContain(value);
  });

  it("gives the panel a Secret holding its token and nothing else: the passphrase is apart", async () => {
    const p = await plan();
    expect(p.outputs.secret).toBe("mail-zone-controller-auth");
    expect(Object.keys(secretData(p, "mail-zone-controller-auth"))).toEqual(["CONTROLLER_TOKENS"]);
    expect(Object.keys(secretData(p, "mail-zone-controller-state"))).toEqual(["PULUMI_CONFIG_PASSPHRASE"]);
  });

  it("lists each env name once, a setting replacing the default of the same name", async () => {
    const p = await plan({ settings: { STACK_RUNNER: "preview", SITE_LAYOUT: "shared-namespace" } });
    const [deployment] = byType(p.resources, "kubernetes:apps/v1:Deployment") as Array<{
      spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
    }>;
    const env = deployment.spec.template.spec.containers[0].env;
    expect(env.filter((e) => e.name === "STACK_RUNNER")).toEqual([{ name: "STACK_RUNNER", value: "preview" }]);
    expect(new Set(env.map((e) => e.name)).size).toBe(env.length);
  });

  it("accepts extra tokens for rotation", async () => {
    const p = await plan({ extraTokens: ["o".repeat(40)] });
    expect(secretData(p, "mail-zone-controller-auth").CONTROLLER_TOKENS.split(",")).toHaveLength(2);
  });
});
