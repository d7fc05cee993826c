import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type Plan, type PlannedResource, wrapSecret } from "./engine";
import { diffRendered, GENERATED_MARKER, type RenderedFile, renderManifests, writeRendered } from "./render";
import { DEFAULT_OUT_DIR } from "./render-cli";
import { DEFAULT_STACK_FILE, planTarget, zoneTarget } from "./targets";
import { validatePlan } from "./validate";

const GENERATED = "MkGeneratedPassword0123456789";
const CONFIG_SECRET = "config-secret-token-value";

function k8s(type: string, inputs: Record<string, unknown>): PlannedResource {
  return { type, name: `${String((inputs.metadata as { name: string }).name)}-res`, custom: true, inputs };
}

/** A hand-built plan: objects deliberately listed out of apply order, keys in odd order. */
function handPlan(): Plan<unknown> {
  return {
    project: "mail-zone",
    stack: "example",
    outputs: {},
    secretValues: [GENERATED, CONFIG_SECRET],
    generatedSecrets: [
      {
        type: "random:index/randomPassword:RandomPassword",
        name: "db-pass",
        field: "result",
        length: 28,
        value: GENERATED,
      },
    ],
    resources: [
      k8s("kubernetes:traefik.io/v1alpha1:IngressRouteTCP", {
        kind: "IngressRouteTCP",
        apiVersion: "traefik.io/v1alpha1",
        spec: {
          routes: [{ services: [{ port: 10025, name: "mailcow-postfix" }], match: "HostSNI(`*`)" }],
          entryPoints: ["smtp"],
        },
        metadata: { namespace: "mail-zone", name: "mail-smtp" },
      }),
      k8s("kubernetes:core/v1:Secret", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "mailcow-secrets", namespace: "mail-zone" },
        stringData: wrapSecret({
          DBPASS: GENERATED,
          TOKEN: CONFIG_SECRET,
          DSN: `mysql://u:${GENERATED}@db`,
          DBNAME: "mailcow",
        }),
      }),
      k8s("kubernetes:core/v1:Service", {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "mailcow-postfix", namespace: "mail-zone" },
        spec: { ports: [{ port: 10025 }], selector: { "app.kubernetes.io/managed-by": "pulumi" } },
      }),
      k8s("kubernetes:core/v1:Namespace", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: "mail-zone",
          labels: { "app.kubernetes.io/managed-by": "pulumi" },
          annotations: { "pulumi.com/skipAwait": "true" },
        },
      }),
      { type: "random:index/randomPassword:RandomPassword", name: "db-pass", custom: true, inputs: { length: 28 } },
      {
        type: "cloudflare:index/dnsRecord:DnsRecord",
        name: "mail-a",
        custom: true,
        inputs: { name: "mail.example.com", type: "A", content: "203.0.113.10", proxied: false },
      },
    ],
  };
}

const options = {
  source: "Pulumi.example.yaml",
  config: { "mail-zone:token": CONFIG_SECRET },
  secretKeys: ["mail-zone:token"],
};

function file(files: RenderedFile[], name: string): string {
  const found = files.find((f) => f.name === name);
  if (!found) throw new Error(`no ${name} in ${files.map((f) => f.name).join(", ")}`);
  return found.content;
}

describe("renderManifests", () => {
  const files = renderManifests(handPlan(), options);

  it("writes one file per object, named in apply order, and lists them in kustomization.yaml in that order", () => {
    const manifests = files.filter((f) => /^\d\d-/.test(f.name)).map((f) => f.name);
    expect(manifests).toEqual([
      "00-namespace-mail-zone.yaml",
      "03-service-mail-zone-mailcow-postfix.yaml",
      "09-ingressroutetcp-mail-zone-mail-smtp.yaml",
    ]);
    const kustomization = parseAllDocuments(file(files, "kustomization.yaml"))[0].toJSON();
    expect(kustomization.kind).toBe("Kustomization");
    expect(kustomization.resources).toEqual(manifests);
  });

  it("writes conventional keys first and the rest sorted, so a re-render is stable", () => {
    expect(file(files, "09-ingressroutetcp-mail-zone-mail-smtp.yaml")).toBe(
      [
        `${GENERATED_MARKER} from the mail-zone Pulumi program with Pulumi.example.yaml. Do not edit: re-render.`,
        "apiVersion: traefik.io/v1alpha1",
        "kind: IngressRouteTCP",
        "metadata:",
        "  name: mail-smtp",
        "  namespace: mail-zone",
        "spec:",
        "  entryPoints:",
        "    - smtp",
        "  routes:",
        "    - match: HostSNI(`*`)",
        "      services:",
        "        - name: mailcow-postfix",
        "          port: 10025",
        "",
      ].join("\n"),
    );
    expect(renderManifests(handPlan(), options)).toEqual(files);
  });

  it("drops Pulumi's annotations and marks the objects as managed by kustomize, in selectors too", () => {
    const namespace = file(files, "00-namespace-mail-zone.yaml");
    expect(namespace).not.toContain("pulumi.com/");
    expect(namespace).toContain("app.kubernetes.io/managed-by: kustomize");
    expect(file(files, "03-service-mail-zone-mailcow-postfix.yaml")).toContain(
      "app.kubernetes.io/managed-by: kustomize",
    );
  });

  it("writes no Secret object, and SECRETS.md names each Secret's keys with a kubectl recipe", () => {
    expect(files.some((f) => /secret/i.test(f.name) && f.name.endsWith(".yaml"))).toBe(false);
    const secrets = file(files, "SECRETS.md");
    expect(secrets).toContain("## `mail-zone/mailcow-secrets`");
    expect(secrets).toContain("| `DBPASS` | generated: random, 28 characters (`$DB_PASS`) |");
    expect(secrets).toContain("| `TOKEN` | secret config `mail-zone:token`");
    expect(secrets).toContain("| `DSN` | derived from a secret: fill in by hand |");
    expect(secrets).toContain("| `DBNAME` | `mailcow` (not secret) |");
    expect(secrets).toContain(`DB_PASS="$(openssl rand -base64 96 | tr -dc 'A-Za-z0-9' | head -c 28)"`);
    expect(secrets).toContain("kubectl create secret generic mailcow-secrets --namespace mail-zone \\");
    expect(secrets).toContain('  --from-literal=DBPASS="$DB_PASS" \\');
    expect(secrets).toContain("--dry-run=client -o yaml");
  });

  it("puts no secret value in any file", () => {
    for (const f of files) {
      expect(f.content, f.name).not.toContain(GENERATED);
      expect(f.content, f.name).not.toContain(CONFIG_SECRET);
    }
  });

  it("lists what only Pulumi creates in README.md", () => {
    const readme = file(files, "README.md");
    expect(readme).toContain("Cloudflare DNS record `mail.example.com A 203.0.113.10`");
    expect(readme).toContain("Generated secret `db-pass`");
  });

  it("refuses to render an invalid object", () => {
    const plan = handPlan();
    plan.resources.push(
      k8s("kubernetes:example.com/v1:Mystery", {
        apiVersion: "example.com/v1",
        kind: "Mystery",
        metadata: { name: "m", namespace: "x" },
      }),
    );
    expect(() => renderManifests(plan, options)).toThrow(/Mystery x\/m .*no schema/);
  });
});

describe("writeRendered", () => {
  it("replaces stale generated files and leaves hand-written ones alone", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "render-"));
    try {
      writeFileSync(path.join(dir, "99-old.yaml"), `${GENERATED_MARKER} earlier\nkind: Old\n`);
      writeFileSync(path.join(dir, "notes.md"), "# mine\n");
      const files = renderManifests(handPlan(), options);
      expect(writeRendered(dir, files).removed).toEqual(["99-old.yaml"]);
      expect(existsSync(path.join(dir, "notes.md"))).toBe(true);
      expect(diffRendered(dir, files)).toEqual([]);
      writeFileSync(path.join(dir, "00-namespace-mail-zone.yaml"), `${GENERATED_MARKER} edited\n`);
      expect(diffRendered(dir, files)).toEqual(["00-namespace-mail-zone.yaml: differs"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("infra/k8s/mailcow", () => {
  let fresh: RenderedFile[];
  beforeAll(async () => {
    const target = await zoneTarget(DEFAULT_STACK_FILE);
    const plan = await planTarget(target);
    fresh = renderManifests(plan, {
      source: "Pulumi.example.yaml",
      config: target.options.config,
      secretKeys: target.options.secretKeys,
    });
  });

  it("matches a fresh render of the zone program with Pulumi.example.yaml (run npm run render if not)", () => {
    expect(diffRendered(DEFAULT_OUT_DIR, fresh)).toEqual([]);
  });

  it("holds only objects that pass the schema validation when read back from YAML", () => {
    const resources: PlannedResource[] = fresh
      .filter((f) => /^\d\d-.*\.yaml$/.test(f.name))
      .flatMap((f) => parseAllDocuments(f.content).map((d) => d.toJSON() as Record<string, unknown>))
      .map((object) => ({
        type: `kubernetes:${String(object.apiVersion)}:${String(object.kind)}`,
        name: "yaml",
        custom: true,
        inputs: object,
      }));
    expect(resources.length).toBeGreaterThan(0);
    expect(validatePlan(resources)).toHaveLength(resources.length);
  });

  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
  if (!kubectl)
    console.warn("skipping `kubectl kustomize infra/k8s/mailcow`: kubectl is not on PATH (Debian: kubernetes-client)");

  it.skipIf(!kubectl)("builds with kubectl kustomize", () => {
    const built = execFileSync("kubectl", ["kustomize", DEFAULT_OUT_DIR], { encoding: "utf8" });
    const kinds = parseAllDocuments(built).map((d) => d.toJSON()?.kind);
    const listed = parseAllDocuments(
      readFileSync(path.join(DEFAULT_OUT_DIR, "kustomization.yaml"), "utf8"),
    )[0].toJSON();
    expect(kinds).toHaveLength(listed.resources.length);
    expect(kinds).not.toContain("Secret");
  });
});
