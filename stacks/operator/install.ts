/**
 * `npm run zone:install -- --stack <name>`: preflight checks, then `pulumi up --stack <name>` for the zone.
 * Failed checks stop the install (each says what to do), and so do checks that could not be run (exit 3): an
 * install is not started on unknown ground. `--force` runs `pulumi up` anyway.
 */
import { spawn } from "node:child_process";
import { checkPulumi, exitCodeFor, formatResults, type Probes, PULUMI_INSTALL_HINT, preflightChecks } from "./checks";
import { commandRunner, systemProbes } from "./probes";
import { loadCheckSettings, OPERATOR_USAGE, parseOperatorArgs, UsageError } from "./settings";

export interface InstallDeps {
  probes: Probes;
  pulumi: ReturnType<typeof commandRunner>;
  /** Runs `pulumi <args>` attached to the terminal; resolves its exit code, or "missing" when not installed. */
  runPulumi: (args: string[]) => Promise<number | "missing">;
  out: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

export function spawnPulumi(args: string[]): Promise<number | "missing"> {
  return new Promise((resolve) => {
    const child = spawn("pulumi", args, { stdio: "inherit" });
    child.on("error", (err) => resolve((err as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : 1));
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}

export async function install(argv: readonly string[], deps: InstallDeps): Promise<number> {
  let args: ReturnType<typeof parseOperatorArgs>;
  let settings: ReturnType<typeof loadCheckSettings>;
  try {
    args = parseOperatorArgs(argv, deps.env);
    settings = loadCheckSettings(args);
  } catch (err) {
    deps.out(`${(err as Error).message}\n`);
    if (err instanceof UsageError)
      deps.out(`Usage: npm run zone:install -- --stack NAME [--force] [--yes]\n${OPERATOR_USAGE}\n`);
    return 2;
  }
  deps.out(`Preflight for stack ${args.stack} (mail host ${settings.mailHost})\n`);
  const results = [await checkPulumi(deps.pulumi), ...(await preflightChecks(deps.probes, settings))];
  deps.out(`${formatResults(results)}\n`);
  const verdict = exitCodeFor(results);
  if (verdict !== 0 && !args.force) {
    deps.out(
      verdict === 1
        ? "Not running `pulumi up`: fix the failed checks above (or pass --force to install anyway).\n"
        : "Not running `pulumi up`: some checks could not be run (see above); run again once they can (or pass --force to install anyway).\n",
    );
    return verdict;
  }
  deps.out(`Running: pulumi up --stack ${args.stack}${args.yes ? " --yes" : ""}\n`);
  const code = await deps.runPulumi(["up", "--stack", args.stack, ...(args.yes ? ["--yes"] : [])]);
  if (code === "missing") {
    deps.out(`pulumi is not installed: ${PULUMI_INSTALL_HINT}\n`);
    return 127;
  }
  if (code === 0) deps.out(`Zone installed. Check it any time with \`npm run doctor -- --stack ${args.stack}\`.\n`);
  return code;
}

if (require.main === module) {
  install(process.argv.slice(2), {
    probes: systemProbes(),
    pulumi: commandRunner("pulumi"),
    runPulumi: spawnPulumi,
    out: (t) => process.stdout.write(t),
  }).then((code) => {
    process.exitCode = code;
  });
}
