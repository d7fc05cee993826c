/**
 * `npm run sandbox`: the controller on loopback with nothing real behind it: the Mailcow API double, a Kubernetes
 * API double seeded with a few tenant namespaces, the preview runner (Pulumi's mock engine), and a DNS server double
 * that the DNS checks ask: each site's records appear there a few seconds after its stack run, as if published by
 * hand, so the status walks provisioning (records pending) → ready. `cafe` gets a wrong SPF on purpose, to show a
 * failed record and the deadline error. Prints the URL, a fresh token and curl commands.
 *
 * PORT (default 8080; 0 = any free port), LOG_LEVEL (default warn) and DNS_CHECK (on|off, default on) may be set;
 * everything else is fixed here. `npm run sandbox -- --real`: the same with the real API server and Pulumi CLI.
 */
import { randomBytes } from "node:crypto";
import { startDnsServer } from "../test/doubles/dns-server";
import { kubeConfigFor, startKubernetesDouble } from "../test/doubles/kubernetes-api";
import { startMailcowDouble } from "../test/doubles/mailcow-api";
import { PublishingRunner } from "../test/support/dns-publishing";
import { buildController } from "./controller";
import { dnsCheckerFromSettings } from "./deliverability/from-settings";
import { createLogger } from "./logger";
import { MailcowClient } from "./mailcow/client";
import { createRedactor } from "./redact";
import { loadSettings, secretValues } from "./settings";
import { annotationLayout } from "./sites/annotation-layout";
import { cachedSiteDirectory } from "./sites/kubernetes-site-directory";
import { PreviewRunner } from "./stacks/preview-runner";

const MAIL_HOST = "mail.sandbox.example";
/** How long after a stack run the site's records show up at the DNS double ("published by hand"). */
const PUBLISH_DELAY_MS = 8000;
const DNS_CHECK_INTERVAL_SECONDS = 3;
const DNS_CHECK_TIMEOUT_SECONDS = 120;
/** The site whose SPF is published wrong, to show a failed record and the deadline error. */
const WRONG_SPF_SITE = "cafe";

/** Tenant namespaces as Voxeil's seed writes them: labelled with the slug, the domain in an annotation. */
const SEED = [
  { slug: "shop", domain: "shop.example.com" },
  { slug: "blog", domain: "blog.example.org" },
  { slug: "cafe", domain: "cafe.example.net" },
];

async function main(): Promise<void> {
  // The real engine's sandbox lives with the lab (lab/sandbox-real.ts).
  if (process.argv.includes("--real")) return (await import("../lab/sandbox-real")).main();
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
  const dns = await startDnsServer({ zones: SEED.map((s) => s.domain) });
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
    DNS_CHECK: process.env.DNS_CHECK ?? "on",
    DNS_CHECK_INTERVAL_SECONDS: String(DNS_CHECK_INTERVAL_SECONDS),
    DNS_CHECK_TIMEOUT_SECONDS: String(DNS_CHECK_TIMEOUT_SECONDS),
    DNS_CHECK_NAMESERVERS: `${dns.address}:${dns.port}`,
  });
  const redact = createRedactor(secretValues(settings));
  const logger = createLogger(settings.logLevel, redact, undefined, { name: "sandbox" });
  // The same site directory as npm start: reads from a list + watch cache of the namespaces, writes to the API.
  const { sites, cache: siteCache } = cachedSiteDirectory({
    kubeConfig: kubeConfigFor(k8s.url),
    layout: annotationLayout(settings.siteLayout, settings.annotationPrefix, settings.namespaceTemplate),
    redact,
    logger: logger.child({ component: "namespace-cache" }),
  });
  const mailcow = new MailcowClient({ baseUrl: mailcowDouble.url, apiKey: mailcowDouble.apiKey, timeoutMs: 5000 });
  // A short artificial delay makes the run visible in the status (`run.state: running`); the records then reach the
  // DNS double a few seconds later, as an operator publishing them by hand would.
  const runner = new PublishingRunner(new PreviewRunner({ delayMs: 1500 }), dns, {
    delayMs: PUBLISH_DELAY_MS,
    tamper: (slug, records) =>
      slug === WRONG_SPF_SITE
        ? records.map((r) => (r.purpose === "spf" ? { ...r, content: "v=spf1 -all", chunks: ["v=spf1 -all"] } : r))
        : records,
  });
  const dnsChecker = await dnsCheckerFromSettings(settings.dnsCheck);
  const controller = buildController({
    settings,
    sites,
    mailcow,
    runner,
    logger,
    redact,
    version: "sandbox",
    dnsChecker,
    siteCache,
  });

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
      `  Mailcow double: ${mailcowDouble.url}   Kubernetes double: ${k8s.url}   DNS double: ${dns.address}:${dns.port}`,
      "",
      settings.dnsCheck.enabled
        ? [
            `DNS checks: on. A site's records reach the DNS double ${PUBLISH_DELAY_MS / 1000}s after its stack run (as if published by hand);`,
            `they are checked every ${DNS_CHECK_INTERVAL_SECONDS}s (with backoff), so the status goes provisioning (dns.records[].state "pending")`,
            `→ ready ("verified"). ${WRONG_SPF_SITE}'s SPF is published wrong on purpose: it stays provisioning with that record "failed"`,
            `and goes to error after ${DNS_CHECK_TIMEOUT_SECONDS / 60}m, naming it. DNS_CHECK=off npm run sandbox: ready right after the run.`,
            `  dig @${dns.address} -p ${dns.port} +short MX shop.example.com`,
            "",
          ].join("\n")
        : "DNS checks: off (DNS_CHECK=off): a site is ready right after its stack run.\n",
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
    runner.close();
    await dns.close();
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
