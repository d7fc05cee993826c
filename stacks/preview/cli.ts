/**
 * `npm run preview`: plans the zone (or one site) under Pulumi's mock engine and prints what `pulumi up` would
 * create, with no cluster and no credentials. Every Kubernetes object is schema-validated before anything is
 * printed; secret values never reach the output.
 *
 * Exit codes: 0 plan printed; 1 bad input, program error, invalid object or a secret about to leak; 2 bad flags.
 */
import { parseArgs } from "node:util";
import { isWrappedSecret, type Plan, redactSecrets } from "./engine";
import { formatJsonPlan } from "./format-json";
import { formatTextPlan, type SiteRecordView } from "./format-text";
import { DEFAULT_PROGRAMS, type Programs, planTarget, siteTarget, type Target, zoneTarget } from "./targets";
import { validatePlan } from "./validate";

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const USAGE = `Usage: npm run preview -- [--config FILE | --site FILE] [--format text|json]

  (no flags)        plan the zone (project mail-zone) with Pulumi.example.yaml
  --config FILE     plan the zone with this Pulumi stack file (e.g. Pulumi.prod.yaml)
  --site FILE       plan one site's mail DNS (project mail-sites) from a site JSON file
  --format FORMAT   text (default; readable, grouped by kind) or json (one JSON document, secrets as "[secret]")
  --help            show this help
`;

export type Format = "text" | "json";

export interface PreviewArgs {
  format: Format;
  config?: string;
  site?: string;
  help: boolean;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function parsePreviewArgs(argv: readonly string[]): PreviewArgs {
  let values: { config?: string; site?: string; format?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string" },
        site: { type: "string" },
        format: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const format = values.format ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--format "${format}": expected text or json`);
  }
  if (values.config !== undefined && values.site !== undefined) {
    throw new UsageError(
      "--config and --site exclude each other: --config is the zone's stack file, --site a site file",
    );
  }
  return { format, config: values.config, site: values.site, help: values.help === true };
}

/** The site's record list from its program outputs (`{provider, records}`), when present. */
function siteOutputs(outputs: unknown): { provider: string; records: SiteRecordView[] } | undefined {
  if (typeof outputs !== "object" || outputs === null || isWrappedSecret(outputs)) return undefined;
  const o = outputs as { provider?: unknown; records?: unknown };
  if (!Array.isArray(o.records)) return undefined;
  return { provider: typeof o.provider === "string" ? o.provider : "?", records: o.records as SiteRecordView[] };
}

/** The first generated or secret-config value that occurs in `text`, if any (the value itself is not returned). */
export function leakedSecretIndex(text: string, secretValues: readonly string[]): number {
  return secretValues.findIndex((v) => v.length >= 4 && text.includes(v));
}

/** Names the resources whose redacted inputs still hold a secret value, so the leak can be fixed at its source. */
export function leakingResources(plan: Plan<unknown>): string[] {
  return plan.resources
    .filter((r) => leakedSecretIndex(JSON.stringify(redactSecrets(r.inputs)), plan.secretValues) >= 0)
    .map((r) => `${r.type} "${r.name}"`);
}

export function renderPlan(plan: Plan<unknown>, format: Format, kind: Target["kind"]): string {
  const stack = `${plan.project}/${plan.stack}`;
  const site = kind === "site" ? siteOutputs(plan.outputs) : undefined;
  return format === "json"
    ? formatJsonPlan({ stack, resources: plan.resources, records: site?.records })
    : formatTextPlan({ stack, resources: plan.resources, outputs: plan.outputs, site });
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export async function main(argv: readonly string[], io: Io = processIo, programs: Programs = DEFAULT_PROGRAMS) {
  let args: PreviewArgs;
  try {
    args = parsePreviewArgs(argv);
  } catch (err) {
    io.stderr(`preview: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout(USAGE);
    return 0;
  }
  try {
    const target = args.site ? await siteTarget(args.site, programs) : await zoneTarget(args.config, programs);
    const plan = await planTarget(target);
    validatePlan(plan.resources);
    const text = renderPlan(plan, args.format, target.kind);
    const leaks = leakingResources(plan);
    if (leaks.length > 0 || leakedSecretIndex(text, plan.secretValues) >= 0) {
      // A secret that is not wrapped as a Pulumi secret: it would sit in plain state (and in --format json).
      io.stderr(
        `preview: refusing to print the plan: a secret value appears unmarked (not as a Pulumi secret) in ${
          leaks.length > 0 ? leaks.join(", ") : "the stack outputs"
        }\n`,
      );
      return 1;
    }
    io.stdout(text);
    return 0;
  } catch (err) {
    io.stderr(`preview: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // `npm run preview | head` closes the pipe early: that is the reader's choice, not a failure of the preview.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
