import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { describe, expect, it } from "vitest";
import { isWrappedSecret, planProgram, redactSecrets } from "./engine";

describe("planProgram", () => {
  it("records every resource with its inputs and hands out secret generated passwords", async () => {
    const plan = await planProgram(
      () => {
        const cfg = new pulumi.Config("demo");
        const pw = new random.RandomPassword("db", { length: 20, special: false });
        const ns = new k8s.core.v1.Namespace("ns", { metadata: { name: cfg.require("ns") } });
        new k8s.core.v1.Secret("s", {
          metadata: { name: "s", namespace: ns.metadata.name },
          stringData: { PW: pw.result },
        });
        return { ns: ns.metadata.name, pw: pw.result, token: cfg.requireSecret("token") };
      },
      {
        project: "demo",
        stack: "dev",
        config: { "demo:ns": "mail", "demo:token": "tok-123" },
        secretKeys: ["demo:token"],
      },
    );
    const types = plan.resources.map((r) => r.type);
    expect(types).toContain("kubernetes:core/v1:Namespace");
    expect(types).toContain("kubernetes:core/v1:Secret");
    expect(plan.outputs.ns).toBe("mail");
    expect(isWrappedSecret(plan.outputs.pw)).toBe(true);
    expect(isWrappedSecret(plan.outputs.token)).toBe(true);
    expect(plan.secretValues).toContain("tok-123");
    const secret = plan.resources.find((r) => r.type === "kubernetes:core/v1:Secret");
    const rendered = JSON.stringify(redactSecrets(secret?.inputs));
    for (const v of plan.secretValues) expect(rendered).not.toContain(v);
    expect(rendered).toContain("[secret]");
  });
});

describe("planProgram run twice in one process", () => {
  it("starts each plan from a clean slate", async () => {
    const first = await planProgram(
      () => {
        new k8s.core.v1.Namespace("a", { metadata: { name: "a" } });
      },
      { project: "p", stack: "s" },
    );
    const second = await planProgram(
      () => {
        new k8s.core.v1.Namespace("b", { metadata: { name: "b" } });
      },
      { project: "p", stack: "s" },
    );
    expect(first.resources.filter((r) => r.custom).map((r) => r.name)).toEqual(["a"]);
    expect(second.resources.filter((r) => r.custom).map((r) => r.name)).toEqual(["b"]);
  });
});

describe("planProgram with a program that throws", () => {
  it("rejects with the program's own error and leaves the process able to plan again", async () => {
    await expect(
      planProgram(
        () => {
          throw new Error("mail-zone:hostname: got nothing — expected a FQDN");
        },
        { project: "p", stack: "s" },
      ),
    ).rejects.toThrow(/mail-zone:hostname/);
    const again = await planProgram(
      () => {
        new k8s.core.v1.Namespace("c", { metadata: { name: "c" } });
      },
      { project: "p", stack: "s" },
    );
    expect(again.resources.some((r) => r.name === "c")).toBe(true);
  });
});
