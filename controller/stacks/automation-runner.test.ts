import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CommandError } from "@pulumi/pulumi/automation";
import { afterAll, describe, expect, it } from "vitest";
import { AutomationRunner, cliFailureReason, pulumiError } from "./automation-runner";
import { siteStackConfigFor } from "./site-stack-config";
import { StackRunError } from "./stack-runner";

function hasPulumi(): boolean {
  try {
    execFileSync("pulumi", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const PULUMI = hasPulumi();
if (!PULUMI) {
  console.warn(
    "automation-runner.test.ts: skipping the live Automation API test: no `pulumi` binary on PATH (install the Pulumi CLI to run it)",
  );
}

const dns = {
  provider: "manual" as const,
  mailHost: "mail.example.net",
  allowedSuffixes: [],
  dmarcPolicy: "quarantine" as const,
  pop3: false,
  ttl: 3600,
};
const dkim = { selector: "dkim", txt: `v=DKIM1;k=rsa;t=s;s=email;p=${"B".repeat(392)}` };

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "mail-zone-runner-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("AutomationRunner workspace", () => {
  it("passes the backend, the passphrase and the Cloudflare token only through the CLI's environment", () => {
    const runner = new AutomationRunner({
      dataDir: "/data",
      backendUrl: "file:///data/pulumi-state",
      passphrase: "pass-phrase-value",
      cloudflareApiToken: "cf-token-value",
    });
    const options = runner.workspaceOptions("shop");
    expect(options.workDir).toBe("/data/stacks/shop");
    expect(options.pulumiHome).toBe("/data/pulumi-home");
    expect(options.secretsProvider).toBe("passphrase");
    expect(options.projectSettings).toEqual({
      name: "mail-sites",
      runtime: "nodejs",
      backend: { url: "file:///data/pulumi-state" },
    });
    expect(options.envVars).toMatchObject({
      PULUMI_BACKEND_URL: "file:///data/pulumi-state",
      PULUMI_CONFIG_PASSPHRASE: "pass-phrase-value",
      CLOUDFLARE_API_TOKEN: "cf-token-value",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    });
    const { envVars, ...rest } = options;
    expect(JSON.stringify(rest)).not.toMatch(/pass-phrase-value|cf-token-value/);
  });

  it("prefers the passphrase file when one is given", () => {
    const runner = new AutomationRunner({ dataDir: "/d", backendUrl: "s3://bucket", passphraseFile: "/run/pass" });
    expect(runner.workspaceOptions("a").envVars).toMatchObject({ PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pass" });
    expect(runner.workspaceOptions("a").envVars?.PULUMI_CONFIG_PASSPHRASE).toBeUndefined();
  });

  it("keeps the CLI's error lines", () => {
    const err = new CommandError({
      stdout: "Updating (shop)\n",
      stderr: "warning: x\nerror: could not find zone example.org\n",
      code: 255,
      err: undefined,
    } as never);
    expect(pulumiError(err)).toBe("error: could not find zone example.org");
  });

  it.skipIf(PULUMI)("reports a missing CLI as a permanent stack failure (retrying cannot install it)", async () => {
    const dir = tempDir();
    const runner = new AutomationRunner({ dataDir: dir, backendUrl: `file://${dir}/state`, passphrase: "p" });
    const err = await runner.up("shop", {}).catch((e) => e);
    expect(err).toBeInstanceOf(StackRunError);
    expect(err.reason).toBe("cli-missing");
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/^stack shop: up: /);
  });
});

describe.skipIf(!PULUMI)("AutomationRunner against the real CLI (file:// backend, manual DNS)", () => {
  it("creates the stack, publishes the records as outputs, takes them down, and clears a lock that is not there", async () => {
    const dir = tempDir();
    const runner = new AutomationRunner({
      dataDir: dir,
      backendUrl: `file://${path.join(dir, "state")}`,
      passphrase: "live-test-passphrase",
    });
    const progress: number[] = [];
    const up = await runner.up(
      "shop",
      siteStackConfigFor({ slug: "shop", domain: "shop.example", enabled: true, dkim }, dns),
      { onProgress: (p) => progress.push(p.done) },
    );
    expect((up.outputs.records as unknown[]).length).toBeGreaterThan(4);
    expect(progress.length).toBeGreaterThan(0);
    await runner.clearStaleLock("shop");
    const down = await runner.up(
      "shop",
      siteStackConfigFor({ slug: "shop", domain: "shop.example", enabled: false }, dns),
    );
    expect(down.outputs.records).toEqual([]);
    await runner.destroy("shop");
  }, 300_000);
});

describe("cliFailureReason", () => {
  it("maps the CLI's words to a reason: locks retry, a missing CLI, refused credentials or config do not", () => {
    expect(cliFailureReason("error: the stack is currently locked by 1 lock(s)")).toBe("stack-locked");
    expect(cliFailureReason("code: -2")).toBe("cli-missing");
    expect(cliFailureReason("error: no resource plugin 'cloudflare' found in the workspace")).toBe("cli-missing");
    expect(cliFailureReason("error: failed to load plugin cloudflare: dial tcp: i/o timeout")).toBe("failed");
    expect(cliFailureReason("error: incorrect passphrase")).toBe("bad-credentials");
    expect(cliFailureReason("error: Cloudflare API 403: Authentication error")).toBe("bad-credentials");
    expect(cliFailureReason('SiteConfigError: domain "x": is not a domain')).toBe("config-refused");
    expect(cliFailureReason("error: dial tcp 1.2.3.4:443: connect: network is unreachable")).toBe("failed");
  });
});
