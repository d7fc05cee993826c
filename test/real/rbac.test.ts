/**
 * Issue item 4: the controller as its ServiceAccount (a token from the TokenRequest API), bound by the RBAC objects
 * the zone plans, does its whole job against the real API server, whose RBAC really decides; and the zone's
 * ValidatingAdmissionPolicy (which the zone must plan) rejects the controller's change of a label or of an annotation
 * that is not its own.
 */
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, Discovery, type KubeObject } from "../../lab/apply";
import { apiClient } from "../../lab/kube-http";
import { planTarget, zoneTarget } from "../../stacks/preview/targets";
import { type MailcowDouble, startMailcowDouble } from "../doubles/mailcow-api";
import {
  CONTROLLER_BINARIES,
  controllerApi,
  createTenant,
  ensureNamespace,
  type Lab,
  labUnavailable,
  PREFIX,
  REPO_ROOT,
  type RealController,
  removeDir,
  startLab,
  startRealController,
} from "./support/lab-world";
import { watchNamespaceUntil } from "./support/watch";

const unavailable = labUnavailable(CONTROLLER_BINARIES);
if (unavailable) console.warn(`skipping the real RBAC suite: ${unavailable}`);

const LAB_STACK = resolve(REPO_ROOT, "test/real/fixtures/Pulumi.lab.yaml");
const STATUS = `${PREFIX}/mail-status`;
const RBAC_KINDS = new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
const ADMISSION_KINDS = new Set(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);

describe.skipIf(unavailable !== undefined)("the controller as its ServiceAccount, bound as the zone plans", () => {
  let lab: Lab;
  let mailcow: MailcowDouble;
  let controller: RealController;
  let saToken: string;
  let planned: KubeObject[];

  beforeAll(async () => {
    const plan = await planTarget(await zoneTarget(LAB_STACK));
    planned = plan.resources
      .filter((r) => r.custom && r.type.startsWith("kubernetes:"))
      .map((r) => r.inputs as unknown as KubeObject);
    lab = await startLab();
    const discovery = new Discovery(lab.cluster.api);
    const zoneNs = planned.find((o) => o.kind === "Namespace");
    if (!zoneNs) throw new Error("the zone plans no Namespace");
    await apply(lab.cluster.api, discovery, zoneNs);
    await ensureNamespace(lab.cluster, "platform");
    const controllerObjects = planned.filter(
      (o) =>
        (RBAC_KINDS.has(o.kind) &&
          (o.metadata.labels as Record<string, string> | undefined)?.["app.kubernetes.io/component"] ===
            "controller") ||
        ADMISSION_KINDS.has(o.kind),
    );
    for (const o of controllerObjects.filter((x) => x.kind !== "ValidatingAdmissionPolicyBinding")) {
      await apply(lab.cluster.api, discovery, o);
    }
    for (const o of controllerObjects.filter((x) => x.kind === "ValidatingAdmissionPolicyBinding")) {
      await apply(lab.cluster.api, discovery, o);
    }
    const sa = controllerObjects.find((o) => o.kind === "ServiceAccount");
    if (!sa) throw new Error("the zone plans no ServiceAccount for the controller");
    const tr = await lab.cluster.api.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${sa.metadata.namespace}/serviceaccounts/${sa.metadata.name}/token`,
      { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
    );
    expect(tr.status).toBe(201);
    saToken = tr.body.status.token;
    mailcow = await startMailcowDouble({ hostname: "mail.lab.example", reuseDkimKeys: true });
    await createTenant(lab.cluster, "shop", "shop.example.com");
    await createTenant(lab.cluster, "blog", "blog.example.org");
    const roleNs = planned.find((o) => o.kind === "Role" && o.metadata.name.includes("site-web-tls"))?.metadata
      .namespace;
    controller = await startRealController({
      mailcowUrl: mailcow.url,
      mailcowKey: mailcow.apiKey,
      kubeconfigPath: lab.cluster.writeKubeconfig("controller-sa", saToken),
      env: { SITE_WEB_TLS_NAMESPACE: roleNs ?? "mail-zone" },
    });
  });

  afterAll(async () => {
    await controller?.kill("SIGTERM");
    if (controller) removeDir(controller.dataDir);
    await mailcow?.close();
    await lab?.stop();
  });

  const until = (slug: string, status: string) =>
    watchNamespaceUntil(
      lab.cluster.kubeConfig(),
      `tenant-${slug}`,
      `tenant-${slug} is ${status}`,
      (a) => a[STATUS] === status || a[STATUS] === "error",
      300_000,
      () => controller.output().slice(-4000),
    ).then((a) => {
      expect(a[STATUS], `${a[`${PREFIX}/mail-last-error`]}\n${controller.output().slice(-3000)}`).toBe(status);
    });

  it("is refused what its role does not grant (the token is not an admin's)", async () => {
    const asSa = apiClient(lab.cluster.url, saToken);
    expect((await asSa.request("GET", "/api/v1/namespaces/platform/secrets")).status).toBe(403);
    expect((await asSa.request("DELETE", "/api/v1/namespaces/tenant-blog")).status).toBe(403);
  });

  it("enables, disables and purges a site with only the zone's RBAC", async () => {
    const api = controllerApi(controller);
    expect((await api.post("/sites/shop/mail/enable")).status).toBe(202);
    await until("shop", "ready");
    expect((await api.post("/sites/shop/mail/disable")).status).toBe(202);
    await until("shop", "disabled");
    expect((await api.post("/sites/shop/mail/purge", { confirm: "shop" })).status).toBe(202);
    await until("shop", "purged");
    expect(mailcow.state.domains.has("shop.example.com")).toBe(false);
  });

  it("is stopped by the zone's admission policy from changing a label or another annotation", async () => {
    // The zone must plan the policy: a zone without it would let the controller rewrite any namespace's metadata.
    expect(planned.some((o) => o.kind === "ValidatingAdmissionPolicy")).toBe(true);
    const asSa = apiClient(lab.cluster.url, saToken);
    const patch = (body: unknown) =>
      asSa.request("PATCH", "/api/v1/namespaces/tenant-blog", body, "application/merge-patch+json");
    const label = await patch({ metadata: { labels: { [`${PREFIX}/tenant-slug`]: "shop" } } });
    expect(label.status, JSON.stringify(label.body)).toBeGreaterThanOrEqual(400);
    const other = await patch({ metadata: { annotations: { [`${PREFIX}/domain`]: "evil.example.com" } } });
    expect(other.status, JSON.stringify(other.body)).toBeGreaterThanOrEqual(400);
    // Its own keys still pass: the policy is not simply "deny everything".
    const own = await patch({ metadata: { annotations: { [`${PREFIX}/mail-last-error`]: "" } } });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
  });
});
