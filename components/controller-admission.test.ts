import { describe, expect, it } from "vitest";
// A test may cross the layers: this one checks the policy against the keys the controller really writes.
import { annotationLayout } from "../controller/sites/annotation-layout";
import { planControllerDeployment } from "../test/support/controller-deployment-plan";
import {
  ADMISSION_POLICY_NAME,
  controllerAdmissionBindingSpec,
  controllerAdmissionPolicySpec,
} from "./controller-admission-specs";
import { controllerKeyRule, perSiteMailKeys, sharedMailKeys } from "./site-annotations";

const controller = { namespace: "platform", name: "mail-zone-controller" };
const perSite = controllerAdmissionPolicySpec({
  serviceAccount: controller,
  layout: "namespace-per-site",
  annotationPrefix: "voxeil.io",
});
const shared = controllerAdmissionPolicySpec({
  serviceAccount: controller,
  layout: "shared-namespace",
  annotationPrefix: "voxeil.io",
});

describe("the controller's admission policy", () => {
  it("applies to namespace updates by the controller's ServiceAccount alone", () => {
    expect(perSite.matchConstraints).toEqual({
      resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["namespaces"] }],
    });
    expect(perSite.matchConditions).toEqual([
      {
        name: "only-the-controller",
        expression: "request.userInfo.username == 'system:serviceaccount:platform:mail-zone-controller'",
      },
    ]);
    expect(perSite.failurePolicy).toBe("Fail");
  });

  it("computes the changed annotation keys, added, altered and removed, from the old and new objects", () => {
    expect(perSite.variables).toEqual([
      {
        name: "oldAnnotations",
        expression: "(has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {})",
      },
      { name: "newAnnotations", expression: "(has(object.metadata.annotations) ? object.metadata.annotations : {})" },
      {
        name: "changedKeys",
        expression:
          "variables.newAnnotations.filter(k, !(k in variables.oldAnnotations) || variables.oldAnnotations[k] != variables.newAnnotations[k]) + variables.oldAnnotations.filter(k, !(k in variables.newAnnotations))",
      },
      {
        name: "foreignKeys",
        expression:
          "variables.changedKeys.filter(k, !(k in ['voxeil.io/mail-enabled', 'voxeil.io/mail-provider', 'voxeil.io/mail-domain', 'voxeil.io/mail-status', 'voxeil.io/mail-last-error', 'voxeil.io/mail-generation', 'voxeil.io/mail-observed-generation']))",
      },
    ]);
  });

  it("refuses foreign annotation keys by name, and any change of labels, finalizers, owners or spec", () => {
    expect(perSite.validations.map((v) => v.expression)).toEqual([
      "variables.foreignKeys.size() == 0",
      "(has(object.metadata.labels) ? object.metadata.labels : {}) == (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})",
      "(has(object.metadata.finalizers) ? object.metadata.finalizers : []) == (has(oldObject.metadata.finalizers) ? oldObject.metadata.finalizers : []) && (has(object.metadata.ownerReferences) ? object.metadata.ownerReferences : []) == (has(oldObject.metadata.ownerReferences) ? oldObject.metadata.ownerReferences : [])",
      "has(object.spec) == has(oldObject.spec) && (!has(object.spec) || object.spec == oldObject.spec)",
    ]);
    expect(perSite.validations[0].messageExpression).toBe(
      "'the mail-zone controller may change only its own mail annotations on a namespace; refused: ' + variables.foreignKeys.join(', ')",
    );
    for (const v of perSite.validations) expect(v.reason).toBe("Forbidden");
  });

  it("never lists the tenant's own domain annotation among the controller's keys", () => {
    const rule = controllerKeyRule("namespace-per-site", "voxeil.io");
    expect(rule).toEqual({
      kind: "exact",
      keys: [
        "voxeil.io/mail-enabled",
        "voxeil.io/mail-provider",
        "voxeil.io/mail-domain",
        "voxeil.io/mail-status",
        "voxeil.io/mail-last-error",
        "voxeil.io/mail-generation",
        "voxeil.io/mail-observed-generation",
      ],
    });
    expect(perSite.variables[3].expression).not.toContain("'voxeil.io/domain'");
  });

  it("allows in the shared layout every site's mail keys and nothing else, by one pattern", () => {
    expect(shared.variables[3].expression).toBe(
      "variables.changedKeys.filter(k, !(k.matches('^voxeil[.]io/site-[a-z0-9]+(-[a-z0-9]+)*-(mailEnabled|mailProvider|mailDomain|mailStatus|mailLastError|mailGeneration|mailObservedGeneration)$')))",
    );
    // RE2 and JavaScript agree on this pattern (no look-around, no back-references), so it can be exercised here.
    const rule = controllerKeyRule("shared-namespace", "voxeil.io");
    if (rule.kind !== "pattern") throw new Error("expected a pattern for the shared layout");
    const owned = new RegExp(rule.pattern);
    for (const key of [
      "voxeil.io/site-shop-mailEnabled",
      "voxeil.io/site-my-blog-mailDomain",
      "voxeil.io/site-a1-mailLastError",
    ]) {
      expect(owned.test(key), key).toBe(true);
    }
    for (const key of [
      "voxeil.io/site-shop-domain", // the tenant's declared domain
      "voxeil.io/tenant-slug",
      "voxeilxio/site-shop-mailEnabled", // an unescaped dot would let this through
      "evil.voxeil.io/site-shop-mailEnabled",
      "voxeil.io/site-shop-mailEnabled-x",
      "voxeil.io/site--mailEnabled",
      "voxeil.io/site-Shop-mailEnabled",
    ]) {
      expect(owned.test(key), key).toBe(false);
    }
  });

  it("covers exactly the keys the shared layout writes for a site", () => {
    const rule = controllerKeyRule("shared-namespace", "example.org");
    if (rule.kind !== "pattern") throw new Error("expected a pattern for the shared layout");
    const keys = Object.values(sharedMailKeys("example.org", "cafe"));
    expect(keys).toEqual([
      "example.org/site-cafe-mailEnabled",
      "example.org/site-cafe-mailProvider",
      "example.org/site-cafe-mailDomain",
      "example.org/site-cafe-mailStatus",
      "example.org/site-cafe-mailLastError",
      "example.org/site-cafe-mailGeneration",
      "example.org/site-cafe-mailObservedGeneration",
    ]);
    for (const key of keys) expect(new RegExp(rule.pattern).test(key)).toBe(true);
    expect(new RegExp(rule.pattern).test("voxeil.io/site-cafe-mailEnabled")).toBe(false);
    expect(Object.values(perSiteMailKeys("example.org"))).toContain("example.org/mail-status");
  });

  it("refuses a prefix that would break out of its CEL string", () => {
    expect(() =>
      controllerAdmissionPolicySpec({
        serviceAccount: controller,
        layout: "namespace-per-site",
        annotationPrefix: "x' || true || '",
      }),
    ).toThrow(/not a plain CEL string/);
  });

  it("is bound to deny, cluster-wide", () => {
    expect(controllerAdmissionBindingSpec()).toEqual({
      policyName: ADMISSION_POLICY_NAME,
      validationActions: ["Deny"],
    });
  });
});

describe("the policy and the controller's own annotation layout", () => {
  const allowed = (layout: "namespace-per-site" | "shared-namespace", prefix: string, key: string) => {
    const rule = controllerKeyRule(layout, prefix);
    return rule.kind === "exact" ? rule.keys.includes(key) : new RegExp(rule.pattern).test(key);
  };

  it.each([
    ["namespace-per-site", "voxeil.io"],
    ["shared-namespace", "voxeil.io"],
    ["namespace-per-site", "panel.example.org"],
    ["shared-namespace", "panel.example.org"],
  ] as const)(
    "allows every mail key the controller writes in %s with prefix %s, and not the site's domain",
    (kind, prefix) => {
      const layout = annotationLayout(kind, prefix, "tenant-{slug}");
      for (const slug of ["shop", "my-blog"]) {
        for (const key of Object.values(layout.mailKeys(slug))) expect(allowed(kind, prefix, key), key).toBe(true);
        expect(allowed(kind, prefix, layout.domainKey(slug)), layout.domainKey(slug)).toBe(false);
      }
    },
  );
});

describe("ControllerDeployment's admission policy", () => {
  const planController = (settings: Record<string, string>) => planControllerDeployment({ settings });
  type Spec = { matchConditions: Array<{ expression: string }>; variables: Array<{ expression: string }> };
  const inputsOf = (plan: Awaited<ReturnType<typeof planController>>, type: string) =>
    plan.resources.filter((r) => r.type === type).map((r) => r.inputs as { metadata: { name: string }; spec: unknown });

  it("declares the policy and its binding for the controller's ServiceAccount and annotation prefix", async () => {
    const plan = await planController({ ANNOTATION_PREFIX: "panel.example.org" });
    const [policy] = inputsOf(plan, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy");
    const [binding] = inputsOf(plan, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding");
    expect(policy.metadata.name).toBe(ADMISSION_POLICY_NAME);
    const spec = policy.spec as Spec;
    expect(spec.matchConditions[0].expression).toBe(
      "request.userInfo.username == 'system:serviceaccount:platform:mail-zone-controller'",
    );
    expect(spec.variables[3].expression).toContain("'panel.example.org/mail-status'");
    expect(binding.spec).toEqual({ policyName: ADMISSION_POLICY_NAME, validationActions: ["Deny"] });
  });

  it("follows the controller's SITE_LAYOUT, with the default prefix when none is set", async () => {
    const plan = await planController({ SITE_LAYOUT: "shared-namespace" });
    const [policy] = inputsOf(plan, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy");
    expect((policy.spec as Spec).variables[3].expression).toContain("k.matches('^voxeil[.]io/site-");
  });
});
