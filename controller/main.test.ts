import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const MAIN = path.join(__dirname, "main.ts");

describe("npm start with nothing set up", () => {
  it("names every missing setting, and the missing kubeconfig, in one answer with exit code 2", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", MAIN], {
      env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent/mail-zone-home" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    const named = run.stderr
      .split("\n")
      .filter((line) => line.startsWith("  - "))
      .map((line) => line.slice(4).split(":")[0]);
    expect(named).toEqual([
      "MAILCOW_API_URL",
      "MAILCOW_API_KEY",
      "CONTROLLER_TOKENS",
      "PULUMI_CONFIG_PASSPHRASE",
      "ALLOWED_DOMAIN_SUFFIXES",
      "Kubernetes",
    ]);
    expect(run.stderr).toMatch(/no Kubernetes configuration: KUBECONFIG is not set/);
    expect(run.stderr).not.toMatch(/skipTLSVerify/);
  });
});
