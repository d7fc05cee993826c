/**
 * `npm start`: the controller from the environment (docs/controller.md lists every setting), with the real
 * adapters: the Kubernetes API (in-cluster service account, or KUBECONFIG), Mailcow over HTTP, and the Pulumi
 * Automation API (or the preview runner with STACK_RUNNER=preview). SIGTERM/SIGINT shut it down gracefully.
 */
import { readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { buildController } from "./controller";
import { dnsCheckerFromSettings, NameServerSettingError } from "./deliverability/from-settings";
import { missingKubeConfig } from "./kube-config";
import { createLogger } from "./logger";
import { MailcowClient } from "./mailcow/client";
import { createRedactor, errorMessage, type Redactor } from "./redact";
import { loadSettings, type Settings, SettingsError, secretValues } from "./settings";
import { annotationLayout } from "./sites/annotation-layout";
import { cachedSiteDirectory } from "./sites/kubernetes-site-directory";
import { AutomationRunner } from "./stacks/automation-runner";
import { PreviewRunner } from "./stacks/preview-runner";
import type { StackRunner } from "./stacks/stack-runner";

function settingsOrExit(): Settings {
  try {
    return loadSettings(process.env);
  } catch (err) {
    if (err instanceof SettingsError) {
      // Every problem in one answer: a missing kubeconfig too.
      const kube = missingKubeConfig(process.env);
      const all = kube ? new SettingsError([...err.problems, `Kubernetes: ${kube}`]) : err;
      process.stderr.write(`${all.message}\n(see docs/controller.md for every setting)\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Known once the settings are read; a start-up failure after that is reported without any secret in it. */
let redactStartupError: Redactor = (text) => text;

async function main(): Promise<void> {
  const settings = settingsOrExit();
  const redact = createRedactor(secretValues(settings));
  redactStartupError = redact;
  const logger = createLogger(settings.logLevel, redact);

  const noKubeConfig = missingKubeConfig(process.env);
  if (noKubeConfig) {
    process.stderr.write(`cannot reach Kubernetes: ${noKubeConfig}\n`);
    process.exit(2);
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  // Reads come from a namespace cache (list + watch) once it has synced; writes go to the API.
  const { sites, cache: siteCache } = cachedSiteDirectory({
    kubeConfig,
    layout: annotationLayout(settings.siteLayout, settings.annotationPrefix, settings.namespaceTemplate),
    redact,
    logger: logger.child({ component: "namespace-cache" }),
  });
  const mailcow = new MailcowClient({
    baseUrl: settings.mailcow.apiUrl,
    apiKey: settings.mailcow.apiKey,
    timeoutMs: settings.mailcow.timeoutMs,
    ...(settings.mailcow.caFile ? { ca: readFileSync(settings.mailcow.caFile) } : {}),
    logger: logger.child({ component: "mailcow" }),
  });
  const runner: StackRunner =
    settings.pulumi.runner === "preview"
      ? new PreviewRunner()
      : new AutomationRunner({
          dataDir: settings.dataDir,
          backendUrl: settings.pulumi.backendUrl,
          passphrase: settings.pulumi.passphrase,
          passphraseFile: settings.pulumi.passphraseFile,
          cloudflareApiToken: settings.dns.cloudflareApiToken,
          logger: logger.child({ component: "pulumi" }),
        });

  const dnsChecker = await dnsCheckerFromSettings(settings.dnsCheck).catch((err: unknown) => {
    if (err instanceof NameServerSettingError) {
      process.stderr.write(`invalid controller settings:\n  - ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  });
  logger.info(
    {
      dnsCheck: settings.dnsCheck.enabled ? "on" : "off",
      nameServers: settings.dnsCheck.nameServers.map((n) => `${n.host}:${n.port}`),
    },
    "DNS checks",
  );
  const controller = buildController({ settings, sites, mailcow, runner, logger, redact, dnsChecker, siteCache });
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    logger.info({ signal }, "signal received");
    controller.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await controller.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`controller failed to start: ${redactStartupError(errorMessage(err))}\n`);
  process.exit(1);
});
