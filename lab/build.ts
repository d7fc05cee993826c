/**
 * Builds the real engine's binaries from the Go module proxy with the ordinary `go` client, each in a throwaway
 * wrapper module generated in a temp dir (their own go.mod files carry replace directives, so `go install` refuses
 * them). Only what is missing is built; module and build caches live under the lab dir so later runs reuse them.
 *
 *   npx tsx lab/build.ts            build what is missing (exit 1 when a required binary cannot be built)
 *   npx tsx lab/build.ts --status   say what is built, build nothing
 *   npx tsx lab/build.ts --only a,b build only these
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARIES, type BinarySpec, binaryDir, binaryPath, labDir } from "./versions";

const started = Date.now();
const elapsed = (): string => {
  const s = Math.round((Date.now() - started) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
};
const say = (msg: string): void => console.log(`[lab build ${elapsed()}] ${msg}`);

export function goEnv(root = labDir()): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOMODCACHE: join(root, "gomod"),
    GOCACHE: join(root, "gocache"),
    GOFLAGS: "-mod=mod",
    GOPROXY: process.env.GOPROXY ?? "https://proxy.golang.org",
    // Newer Go than the machine's is never fetched: the wrapper must build with the Go that is here.
    GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? "local",
    CGO_ENABLED: "0",
  };
}

interface RunResult {
  code: number;
  output: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    // nice: the machine is shared; the build yields to interactive work.
    const child = spawn("nice", ["-n", "10", cmd, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The proxy's refusal ("403 … not available", "404", "410") is final; a network hiccup is worth a retry. */
export function classifyGoFailure(output: string): "refused" | "transient" | "failed" {
  if (/403 Forbidden|not available|404 Not Found|410 Gone|unknown revision|invalid version/.test(output)) {
    return "refused";
  }
  if (
    /i\/o timeout|connection reset|TLS handshake timeout|502 Bad Gateway|503 Service|504 Gateway|unexpected EOF|temporary failure/i.test(
      output,
    )
  ) {
    return "transient";
  }
  return "failed";
}

/** The `module@version` a refusal names, so the report says exactly what the proxy would not serve. */
export function refusedModule(output: string): string | undefined {
  const m = /([\w.\-/]+@v[\w.\-+]+): (?:reading|invalid version|unknown revision)/.exec(output);
  return m?.[1];
}

async function go(args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const res = await run("go", args, cwd, env);
    if (res.code === 0) return;
    const kind = classifyGoFailure(res.output);
    const tail = res.output.trim().split("\n").slice(-12).join("\n");
    if (kind === "transient" && attempt < 4) {
      say(`${what}: transient failure (attempt ${attempt}), retrying in ${attempt * 10}s\n${tail}`);
      await new Promise((r) => setTimeout(r, attempt * 10_000));
      continue;
    }
    if (kind === "refused") {
      throw new Error(`${what}: the Go module proxy refused ${refusedModule(res.output) ?? "a module"}\n${tail}`);
    }
    throw new Error(`${what}: go ${args.join(" ")} failed\n${tail}`);
  }
}

function moduleDir(env: NodeJS.ProcessEnv, cwd: string, mod: string): Promise<string> {
  return run("go", ["list", "-m", "-f", "{{.Dir}}", mod], cwd, env).then((r) => {
    if (r.code !== 0) throw new Error(`go list -m ${mod}: ${r.output}`);
    return r.output.trim();
  });
}

const ETCD_MAIN = `package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`;

// The provider's own main embeds schema files its generate step writes; this main embeds the same two files,
// written below from the module's schema.json with the version set, as that step does.
const KUBERNETES_MAIN = `package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() { provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping) }
`;

/** k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging: pin each instead. */
export function stagingReplaces(goMod: string, minor: string, patch: string): string[] {
  const names = new Set<string>();
  for (const m of goMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)) names.add(m[1] as string);
  return [...names].map((n) => `${n} => ${n}@v0.${minor}.${patch}`);
}

async function buildOne(spec: BinarySpec, root: string): Promise<void> {
  const env = goEnv(root);
  const work = mkdtempSync(join(tmpdir(), `mail-zone-lab-${spec.name}-`));
  try {
    writeFileSync(join(work, "go.mod"), `module mailzonelab/${spec.name.replaceAll("-", "")}\n\ngo 1.26\n`);
    if (spec.name === "etcd") writeFileSync(join(work, "main.go"), ETCD_MAIN);
    if (spec.main) writeFileSync(join(work, "main.go"), spec.main);
    if (spec.probe) {
      const probe = await run("go", ["list", "-m", spec.probe], work, env);
      say(
        probe.code === 0
          ? `${spec.name}: NOTE ${spec.probe} is served now; the real provider could replace the stand-in (lab/versions.ts)`
          : `${spec.name}: the proxy refuses ${spec.probe} (${classifyGoFailure(probe.output)}); building ${spec.note ?? "a stand-in"}`,
      );
    }
    const replaces = [...spec.replaces];
    if (spec.name === "kube-apiserver") {
      say(`${spec.name} ${spec.version}: reading k8s.io/kubernetes's staging modules`);
      await go(["mod", "download", spec.requires[0] as string], work, env, spec.name);
      const dir = await moduleDir(env, work, spec.requires[0] as string).catch(async () => {
        await go(["get", spec.requires[0] as string], work, env, spec.name);
        return moduleDir(env, work, "k8s.io/kubernetes");
      });
      const [, minor, patch] = spec.version.slice(1).split(".");
      replaces.push(...stagingReplaces(readFileSync(join(dir, "go.mod"), "utf8"), minor as string, patch as string));
    }
    for (const r of replaces) {
      const [from, to] = r.split(" => ");
      await go(["mod", "edit", `-replace=${from}=${to}`], work, env, spec.name);
    }
    say(`${spec.name} ${spec.version}: resolving ${spec.requires.join(", ")}`);
    if (spec.pkg === ".") {
      await go(["get", ...spec.requires], work, env, spec.name);
      if (spec.name === "pulumi-resource-kubernetes") {
        const dir = await moduleDir(env, work, "github.com/pulumi/pulumi-kubernetes/provider/v4");
        const cmdDir = join(dir, "cmd", "pulumi-resource-kubernetes");
        const schema = JSON.parse(readFileSync(join(cmdDir, "schema.json"), "utf8")) as Record<string, unknown>;
        schema.version = spec.version;
        writeFileSync(join(work, "schema-embed.json"), JSON.stringify(schema));
        writeFileSync(join(work, "terraform-mapping.json"), readFileSync(join(cmdDir, "terraform-mapping.json")));
        writeFileSync(join(work, "main.go"), KUBERNETES_MAIN);
      }
      await go(["mod", "tidy"], work, env, spec.name);
    } else {
      await go(
        ["get", ...spec.requires.map((r, i) => (i === 0 ? `${spec.pkg}@${r.split("@")[1]}` : r))],
        work,
        env,
        spec.name,
      );
    }
    say(`${spec.name} ${spec.version}: compiling`);
    const out = join(work, spec.name);
    await go(
      ["build", "-p", "2", "-trimpath", "-ldflags", ["-s", "-w", ...spec.ldflags].join(" "), "-o", out, spec.pkg],
      work,
      env,
      spec.name,
    );
    const dest = binaryDir(spec, root);
    mkdirSync(dest, { recursive: true });
    chmodSync(out, 0o755);
    renameSync(out, binaryPath(spec, root));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface BuildOutcome {
  built: string[];
  cached: string[];
  failed: { name: string; required: boolean; reason: string }[];
}

export async function buildMissing(root = labDir(), only?: readonly string[]): Promise<BuildOutcome> {
  const outcome: BuildOutcome = { built: [], cached: [], failed: [] };
  // Refusals answer at once, so the binaries that may be refused go first and the long compiles after.
  const order = [...BINARIES]
    .filter((b) => !only || only.includes(b.name))
    .sort((a, b) => Number(a.required) - Number(b.required));
  for (const spec of order) {
    if (existsSync(binaryPath(spec, root))) {
      outcome.cached.push(`${spec.name} ${spec.version}`);
      continue;
    }
    const t0 = Date.now();
    say(`${spec.name} ${spec.version}: building`);
    try {
      await buildOne(spec, root);
      say(`${spec.name} ${spec.version}: built in ${Math.round((Date.now() - t0) / 1000)}s`);
      outcome.built.push(`${spec.name} ${spec.version}`);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      say(`${spec.name} ${spec.version}: NOT built\n${reason}`);
      outcome.failed.push({ name: spec.name, required: spec.required, reason: reason.split("\n")[0] as string });
    }
  }
  return outcome;
}

async function main(): Promise<void> {
  const root = labDir();
  if (process.argv.includes("--status")) {
    for (const spec of BINARIES) {
      console.log(`${existsSync(binaryPath(spec, root)) ? "built  " : "missing"} ${spec.name} ${spec.version}`);
    }
    return;
  }
  const i = process.argv.indexOf("--only");
  const outcome = await buildMissing(root, i > 0 ? process.argv[i + 1]?.split(",") : undefined);
  say(`done: ${outcome.built.length} built, ${outcome.cached.length} cached, ${outcome.failed.length} not built`);
  for (const f of outcome.failed) say(`  ${f.required ? "REQUIRED" : "optional"} ${f.name}: ${f.reason}`);
  if (outcome.failed.some((f) => f.required)) process.exitCode = 1;
}

if (process.argv[1]?.endsWith("build.ts")) void main();
