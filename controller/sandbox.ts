/**
 * `npm run sandbox`: the controller on loopback with nothing real behind it: the Mailcow API double, a Kubernetes
 * API double seeded with a few tenant namespaces, and the preview runner (Pulumi's mock engine). Prints the URL, a
 * fresh token and curl commands to enable mail, poll the status, add a mailbox and disable it again.
 *
 * PORT (default 8080; 0 = any free port) and LOG_LEVEL (default warn) may be set; everything else is fixed here.
 */
import { randomBytes } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { kubeConfigFor, startKubernetesDouble } from "../test/doubles/kubernetes-api";
import { startMailcowDouble } from "../test/doubles/mailcow-api";
import { buildController } from "./controller";
import { createLogger } from "./logger";
import { MailcowClient } from "./mailcow/client";
import { createRedactor } from "./redact";
import { loadSettings, secretValues } from "./settings";
import { annotationLayout } from "./sites/annotation-layout";
import { KubernetesSiteDirectory } from "./sites/kubernetes-site-directory";
import { PreviewRunner } from "./stacks/preview-runner";

const MAIL_HOST = "mail.sandbox.example";

/** Tenant namespaces as Voxeil's seed writes them: labelled with the slug, the domain in an annotation. */
const SEED = [
  { slug: "shop", domain: "shop.example.com" },
  { slug: "blog", domain: "blog.example.org" },
  { slug: "cafe", domain: "cafe.example.net" },
];

async function main(): Promise<void> {
  const mailcowDouble = await startMailcowDouble({ hostname: MAIL_HOST, reuseDkimKeys: true });
  const k8s = await startKubernetesDouble({
    namespaces: [
      ...SEED.map(({ slug, domain }) => ({
        name: `tenant-${slug}`,
        labels: { "voxeil.io/tenant": "true", "voxeil.io/tenant-slug": slug },
        annotations: { "voxeil.io/domain": domain },
      })),
      { name: "kube-system" },
      { name: "platform" },
    ],
  });
  const token = randomBytes(24).toString("hex");
  const settings = loadSettings({
    MAILCOW_API_URL: mailcowDouble.url,
    MAILCOW_API_KEY: mailcowDouble.apiKey,
    MAILCOW_HOSTNAME: MAIL_HOST,
    CONTROLLER_TOKENS: token,
    STACK_RUNNER: "preview",
    DNS_PROVIDER: "manual",
    DATA_DIR: ".controller-data",
    HOST: "127.0.0.1",
    PORT: process.env.PORT ?? "8080",
    RETRY_BASE_MS: "500",
    RETRY_CAP_MS: "5000",
    RETRY_MAX_ATTEMPTS: "4",
    SHUTDOWN_DEADLINE_SECONDS: "5",
    RESYNC_INTERVAL_SECONDS: "0",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const redact = createRedactor(secretValues(settings));
  const logger = createLogger(settings.logLevel, redact, undefined, { name: "sandbox" });
  const sites = new KubernetesSiteDirectory({
    core: kubeConfigFor(k8s.url).makeApiClient(CoreV1Api),
    layout: annotationLayout(settings.siteLayout, settings.annotationPrefix, settings.namespaceTemplate),
    redact,
  });
  const mailcow = new MailcowClient({ baseUrl: mailcowDouble.url, apiKey: mailcowDouble.apiKey, timeoutMs: 5000 });
  // A short artificial delay makes the run visible in the status (`run.state: running`).
  const runner = new PreviewRunner({ delayMs: 1500 });
  const controller = buildController({ settings, sites, mailcow, runner, logger, redact, version: "sandbox" });

  let url: string;
  try {
    ({ url } = await controller.start());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    process.stderr.write(`port ${settings.port} is taken; using a free one (set PORT to choose)\n`);
    settings.port = 0;
    ({ url } = await controller.start());
  }

  const auth = `-H "Authorization: Bearer ${token}"`;
  const json = `-H "Content-Type: application/json"`;
  process.stdout.write(
    [
      "",
      "mail-zone controller sandbox (Mailcow double, Kubernetes double, preview runner; nothing real is touched)",
      "",
      `  URL:    ${url}`,
      `  token:  ${token}`,
      `  sites:  ${SEED.map((s) => `${s.slug} (${s.domain})`).join(", ")}   mail host: ${MAIL_HOST}`,
      `  Mailcow double: ${mailcowDouble.url}   Kubernetes double: ${k8s.url}`,
      "",
      "Try:",
      `  export TOKEN=${token} URL=${url}`,
      `  curl -s -X POST ${json} ${auth.replace(token, "$TOKEN")} -d '{}' $URL/sites/shop/mail/enable`,
      `  curl -s ${auth.replace(token, "$TOKEN")} $URL/sites/shop/mail/status        # repeat until "status":"ready"`,
      `  curl -s -X POST ${json} ${auth.replace(token, "$TOKEN")} -d '{"localPart":"info","password":"Change-me-2024","quotaMb":1024}' $URL/sites/shop/mail/mailboxes`,
      `  curl -s ${auth.replace(token, "$TOKEN")} $URL/sites/shop/mail/mailboxes`,
      `  curl -s -X POST ${auth.replace(token, "$TOKEN")} $URL/sites/shop/mail/disable`,
      `  curl -s ${auth.replace(token, "$TOKEN")} $URL/openapi.json`,
      `  curl -s $URL/metrics | grep mail_controller_`,
      "",
      "Annotations the controller wrote, as the platform would see them:",
      `  curl -s ${k8s.url}/api/v1/namespaces/tenant-shop`,
      "",
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await controller.shutdown();
    await mailcowDouble.close();
    await k8s.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
