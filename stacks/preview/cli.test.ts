import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type StandInOptions, standInZoneProgram } from "../../test/doubles/zone-program/stand-in";
import { main, parsePreviewArgs, UsageError } from "./cli";
import { SECURE_PLACEHOLDER } from "./config-file";
import { DEFAULT_PROGRAMS, type Programs, REPO_ROOT } from "./targets";

const dir = mkdtempSync(path.join(tmpdir(), "preview-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stackFile = path.join(dir, "Pulumi.test.yaml");
writeFileSync(
  stackFile,
  ["config:", "  mail-zone:hostname: mail.example.com", "  mail-zone:token:", "    secure: AAABAGNpcGhlcg=="].join(
    "\n",
  ),
);

function programs(options: StandInOptions = {}): Programs {
  return { zone: async () => standInZoneProgram(options), site: DEFAULT_PROGRAMS.site };
}

async function run(argv: string[], options: StandInOptions = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, programs(options));
  return { code, stdout, stderr };
}

describe("parsePreviewArgs", () => {
  it("defaults to text and rejects unknown formats, unknown flags and --config with --site", () => {
    expect(parsePreviewArgs([])).toEqual({ format: "text", config: undefined, site: undefined, help: false });
    expect(() => parsePreviewArgs(["--format", "yaml"])).toThrow(UsageError);
    expect(() => parsePreviewArgs(["--bogus"])).toThrow(UsageError);
    expect(() => parsePreviewArgs(["--config", "a", "--site", "b"])).toThrow(/exclude each other/);
  });
});

describe("preview main", () => {
  it("prints the text plan of a stack file and exits 0", async () => {
    const { code, stdout, stderr } = await run(["--config", stackFile]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Plan for mail-zone\/test: /);
    expect(stdout).toContain("    container postfix: ghcr.io/mailcow/postfix:1.80");
    expect(stdout).toContain("  Secret mail-zone/mailcow-secrets  keys: DBPASS, TOKEN");
    expect(stdout).not.toContain(SECURE_PLACEHOLDER);
  });

  it("prints one JSON document with secrets redacted", async () => {
    const { code, stdout } = await run(["--config", stackFile, "--format", "json"]);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc.stack).toBe("mail-zone/test");
    const types = doc.resources.map((r: { type: string }) => r.type);
    expect(types).toContain("kubernetes:helm.cattle.io/v1:HelmChartConfig");
    expect(types).toContain("cloudflare:index/dnsRecord:DnsRecord");
    const secret = doc.resources.find((r: { name: string }) => r.name === "secrets");
    // Key names are shown, each value is not.
    expect(secret.inputs.stringData).toEqual({ DBPASS: "[secret]", TOKEN: "[secret]" });
    expect(stdout).not.toContain(SECURE_PLACEHOLDER);
  });

  it("exits 2 with the usage on stderr for bad flags", async () => {
    const { code, stdout, stderr } = await run(["--format", "xml"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain('--format "xml": expected text or json');
    expect(stderr).toContain("Usage: npm run preview");
  });

  it("exits 1 naming the object and field when the plan has an invalid object, printing nothing", async () => {
    const { code, stdout, stderr } = await run(["--config", stackFile], { invalidPort: true });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("Deployment mail-zone/mailcow");
    expect(stderr).toContain("spec.template.spec.containers[0].ports[0].containerPort");
  });

  it("exits 1 when an object has a kind without a schema", async () => {
    const { code, stderr } = await run(["--config", stackFile], { unknownKind: true });
    expect(code).toBe(1);
    expect(stderr).toContain("no schema for example.com/v1/Mystery");
  });

  it("refuses to print a plan where a secret flows unmarked into a resource", async () => {
    const { code, stdout, stderr } = await run(["--config", stackFile], { leakSecret: true });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain('kubernetes:core/v1:ConfigMap "config"');
    expect(stderr).not.toContain(SECURE_PLACEHOLDER);
  });

  it("exits 1 naming a missing stack file", async () => {
    const { code, stderr } = await run(["--config", path.join(dir, "missing.yaml")]);
    expect(code).toBe(1);
    expect(stderr).toContain("missing.yaml: cannot read the stack file");
  });

  it("previews a site from its JSON file with its record list", async () => {
    const siteFile = path.join(dir, "site.json");
    writeFileSync(
      siteFile,
      JSON.stringify({
        slug: "shop",
        domain: "shop.example.org",
        mailHost: "mail.example.com",
        dkim: { selector: "dkim", txt: `v=DKIM1;k=rsa;p=${"A".repeat(400)}` },
        dnsProvider: "manual",
      }),
    );
    const { code, stdout, stderr } = await run(["--site", siteFile, "--format", "json"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc.stack).toBe("mail-sites/shop");
    expect(doc.records).toContainEqual({
      name: "shop.example.org",
      type: "MX",
      content: "mail.example.com",
      priority: 10,
    });
    const dkim = doc.records.find((r: { name: string }) => r.name === "dkim._domainkey.shop.example.org");
    expect(dkim.content).toBe(`v=DKIM1;k=rsa;p=${"A".repeat(400)}`);
  });

  it("exits 1 naming the site file and the field of a bad site", async () => {
    const siteFile = path.join(dir, "bad-site.json");
    writeFileSync(
      siteFile,
      JSON.stringify({ slug: "Bad Slug", domain: "x.example", mailHost: "mail.example.com", dnsProvider: "manual" }),
    );
    const { code, stderr } = await run(["--site", siteFile]);
    expect(code).toBe(1);
    expect(stderr).toContain("bad-site.json");
    expect(stderr).toContain("slug");
  });
});

describe("npm run preview as a process", () => {
  it("refuses a misspelt controller.env key and a misspelt namespace in the stack file, naming both", async () => {
    const typos = path.join(dir, "Pulumi.typos.yaml");
    writeFileSync(
      typos,
      [
        "config:",
        "  mail-zone:hostname: mail.example.com",
        "  mail-zone:publicIPv4: 203.0.113.10",
        "  mailzone:timezone: Europe/Berlin",
        "  mail-zone:controller:",
        "    enabled: true",
        "    image: registry.example.com/c:1",
        "    env:",
        "      DKIM_SELECTR: mail",
      ].join("\n"),
    );
    let stdout = "";
    let stderr = "";
    const code = await main(
      ["--config", typos],
      { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
      DEFAULT_PROGRAMS,
    );
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain('mail-zone:controller.env.DKIM_SELECTR: got "mail"');
    expect(stderr).toContain("did you mean DKIM_SELECTOR?");
    expect(stderr).toContain('mailzone:timezone: got "Europe/Berlin"');
    expect(stderr).toContain("did you mean mail-zone:timezone?");
  });

  it("writes exactly one JSON document to stdout for the real zone program and Pulumi.example.yaml", () => {
    const result = spawnSync("npx", ["tsx", "stacks/preview/cli.ts", "--format", "json"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.stack).toBe("mail-zone/example");
    expect(doc.resources.map((r: { type: string }) => r.type)).toContain("kubernetes:core/v1:Namespace");
  });

  describe("the real zone program with the controller enabled", () => {
    const controllerStack = path.join(dir, "Pulumi.controller.yaml");
    writeFileSync(
      controllerStack,
      [
        "config:",
        "  mail-zone:hostname: mail.example.com",
        "  mail-zone:publicIPv4: 203.0.113.10",
        "  mail-zone:controller:",
        "    enabled: true",
        "    image: registry.example.com/mail-zone-controller:0.1.0",
        "    env:",
        "      ALLOWED_DOMAIN_SUFFIXES: sites.example.com",
      ].join("\n"),
    );
    const preview = (format: string) =>
      spawnSync("npx", ["tsx", "stacks/preview/cli.ts", "--config", controllerStack, "--format", format], {
        cwd: REPO_ROOT,
        encoding: "utf8",
      });

    it("shows the admission policy, the Mailcow pod without a token and the admin password as a secret key", () => {
      const result = preview("text");
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("  ValidatingAdmissionPolicy mail-zone-controller-annotations-only\n");
      expect(result.stdout).toContain("  ValidatingAdmissionPolicyBinding mail-zone-controller-annotations-only\n");
      expect(result.stdout).toContain(
        "  StatefulSet mail-zone/mailcow  (replicas 1, strategy RollingUpdate)\n    service account mailcow-dockerapi: API token not mounted (automountServiceAccountToken: false); projected token only in dockerapi\n",
      );
      expect(result.stdout).toMatch(/ {2}Secret mail-zone\/mailcow-secrets {2}keys: ADMIN_PASSWORD, /);
      expect(result.stdout).toContain('  generated RandomPassword "mail-zone-secrets-admin-password", 28 characters');
    });

    it("holds the same in its JSON: the policy bound to the controller's account, no token, a secret password", () => {
      const result = preview("json");
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      type Resource = {
        type: string;
        inputs: {
          metadata: { name: string };
          spec: { matchConditions?: unknown; template?: { spec: { automountServiceAccountToken?: boolean } } };
          stringData?: Record<string, string>;
        };
      };
      const resources: Resource[] = JSON.parse(result.stdout).resources;
      const byType = (type: string) => resources.filter((r) => r.type === type);
      const [policy] = byType("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy");
      expect(policy.inputs.spec.matchConditions).toEqual([
        {
          name: "only-the-controller",
          expression: "request.userInfo.username == 'system:serviceaccount:platform:mail-zone-controller'",
        },
      ]);
      const [binding] = byType("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding");
      expect(binding.inputs.spec).toEqual({
        policyName: "mail-zone-controller-annotations-only",
        validationActions: ["Deny"],
      });
      const mailcow = byType("kubernetes:apps/v1:StatefulSet").find((r) => r.inputs.metadata.name === "mailcow");
      expect(mailcow?.inputs.spec.template?.spec.automountServiceAccountToken).toBe(false);
      const secrets = byType("kubernetes:core/v1:Secret").find((r) => r.inputs.metadata.name === "mailcow-secrets");
      expect(secrets?.inputs.stringData?.ADMIN_PASSWORD).toBe("[secret]");
    });
  });
});
