import { describe, expect, it } from "vitest";
import { classifyGoFailure, refusedModule, stagingReplaces } from "./build";
import { BINARIES, binaryPath, spec } from "./versions";

// The proxy's answer as the go command printed it here for a module it does not serve.
const REFUSAL = `go: github.com/pulumi/pulumi-random/provider/v4@v4.21.2: reading https://proxy.golang.org/github.com/pulumi/pulumi-random/provider/v4/@v/v4.21.2.info: 403 Forbidden
	server response: This module version is not available.`;

describe("the lab's builder", () => {
  it("treats the proxy's refusal as final and names the module and version it refused", () => {
    expect(classifyGoFailure(REFUSAL)).toBe("refused");
    expect(refusedModule(REFUSAL)).toBe("github.com/pulumi/pulumi-random/provider/v4@v4.21.2");
  });

  it("retries a dropped connection but not a compile error", () => {
    expect(
      classifyGoFailure("go: downloading x: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"),
    ).toBe("transient");
    expect(classifyGoFailure("./main.go:3:2: undefined: foo")).toBe("failed");
  });

  it("pins every staging module k8s.io/kubernetes replaces with ./staging, and nothing else", () => {
    const goMod = [
      "replace (",
      "\tk8s.io/api => ./staging/src/k8s.io/api",
      "\tk8s.io/client-go => ./staging/src/k8s.io/client-go",
      "\tgithub.com/other/mod => github.com/fork/mod v1.0.0",
      ")",
    ].join("\n");
    expect(stagingReplaces(goMod, "37", "2")).toEqual([
      "k8s.io/api => k8s.io/api@v0.37.2",
      "k8s.io/client-go => k8s.io/client-go@v0.37.2",
    ]);
  });

  it("keys each binary's directory by its version, so a version change builds anew", () => {
    const pulumi = spec("pulumi");
    expect(binaryPath(pulumi, "/lab")).toBe("/lab/bin/pulumi-v3.248.0/pulumi");
    expect(binaryPath({ ...pulumi, version: "v3.249.0" }, "/lab")).not.toBe(binaryPath(pulumi, "/lab"));
  });

  it("builds the CLI at the @pulumi/pulumi version the lockfile pins", async () => {
    const lock = (await import("../package-lock.json")).default as { packages: Record<string, { version: string }> };
    expect(spec("pulumi").version).toBe(`v${lock.packages["node_modules/@pulumi/pulumi"]?.version}`);
    expect(new Set(BINARIES.map((b) => b.name)).size).toBe(BINARIES.length);
  });
});
