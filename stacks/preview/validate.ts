/**
 * Schema validation of every Kubernetes object in a plan, so a wrong field fails the preview (and the tests) instead
 * of the first `pulumi up`. Built-in kinds are checked with `kubernetes-models` (the API's OpenAPI schema) plus a
 * strict unknown-field pass over `@kubernetes/client-node`'s model maps; Traefik and cert-manager kinds with their
 * model packages; HelmChartConfig and ServersTransportTCP with in-repo zod schemas. A kind none of these knows is an
 * error, so nothing reaches the cluster unvalidated.
 */
import * as clientNode from "@kubernetes/client-node";
import * as certManagerV1 from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import * as traefikV1alpha1 from "@kubernetes-models/traefik/traefik.io/v1alpha1";
import * as admissionV1 from "kubernetes-models/admissionregistration.k8s.io/v1";
import * as appsV1 from "kubernetes-models/apps/v1";
import * as autoscalingV2 from "kubernetes-models/autoscaling/v2";
import * as batchV1 from "kubernetes-models/batch/v1";
import * as networkingV1 from "kubernetes-models/networking.k8s.io/v1";
import * as policyV1 from "kubernetes-models/policy/v1";
import * as rbacV1 from "kubernetes-models/rbac.authorization.k8s.io/v1";
import * as schedulingV1 from "kubernetes-models/scheduling.k8s.io/v1";
import * as storageV1 from "kubernetes-models/storage.k8s.io/v1";
import * as coreV1 from "kubernetes-models/v1";
import { CRD_SCHEMAS } from "./crd-schemas";
import { type PlannedResource, unwrapSecrets } from "./engine";

/** A Kubernetes object as it would be sent to the API server. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

export interface PlannedObject {
  resource: PlannedResource;
  object: KubernetesObject;
}

export interface ValidationIssue {
  kind: string;
  /** `<namespace>/<name>` or `<name>`; the Pulumi resource name when metadata.name is missing. */
  name: string;
  /** The Pulumi resource (type token and name) the object came from. */
  resource: string;
  /** Dotted path of the bad field, e.g. `spec.template.spec.containers[0].image`; empty for the whole object. */
  path: string;
  message: string;
}

export class PlanValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(
      `${issues.length} invalid Kubernetes object field(s) in the plan:\n${issues.map((i) => `  - ${formatIssue(i)}`).join("\n")}`,
    );
    this.name = "PlanValidationError";
  }
}

export function formatIssue(issue: ValidationIssue): string {
  const where = issue.path ? `${issue.path}: ` : "";
  return `${issue.kind} ${issue.name} (${issue.resource}): ${where}${issue.message}`;
}

/** Kinds that live outside namespaces; every other kind must name its namespace (the render depends on it). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "ClusterIssuer",
  "StorageClass",
  "PersistentVolume",
  "PriorityClass",
  "CustomResourceDefinition",
  "IngressClass",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
]);

/** Kinds whose names must be DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(["Namespace", "Service"]);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

function isModelClass(value: unknown): value is ModelClass {
  return (
    typeof value === "function" &&
    typeof (value as unknown as Record<string, unknown>).apiVersion === "string" &&
    typeof (value as unknown as Record<string, unknown>).kind === "string"
  );
}

/** `<apiVersion>/<kind>` → model class, from the model packages' group-version modules. */
const MODELS: Map<string, ModelClass> = (() => {
  const map = new Map<string, ModelClass>();
  const modules: object[] = [
    coreV1,
    appsV1,
    batchV1,
    networkingV1,
    policyV1,
    rbacV1,
    autoscalingV2,
    storageV1,
    schedulingV1,
    admissionV1,
    traefikV1alpha1,
    certManagerV1,
  ];
  for (const mod of modules) {
    for (const value of Object.values(mod)) {
      if (isModelClass(value) && !value.kind.endsWith("List")) map.set(`${value.apiVersion}/${value.kind}`, value);
    }
  }
  return map;
})();

/** Built-in kinds also get the strict unknown-field pass (the API server rejects those under strict validation). */
const BUILT_IN_GROUPS = new Set([
  "v1",
  "apps/v1",
  "batch/v1",
  "networking.k8s.io/v1",
  "policy/v1",
  "rbac.authorization.k8s.io/v1",
  "autoscaling/v2",
  "storage.k8s.io/v1",
  "scheduling.k8s.io/v1",
  "admissionregistration.k8s.io/v1",
]);

/** True for plan entries that are Kubernetes objects (not components, providers, random or cloudflare resources). */
export function isKubernetesResource(resource: PlannedResource): boolean {
  return resource.custom && resource.type.startsWith("kubernetes:");
}

/** `kubernetes:core/v1:Service` → `v1`/`Service`; `kubernetes:traefik.io/v1alpha1:IngressRouteTCP` → group/version. */
export function typeMetaFromToken(type: string): { apiVersion: string; kind: string } | undefined {
  const match = /^kubernetes:([^:]+):([^:]+)$/.exec(type);
  if (!match) return undefined;
  const [, groupVersion, kind] = match;
  const apiVersion = groupVersion.startsWith("core/") ? groupVersion.slice("core/".length) : groupVersion;
  return { apiVersion, kind };
}

/** Drops undefined and null (the API server treats them as absent), keeping everything else. */
function stripEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripEmpty);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => [k, stripEmpty(v)]),
    );
  }
  return value;
}

/** The object a planned Kubernetes resource would send, secrets unwrapped (never print it whole). */
export function toKubernetesObject(resource: PlannedResource): KubernetesObject {
  const inputs = stripEmpty(unwrapSecrets(resource.inputs)) as Record<string, unknown>;
  const fromToken = typeMetaFromToken(resource.type);
  const apiVersion = typeof inputs.apiVersion === "string" ? inputs.apiVersion : (fromToken?.apiVersion ?? "");
  const kind = typeof inputs.kind === "string" ? inputs.kind : (fromToken?.kind ?? "");
  const metadata = (
    typeof inputs.metadata === "object" && inputs.metadata !== null ? inputs.metadata : {}
  ) as KubernetesObject["metadata"];
  return { ...inputs, apiVersion, kind, metadata };
}

/** Every Kubernetes object of a plan, in plan order. */
export function kubernetesObjects(resources: readonly PlannedResource[]): PlannedObject[] {
  return resources.filter(isKubernetesResource).map((resource) => ({ resource, object: toKubernetesObject(resource) }));
}

function displayName(object: KubernetesObject, resource: PlannedResource): string {
  const { name, namespace } = object.metadata;
  if (!name) return `(unnamed; Pulumi resource "${resource.name}")`;
  return namespace ? `${namespace}/${name}` : name;
}

/** `/spec/containers/0/image` → `spec.containers[0].image`. */
export function dottedPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number" || /^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out ? `.${segment}` : segment;
  }
  return out;
}

function pointerSegments(pointer: string): string[] {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

interface AjvLikeError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function ajvIssues(errors: readonly AjvLikeError[]): { path: string; message: string }[] {
  // ajv reports the same field once per failed branch of a oneOf/anyOf; one line per path and message is enough.
  const seen = new Set<string>();
  const out: { path: string; message: string }[] = [];
  for (const err of errors) {
    const segments = pointerSegments(err.instancePath);
    let message = err.message ?? err.keyword;
    if (err.keyword === "required" && typeof err.params.missingProperty === "string") {
      segments.push(err.params.missingProperty);
      message = "is required";
    } else if (err.keyword === "additionalProperties" && typeof err.params.additionalProperty === "string") {
      segments.push(err.params.additionalProperty);
      message = "is not a known field";
    } else if (err.keyword === "enum" && Array.isArray(err.params.allowedValues)) {
      message = `must be one of ${err.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    const path = dottedPath(segments);
    const key = `${path}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path, message });
    }
  }
  return out;
}

interface AttributeType {
  baseName: string;
  type: string;
}

function attributeMap(typeName: string): AttributeType[] | undefined {
  const model = (clientNode as unknown as Record<string, unknown>)[typeName] as
    | { getAttributeTypeMap?: () => AttributeType[] }
    | undefined;
  return typeof model?.getAttributeTypeMap === "function" ? model.getAttributeTypeMap() : undefined;
}

/** Fields the Kubernetes API does not know, walking the object along client-node's generated model types. */
function unknownFields(value: unknown, typeName: string, segments: (string | number)[], out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) unknownFields(item, array[1], [...segments, i], out);
    }
    return;
  }
  const record = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (record) {
    if (typeof value === "object") {
      for (const [k, v] of Object.entries(value)) unknownFields(v, record[1], [...segments, k], out);
    }
    return;
  }
  const attributes = attributeMap(typeName);
  if (!attributes || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const attribute = attributes.find((a) => a.baseName === key);
    if (!attribute) out.push(dottedPath([...segments, key]));
    else unknownFields(child, attribute.type, [...segments, key], out);
  }
}

function conventionIssues(object: KubernetesObject): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const { name, namespace, labels } = object.metadata;
  if (typeof name !== "string" || name === "") {
    issues.push({ path: "metadata.name", message: "is required (set it explicitly, or Pulumi adds a random suffix)" });
  } else if (LABEL_NAMED.has(object.kind)) {
    if (name.length > 63 || !DNS_LABEL.test(name)) {
      issues.push({ path: "metadata.name", message: `"${name}" must be a DNS-1123 label (a-z, 0-9, '-', ≤63)` });
    }
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    issues.push({ path: "metadata.name", message: `"${name}" must be a DNS-1123 subdomain` });
  }
  if (!CLUSTER_SCOPED.has(object.kind) && (typeof namespace !== "string" || namespace === "")) {
    issues.push({ path: "metadata.namespace", message: "is required (a namespaced kind must say where it lives)" });
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (typeof value === "string" && (value.length > 63 || !LABEL_VALUE.test(value))) {
      issues.push({ path: `metadata.labels.${key}`, message: `"${value}" is not a valid label value` });
    }
  }
  return issues;
}

/** Where each workload kind keeps its pod spec. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ["spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null)
    : [];
}

/**
 * Cross-field rules of a pod spec that the OpenAPI schema cannot express but the API server enforces: every volume
 * mount names a volume of the pod, volume and container names are unique, container port names are IANA service
 * names (≤15 characters).
 */
function podSpecIssues(object: KubernetesObject): { path: string; message: string }[] {
  const specPath = POD_SPEC_PATHS[object.kind];
  if (!specPath) return [];
  let pod: unknown = object;
  for (const key of specPath)
    pod = typeof pod === "object" && pod !== null ? (pod as Record<string, unknown>)[key] : undefined;
  if (typeof pod !== "object" || pod === null) return [];
  const spec = pod as Record<string, unknown>;
  const issues: { path: string; message: string }[] = [];
  const volumeNames = new Set<string>();
  for (const [i, volume] of records(spec.volumes).entries()) {
    const name = String(volume.name);
    if (volumeNames.has(name))
      issues.push({ path: dottedPath([...specPath, "volumes", i, "name"]), message: `duplicate volume "${name}"` });
    volumeNames.add(name);
  }
  const claimTemplates =
    object.kind === "StatefulSet" ? (object.spec as Record<string, unknown>)?.volumeClaimTemplates : undefined;
  for (const template of records(claimTemplates)) {
    const name = (template.metadata as { name?: unknown } | undefined)?.name;
    if (typeof name === "string") volumeNames.add(name);
  }
  const containerNames = new Set<string>();
  for (const group of ["initContainers", "containers", "ephemeralContainers"] as const) {
    for (const [i, container] of records(spec[group]).entries()) {
      const at = (...rest: (string | number)[]) => dottedPath([...specPath, group, i, ...rest]);
      const name = String(container.name);
      if (containerNames.has(name)) issues.push({ path: at("name"), message: `duplicate container "${name}"` });
      containerNames.add(name);
      for (const [j, mount] of records(container.volumeMounts).entries()) {
        if (!volumeNames.has(String(mount.name))) {
          issues.push({
            path: at("volumeMounts", j, "name"),
            message: `"${String(mount.name)}" is not a volume of the pod`,
          });
        }
      }
      for (const [j, port] of records(container.ports).entries()) {
        if (typeof port.name === "string" && (port.name.length > 15 || !PORT_NAME.test(port.name))) {
          issues.push({
            path: at("ports", j, "name"),
            message: `"${port.name}" must be an IANA service name (a-z, 0-9, '-', ≤15)`,
          });
        }
      }
    }
  }
  return issues;
}

/** Validation problems of one object (empty when valid). */
export function validateObject(object: KubernetesObject): { path: string; message: string }[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const issues = conventionIssues(object);
  const crd = CRD_SCHEMAS[key];
  const model = MODELS.get(key);
  if (crd) {
    const result = crd.safeParse(object);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const segments = issue.path.filter((s): s is string | number => typeof s !== "symbol");
        const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
        if (unknownKeys.length > 0) {
          for (const k of unknownKeys)
            issues.push({ path: dottedPath([...segments, k]), message: "is not a known field" });
        } else {
          issues.push({ path: dottedPath(segments), message: issue.message });
        }
      }
    }
  } else if (model) {
    try {
      new model(object).validate();
    } catch (err) {
      const errors = (err as { errors?: AjvLikeError[] }).errors;
      if (!errors) throw err;
      issues.push(...ajvIssues(errors));
    }
    issues.push(...podSpecIssues(object));
    if (BUILT_IN_GROUPS.has(object.apiVersion)) {
      const version = object.apiVersion.split("/").pop() ?? "";
      const root = `${version.charAt(0).toUpperCase()}${version.slice(1)}${object.kind}`;
      const unknown: string[] = [];
      unknownFields(object, root, [], unknown);
      for (const path of unknown) issues.push({ path, message: "is not a known field of the Kubernetes API" });
    }
  } else {
    issues.push({
      path: "",
      message: `no schema for ${key}: add one to stacks/preview/crd-schemas.ts (objects are never left unvalidated)`,
    });
  }
  return issues;
}

/** Every validation problem in a plan's Kubernetes objects. */
export function findPlanIssues(resources: readonly PlannedResource[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const { resource, object } of kubernetesObjects(resources)) {
    const base = { kind: object.kind || resource.type, name: displayName(object, resource) };
    const source = `${resource.type} "${resource.name}"`;
    if (resource.type.endsWith("Patch")) {
      issues.push({ ...base, resource: source, path: "", message: "patch resources cannot be previewed or rendered" });
      continue;
    }
    for (const issue of validateObject(object)) issues.push({ ...base, resource: source, ...issue });
  }
  return issues;
}

/**
 * Validates every Kubernetes object in the plan and returns them; throws `PlanValidationError` listing each bad
 * field (kind, name, path) when any is invalid or of a kind without a schema.
 */
export function validatePlan(resources: readonly PlannedResource[]): PlannedObject[] {
  const issues = findPlanIssues(resources);
  if (issues.length > 0) throw new PlanValidationError(issues);
  return kubernetesObjects(resources);
}
