import { describe, expect, it } from "vitest";
import { PreviewRunner } from "./preview-runner";
import { siteStackConfigFor } from "./site-stack-config";
import { StackRunError } from "./stack-runner";

const dns = {
  provider: "cloudflare" as const,
  mailHost: "mail.example.net",
  allowedSuffixes: [],
  dmarcPolicy: "quarantine" as const,
  pop3: false,
  ttl: 3600,
};
const dkim = { selector: "dkim", txt: `v=DKIM1;k=rsa;t=s;s=email;p=${"A".repeat(392)}` };

describe("PreviewRunner", () => {
  it("plans the real site program: records as outputs, progress over the planned resources", async () => {
    const runner = new PreviewRunner();
    const progress: Array<[number, number]> = [];
    const result = await runner.up(
      "shop",
      siteStackConfigFor({ slug: "shop", domain: "shop.example", enabled: true, dkim }, dns),
      { onProgress: (p) => progress.push([p.done, p.total]) },
    );
    const records = result.outputs.records as Array<{ type: string; name: string }>;
    expect(records.map((r) => `${r.type} ${r.name}`)).toContain("MX shop.example");
    expect(result.outputs.provider).toBe("cloudflare");
    const total = progress.at(-1)?.[1] ?? 0;
    expect(total).toBeGreaterThanOrEqual(records.length);
    expect(progress.at(-1)).toEqual([total, total]);
    expect(runner.stacks.has("shop")).toBe(true);
  });

  it("plans a disabled site with no records", async () => {
    const runner = new PreviewRunner();
    const result = await runner.up(
      "shop",
      siteStackConfigFor({ slug: "shop", domain: "shop.example", enabled: false }, dns),
    );
    expect(result.outputs.records).toEqual([]);
  });

  it("runs plans one at a time when called in parallel", async () => {
    const runner = new PreviewRunner({ delayMs: 5 });
    const results = await Promise.all(
      ["a", "b", "c"].map((slug) =>
        runner.up(slug, siteStackConfigFor({ slug, domain: `${slug}.example`, enabled: true, dkim }, dns)),
      ),
    );
    expect(results.map((r) => (r.outputs.records as unknown[]).length > 0)).toEqual([true, true, true]);
  });

  it("stops early when aborted during its delay", async () => {
    const runner = new PreviewRunner({ delayMs: 60_000 });
    const controller = new AbortController();
    const run = runner.up("shop", siteStackConfigFor({ slug: "shop", domain: "shop.example", enabled: false }, dns), {
      signal: controller.signal,
    });
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
  });

  it("reports a config the program refuses as a permanent failure", async () => {
    const runner = new PreviewRunner();
    const err = await runner.up("shop", { "mail-sites:slug": { value: "shop" } }).catch((e) => e);
    expect(err).toBeInstanceOf(StackRunError);
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/domain/);
  });
});
