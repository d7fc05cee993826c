/**
 * What a preview or render plans: the zone program with a stack file's config, or one site's program with the
 * config the controller would write for it. Shared by `npm run preview` and `npm run render`.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseSiteInput, SITE_PROJECT, siteStackConfig } from "../site-config";
import { readStackConfigFile, stackNameFromFile } from "./config-file";
import { type Plan, type PlanOptions, planProgram } from "./engine";
import { previewCalls } from "./preview-calls";

export const ZONE_PROJECT = "mail-zone";
export const REPO_ROOT = path.resolve(__dirname, "../..");
export const DEFAULT_STACK_FILE = path.join(REPO_ROOT, "Pulumi.example.yaml");

/** A program to plan: the zone's and the site's are loaded lazily so a preview loads only what it runs. */
export type Program = () => Promise<unknown>;

export interface Programs {
  zone: () => Promise<Program>;
  site: () => Promise<Program>;
}

export const DEFAULT_PROGRAMS: Programs = {
  zone: async () => (await import("../zone-program")).zoneProgram,
  site: async () => (await import("../site-program")).siteProgram,
};

/** A bad input file or flag value: printed as is, exit code 1. */
export class TargetError extends Error {
  override readonly name = "TargetError";
}

export interface Target {
  kind: "zone" | "site";
  options: PlanOptions;
  program: Program;
}

export async function zoneTarget(stackFile: string = DEFAULT_STACK_FILE, programs = DEFAULT_PROGRAMS): Promise<Target> {
  const { config, secretKeys } = readStackConfigFile(stackFile);
  return {
    kind: "zone",
    options: { project: ZONE_PROJECT, stack: stackNameFromFile(stackFile), config, secretKeys, call: previewCalls },
    program: await programs.zone(),
  };
}

export async function siteTarget(siteFile: string, programs = DEFAULT_PROGRAMS): Promise<Target> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(siteFile, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TargetError(
      `${siteFile}: ${code ? `cannot read the site file (${code})` : `is not valid JSON (${(err as Error).message})`}`,
    );
  }
  let input: ReturnType<typeof parseSiteInput>;
  try {
    input = parseSiteInput(raw);
  } catch (err) {
    throw new TargetError(`${siteFile}: ${(err as Error).message}`);
  }
  const entries = Object.entries(siteStackConfig(input));
  return {
    kind: "site",
    options: {
      project: SITE_PROJECT,
      stack: input.slug,
      config: Object.fromEntries(entries.map(([k, v]) => [k, v.value])),
      secretKeys: entries.filter(([, v]) => v.secret).map(([k]) => k),
      call: previewCalls,
    },
    program: await programs.site(),
  };
}

export function planTarget(target: Target): Promise<Plan<unknown>> {
  return planProgram(target.program, target.options);
}
