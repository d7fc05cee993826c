import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { isWrappedSecret, type PlannedResource, planProgram, redactSecrets, unwrapSecrets } from "./preview/engine";
import { validatePlan } from "./preview/validate";
import { loadZoneConfig } from "./zone-config";
import { zoneProgram } from "./zone-program";

const config = {
  "mail-zone:hostname": "mail.example.com",
  "mail-zone:publicIPv4": "203.0.113.10",
  "mail-zone:publicIPv6": "2001:db8::10",
  "mail-zone:dns": JSON.stringify({ provider: "cloudflare", zone: "example.com" }),
  "cloudflare:apiToken": "cf-token-s3cr3t-value",
};

function plan(raw: Record<string, string> = config, secretKeys = ["cloudflare:apiToken"]) {
  return planProgram(zoneProgram, {
    project: "mail-zone",
    stack: "prod",
    config: raw,
    secretKeys,
    call: (token) =>
      token === "cloudflare:index/getZone:getZone" ? { id: "zone123", name: "example.com" } : undefined,
  });
}

const isSecretObject = (r: PlannedResource) => r.type === "kubernetes:core/v1:Secret";

describe("zoneProgram", () => {
  it("returns the mail host, public IPs, API URL, namespace and the controller Secret's name", async () => {
    const { outputs } = await plan();
    expect(outputs).toEqual({
      mailHostname: "mail.example.com",
      publicIPv4: "203.0.113.10",
      publicIPv6: "2001:db8::10",
      apiUrl: "http://mailcow-nginx.mail-zone.svc.cluster.local:8080",
      namespace: "mail-zone",
      controllerSecretName: "mail-zone-controller",
      controllerSecretNamespace: "platform",
    });
  });

  it("keeps every secret value inside Secrets: none in another resource, a plain output or a label", async () => {
    const result = await plan();
    // Six generated Mailcow secrets (result + bcryptHash each) and the Cloudflare token.
    expect(result.secretValues.length).toBeGreaterThanOrEqual(13);
    const elsewhere = JSON.stringify(
      result.resources.filter((r) => !isSecretObject(r)).map((r) => unwrapSecrets(r.inputs)),
    );
    const outputs = JSON.stringify(redactSecrets(result.outputs));
    const secretMetadata = JSON.stringify(result.resources.filter(isSecretObject).map((r) => r.inputs.metadata));
    for (const value of result.secretValues) {
      expect(elsewhere).not.toContain(value);
      expect(outputs).not.toContain(value);
      expect(secretMetadata).not.toContain(value);
    }
    // And the Secrets do hold the generated values (so the search above looked for real ones).
    const inSecrets = JSON.stringify(result.resources.filter(isSecretObject).map((r) => unwrapSecrets(r.inputs)));
    expect(result.secretValues.filter((v) => inSecrets.includes(v))).toHaveLength(7);
    for (const r of result.resources.filter(isSecretObject)) expect(isWrappedSecret(r.inputs.stringData)).toBe(true);
  });

  it("passes schema validation for every Kubernetes object, Mailcow's workloads included", async () => {
    const result = await plan();
    const objects = validatePlan(result.resources);
    const kinds = new Set(objects.map((o) => o.object.kind));
    for (const kind of ["Namespace", "StatefulSet", "PersistentVolumeClaim", "Service", "IngressRouteTCP"]) {
      expect(kinds).toContain(kind);
    }
  });

  it("runs Mailcow in the zone namespace in-cluster, and only points Services at the host in external mode", async () => {
    const inCluster = await plan();
    expect(inCluster.resources.some((r) => r.type === "kubernetes:apps/v1:StatefulSet")).toBe(true);
    const external = await plan({
      ...config,
      "mail-zone:mailcow": JSON.stringify({ mode: "external", external: { host: "mailcow.example.net" } }),
    });
    expect(external.resources.some((r) => r.type === "kubernetes:apps/v1:StatefulSet")).toBe(false);
    expect(external.outputs.apiUrl).toBe("https://mailcow.example.net");
    const controllerSecret = external.resources.find(
      (r) => r.type === "kubernetes:core/v1:Secret" && r.name.includes("controller"),
    );
    expect(JSON.stringify(unwrapSecrets(controllerSecret?.inputs))).toContain("https://mailcow.example.net");
  });
});

describe("loadZoneConfig", () => {
  it("fails on the stack's bad config naming each key, and prints [secret] for secret keys", async () => {
    // Straight through the runtime's config store: a program that throws inside planProgram also surfaces as an
    // unhandled rejection from Pulumi's stack resource, which would fail the run.
    await pulumi.runtime.setMocks(
      { newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs },
      "mail-zone",
      "prod",
    );
    pulumi.runtime.setAllConfig(
      {
        "mail-zone:publicIPv4": "203.0.113.10",
        "mail-zone:web": JSON.stringify({ adminAllowList: ["10.0.0.1/8"] }),
        "mail-zone:adminToken": "admin-s3cr3t",
      },
      ["mail-zone:adminToken"],
    );
    let message = "";
    try {
      loadZoneConfig();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/mail-zone:adminToken: got \[secret\] — expected no such key/);
    expect(message).toMatch(/mail-zone:hostname: got nothing — expected a lowercase fully qualified domain name/);
    expect(message).toMatch(/mail-zone:web\.adminAllowList\[0\]: got "10\.0\.0\.1\/8" — expected a CIDR/);
    expect(message).not.toContain("admin-s3cr3t");
  });
});

describe("zoneProgram with the controller enabled", () => {
  const withController = {
    ...config,
    "mail-zone:controller": JSON.stringify({
      enabled: true,
      image: "registry.example.com/mail-zone-controller:1.0.0",
      env: { SITE_LAYOUT: "shared-namespace", ALLOWED_DOMAIN_SUFFIXES: "sites.example.com" },
    }),
  };

  it("deploys it in the platform namespace, fed by the zone's controller Secret, and outputs its URL", async () => {
    const result = await plan(withController);
    const deployment = result.resources.find(
      (r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.includes("controller"),
    );
    const spec = unwrapSecrets(deployment?.inputs) as {
      metadata: { namespace: string };
      spec: { template: { spec: { containers: { image: string; envFrom: { secretRef: { name: string } }[] }[] } } };
    };
    expect(spec.metadata.namespace).toBe("platform");
    const container = spec.spec.template.spec.containers[0];
    expect(container.image).toBe("registry.example.com/mail-zone-controller:1.0.0");
    expect(container.envFrom.map((e) => e.secretRef.name)).toContain("mail-zone-controller");
    expect(result.outputs.controllerUrl).toBe("http://mail-zone-controller.platform.svc.cluster.local:8080");
    validatePlan(result.resources);
  });

  it("keeps the default requests and limits that a partial resources override leaves out", async () => {
    const result = await plan({
      ...config,
      "mail-zone:controller": JSON.stringify({
        enabled: true,
        image: "registry.example.com/mail-zone-controller:1.0.0",
        env: { ALLOWED_DOMAIN_SUFFIXES: "*" },
        resources: { limits: { memory: "2Gi" } },
      }),
    });
    const deployment = result.resources.find(
      (r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.includes("controller"),
    );
    const container = (
      unwrapSecrets(deployment?.inputs) as { spec: { template: { spec: { containers: { resources: unknown }[] } } } }
    ).spec.template.spec.containers[0];
    expect(container.resources).toEqual({
      requests: { cpu: "100m", memory: "256Mi" },
      limits: { memory: "2Gi" },
    });
  });

  it("is absent by default", async () => {
    const result = await plan();
    expect(result.resources.some((r) => r.type.endsWith("ClusterRole"))).toBe(false);
    expect(result.outputs.controllerUrl).toBeUndefined();
  });
});
