import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Writable } from "node:stream";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { kubeConfigFor, startKubernetesDouble } from "../test/doubles/kubernetes-api";
import { startMailcowDouble } from "../test/doubles/mailcow-api";
import { buildController, type Controller } from "./controller";
import { createLogger } from "./logger";
import { MailcowClient } from "./mailcow/client";
import { createRedactor } from "./redact";
import { loadSettings, secretValues } from "./settings";
import { annotationLayout } from "./sites/annotation-layout";
import { KubernetesSiteDirectory } from "./sites/kubernetes-site-directory";
import { PreviewRunner } from "./stacks/preview-runner";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOKEN = "c".repeat(48);

async function startController(runnerDelayMs = 0) {
  const mailcowDouble = await startMailcowDouble({ hostname: "mail.example.net", reuseDkimKeys: true });
  const k8s = await startKubernetesDouble({
    namespaces: [{ name: "tenant-shop", annotations: { "voxeil.io/domain": "shop.example.com" } }],
  });
  cleanups.push(
    () => mailcowDouble.close(),
    () => k8s.close(),
  );
  const settings = loadSettings({
    MAILCOW_API_URL: mailcowDouble.url,
    MAILCOW_API_KEY: mailcowDouble.apiKey,
    MAILCOW_HOSTNAME: "mail.example.net",
    CONTROLLER_TOKENS: TOKEN,
    STACK_RUNNER: "preview",
    ALLOWED_DOMAIN_SUFFIXES: "example.com",
    HOST: "127.0.0.1",
    PORT: "0",
    SHUTDOWN_DEADLINE_SECONDS: "0",
  });
  const redact = createRedactor(secretValues(settings));
  const lines: string[] = [];
  const logger = createLogger(
    "debug",
    redact,
    new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const controller: Controller = buildController({
    settings,
    sites: new KubernetesSiteDirectory({
      core: kubeConfigFor(k8s.url).makeApiClient(CoreV1Api),
      layout: annotationLayout(settings.siteLayout, settings.annotationPrefix, settings.namespaceTemplate),
      redact,
    }),
    mailcow: new MailcowClient({ baseUrl: mailcowDouble.url, apiKey: mailcowDouble.apiKey }),
    runner: new PreviewRunner({ delayMs: runnerDelayMs }),
    logger,
    redact,
  });
  const { url, server } = await controller.start();
  cleanups.push(() => controller.shutdown());
  return { controller, url, server, k8s, mailcowDouble, lines };
}

describe("buildController", () => {
  it("serves the API on its port, runs with the real program under the mock engine, and logs no secret", async () => {
    const { controller, url, k8s, mailcowDouble, lines } = await startController();
    const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
    const res = await fetch(`${url}/sites/shop/mail/enable`, { method: "POST", headers, body: "{}" });
    expect(res.status).toBe(202);
    await controller.reconciler.idle();
    const status = await (await fetch(`${url}/sites/shop/mail/status`, { headers })).json();
    expect(status).toMatchObject({ status: "ready", enabled: true });
    expect(k8s.annotations("tenant-shop")["voxeil.io/mail-status"]).toBe("ready");
    const text = lines.join("");
    expect(text).toContain("run finished");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(mailcowDouble.apiKey);
  });

  it("gives a slow client 10 s for its headers and 30 s for the whole request, not Node's 60 s and 300 s", async () => {
    const { server } = await startController();
    expect(server.headersTimeout).toBe(10_000);
    expect(server.requestTimeout).toBe(30_000);
  });

  it("aborts a run still going at the shutdown deadline and stops listening", async () => {
    const { controller, url, k8s } = await startController(60_000);
    const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
    await fetch(`${url}/sites/shop/mail/enable`, { method: "POST", headers, body: "{}" });
    while (controller.reconciler.runningCount() === 0) await new Promise((r) => setTimeout(r, 5));
    await controller.shutdown();
    expect(k8s.annotations("tenant-shop")["voxeil.io/mail-last-error"]).toMatch(/interrupted/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

describe("npm start", () => {
  it("fails at start naming a missing setting, without printing secrets", () => {
    const root = path.resolve(__dirname, "..");
    const result = spawnSync(
      process.execPath,
      [path.join(root, "node_modules/tsx/dist/cli.mjs"), "controller/main.ts"],
      {
        cwd: root,
        env: { PATH: process.env.PATH, MAILCOW_API_KEY: "secret-key-value-1234", CONTROLLER_TOKENS: "short" },
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/MAILCOW_API_URL: required/);
    expect(result.stderr).toMatch(/CONTROLLER_TOKENS: token 1 has 5 characters/);
    expect(result.stderr).not.toContain("secret-key-value-1234");
    expect(result.stderr).not.toContain('short"');
  });
});
