import { describe, expect, it } from "vitest";
import { type PlannedResource, wrapSecret } from "./engine";
import { formatJsonPlan, jsonPlan } from "./format-json";

const SECRET = "json-secret-value-1234";

const resources: PlannedResource[] = [
  {
    type: "kubernetes:core/v1:Secret",
    name: "secrets",
    custom: true,
    inputs: { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: wrapSecret({ A: SECRET }) },
  },
  {
    type: "kubernetes:core/v1:ConfigMap",
    name: "config",
    custom: true,
    inputs: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
      data: { TOKEN: wrapSecret(SECRET), HOST: "h" },
    },
  },
  { type: "mail-zone:index:MailZone", name: "zone", custom: false, inputs: {} },
];

describe("jsonPlan", () => {
  it("has the stack and every custom resource's type token, name and inputs, with secrets as [secret]", () => {
    const text = formatJsonPlan({ stack: "mail-zone/example", resources });
    const doc = JSON.parse(text);
    expect(Object.keys(doc)).toEqual(["stack", "resources"]);
    expect(doc.stack).toBe("mail-zone/example");
    expect(doc.resources).toEqual([
      {
        type: "kubernetes:core/v1:Secret",
        name: "secrets",
        // A Secret keeps its key names; every value is redacted.
        inputs: { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { A: "[secret]" } },
      },
      {
        type: "kubernetes:core/v1:ConfigMap",
        name: "config",
        inputs: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "c" },
          data: { TOKEN: "[secret]", HOST: "h" },
        },
      },
    ]);
    expect(text).not.toContain(SECRET);
  });

  it("adds a site's records with TXT joined and priority null when there is none", () => {
    const plan = jsonPlan({
      stack: "mail-sites/shop",
      resources: [],
      records: [
        { name: "shop.example", type: "MX", content: "mail.example.com", priority: 10, ttl: 3600, purpose: "mx" },
        { name: "shop.example", type: "TXT", content: "v=spf1 mx -all", chunks: ["v=spf1 ", "mx -all"], ttl: 3600 },
      ],
    });
    expect(plan.records).toEqual([
      { name: "shop.example", type: "MX", content: "mail.example.com", priority: 10 },
      { name: "shop.example", type: "TXT", content: "v=spf1 mx -all", priority: null },
    ]);
  });
});
