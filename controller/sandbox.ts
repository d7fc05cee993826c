/**
 * `npm run sandbox`: the controller on loopback with nothing real behind it (`sandbox-world.ts` assembles it):
 * the Mailcow and Kubernetes API doubles, the preview runner and a DNS server double whose records appear a few
 * seconds after each stack run, as if published by hand, so the status walks provisioning (records pending) → ready.
 * Prints the URL, a fresh token and curl commands. It ends with whatever started it: Ctrl-C, SIGTERM, or the exit of
 * npm (or any other ancestor), so no tsx or node is left holding the port.
 *
 * PORT (default 8080; 0 = any free port), LOG_LEVEL (default warn) and DNS_CHECK (on|off, default on) may be set;
 * everything else is fixed here. `npm run sandbox -- --real`: the same with the real API server and Pulumi CLI.
 */
import { whenAncestorsGone } from "./ancestors";
import { SANDBOX_DEFAULTS, SANDBOX_MAIL_HOST, SANDBOX_SITES, startSandbox, WRONG_SPF_SITE } from "./sandbox-world";
import type { Settings } from "./settings";

async function main(): Promise<void> {
  // The real engine's sandbox lives with the lab (lab/sandbox-real.ts).
  if (process.argv.includes("--real")) return (await import("../lab/sandbox-real")).main();
  const options = {
    ...SANDBOX_DEFAULTS,
    port: Number(process.env.PORT ?? SANDBOX_DEFAULTS.port),
    logLevel: (process.env.LOG_LEVEL ?? SANDBOX_DEFAULTS.logLevel) as Settings["logLevel"],
    dnsCheck: (process.env.DNS_CHECK ?? "on") !== "off",
  };
  const sandbox = await startSandbox(options);
  const { url, token, settings, mailcow: mailcowDouble, k8s, dns } = sandbox;
  const PUBLISH_DELAY_MS = options.publishDelayMs;
  const DNS_CHECK_INTERVAL_SECONDS = options.dnsCheckIntervalSeconds;
  const DNS_CHECK_TIMEOUT_SECONDS = options.dnsCheckTimeoutSeconds;
  const SEED = SANDBOX_SITES;
  const MAIL_HOST = SANDBOX_MAIL_HOST;
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
  const stop = async (why: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    if (why) process.stderr.write(`${why}; stopping the sandbox\n`);
    await sandbox.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop(""));
  process.on("SIGTERM", () => void stop(""));
  process.on("SIGHUP", () => void stop("the terminal closed"));
  whenAncestorsGone((pid) => void stop(`the process that started it (pid ${pid}) has ended`));
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
