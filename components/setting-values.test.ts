import { describe, expect, it } from "vitest";
import { isLabelKey, labelMap } from "./setting-values";

// Expectations from Kubernetes' documented label syntax ("Labels and Selectors", Syntax and character set).
describe("isLabelKey", () => {
  it.each([["app"], ["app.kubernetes.io/name"], ["kubernetes.io/metadata.name"], ["My_App.v2"], ["a"]])(
    "accepts %s",
    (key) => expect(isLabelKey(key)).toBe(true),
  );

  it.each([
    ["a/b/c", "two slashes"],
    ["-app", "a name starting with '-'"],
    ["app.", "a name ending with '.'"],
    ["Example.COM/app", "an uppercase prefix"],
    ["/app", "an empty prefix"],
    ["app/", "an empty name"],
    [`${"a".repeat(64)}`, "a name of 64 characters"],
    ["app name", "a space"],
  ])("refuses %s (%s)", (key) => expect(isLabelKey(key)).toBe(false));
});

describe("labelMap", () => {
  it("accepts an empty value and refuses a value Kubernetes would refuse", () => {
    expect(labelMap.safeParse({ tier: "" }).success).toBe(true);
    expect(labelMap.safeParse({ tier: "front end" }).success).toBe(false);
    expect(labelMap.safeParse({ tier: "x".repeat(64) }).success).toBe(false);
  });
});
