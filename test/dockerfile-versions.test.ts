import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string }>;
};

const argDefault = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, "m").exec(dockerfile)?.[1];
const locked = (pkg: string) => lock.packages[`node_modules/${pkg}`]?.version;

describe("the controller image's pinned Pulumi versions", () => {
  it.each([
    ["PULUMI_VERSION", "@pulumi/pulumi"],
    ["CLOUDFLARE_PLUGIN_VERSION", "@pulumi/cloudflare"],
    ["KUBERNETES_PLUGIN_VERSION", "@pulumi/kubernetes"],
  ])("%s equals the locked %s", (arg, pkg) => {
    expect(locked(pkg)).toBeDefined();
    expect(argDefault(arg)).toBe(locked(pkg));
  });

  it("installs the Kubernetes plugin as an ambient plugin next to the CLI", () => {
    // Shell placeholders, not template ones: match them literally.
    expect(dockerfile).toMatch(/"kubernetes:\$\{KUBERNETES_PLUGIN_VERSION\}"/);
    expect(dockerfile).toMatch(/mv "\/opt\/pulumi-plugins\/\$\{name\}\/pulumi-resource-\$\{name\}" \/opt\/pulumi\//);
  });
});
