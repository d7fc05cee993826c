import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dnsError, fakeDns, fakeKubectl, healthyCluster } from "../../test/doubles/operator-probes";
import type { CommandRunner, Probes } from "./checks";
import { doctor } from "./doctor";
import { install } from "./install";
import { parseOperatorArgs } from "./settings";

const dir = mkdtempSync(path.join(tmpdir(), "zone-install-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stackFile = path.join(dir, "Pulumi.prod.yaml");
writeFileSync(
  stackFile,
  ["config:", "  mail-zone:hostname: mail.example.test", "  mail-zone:publicIPv4: 203.0.113.10", ""].join("\n"),
);
const badStackFile = path.join(dir, "Pulumi.bad.yaml");
writeFileSync(badStackFile, ["config:", "  mail-zone:hostname: not a host", ""].join("\n"));

const pulumiPresent: CommandRunner = async () => ({ code: 0, stdout: "v3.200.0", stderr: "" });
const probes = (over: Partial<Probes> = {}): Probes => ({
  kubectl: fakeKubectl(healthyCluster()),
  dns: fakeDns(),
  tcp: async () => {},
  ...over,
});

function harness(over: Partial<Probes> = {}, pulumiResult: number | "missing" = 0) {
  const output: string[] = [];
  const pulumiRuns: string[][] = [];
  const deps = {
    probes: probes(over),
    pulumi: pulumiPresent,
    runPulumi: async (args: string[]) => {
      pulumiRuns.push(args);
      return pulumiResult;
    },
    out: (t: string) => output.push(t),
    env: {},
  };
  return { deps, output, pulumiRuns, text: () => output.join("") };
}

describe("zone:install", () => {
  it("runs pulumi up for the stack after the checks pass", async () => {
    const h = harness();
    const code = await install(["--stack", "prod", "--config", stackFile, "--yes"], h.deps);
    expect(code).toBe(0);
    expect(h.pulumiRuns).toEqual([["up", "--stack", "prod", "--yes"]]);
    expect(h.text()).toContain("All checks passed.");
  });

  it("does not run pulumi up when a check fails, and says what to do", async () => {
    const h = harness({ dns: fakeDns({ ptr: ["static.provider.test"] }) });
    const code = await install(["--stack", "prod", "--config", stackFile], h.deps);
    expect(code).toBe(1);
    expect(h.pulumiRuns).toEqual([]);
    expect(h.text()).toContain("→ ask the owner of the IP");
    expect(h.text()).toContain("--force");
  });

  it("with the resolver unreachable, stops with exit 3 saying the checks could not run, without advice to publish", async () => {
    const down = Object.assign(new Error("connect ECONNREFUSED 127.0.0.53:53"), {
      code: "EAI_AGAIN",
      syscall: "getaddrinfo",
    });
    const h = harness({
      dns: fakeDns({ a: dnsError("ECONNREFUSED"), ptr: dnsError("ECONNREFUSED") }),
      tcp: async () => {
        throw down;
      },
    });
    const code = await install(["--stack", "prod", "--config", stackFile], h.deps);
    expect(code).toBe(3);
    expect(h.pulumiRuns).toEqual([]);
    expect(h.text()).toContain("3 check(s) could not be run");
    expect(h.text()).toContain("some checks could not be run");
    expect(h.text()).not.toMatch(/publish|no A record|no PTR record|unblock|fix the failed/);
  });

  it("runs pulumi up despite failed checks with --force", async () => {
    const h = harness({ dns: fakeDns({ ptr: ["static.provider.test"] }) });
    expect(await install(["--stack", "prod", "--config", stackFile, "--force"], h.deps)).toBe(0);
    expect(h.pulumiRuns).toHaveLength(1);
  });

  it("explains how to install Pulumi when the CLI is missing", async () => {
    const h = harness({}, "missing");
    h.deps.pulumi = async () => ({ code: 127, stdout: "", stderr: "", missing: true });
    const code = await install(["--stack", "prod", "--config", stackFile, "--force"], h.deps);
    expect(code).toBe(127);
    expect(h.text()).toContain("https://get.pulumi.com");
  });

  it("stops at a bad zone config with the zone schema's message naming the key", async () => {
    const h = harness();
    const code = await install(["--stack", "bad", "--config", badStackFile], h.deps);
    expect(code).toBe(2);
    expect(h.text()).toContain("mail-zone:hostname");
    expect(h.pulumiRuns).toEqual([]);
  });

  it("requires a stack name", async () => {
    const h = harness();
    expect(await install([], h.deps)).toBe(2);
    expect(h.text()).toContain("--stack <name> is required");
  });
});

describe("doctor", () => {
  it("exits 0 on a healthy zone and 1 when the Mailcow pod is not ready", async () => {
    const ok = harness();
    expect(await doctor(["--stack", "prod", "--config", stackFile], ok.deps)).toBe(0);
    const sick = harness({
      kubectl: fakeKubectl({ ...healthyCluster(), pods: [{ name: "mailcow-0", ready: false }] }),
    });
    expect(await doctor(["--stack", "prod", "--config", stackFile], sick.deps)).toBe(1);
    expect(sick.text()).toContain("[FAIL] Mailcow pod ready");
  });

  it("exits 3, not 1, when the resolver did not answer and nothing was found wrong", async () => {
    const h = harness({ dns: fakeDns({ a: dnsError("ETIMEOUT"), ptr: dnsError("ETIMEOUT") }) });
    expect(await doctor(["--stack", "prod", "--config", stackFile], h.deps)).toBe(3);
    expect(h.text()).toContain("[????] Reverse DNS (PTR) of the public IP: could not look up the PTR of 203.0.113.10");
    expect(h.text()).not.toContain("ask the owner of the IP");
  });
});

describe("parseOperatorArgs", () => {
  it("reads a relay with the submission port by default and a custom probe MX", () => {
    const a = parseOperatorArgs(["--stack", "s", "--relay", "smtp.relay.test", "--probe-mx", "mx.test:2525"], {});
    expect(a.relay).toEqual({ host: "smtp.relay.test", port: 587 });
    expect(a.probe).toMatchObject({ host: "mx.test", port: 2525 });
    expect(a.configFile.endsWith("Pulumi.s.yaml")).toBe(true);
  });

  it("rejects an unknown flag by name", () => {
    expect(() => parseOperatorArgs(["--stack", "s", "--frobnicate"], {})).toThrow("unknown argument --frobnicate");
  });
});
