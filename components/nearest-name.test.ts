import { describe, expect, it } from "vitest";
import { didYouMean, editDistance, nearestName } from "./nearest-name";

describe("editDistance", () => {
  it("counts a dropped letter, a swapped pair and a changed letter as one edit each", () => {
    expect(editDistance("DKIM_SELECTR", "DKIM_SELECTOR")).toBe(1);
    expect(editDistance("mialzone", "mailzone")).toBe(1);
    expect(editDistance("hostnme", "hostname")).toBe(1);
    expect(editDistance("podCidr", "podCidx")).toBe(1);
  });

  it("ignores case, so a shouted key still finds its setting", () => {
    expect(editDistance("dkim_selector", "DKIM_SELECTOR")).toBe(0);
  });
});

describe("nearestName", () => {
  it("names the setting a typo was meant to be", () => {
    expect(nearestName("DKIM_SELECTR", ["DKIM_KEY_SIZE", "DKIM_SELECTOR", "DNS_TTL"])).toBe("DKIM_SELECTOR");
    expect(nearestName("mailzone", ["mail-zone"])).toBe("mail-zone");
  });

  it("offers nothing when no known name is close, rather than a wild guess", () => {
    expect(nearestName("kubernetes", ["mail-zone"])).toBeUndefined();
    expect(nearestName("FOO", ["DNS_TTL", "PORT"])).toBeUndefined();
  });

  it("reads as a clause to append to a refusal", () => {
    expect(didYouMean("timezon", ["hostname", "timezone"])).toBe("; did you mean timezone?");
    expect(didYouMean("zzz", ["timezone"])).toBe("");
  });
});
