/**
 * The admission policy that keeps the controller to its own annotations. RBAC can only say "may patch namespaces";
 * this ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes ≥ 1.30) refuses every update by the
 * controller's ServiceAccount that changes anything on a namespace but the controller's mail annotation keys
 * (site-annotations.ts): no label (a slug label would move a site), no other annotation (a tenant's declared
 * domain), no finalizer, owner reference or spec. Pure builders; ControllerAdmission declares them.
 */
import { type ControllerKeyRule, controllerKeyRule, type SiteLayoutKind } from "./site-annotations";

export const ADMISSION_POLICY_NAME = "mail-zone-controller-annotations-only";

export interface AdmissionInput {
  /** The controller's ServiceAccount. */
  serviceAccount: { namespace: string; name: string };
  layout: SiteLayoutKind;
  /** The controller's ANNOTATION_PREFIX. */
  annotationPrefix: string;
}

export interface NamedExpression {
  name: string;
  expression: string;
}

export interface AdmissionPolicySpec {
  failurePolicy: "Fail";
  matchConstraints: {
    resourceRules: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }>;
  };
  matchConditions: NamedExpression[];
  variables: NamedExpression[];
  validations: Array<{ expression: string; message: string; messageExpression?: string; reason: "Forbidden" }>;
}

export interface AdmissionBindingSpec {
  policyName: string;
  validationActions: ["Deny"];
}

/** A CEL string literal (single-quoted); the texts here hold no quote or backslash, which is checked. */
function celString(text: string): string {
  if (/['\\]/.test(text)) throw new Error(`not a plain CEL string: ${text}`);
  return `'${text}'`;
}

/** CEL: whether annotation key `k` is one of the controller's. */
export function ownedKeyExpression(rule: ControllerKeyRule): string {
  return rule.kind === "exact"
    ? `k in [${rule.keys.map(celString).join(", ")}]`
    : `k.matches(${celString(rule.pattern)})`;
}

/** `metadata.<field>` of `obj`, or the empty value when unset (CEL's `has` guards an absent field). */
const orEmpty = (obj: string, field: string, empty: string) =>
  `(has(${obj}.metadata.${field}) ? ${obj}.metadata.${field} : ${empty})`;

export function controllerAdmissionPolicySpec(input: AdmissionInput): AdmissionPolicySpec {
  const { namespace, name } = input.serviceAccount;
  const owned = ownedKeyExpression(controllerKeyRule(input.layout, input.annotationPrefix));
  const unchanged = (field: string, empty: string) =>
    `${orEmpty("object", field, empty)} == ${orEmpty("oldObject", field, empty)}`;
  return {
    failurePolicy: "Fail",
    matchConstraints: {
      // RBAC gives the controller get/list/watch/patch on namespaces and nothing else: a patch is an UPDATE.
      resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["namespaces"] }],
    },
    matchConditions: [
      {
        name: "only-the-controller",
        expression: `request.userInfo.username == ${celString(`system:serviceaccount:${namespace}:${name}`)}`,
      },
    ],
    variables: [
      { name: "oldAnnotations", expression: orEmpty("oldObject", "annotations", "{}") },
      { name: "newAnnotations", expression: orEmpty("object", "annotations", "{}") },
      {
        name: "changedKeys",
        expression:
          "variables.newAnnotations.filter(k, !(k in variables.oldAnnotations) || variables.oldAnnotations[k] != variables.newAnnotations[k])" +
          " + variables.oldAnnotations.filter(k, !(k in variables.newAnnotations))",
      },
      { name: "foreignKeys", expression: `variables.changedKeys.filter(k, !(${owned}))` },
    ],
    validations: [
      {
        expression: "variables.foreignKeys.size() == 0",
        message: "the mail-zone controller may change only its own mail annotations on a namespace",
        messageExpression:
          "'the mail-zone controller may change only its own mail annotations on a namespace; refused: ' + variables.foreignKeys.join(', ')",
        reason: "Forbidden",
      },
      {
        expression: unchanged("labels", "{}"),
        message: "the mail-zone controller may not change a namespace's labels",
        reason: "Forbidden",
      },
      {
        expression: `${unchanged("finalizers", "[]")} && ${unchanged("ownerReferences", "[]")}`,
        message: "the mail-zone controller may not change a namespace's finalizers or owner references",
        reason: "Forbidden",
      },
      {
        expression: "has(object.spec) == has(oldObject.spec) && (!has(object.spec) || object.spec == oldObject.spec)",
        message: "the mail-zone controller may not change a namespace's spec",
        reason: "Forbidden",
      },
    ],
  };
}

export function controllerAdmissionBindingSpec(): AdmissionBindingSpec {
  return { policyName: ADMISSION_POLICY_NAME, validationActions: ["Deny"] };
}
