import { describe, expect, it } from "vitest";
import { pendingOperations, withoutPendingOperations } from "./pending-operations";

// The checkpoint shape `pulumi stack export` prints (apitype.DeploymentV3): resources, then pending_operations.
const killedMidCreate = {
  version: 3,
  deployment: {
    manifest: { time: "2026-12-01T10:00:00Z", version: "v3.248.0" },
    resources: [
      { urn: "urn:pulumi:shop::mail-sites::pulumi:pulumi:Stack::mail-sites-shop", type: "pulumi:pulumi:Stack" },
    ],
    pending_operations: [
      {
        resource: {
          urn: "urn:pulumi:shop::mail-sites::kubernetes:cert-manager.io/v1:Certificate::shop-web",
          type: "kubernetes:cert-manager.io/v1:Certificate",
        },
        type: "creating",
      },
    ],
  },
};

describe("pending operations in a stack's checkpoint", () => {
  it("are listed with their kind and resource", () => {
    expect(pendingOperations(killedMidCreate)).toEqual([
      { type: "creating", urn: "urn:pulumi:shop::mail-sites::kubernetes:cert-manager.io/v1:Certificate::shop-web" },
    ]);
  });

  it("are dropped while every resource and the manifest stay as they were", () => {
    const cleared = withoutPendingOperations(killedMidCreate);
    expect(pendingOperations(cleared)).toEqual([]);
    expect(cleared.version).toBe(3);
    expect(cleared.deployment.resources).toEqual(killedMidCreate.deployment.resources);
    expect(cleared.deployment.manifest).toEqual(killedMidCreate.deployment.manifest);
    // The input is not changed: the caller may still log what it cleared.
    expect(killedMidCreate.deployment.pending_operations).toHaveLength(1);
  });

  it("are none in a clean checkpoint, or in a stack that has none yet", () => {
    expect(pendingOperations({ version: 3, deployment: { resources: [] } })).toEqual([]);
    expect(pendingOperations({ version: 3, deployment: undefined })).toEqual([]);
  });
});
