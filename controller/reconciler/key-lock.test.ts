import { describe, expect, it } from "vitest";
import { KeyLock } from "./key-lock";

describe("KeyLock", () => {
  it("runs sections for one key one after another, in call order", async () => {
    const lock = new KeyLock();
    const log: string[] = [];
    const section = (name: string, ms: number) =>
      lock.run("a", async () => {
        log.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}:end`);
      });
    await Promise.all([section("1", 5), section("2", 1), section("3", 0)]);
    expect(log).toEqual(["1:start", "1:end", "2:start", "2:end", "3:start", "3:end"]);
  });

  it("lets different keys run side by side and keeps going after a failure", async () => {
    const lock = new KeyLock();
    const log: string[] = [];
    const failing = lock.run("a", async () => {
      throw new Error("boom");
    });
    await expect(failing).rejects.toThrow("boom");
    await Promise.all([lock.run("a", async () => log.push("a")), lock.run("b", async () => log.push("b"))]);
    expect(log.sort()).toEqual(["a", "b"]);
  });
});
