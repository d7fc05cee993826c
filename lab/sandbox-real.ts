/**
 * `npm run sandbox -- --real`: the sandbox with the real engine: the lab's kube-apiserver (etcd, CRDs, simulator),
 * the controller as `npm start` runs it with the real Automation API runner and the lab's Pulumi CLI, and the Mailcow
 * double. Prints the URL, a token, curl commands, and a KUBECONFIG to watch the objects the site stacks create.
 * Ctrl-C stops everything. Needs the lab's binaries (`npm run lab:build`).
 */
import { startMailcowDouble } from "../test/doubles/mailcow-api";
import {
  CONTROLLER_BINARIES,
  createTenant,
  ensureNamespace,
  labUnavailable,
  startLab,
  startRealController,
  WEB_TLS_NAMESPACE,
} from "../test/real/support/lab-world";

const SEED = [
  { slug: "shop", domain: "shop.example.com" },
  { slug: "blog", domain: "blog.example.org" },
  { slug: "cafe", domain: "cafe.example.net" },
];

export async function main(): Promise<void> {
  const unavailable = labUnavailable(CONTROLLER_BINARIES);
  if (unavailable) {
    process.stderr.write(`sandbox --real: ${unavailable}\n`);
    process.exit(1);
  }
  process.stdout.write("starting etcd and kube-apiserver on loopback…\n");
  const lab = await startLab();
  const mailcow = await startMailcowDouble({ hostname: "mail.lab.example", reuseDkimKeys: true });
  await ensureNamespace(lab.cluster, WEB_TLS_NAMESPACE);
  for (const s of SEED) await createTenant(lab.cluster, s.slug, s.domain);
  const controller = await startRealController({
    mailcowUrl: mailcow.url,
    mailcowKey: mailcow.apiKey,
    kubeconfigPath: lab.cluster.kubeconfigPath,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
  });
  const auth = `-H "Authorization: Bearer $TOKEN"`;
  process.stdout.write(
    [
      "",
      "mail-zone controller sandbox, real engine (real kube-apiserver + Pulumi CLI; Mailcow is the double)",
      "",
      `  URL:    ${controller.url}`,
      `  token:  ${controller.token}`,
      `  sites:  ${SEED.map((s) => `${s.slug} (${s.domain})`).join(", ")}`,
      `  KUBECONFIG=${lab.cluster.kubeconfigPath}   (the API server: ${lab.cluster.url})`,
      "",
      "Try:",
      `  export TOKEN=${controller.token} URL=${controller.url} KUBECONFIG=${lab.cluster.kubeconfigPath}`,
      `  curl -s -X POST -H "Content-Type: application/json" ${auth} -d '{}' $URL/sites/shop/mail/enable`,
      `  curl -s ${auth} $URL/sites/shop/mail/status        # a real pulumi up runs; repeat until "status":"ready"`,
      `  kubectl get certificates,ingressroutes -n ${WEB_TLS_NAMESPACE}   # what the site's stack created`,
      "  kubectl get ns tenant-shop -o jsonpath='{.metadata.annotations}'",
      `  curl -s -X POST ${auth} $URL/sites/shop/mail/disable`,
      "",
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await controller.kill("SIGTERM");
    await mailcow.close();
    await lab.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}
