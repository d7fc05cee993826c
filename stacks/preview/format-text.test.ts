import { describe, expect, it } from "vitest";
import { type PlannedResource, wrapSecret } from "./engine";
import { formatTextPlan, recordContent, siteRecordLine, workloadLines } from "./format-text";

const SECRET = "s3cr3t-Value-never-printed";

function k8s(type: string, inputs: Record<string, unknown>): PlannedResource {
  return { type, name: String((inputs.metadata as { name: string }).name), custom: true, inputs };
}

const resources: PlannedResource[] = [
  k8s("kubernetes:core/v1:Namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "mail-zone" } }),
  k8s("kubernetes:apps/v1:StatefulSet", {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "mailcow", namespace: "mail-zone" },
    spec: {
      replicas: 1,
      template: {
        spec: {
          containers: [
            {
              name: "dovecot",
              image: "ghcr.io/mailcow/dovecot:2.3",
              env: [{ name: "PW", value: wrapSecret(SECRET) }],
              ports: [{ containerPort: 10993, name: "imaps-proxy" }],
              volumeMounts: [
                { name: "vmail", mountPath: "/var/vmail" },
                { name: "tls", mountPath: "/etc/ssl/mail", readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "vmail", persistentVolumeClaim: { claimName: "vmail" } },
            { name: "tls", secret: { secretName: "mailcow-tls" } },
          ],
        },
      },
    },
  }),
  k8s("kubernetes:core/v1:Service", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "mailcow-dovecot", namespace: "mail-zone" },
    spec: { ports: [{ name: "imaps-proxy", port: 10993, targetPort: 10993 }] },
  }),
  k8s("kubernetes:helm.cattle.io/v1:HelmChartConfig", {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChartConfig",
    metadata: { name: "traefik", namespace: "kube-system" },
    spec: {
      valuesContent:
        "ports:\n  imaps:\n    port: 2993\n    exposedPort: 993\nservice:\n  spec:\n    externalTrafficPolicy: Local\n",
    },
  }),
  k8s("kubernetes:traefik.io/v1alpha1:IngressRouteTCP", {
    apiVersion: "traefik.io/v1alpha1",
    kind: "IngressRouteTCP",
    metadata: { name: "mail-imaps", namespace: "mail-zone" },
    spec: {
      entryPoints: ["imaps"],
      routes: [
        { match: "HostSNI(`*`)", services: [{ name: "mailcow-dovecot", port: 10993, serversTransport: "proxy-v2" }] },
      ],
      tls: { passthrough: true },
    },
  }),
  k8s("kubernetes:traefik.io/v1alpha1:ServersTransportTCP", {
    apiVersion: "traefik.io/v1alpha1",
    kind: "ServersTransportTCP",
    metadata: { name: "proxy-v2", namespace: "mail-zone" },
    spec: { proxyProtocol: { version: 2 } },
  }),
  k8s("kubernetes:traefik.io/v1alpha1:IngressRoute", {
    apiVersion: "traefik.io/v1alpha1",
    kind: "IngressRoute",
    metadata: { name: "web", namespace: "mail-zone" },
    spec: {
      entryPoints: ["websecure"],
      routes: [
        {
          match: "Host(`mail.example.com`)",
          services: [{ name: "mailcow-nginx", port: 8080 }],
          middlewares: [{ name: "admin-allowlist" }],
        },
      ],
      tls: { secretName: "mailcow-tls" },
    },
  }),
  k8s("kubernetes:core/v1:Secret", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "mailcow-secrets", namespace: "mail-zone" },
    stringData: wrapSecret({ DBPASS: SECRET, API_KEY: SECRET }),
  }),
  { type: "random:index/randomPassword:RandomPassword", name: "db", custom: true, inputs: { length: 28 } },
  {
    type: "cloudflare:index/dnsRecord:DnsRecord",
    name: "mail-a",
    custom: true,
    inputs: { name: "mail.example.com", type: "A", content: "203.0.113.10", proxied: false, ttl: 1 },
  },
  { type: "mail-zone:index:MailZone", name: "zone", custom: false, inputs: {} },
];

describe("formatTextPlan", () => {
  const text = formatTextPlan({
    stack: "mail-zone/example",
    resources,
    outputs: { apiKey: wrapSecret(SECRET), host: "mail.example.com" },
  });

  it("groups the plan by kind in the operator's reading order", () => {
    const headings = text.split("\n").filter((line) => /^[A-Z]/.test(line));
    expect(headings).toEqual([
      "Plan for mail-zone/example: 10 resources (8 Kubernetes objects, 1 generated secrets, 1 DNS records)",
      "Namespaces",
      "Workloads and images",
      "Services and ports",
      "Mail entrypoints and TCP routes (Traefik)",
      "Web routes and TLS",
      "Network policies",
      "Config maps (keys)",
      "Secrets (names and keys only)",
      "DNS records",
      "Outputs",
    ]);
  });

  it("shows each container's image, ports and volume mounts with their sources", () => {
    expect(text).toContain("  StatefulSet mail-zone/mailcow  (replicas 1)");
    expect(text).toContain("    container dovecot: ghcr.io/mailcow/dovecot:2.3");
    expect(text).toContain("      ports: 10993/TCP (imaps-proxy)");
    expect(text).toContain("      mount /var/vmail ← vmail: pvc vmail");
    expect(text).toContain("      mount /etc/ssl/mail ← tls: secret mailcow-tls (read-only)");
  });

  it("says which pods mount the ServiceAccount token and which containers mount a projected one instead", () => {
    const pod = (name: string, spec: Record<string, unknown>) =>
      k8s("kubernetes:apps/v1:StatefulSet", {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name, namespace: "mail-zone" },
        spec: { template: { spec } },
      });
    const tokenText = formatTextPlan({
      stack: "mail-zone/example",
      resources: [
        pod("no-token", {
          serviceAccountName: "standin",
          automountServiceAccountToken: false,
          containers: [
            { name: "nginx", image: "nginx" },
            { name: "standin", image: "node", volumeMounts: [{ name: "sa", mountPath: "/var/run/secrets/x" }] },
          ],
          volumes: [{ name: "sa", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } }],
        }),
        pod("implicit", { containers: [{ name: "app", image: "app" }] }),
      ],
    });
    expect(tokenText).toContain(
      "  StatefulSet mail-zone/no-token\n    service account standin: API token not mounted (automountServiceAccountToken: false); projected token only in standin\n",
    );
    expect(tokenText).toContain(
      "  StatefulSet mail-zone/implicit\n    service account default: API token mounted in every container (Kubernetes default)\n",
    );
  });

  it("shows entrypoints, TCP routes with passthrough and PROXY, and web routes with middlewares", () => {
    expect(text).toContain("    entrypoint imaps: public 993 → container 2993/TCP");
    expect(text).toContain("    service externalTrafficPolicy: Local");
    expect(text).toContain("  IngressRouteTCP mail-zone/mail-imaps  entrypoint imaps, TLS passthrough: yes");
    expect(text).toContain("    HostSNI(`*`) → mailcow-dovecot:10993 (PROXY v2 via proxy-v2)");
    expect(text).toContain("    Host(`mail.example.com`) → mailcow-nginx:8080  [middlewares: admin-allowlist]");
    expect(text).toContain("  mail-zone/mailcow-dovecot  ClusterIP  10993/TCP (imaps-proxy)");
  });

  it("lists secrets by name and keys, never their values", () => {
    expect(text).toContain("  Secret mail-zone/mailcow-secrets  keys: API_KEY, DBPASS");
    expect(text).toContain('  generated RandomPassword "db", 28 characters');
    expect(text).toContain("  apiKey: [secret]");
    expect(text).not.toContain(SECRET);
  });

  it("lists the Cloudflare records", () => {
    expect(text).toContain("    mail.example.com  A  203.0.113.10  (proxied: false, ttl 1)");
  });

  it("shows only the DNS records for a plan without Kubernetes objects", () => {
    const site = formatTextPlan({
      stack: "mail-sites/shop",
      resources: [],
      site: {
        provider: "manual",
        records: [
          { name: "shop.example", type: "MX", content: "mail.example.com", priority: 10, ttl: 3600, purpose: "mx" },
        ],
      },
    });
    expect(site).not.toContain("Workloads");
    expect(site).toContain("records to publish (provider manual):");
    expect(site).toContain("    shop.example  MX 10  mail.example.com  (mx)");
  });
});

describe("CronJobs", () => {
  const cronJob = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: "mail-zone" },
    spec: {
      ...spec,
      jobTemplate: { spec: { template: { spec: { containers: [{ name: "run", image: "alpine:3.20" }] } } } },
    },
  });

  it("say that a restore template is suspended, and a scheduled backup is not", () => {
    const restore = workloadLines(cronJob("mailcow-restore-volumes", { schedule: "0 0 31 2 *", suspend: true }));
    expect(restore[0]).toBe(
      '  CronJob mail-zone/mailcow-restore-volumes  (schedule "0 0 31 2 *", suspended: never runs on its own)',
    );
    const backup = workloadLines(cronJob("mailcow-backup", { schedule: "30 3 * * *", suspend: false }));
    expect(backup[0]).toBe('  CronJob mail-zone/mailcow-backup  (schedule "30 3 * * *")');
  });
});

describe("site records", () => {
  it("print TXT records as the joined string", () => {
    const record = {
      name: "k._domainkey.a.example",
      type: "TXT",
      content: "ab",
      chunks: ["a", "b"],
      ttl: 60,
      purpose: "dkim",
    };
    expect(recordContent(record)).toBe("ab");
    expect(siteRecordLine(record)).toBe("  k._domainkey.a.example  TXT  ab  (dkim)");
  });

  it("prints an MX record's priority once, and an SRV record's only as part of its content", () => {
    const mx = { name: "a.example", type: "MX", content: "mail.example", priority: 10, ttl: 60, purpose: "mx" };
    expect(siteRecordLine(mx)).toBe("  a.example  MX 10  mail.example  (mx)");
    const srv = {
      name: "_imaps._tcp.a.example",
      type: "SRV",
      content: "0 1 993 mail.example",
      priority: 0,
      ttl: 60,
      purpose: "srv-imaps",
    };
    expect(siteRecordLine(srv)).toBe("  _imaps._tcp.a.example  SRV  0 1 993 mail.example  (srv-imaps)");
  });
});
