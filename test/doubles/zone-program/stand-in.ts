/**
 * A small zone-like program for the preview and render tests: a namespace, a generated password in a Secret, a
 * Deployment with a PVC mount, a Service, Traefik objects and a Cloudflare record. It reads `mail-zone:*` config like
 * the real zone program, so the tests exercise the stack-file path without depending on the zone's details.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface StandInOptions {
  /** Give the Deployment's container port as a string, which the schema rejects. */
  invalidPort?: boolean;
  /** Add an object of a kind no schema knows. */
  unknownKind?: boolean;
  /** Put the secret config value into a ConfigMap unmarked (a leak the preview must refuse to print). */
  leakSecret?: boolean;
}

export function standInZoneProgram(options: StandInOptions = {}): () => Promise<Record<string, unknown>> {
  return async () => {
    const cfg = new pulumi.Config("mail-zone");
    const namespace = cfg.get("namespace") ?? "mail-zone";
    const hostname = cfg.require("hostname");
    const token = cfg.getSecret("token");
    const ns = new k8s.core.v1.Namespace("ns", {
      metadata: { name: namespace, labels: { "app.kubernetes.io/managed-by": "pulumi" } },
    });
    const db = new random.RandomPassword("db-password", { length: 24, special: false });
    new k8s.core.v1.Secret("secrets", {
      metadata: { name: "mailcow-secrets", namespace },
      stringData: { DBPASS: db.result, ...(token ? { TOKEN: token } : {}) },
    });
    new k8s.core.v1.Secret("controller", {
      metadata: { name: "controller", namespace: "platform" },
      stringData: { DB: db.result, URL: pulumi.secret(`http://mailcow.${namespace}.svc:8080`) },
    });
    new k8s.core.v1.ConfigMap("config", {
      metadata: { name: "mailcow-config", namespace },
      data: { MAILCOW_HOSTNAME: hostname, ...(options.leakSecret && token ? { LEAK: pulumi.unsecret(token) } : {}) },
    });
    new k8s.core.v1.PersistentVolumeClaim("vmail", {
      metadata: { name: "vmail", namespace },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } },
    });
    const labels = { "app.kubernetes.io/name": "mailcow" };
    new k8s.apps.v1.Deployment("mailcow", {
      metadata: { name: "mailcow", namespace, annotations: { "pulumi.com/skipAwait": "true" } },
      spec: {
        selector: { matchLabels: labels },
        strategy: { type: "Recreate" },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "postfix",
                image: "ghcr.io/mailcow/postfix:1.80",
                ports: [{ containerPort: (options.invalidPort ? "25" : 25) as number, name: "smtp" }],
                volumeMounts: [{ name: "vmail", mountPath: "/var/vmail" }],
              },
            ],
            volumes: [{ name: "vmail", persistentVolumeClaim: { claimName: "vmail" } }],
          },
        },
      },
    });
    new k8s.core.v1.Service("postfix", {
      metadata: { name: "mailcow-postfix", namespace },
      spec: { selector: labels, ports: [{ name: "smtp-proxy", port: 10025, targetPort: 10025 }] },
    });
    new k8s.apiextensions.CustomResource("traefik", {
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChartConfig",
      metadata: { name: "traefik", namespace: "kube-system" },
      spec: {
        valuesContent:
          "ports:\n  smtp:\n    port: 2525\n    exposedPort: 25\n    protocol: TCP\nservice:\n  spec:\n    externalTrafficPolicy: Local\n",
      },
    });
    new k8s.apiextensions.CustomResource("proxy", {
      apiVersion: "traefik.io/v1alpha1",
      kind: "ServersTransportTCP",
      metadata: { name: "mail-proxy-v2", namespace },
      spec: { proxyProtocol: { version: 2 } },
    });
    new k8s.apiextensions.CustomResource("smtp", {
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRouteTCP",
      metadata: { name: "mail-smtp", namespace },
      spec: {
        entryPoints: ["smtp"],
        routes: [
          {
            match: "HostSNI(`*`)",
            services: [{ name: "mailcow-postfix", port: 10025, serversTransport: "mail-proxy-v2" }],
          },
        ],
      },
    });
    if (options.unknownKind) {
      new k8s.apiextensions.CustomResource("mystery", {
        apiVersion: "example.com/v1",
        kind: "Mystery",
        metadata: { name: "mystery", namespace },
      });
    }
    new cloudflare.DnsRecord("mail-a", {
      zoneId: "zone",
      name: hostname,
      type: "A",
      content: "203.0.113.10",
      ttl: 1,
      proxied: false,
    });
    return { hostname, namespace: ns.metadata.name, db: db.result };
  };
}
