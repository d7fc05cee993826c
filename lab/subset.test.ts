import { describe, expect, it } from "vitest";
import { disagreements } from "../test/real/support/subset";

describe("comparing a stored object with the planned one", () => {
  it("accepts what the server adds beside the planned fields", () => {
    const planned = { metadata: { name: "a", labels: { x: "1" } }, spec: { ports: [{ port: 80 }] } };
    const stored = {
      metadata: { name: "a", labels: { x: "1" }, uid: "u", resourceVersion: "7" },
      spec: { ports: [{ port: 80, protocol: "TCP" }], clusterIP: "10.43.0.5" },
      status: {},
    };
    expect(disagreements(planned, stored)).toEqual([]);
  });

  it("names each planned field the server changed or dropped, by path", () => {
    const planned = { spec: { replicas: 1, template: { containers: [{ image: "a:1" }] }, unknownField: true } };
    const stored = { spec: { replicas: 2, template: { containers: [{ image: "a:1" }] } } };
    expect(disagreements(planned, stored)).toEqual([
      "spec.replicas: planned 1, stored 2",
      "spec.unknownField: planned true, stored undefined",
    ]);
  });

  it("takes an absent field for a planned zero value, as the API server omits those", () => {
    const planned = { env: [{ name: "A", value: "" }], volumeMounts: [], readOnly: false, searches: [] };
    expect(disagreements(planned, { env: [{ name: "A" }] })).toEqual([]);
    expect(disagreements({ readOnly: true, value: "x" }, {})).toEqual([
      "readOnly: planned true, stored undefined",
      'value: planned "x", stored undefined',
    ]);
  });

  it("counts a list with a different length as a disagreement", () => {
    expect(disagreements({ a: [1, 2] }, { a: [1] })).toEqual(["a: planned 2 items, stored 1"]);
  });
});
