/**
 * The sandbox's world, assembled once for `npm run sandbox` (`sandbox.ts`) and for the test that holds the sandbox
 * to its own `/openapi.json` (`sandbox.test.ts`): the Mailcow API double, a Kubernetes API double seeded with a few
 * tenant namespaces, the preview runner (Pulumi's mock engine), and a DNS server double that the DNS checks ask:
 * each site's records appear there a while after its stack run, as if published by hand. `cafe` gets a wrong SPF on
 * purpose, to show a failed record and the deadline error. Everything goes through the one `buildController`.
 */
import { randomBytes } from "node:crypto";
import { type DnsServerDouble, startDnsServer } from "../test/doubles/dns-server";
import { type KubernetesDouble, kubeConfigFor, startKubernetesDouble } from "../test/doubles/kubernetes-api";
import { type MailcowDouble, startMailcowDouble } from "../test/doubles/mailcow-api";
import { PublishingRunner } from "../test/support/dns-publishing";
import { buildController, type Controller } from "./controller";
import { dnsCheckerFromSettings } from "./deliverability/from-settings";
import { createLogger } from "./logger";
import { MailcowClient } from "./mailcow/client";
import { createRedactor } from "./redact";
import { loadSettings, type Settings, secretValues } from "./settings";
import { annotationLayout } from "./sites/annotation-layout";
import { cachedSiteDirectory } from "./sites/kubernetes-site-directory";
import { PreviewRunner } from "./stacks/preview-runner";

export const SANDBOX_MAIL_HOST = "mail.sandbox.example";
/** The site whose SPF is published wrong, to show a failed record and the deadline error. */
export const WRONG_SPF_SITE = "cafe";

/** Tenant namespaces as Voxeil's seed writes them: labelled with the slug, the domain in an annotation. */
export const SANDBOX_SITES = [
  { slug: "shop", domain: "shop.example.com" },
  { slug: "blog", domain: "blog.example.org" },
  { slug: "cafe", domain: "cafe.example.net" },
];

export interface SandboxOptions {
  /** Default 8080; 0: any free port. */
  port: number;
  logLevel: Settings["logLevel"];
  dnsCheck: boolean;
  /** How long after a stack run the site's records show up at the DNS double ("published by hand"). */
  publishDelayMs: number;
  /** How long each preview run takes (so `run.state: running` shows). */
  runnerDelayMs: number;
  dnsCheckIntervalSeconds: number;
  dnsCheckTimeoutSeconds: number;
}

export const SANDBOX_DEFAULTS: SandboxOptions = {
  port: 8080,
  logLevel: "warn",
  dnsCheck: true,
  publishDelayMs: 8000,
  runnerDelayMs: 1500,
  dnsCheckIntervalSeconds: 3,
  dnsCheckTimeoutSeconds: 120,
};

export interface Sandbox {
  url: string;
  token: string;
  settings: Settings;
  controller: Controller;
  mailcow: MailcowDouble;
  k8s: KubernetesDouble;
  dns: DnsServerDouble;
  /** Stops the controller and every double. */
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = SANDBOX_DEFAULTS): Promise<Sandbox> {
  const mailcowDouble = await startMailcowDouble({ hostname: SANDBOX_MAIL_HOST, reuseDkimKeys: true });
  const k8s = await startKubernetesDouble({
    namespaces: [
      ...SANDBOX_SITES.map(({ slug, domain }) => ({
        name: `tenant-${slug}`,
        labels: { "voxeil.io/tenant": "true", "voxeil.io/tenant-slug": slug },
        annotations: { "voxeil.io/domain": domain },
      })),
      { name: "kube-system" },
      { name: "platform" },
    ],
  });
  const dns = await startDnsServer({ zones: SANDBOX_SITES.map((s) => s.domain) });
  const token = randomBytes(24).toString("hex");
  const settings = loadSettings({
    MAILCOW_API_URL: mailcowDouble.url,
    MAILCOW_API_KEY: mailcowDouble.apiKey,
    MAILCOW_HOSTNAME: SANDBOX_MAIL_HOST,
    CONTROLLER_TOKENS: token,
    STACK_RUNNER: "preview",
    DNS_PROVIDER: "manual",
    ALLOWED_DOMAIN_SUFFIXES: "example.com,example.org,example.net",
    DATA_DIR: ".controller-data",
    HOST: "127.0.0.1",
    PORT: String(options.port),
    RETRY_BASE_MS: "500",
    RETRY_CAP_MS: "5000",
    RETRY_MAX_ATTEMPTS: "4",
    SHUTDOWN_DEADLINE_SECONDS: "5",
    RESYNC_INTERVAL_SECONDS: "0",
    LOG_LEVEL: options.logLevel,
    DNS_CHECK: options.dnsCheck ? "on" : "off",
    DNS_CHECK_INTERVAL_SECONDS: String(options.dnsCheckIntervalSeconds),
    DNS_CHECK_TIMEOUT_SECONDS: String(options.dnsCheckTimeoutSeconds),
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
  // DNS double a while later, as an operator publishing them by hand would.
  const runner = new PublishingRunner(new PreviewRunner({ delayMs: options.runnerDelayMs }), dns, {
    delayMs: options.publishDelayMs,
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
  return {
    url,
    token,
    settings,
    controller,
    mailcow: mailcowDouble,
    k8s,
    dns,
    stop: async () => {
      await controller.shutdown();
      runner.close();
      await dns.close();
      await mailcowDouble.close();
      await k8s.close();
    },
  };
}
