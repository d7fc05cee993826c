/**
 * Issue item 2: the controller as `npm start` assembles it, with the real Automation API runner, the lab's Pulumi
 * CLI and Kubernetes provider, the real API server, the Mailcow double, manual DNS and per-site web TLS (so each
 * site's stack creates a cert-manager Certificate and a Traefik IngressRoute in the API server).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailcowDouble, startMailcowDouble } from "../doubles/mailcow-api";
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
if (unavailable) console.warn(`skipping the real controller suite: ${unavailable}`);

const STATUS = `${PREFIX}/mail-status`;
const RUN_TIMEOUT_MS = 300_000;

describe.skipIf(unavailable !== undefined)("the controller with the real runner against a real API server", () => {
  let lab: Lab;
  let mailcow: MailcowDouble;
  let controller: RealController;

  beforeAll(async () => {
    lab = await startLab();
    mailcow = await startMailcowDouble({ hostname: "mail.lab.example", reuseDkimKeys: true });
    await ensureNamespace(lab.cluster, WEB_TLS_NAMESPACE);
    controller = await startRealController({
      mailcowUrl: mailcow.url,
      mailcowKey: mailcow.apiKey,
      kubeconfigPath: lab.cluster.kubeconfigPath,
    });
  });

  afterAll(async () => {
    await controller?.kill("SIGTERM");
    if (controller) removeDir(controller.dataDir);
    await mailcow?.close();
    await lab?.stop();
  });

  const certificate = (slug: string) =>
    lab.cluster.api.request<{ spec: { dnsNames: string[]; secretName: string } }>(
      "GET",
      `/apis/cert-manager.io/v1/namespaces/${WEB_TLS_NAMESPACE}/certificates/site-${slug}-mail-web`,
    );
  const route = (slug: string) =>
    lab.cluster.api.request<{ spec: { routes: { match: string }[]; tls: { secretName: string } } }>(
      "GET",
      `/apis/traefik.io/v1alpha1/namespaces/${WEB_TLS_NAMESPACE}/ingressroutes/site-${slug}-mail-web`,
    );
  const untilStatus = (slug: string, status: string) =>
    watchNamespaceUntil(
      lab.cluster.kubeConfig(),
      `tenant-${slug}`,
      `tenant-${slug} is ${status} (controller log tail: see below on failure)`,
      (a) => a[STATUS] === status || a[STATUS] === "error",
      RUN_TIMEOUT_MS,
      () => controller.output().slice(-4000),
    ).then((a) => {
      if (a[STATUS] !== status) {
        throw new Error(
          `tenant-${slug} went to ${a[STATUS]}: ${a[`${PREFIX}/mail-last-error`]}\n${controller.output().slice(-3000)}`,
        );
      }
      return a;
    });

  it("enables a site: ready in the stored annotations, one Mailcow domain, its Certificate and IngressRoute stored", async () => {
    await createTenant(lab.cluster, "shop", "shop.example.com");
    const api = controllerApi(controller);
    expect((await api.post("/sites/shop/mail/enable")).status).toBe(202);
    const annotations = await untilStatus("shop", "ready");
    expect(annotations[`${PREFIX}/mail-enabled`]).toBe("true");
    expect(annotations[`${PREFIX}/mail-domain`]).toBe("shop.example.com");
    expect(annotations[`${PREFIX}/mail-last-error`] ?? "").toBe("");
    expect([...mailcow.state.domains.keys()]).toEqual(["shop.example.com"]);
    expect(mailcow.state.domains.get("shop.example.com")?.active).toBe(1);
    const cert = await certificate("shop");
    expect(cert.status).toBe(200);
    expect([...cert.body.spec.dnsNames].sort()).toEqual([
      "autoconfig.shop.example.com",
      "autodiscover.shop.example.com",
      "mta-sts.shop.example.com",
    ]);
    const ir = await route("shop");
    expect(ir.status).toBe(200);
    expect(ir.body.spec.tls.secretName).toBe(cert.body.spec.secretName);
    expect(ir.body.spec.routes[0]?.match).toContain("Host(`mta-sts.shop.example.com`)");
    const status = await api.get("/sites/shop/mail/status");
    expect(status.body.status).toBe("ready");
  });

  it("disables the site: disabled, the Mailcow domain kept but inactive, the certificate and route removed", async () => {
    const api = controllerApi(controller);
    expect((await api.post("/sites/shop/mail/disable")).status).toBe(202);
    await untilStatus("shop", "disabled");
    expect(mailcow.state.domains.get("shop.example.com")?.active).toBe(0);
    expect((await certificate("shop")).status).toBe(404);
    expect((await route("shop")).status).toBe(404);
  });

  it("purges the site: purged, its Mailcow domain gone", async () => {
    const api = controllerApi(controller);
    expect((await api.post("/sites/shop/mail/purge", { confirm: "shop" })).status).toBe(202);
    await untilStatus("shop", "purged");
    expect(mailcow.state.domains.has("shop.example.com")).toBe(false);
  });

  it("converges 20 sites enabled at once, each ready with its own domain and certificate", async () => {
    const slugs = Array.from({ length: 20 }, (_, i) => `site${String(i + 1).padStart(2, "0")}`);
    for (const slug of slugs) await createTenant(lab.cluster, slug, `${slug}.example.net`);
    const api = controllerApi(controller);
    const answers = await Promise.all(slugs.map((s) => api.post(`/sites/${s}/mail/enable`)));
    expect(answers.map((a) => a.status)).toEqual(slugs.map(() => 202));
    await Promise.all(slugs.map((s) => untilStatus(s, "ready")));
    for (const slug of slugs) {
      expect(mailcow.state.domains.get(`${slug}.example.net`)?.active).toBe(1);
      expect((await certificate(slug)).status).toBe(200);
    }
    expect(mailcow.state.domains.size).toBe(20);
  });
});
