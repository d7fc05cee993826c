import { describe, expect, it } from "vitest";
import { validatePlan } from "../stacks/preview/validate";
import { planControllerDeployment } from "../test/support/controller-deployment-plan";

const plan = (extra: Record<string, unknown> = {}) => planControllerDeployment(extra);

type Obj = Record<string, unknown>;
const rbacTypes = (types: string[]) => types.filter((t) => /rbac.authorization.k8s.io\/v1:(Role|RoleBinding)$/.test(t));

describe("ControllerDeployment with per-site web certificates", () => {
  it("creates no Role or RoleBinding when the feature is off", async () => {
    const p = await plan();
    expect(rbacTypes(p.resources.map((r) => r.type))).toEqual([]);
  });

  it("allows only Certificates and IngressRoutes, only in the zone namespace, to the controller's ServiceAccount", async () => {
    const p = await plan({ siteWebTlsNamespace: "mail-zone" });
    const roles = p.resources.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:Role");
    const bindings = p.resources.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding");
    expect(roles).toHaveLength(1);
    expect(bindings).toHaveLength(1);
    const role = roles[0].inputs as { metadata: Obj; rules: Obj[] };
    expect(role.metadata).toMatchObject({ name: "mail-zone-controller-site-web-tls", namespace: "mail-zone" });
    const verbs = ["get", "list", "watch", "create", "update", "patch", "delete"];
    expect(role.rules).toEqual([
      { apiGroups: ["cert-manager.io"], resources: ["certificates"], verbs },
      { apiGroups: ["traefik.io"], resources: ["ingressroutes"], verbs },
    ]);
    const binding = bindings[0].inputs as { metadata: Obj; roleRef: Obj; subjects: Obj[] };
    expect(binding.metadata).toMatchObject({ namespace: "mail-zone" });
    expect(binding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "mail-zone-controller-site-web-tls",
    });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "mail-zone-controller", namespace: "platform" }]);
  });

  it("keeps the cluster-wide role to namespaces alone", async () => {
    const p = await plan({ siteWebTlsNamespace: "mail-zone" });
    const [clusterRole] = p.resources.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole");
    expect((clusterRole.inputs as { rules: Obj[] }).rules).toEqual([
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch", "patch"] },
    ]);
  });

  it("passes the preview's schema validation", async () => {
    const p = await plan({ siteWebTlsNamespace: "mail-zone" });
    const kinds = validatePlan(p.resources).map((o) => o.object.kind);
    expect(kinds).toContain("Role");
    expect(kinds).toContain("RoleBinding");
  });
});
