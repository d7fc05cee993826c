/**
 * `npm run render`: writes the zone's Kubernetes objects as plain manifests into infra/k8s/mailcow/ (or `--out DIR`),
 * from the same plan as `npm run preview`. `--check` writes nothing and exits 1 when the directory is stale.
 *
 * Exit codes: 0 done (or up to date); 1 render failed or `--check` found differences; 2 bad flags.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { Io } from "./cli";
import { diffRendered, renderManifests, writeRendered } from "./render";
import { DEFAULT_PROGRAMS, DEFAULT_STACK_FILE, type Programs, planTarget, REPO_ROOT, zoneTarget } from "./targets";

export const DEFAULT_OUT_DIR = path.join(REPO_ROOT, "infra/k8s/mailcow");

export const RENDER_USAGE = `Usage: npm run render -- [--config FILE] [--out DIR] [--check]

  --config FILE   the zone's Pulumi stack file (default Pulumi.example.yaml)
  --out DIR       where to write (default infra/k8s/mailcow)
  --check         write nothing; exit 1 if DIR differs from a fresh render
  --help          show this help
`;

/** How the config file is named in the generated headers: relative to the repo when inside it. */
export function sourceName(file: string): string {
  const relative = path.relative(REPO_ROOT, path.resolve(file));
  return relative.startsWith("..") ? path.basename(file) : relative;
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export async function main(argv: readonly string[], io: Io = processIo, programs: Programs = DEFAULT_PROGRAMS) {
  let values: { config?: string; out?: string; check?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string" },
        out: { type: "string" },
        check: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`render: ${(err as Error).message}\n\n${RENDER_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(RENDER_USAGE);
    return 0;
  }
  const stackFile = values.config ?? DEFAULT_STACK_FILE;
  const out = path.resolve(values.out ?? DEFAULT_OUT_DIR);
  try {
    const target = await zoneTarget(stackFile, programs);
    const plan = await planTarget(target);
    const files = renderManifests(plan, {
      source: sourceName(stackFile),
      config: target.options.config,
      secretKeys: target.options.secretKeys,
    });
    if (values.check) {
      const problems = diffRendered(out, files);
      if (problems.length > 0) {
        io.stderr(`render: ${out} is stale; run npm run render:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
        return 1;
      }
      io.stdout(`render: ${out} is up to date (${files.length} files)\n`);
      return 0;
    }
    const { written, removed } = writeRendered(out, files);
    io.stdout(
      `render: wrote ${written} files to ${out}${removed.length ? `; removed ${removed.join(", ")}` : ""}\n` +
        "  Secrets are not rendered: see SECRETS.md there. Cloudflare records and generated passwords: README.md.\n",
    );
    return 0;
  } catch (err) {
    io.stderr(`render: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
