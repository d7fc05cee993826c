import { describe, expect, it } from "vitest";
import { planProgram } from "../stacks/preview/engine";
import { parseZoneConfig } from "../stacks/zone-config";
import { MailZone } from "./mail-zone";

const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const siteWebTlsRoles = (plan: Awaited<ReturnType<typeof planZone>>) =>
  plan.resources.filter(
    (r) => r.type === ROLE && (r.inputs.metadata as { name: string }).name === "mail-zone-controller-site-web-tls",
  );

async function planZone(env: Record<string, string>) {
  const config = parseZoneConfig({
    "mail-zone:hostname": "mail.example.com",
    "mail-zone:publicIPv4": "203.0.113.10",
    "mail-zone:namespace": "mail",
    "mail-zone:controller": JSON.stringify({
      enabled: true,
      image: "ghcr.io/example/controller:1",
      env: { ALLOWED_DOMAIN_SUFFIXES: "*", ...env },
    }),
  });
  return planProgram(
    () => {
      new MailZone("zone", { config });
      return {};
    },
    { project: "mail-zone", stack: "test" },
  );
}

const controllerEnv = (plan: Awaited<ReturnType<typeof planZone>>) => {
  const deployment = plan.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment");
  const spec = deployment?.inputs.spec as {
    template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
  };
  return Object.fromEntries(spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));
};

describe("MailZone with per-site web certificates", () => {
  it("gives the controller a Role in the zone namespace and points the sites there when SITE_WEB_TLS_ISSUER is set", async () => {
    const plan = await planZone({ SITE_WEB_TLS_ISSUER: "ClusterIssuer/letsencrypt-prod" });
    const roles = siteWebTlsRoles(plan);
    expect(roles.map((r) => (r.inputs.metadata as { namespace: string }).namespace)).toEqual(["mail"]);
    expect(controllerEnv(plan)).toMatchObject({
      SITE_WEB_TLS_ISSUER: "ClusterIssuer/letsencrypt-prod",
      SITE_WEB_TLS_NAMESPACE: "mail",
    });
  });

  it("creates no Role and sets no namespace when SITE_WEB_TLS_ISSUER is unset", async () => {
    const plan = await planZone({ DNS_PROVIDER: "manual" });
    expect(siteWebTlsRoles(plan)).toEqual([]);
    expect(controllerEnv(plan).SITE_WEB_TLS_NAMESPACE).toBeUndefined();
  });
});
