import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { planProgram } from "../stacks/preview/engine";
import { ZoneNamespace } from "./zone-namespace";

describe("ZoneNamespace", () => {
  it("creates the named namespace with the zone's part-of and managed-by labels", async () => {
    const plan = await planProgram(
      () => {
        const ns = new ZoneNamespace("ns", { name: "mail-zone" });
        return { name: ns.name };
      },
      { project: "mail-zone", stack: "test" },
    );
    const namespaces = plan.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace");
    expect(namespaces).toHaveLength(1);
    expect(namespaces[0].inputs.metadata).toEqual({
      name: "mail-zone",
      labels: {
        "app.kubernetes.io/part-of": "mail-zone",
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/component": "zone",
      },
    });
    expect(plan.outputs.name).toBe("mail-zone");
  });

  it("is protected and retained on delete, since deleting it would delete the protected mail volumes inside", async () => {
    const options: Array<{ type: string; opts: pulumi.CustomResourceOptions }> = [];
    await planProgram(
      () => {
        // A stack transformation sees every resource's options as the program set them.
        pulumi.runtime.registerStackTransformation((args) => {
          options.push({ type: args.type, opts: args.opts });
          return undefined;
        });
        new ZoneNamespace("ns", { name: "mail-zone" });
      },
      { project: "mail-zone", stack: "test" },
    );
    const namespace = options.find((o) => o.type === "kubernetes:core/v1:Namespace");
    expect(namespace?.opts).toMatchObject({ protect: true, retainOnDelete: true });
  });
});
