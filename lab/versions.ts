/**
 * The real engine's binaries: which Go module builds each one, at which version, and where the build lands.
 * Versions follow package-lock (the CLI and the Kubernetes provider the SDKs expect) and the Kubernetes minor k3s
 * ships; where the Go module proxy does not serve that exact version the nearest one it serves is named here.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { RANDOM_STAND_IN_MAIN, RANDOM_STAND_IN_VERSION } from "./random-stand-in";

export type BinaryName =
  | "pulumi"
  | "pulumi-language-nodejs"
  | "pulumi-resource-kubernetes"
  | "pulumi-resource-random"
  | "kube-apiserver"
  | "etcd";

export interface BinarySpec {
  readonly name: BinaryName;
  /** The version the binary reports and the key of its directory: a change rebuilds. */
  readonly version: string;
  /** Modules the throwaway wrapper module requires, `path@version`. */
  readonly requires: readonly string[];
  /** `old => new@version` lines the wrapper repeats, because `go install` ignores a dependency's replaces. */
  readonly replaces: readonly string[];
  /** The package to build; `.` when the wrapper supplies its own main. */
  readonly pkg: string;
  readonly ldflags: readonly string[];
  /** Needed by the runs that use this binary; a missing optional one makes only those tests skip, saying why. */
  readonly required: boolean;
  /** Go source of a `main` the wrapper supplies (pkg "."). */
  readonly main?: string;
  /** A module the proxy is asked for first, to say whether the real thing has become available. */
  readonly probe?: string;
  /** One line for the README and the build log: what this binary is when it is not the upstream release. */
  readonly note?: string;
}

export function labDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MAIL_ZONE_LAB_DIR ?? join(homedir(), ".cache", "mail-zone-lab");
}

export function binaryDir(spec: BinarySpec, root = labDir()): string {
  return join(root, "bin", `${spec.name}-${spec.version}`);
}

export function binaryPath(spec: BinarySpec, root = labDir()): string {
  return join(binaryDir(spec, root), spec.name);
}

const PULUMI = "v3.248.0";
/** The release commit of v3.248.0 (tag pkg/v3.248.0); the language host module has no tags of its own. */
const LANGUAGE_NODEJS_PSEUDO = "v3.0.0-20260624180030-dc7edd58bc13";
/**
 * @pulumi/kubernetes is 4.34.2, but the proxy serves provider/v4 at one pseudo-version only: a commit of
 * 2026-01-14 between 4.24.0 and 4.25.0. It is what can be built; the version says so instead of claiming 4.34.2.
 */
const KUBERNETES_PSEUDO = "v4.0.0-20260115033456-f47bc2d6f199";
const KUBERNETES_VERSION = "4.25.0-alpha.0+f47bc2d6f199";
const RANDOM = "v4.21.2";
/** The newest Kubernetes minor (k3s ships each minor shortly after upstream) at its newest patch on the proxy. */
export const KUBE_VERSION = { major: "1", minor: "37", patch: "2" } as const;
const KUBE = `v${KUBE_VERSION.major}.${KUBE_VERSION.minor}.${KUBE_VERSION.patch}`;
const ETCD = "v3.6.16";

export const BINARIES: readonly BinarySpec[] = [
  {
    name: "etcd",
    version: ETCD,
    requires: [`go.etcd.io/etcd/server/v3@${ETCD}`],
    replaces: [],
    pkg: ".",
    ldflags: [],
    required: true,
  },
  {
    name: "pulumi",
    version: PULUMI,
    requires: [`github.com/pulumi/pulumi/pkg/v3@${PULUMI}`, `github.com/pulumi/pulumi/sdk/v3@${PULUMI}`],
    replaces: ["github.com/atotto/clipboard => github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"],
    pkg: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI}`],
    required: true,
  },
  {
    name: "pulumi-language-nodejs",
    version: PULUMI,
    requires: [
      `github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@${LANGUAGE_NODEJS_PSEUDO}`,
      `github.com/pulumi/pulumi/pkg/v3@${PULUMI}`,
      `github.com/pulumi/pulumi/sdk/v3@${PULUMI}`,
    ],
    replaces: [],
    pkg: "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3",
    ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI}`],
    note: "not needed by the suite, which runs the zone and site programs inline (Automation API)",
    required: false,
  },
  {
    name: "pulumi-resource-kubernetes",
    version: KUBERNETES_VERSION,
    requires: [`github.com/pulumi/pulumi-kubernetes/provider/v4@${KUBERNETES_PSEUDO}`],
    replaces: [],
    pkg: ".",
    ldflags: [`-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${KUBERNETES_VERSION}`],
    required: true,
  },
  {
    name: "pulumi-resource-random",
    version: RANDOM_STAND_IN_VERSION,
    requires: [`github.com/pulumi/pulumi/pkg/v3@${PULUMI}`, `github.com/pulumi/pulumi/sdk/v3@${PULUMI}`],
    replaces: ["github.com/atotto/clipboard => github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"],
    pkg: ".",
    main: RANDOM_STAND_IN_MAIN,
    ldflags: [`-X main.version=${RANDOM_STAND_IN_VERSION}`],
    probe: `github.com/pulumi/pulumi-random/provider/v4@${RANDOM}`,
    note: "the lab's own stand-in (lab/random-stand-in.ts): the proxy serves no pulumi-random provider module",
    required: true,
  },
  {
    name: "kube-apiserver",
    version: KUBE,
    requires: [`k8s.io/kubernetes@${KUBE}`],
    // Filled in at build time from k8s.io/kubernetes's own go.mod: every staging module at v0.<minor>.<patch>.
    replaces: [],
    pkg: "k8s.io/kubernetes/cmd/kube-apiserver",
    ldflags: [
      `-X k8s.io/component-base/version.gitVersion=${KUBE}`,
      `-X k8s.io/component-base/version.gitMajor=${KUBE_VERSION.major}`,
      `-X k8s.io/component-base/version.gitMinor=${KUBE_VERSION.minor}`,
      "-X k8s.io/component-base/version.gitTreeState=clean",
      "-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z",
    ],
    required: true,
  },
];

export function spec(name: BinaryName): BinarySpec {
  const found = BINARIES.find((b) => b.name === name);
  if (!found) throw new Error(`no binary named ${name}`);
  return found;
}
