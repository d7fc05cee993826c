/**
 * Runs a Pulumi program under Pulumi's own mock engine (`pulumi.runtime.setMocks`) and records every resource
 * registration. This is what `npm run preview`, `npm run render` and the unit tests use: the real SDK and the real
 * components, with no CLI, no cluster and no credentials.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Pulumi's wire signature for a secret value (`sdk/nodejs/runtime/rpc.ts`). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface PlannedResource {
  /** Pulumi type token, e.g. `kubernetes:core/v1:Namespace`. */
  type: string;
  /** Pulumi resource name (the last part of the URN). */
  name: string;
  /** True for custom (provider) resources, false for components. */
  custom: boolean;
  /** Inputs as the engine received them; secret values still carry Pulumi's secret wrapper. */
  inputs: Record<string, unknown>;
}

export interface Plan<T> {
  project: string;
  stack: string;
  resources: PlannedResource[];
  /** What the program returned (its stack outputs), resolved. */
  outputs: T;
  /**
   * Every value the program must treat as secret: generated passwords the mocks handed out, and config values that
   * were marked secret. Tests search rendered output for these.
   */
  secretValues: string[];
  /** Which generated-secret resource output produced which mock value (the render names them in its recipes). */
  generatedSecrets: GeneratedSecret[];
}

export interface GeneratedSecret {
  /** Type token of the generating resource, e.g. `random:index/randomPassword:RandomPassword`. */
  type: string;
  /** Its Pulumi resource name. */
  name: string;
  /** The secret output, e.g. `result`. */
  field: string;
  /** Its requested length (the `length` input), when it has one. */
  length?: number;
  value: string;
}

export interface PlanOptions {
  project: string;
  stack: string;
  /** Config as Pulumi would hold it: keys `<namespace>:<key>`, values as strings (objects as JSON). */
  config?: Record<string, string>;
  /** Config keys (full `<namespace>:<key>`) that are secret. */
  secretKeys?: string[];
  /** Answers for invokes (e.g. `cloudflare:index/getZone:getZone`); undefined falls back to echoing the inputs. */
  call?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
}

/** Outputs of generated-secret resources that the real providers mark secret. */
const GENERATED_SECRET_OUTPUTS: Record<string, string[]> = {
  "random:index/randomPassword:RandomPassword": ["result", "bcryptHash"],
  "random:index/randomString:RandomString": ["result"],
  "random:index/randomBytes:RandomBytes": ["base64", "hex"],
};

/** A stable stand-in for a generated secret: unique per resource, alphanumeric, the requested length. */
function mockSecret(name: string, length: number): string {
  let out = "";
  let counter = 0;
  while (out.length < length) {
    out += createHash("sha256")
      .update(`${name}:${counter++}`)
      .digest("base64")
      .replace(/[^A-Za-z0-9]/g, "");
  }
  return `Mk${out}`.slice(0, Math.max(length, 8));
}

export function wrapSecret(value: unknown): Record<string, unknown> {
  return { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value };
}

export function isWrappedSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE
  );
}

/** Replaces every secret-wrapped value with `"[secret]"`, deeply. */
export function redactSecrets(value: unknown): unknown {
  if (isWrappedSecret(value)) return "[secret]";
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
  }
  return value;
}

/** Removes Pulumi's secret wrappers, keeping the values (for schema validation and rendering of non-secret objects). */
export function unwrapSecrets(value: unknown): unknown {
  if (isWrappedSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

let running = false;

/**
 * Runs `program` under the mock engine and returns every registered resource with its inputs. One plan at a time per
 * process: Pulumi's runtime state is global.
 */
export async function planProgram<T>(program: () => Promise<T> | T, options: PlanOptions): Promise<Plan<T>> {
  if (running) throw new Error("planProgram: a plan is already running in this process");
  running = true;
  const resources: PlannedResource[] = [];
  const secretValues = new Set<string>();
  const generatedSecrets: GeneratedSecret[] = [];
  try {
    const config = options.config ?? {};
    for (const key of options.secretKeys ?? []) {
      const v = config[key];
      if (v) secretValues.add(v);
    }
    pulumi.runtime.setAllConfig(config, options.secretKeys);
    await pulumi.runtime.setMocks(
      {
        newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
          resources.push({
            type: args.type,
            name: args.name,
            custom: args.custom !== false,
            inputs: args.inputs as Record<string, unknown>,
          });
          const state: Record<string, unknown> = { ...args.inputs };
          const secretOutputs = GENERATED_SECRET_OUTPUTS[args.type];
          if (secretOutputs) {
            const length = typeof args.inputs.length === "number" ? args.inputs.length : 32;
            for (const field of secretOutputs) {
              const v = mockSecret(`${args.name}/${field}`, length);
              secretValues.add(v);
              generatedSecrets.push({
                type: args.type,
                name: args.name,
                field,
                length: typeof args.inputs.length === "number" ? args.inputs.length : undefined,
                value: v,
              });
              state[field] = wrapSecret(v);
            }
          }
          return { id: args.custom === false ? undefined : `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
          const answer = options.call?.(args.token, args.inputs as Record<string, unknown>);
          return answer ?? (args.inputs as Record<string, unknown>);
        },
      },
      options.project,
      options.stack,
      false,
    );
    let result: T | undefined;
    // A program that throws is reported after the engine drains, not from inside the Stack resource: there it
    // would also surface as an unhandled rejection of the stack's outputs.
    let failure: { error: unknown } | undefined;
    await pulumi.runtime.runInPulumiStack(async () => {
      try {
        result = await program();
      } catch (error) {
        failure = { error };
      }
      return result as pulumi.Inputs | undefined;
    });
    // Registrations reach the mocks asynchronously; disconnect waits for the queue to drain.
    await pulumi.runtime.disconnect();
    if (failure) throw failure.error;
    const outputs = (await resolveDeep(result)) as T;
    return {
      project: options.project,
      stack: options.stack,
      resources,
      outputs,
      secretValues: [...secretValues],
      generatedSecrets,
    };
  } finally {
    running = false;
  }
}

/** Resolves every Output inside a value (secret outputs stay wrapped so callers can tell them apart). */
export async function resolveDeep(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const output = value as pulumi.Output<unknown>;
    const [inner, secret] = await Promise.all([
      new Promise<unknown>((resolve) => output.apply(resolve)),
      pulumi.isSecret(output),
    ]);
    const resolved = await resolveDeep(inner);
    return secret ? wrapSecret(resolved) : resolved;
  }
  if (value instanceof Promise) return resolveDeep(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (typeof value === "object" && value !== null && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}
