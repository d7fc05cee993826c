/**
 * Issue item 3: the controller (and with it the CLI and its plugins, one process group, as a pod kill takes them)
 * is SIGKILLed in the middle of a real `pulumi up`, at two points: right after the CLI took the stack's lock, and
 * once the run has created an object in the API server. A restart on the same data dir converges the site, with one
 * Mailcow domain, the lock gone and no pending operation left in the checkpoint (docs/decisions/0100).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailcowDouble, startMailcowDouble } from "../doubles/mailcow-api";
import { waitUntil } from "../support/wait";
import { lockFiles, readCheckpoint } from "./support/backend";
import {
  CONTROLLER_BINARIES,
  controllerApi,
  createTenant,
  ensureNamespace,
  type Lab,
  labUnavailable,
  PREFIX,
  type RealController,
  removeDir,
  startLab,
  startRealController,
  WEB_TLS_NAMESPACE,
} from "./support/lab-world";
import { watchNamespaceUntil } from "./support/watch";

const unavailable = labUnavailable(CONTROLLER_BINARIES);
if (unavailable) console.warn(`skipping the real crash suite: ${unavailable}`);

const STATUS = `${PREFIX}/mail-status`;

describe.skipIf(unavailable !== undefined)("a controller killed in the middle of a real pulumi up", () => {
  let lab: Lab;
  let mailcow: MailcowDouble;
  let controller: RealController | undefined;
  let dataDir: string;

  beforeAll(async () => {
    lab = await startLab();
    mailcow = await startMailcowDouble({ hostname: "mail.lab.example", reuseDkimKeys: true });
    await ensureNamespace(lab.cluster, WEB_TLS_NAMESPACE);
  });

  afterAll(async () => {
    await controller?.kill("SIGKILL");
    if (dataDir) removeDir(dataDir);
    await mailcow?.close();
    await lab?.stop();
  });

  const start = async () => {
    controller = await startRealController({
      mailcowUrl: mailcow.url,
      mailcowKey: mailcow.apiKey,
      kubeconfigPath: lab.cluster.kubeconfigPath,
      ...(dataDir ? { dataDir } : {}),
      token: "crash-test-token-0123456789abcdef0123456789",
    });
    dataDir = controller.dataDir;
    return controller;
  };

  const converges = async (slug: string) => {
    const a = await watchNamespaceUntil(
      lab.cluster.kubeConfig(),
      `tenant-${slug}`,
      `tenant-${slug} is ready after the restart`,
      (x) => x[STATUS] === "ready",
      300_000,
      () => controller?.output().slice(-4000) ?? "",
    );
    expect(a[`${PREFIX}/mail-last-error`] ?? "").toBe("");
    expect([...mailcow.state.domains.keys()].filter((d) => d === `${slug}.example.com`)).toHaveLength(1);
    expect(lockFiles(dataDir, slug)).toEqual([]);
    const checkpoint = readCheckpoint(dataDir, "mail-sites", slug);
    expect(checkpoint?.pendingOperations).toEqual([]);
    const cert = await lab.cluster.api.request(
      "GET",
      `/apis/cert-manager.io/v1/namespaces/${WEB_TLS_NAMESPACE}/certificates/site-${slug}-mail-web`,
    );
    expect(cert.status).toBe(200);
  };

  it("converges after a kill right after the CLI took the stack's lock", async () => {
    const c = await start();
    await createTenant(lab.cluster, "crash1", "crash1.example.com");
    expect((await controllerApi(c).post("/sites/crash1/mail/enable")).status).toBe(202);
    await waitUntil("the CLI holds crash1's lock", () => lockFiles(c.dataDir, "crash1").length > 0, 300_000, 20);
    await c.kill("SIGKILL");
    await start();
    await converges("crash1");
  });

  it("converges after a kill once the run has created an object in the API server", async () => {
    const c = controller as RealController;
    await createTenant(lab.cluster, "crash2", "crash2.example.com");
    expect((await controllerApi(c).post("/sites/crash2/mail/enable")).status).toBe(202);
    await waitUntil(
      "crash2's Certificate exists in the API server",
      async () =>
        (
          await lab.cluster.api.request(
            "GET",
            `/apis/cert-manager.io/v1/namespaces/${WEB_TLS_NAMESPACE}/certificates/site-crash2-mail-web`,
          )
        ).status === 200,
      300_000,
      20,
    );
    await c.kill("SIGKILL");
    const left = readCheckpoint(c.dataDir, "mail-sites", "crash2");
    console.info(
      `after the kill: crash2's lock files ${lockFiles(c.dataDir, "crash2").length}, pending operations ${JSON.stringify(left?.pendingOperations ?? "no checkpoint")}`,
    );
    await start();
    await converges("crash2");
  });
});
