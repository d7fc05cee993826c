/**
 * The machine-readable plan: one JSON document with every custom resource's Pulumi type token, name and inputs,
 * each secret-wrapped value replaced by `"[secret]"`. Site previews add the record list.
 */
import { isWrappedSecret, type PlannedResource, redactSecrets } from "./engine";
import { recordContent, type SiteRecordView } from "./format-text";

export interface JsonPlanResource {
  type: string;
  name: string;
  inputs: unknown;
}

export interface JsonPlanRecord {
  name: string;
  type: string;
  /** TXT records as the joined string. */
  content: string;
  priority: number | null;
}

export interface JsonPlan {
  stack: string;
  resources: JsonPlanResource[];
  records?: JsonPlanRecord[];
}

/**
 * A Secret's `data`/`stringData` arrive wrapped whole (one secret value makes the map secret); its key names are not
 * secret and say what the Secret holds (e.g. `ADMIN_PASSWORD`), so each key is kept with its value as `"[secret]"`.
 */
function secretInputs(inputs: Record<string, unknown>): unknown {
  const keyed = (value: unknown) =>
    isWrappedSecret(value) && typeof value.value === "object" && value.value !== null && !Array.isArray(value.value)
      ? Object.fromEntries(Object.keys(value.value).map((key) => [key, "[secret]"]))
      : redactSecrets(value);
  const { data, stringData, ...rest } = inputs;
  return {
    ...(redactSecrets(rest) as Record<string, unknown>),
    ...(data !== undefined ? { data: keyed(data) } : {}),
    ...(stringData !== undefined ? { stringData: keyed(stringData) } : {}),
  };
}

export function jsonPlan(input: {
  stack: string;
  resources: readonly PlannedResource[];
  records?: readonly SiteRecordView[];
}): JsonPlan {
  const plan: JsonPlan = {
    stack: input.stack,
    // Components carry no inputs of their own; the custom resources are what `pulumi up` would create.
    resources: input.resources
      .filter((r) => r.custom)
      .map((r) => ({
        type: r.type,
        name: r.name,
        inputs: r.type === "kubernetes:core/v1:Secret" ? secretInputs(r.inputs) : redactSecrets(r.inputs),
      })),
  };
  if (input.records) {
    plan.records = input.records.map((r) => ({
      name: r.name,
      type: r.type,
      content: recordContent(r),
      priority: r.priority ?? null,
    }));
  }
  return plan;
}

export function formatJsonPlan(input: Parameters<typeof jsonPlan>[0]): string {
  return `${JSON.stringify(jsonPlan(input), null, 2)}\n`;
}
