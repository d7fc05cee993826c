/**
 * `npm run doctor -- --stack <name>`: the install preflight against an installed zone, plus the zone itself
 * (namespace, Mailcow pod ready, Traefik's PROXY routes). Exit code 1 when anything failed, 3 when nothing failed
 * but a check could not be run (no answer from the resolver, say), 0 when all passed.
 */
import { doctorChecks, exitCodeFor, formatResults, type Probes } from "./checks";
import { systemProbes } from "./probes";
import { loadCheckSettings, OPERATOR_USAGE, parseOperatorArgs, UsageError } from "./settings";

export async function doctor(
  argv: readonly string[],
  deps: { probes: Probes; out: (text: string) => void; env?: NodeJS.ProcessEnv },
): Promise<number> {
  let settings: ReturnType<typeof loadCheckSettings>;
  let stack: string;
  try {
    const args = parseOperatorArgs(argv, deps.env);
    stack = args.stack;
    settings = loadCheckSettings(args);
  } catch (err) {
    deps.out(`${(err as Error).message}\n`);
    if (err instanceof UsageError) deps.out(`Usage: npm run doctor -- --stack NAME\n${OPERATOR_USAGE}\n`);
    return 2;
  }
  deps.out(`Doctor for stack ${stack} (mail host ${settings.mailHost}, namespace ${settings.namespace})\n`);
  const results = await doctorChecks(deps.probes, settings);
  deps.out(`${formatResults(results)}\n`);
  return exitCodeFor(results);
}

if (require.main === module) {
  doctor(process.argv.slice(2), { probes: systemProbes(), out: (t) => process.stdout.write(t) }).then((code) => {
    process.exitCode = code;
  });
}
