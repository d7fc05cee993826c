/**
 * Issue item 1: the zone under the real engine: this repository's zone program (what Pulumi.yaml's `main` runs) is
 * brought up by the lab's Pulumi CLI and Kubernetes provider against the lab's API server, whose simulator plays the
 * missing controllers so the provider's await logic runs for real. It runs as an Automation API inline program (the
 * same program, `stacks/zone-program.ts`): the Go module proxy does not serve the Node.js language host that a
 * plain `pulumi up` of Pulumi.yaml needs (README, "The real suite"), and the random provider is the lab's stand-in.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type ConfigMap, LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, Discovery, type KubeObject } from "../../lab/apply";
import { labPathVar, pulumiLabEnv } from "../../lab/pulumi-env";
import { binaryPath, spec } from "../../lab/versions";
import { readStackConfigFile } from "../../stacks/preview/config-file";
import { SECRET_SIG_KEY } from "../../stacks/preview/engine";
import { planTarget, zoneTarget } from "../../stacks/preview/targets";
import { zoneProgram } from "../../stacks/zone-program";
import {
  ensureNamespace,
  type Lab,
  labUnavailable,
  REPO_ROOT,
  removeDir,
  startLab,
  ZONE_BINARIES,
} from "./support/lab-world";
import { disagreements } from "./support/subset";

const unavailable = labUnavailable(ZONE_BINARIES);
if (unavailable) console.warn(`skipping the real zone suite: ${unavailable}`);

const LAB_STACK = resolve(REPO_ROOT, "test/real/fixtures/Pulumi.lab.yaml");

/** Drops what cannot be compared: Pulumi secret wrappers (the plan's are mock values) and write-only Secret data. */
function comparable(obj: KubeObject): KubeObject {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === "object") {
      if (SECRET_SIG_KEY in (v as object)) return undefined;
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, strip(x)]));
    }
    return v;
  };
  const out = strip(obj) as KubeObject;
  if (out.kind === "Secret") {
    delete out.stringData;
    delete out.data;
  }
  return out;
}

describe.skipIf(unavailable !== undefined)("the zone under the real engine and a real API server", () => {
  let lab: Lab;
  let dir: string;
  let stack: Stack;
  let planned: KubeObject[];
  let discovery: Discovery;
  let env: NodeJS.ProcessEnv;

  const pvc = (name: string) =>
    lab.cluster.api.get<{ metadata: { uid: string }; spec: { resources: { requests: { storage: string } } } }>(
      `/api/v1/namespaces/mail-zone/persistentvolumeclaims/${name}`,
    );

  beforeAll(async () => {
    const plan = await planTarget(await zoneTarget(LAB_STACK));
    planned = plan.resources
      .filter((r) => r.custom && r.type.startsWith("kubernetes:"))
      .map((r) => comparable(r.inputs as unknown as KubeObject));
    lab = await startLab();
    discovery = new Discovery(lab.cluster.api);
    await ensureNamespace(lab.cluster, "platform");
    // k3s's default StorageClass as it ships it, and the lab's expandable one the fixture names.
    for (const [name, expandable, isDefault] of [
      ["local-path", false, true],
      ["lab-expandable", true, false],
    ] as const) {
      await apply(lab.cluster.api, discovery, {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: {
          name,
          ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}),
        },
        provisioner: "rancher.io/local-path",
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        ...(expandable ? { allowVolumeExpansion: true } : {}),
      });
    }
    dir = mkdtempSync(join(tmpdir(), "mail-zone-real-zone-"));
    const lab_ = pulumiLabEnv(dir, lab.cluster.kubeconfigPath);
    env = lab_.env;
    // The Automation API finds the CLI on this process's PATH.
    process.env.PATH = labPathVar();
    const workDir = join(dir, "work");
    mkdirSync(workDir);
    stack = await LocalWorkspace.createOrSelectStack(
      { projectName: "mail-zone", stackName: "lab", program: zoneProgram },
      {
        workDir,
        pulumiHome: lab_.pulumiHome,
        projectSettings: { name: "mail-zone", runtime: "nodejs", backend: { url: lab_.backendUrl } },
        secretsProvider: "passphrase",
        envVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
      },
    );
    const { config, secretKeys } = readStackConfigFile(LAB_STACK);
    const map: ConfigMap = {};
    for (const [k, v] of Object.entries(config)) map[k] = { value: v, secret: secretKeys.includes(k) };
    await stack.setAllConfig(map);
  });

  afterAll(async () => {
    await lab?.stop();
    if (dir) removeDir(dir);
  });

  it("comes up, and every object the preview plans is stored as planned", async () => {
    const res = await stack.up({ onOutput: () => {} }).catch((err: unknown) => {
      throw new Error(`pulumi up failed: ${String(err)}\nsimulator: ${lab.simulator.errors.join("\n")}`);
    });
    expect(res.summary.result).toBe("succeeded");
    const problems: string[] = [];
    for (const obj of planned) {
      const got = await lab.cluster.api.request("GET", await discovery.pathFor(obj));
      if (got.status !== 200) {
        problems.push(`${obj.kind} ${obj.metadata.namespace ?? ""}/${obj.metadata.name}: HTTP ${got.status}`);
        continue;
      }
      for (const d of disagreements(obj, got.body)) problems.push(`${obj.kind} ${obj.metadata.name}: ${d}`);
    }
    expect(problems).toEqual([]);
  });

  it("has no perpetual diff: a second preview with --expect-no-changes passes", async () => {
    const res = await stack.preview({ expectNoChanges: true, diff: true }).catch((err: unknown) => {
      throw new Error(`preview --expect-no-changes failed: ${String(err).slice(0, 6000)}`);
    });
    expect(res.changeSummary.same).toBeGreaterThan(0);
  });

  it("updates in place on a config change (pop3 on, a bigger volume), replacing no PVC", async () => {
    const before = await pvc("mailcow-vmail");
    await stack.setConfig("mail-zone:traefik", {
      value: JSON.stringify({ optionalEntrypoints: { pop3: true } }),
    });
    await stack.setConfig("mail-zone:mailcow", {
      value: JSON.stringify({ storage: { storageClass: "lab-expandable", sizes: { vmail: "30Gi" } } }),
    });
    const res = await stack.up({ onOutput: () => {} });
    expect(res.summary.result).toBe("succeeded");
    expect(res.summary.resourceChanges?.replace ?? 0).toBe(0);
    const after = await pvc("mailcow-vmail");
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.spec.resources.requests.storage).toBe("30Gi");
    const pop3 = await lab.cluster.api.request(
      "GET",
      "/apis/traefik.io/v1alpha1/namespaces/mail-zone/ingressroutetcps/mail-pop3",
    );
    expect(pop3.status).toBe(200);
  });

  it("is destroyed after unprotecting: the zone's objects are gone but the retained ones, the platform namespace stays", async () => {
    execFileSync(binaryPath(spec("pulumi")), ["state", "unprotect", "--all", "--yes", "--stack", "lab"], {
      cwd: join(dir, "work"),
      env,
      stdio: "pipe",
    });
    const res = await stack.destroy({ onOutput: () => {} });
    expect(res.summary.result).toBe("succeeded");
    const left: string[] = [];
    for (const obj of planned.filter((o) => o.kind !== "Namespace")) {
      const got = await lab.cluster.api.request("GET", await discovery.pathFor(obj));
      if (got.status === 200) left.push(`${obj.kind} ${obj.metadata.namespace ?? ""}/${obj.metadata.name}`);
    }
    // Retained by design (retainOnDelete): the backup volume outlives a mistaken destroy, and so does the zone's
    // Namespace (docs/backup-restore.md, docs/install.md "Removing the zone").
    expect(left).toEqual(["PersistentVolumeClaim mail-zone/mailcow-backups"]);
    expect((await lab.cluster.api.request("GET", "/api/v1/namespaces/mail-zone")).status).toBe(200);
    expect((await lab.cluster.api.request("GET", "/api/v1/namespaces/platform")).status).toBe(200);
  });
});
