/**
 * MailcowWorkloads: the Mailcow services of the pinned release in the zone namespace (in-cluster mode), or Services
 * pointing at a mailcow-dockerized host outside the cluster (external mode). Either way the rest of the zone
 * reaches Mailcow through the Services named in mailcow-endpoints.ts.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MAILCOW_POD_LABELS, zoneLabels } from "../labels";
import { MAILCOW_SERVICES, MAILCOW_WEB_PORT, mailcowApiBaseUrl, PROXY_LISTENERS } from "../mailcow-endpoints";
import { IN_POD_NAMES } from "./catalogue";
import {
  dovecotExtraConf,
  dovecotSogoHook,
  initScript,
  POSTFIX_GUARD_FILES,
  postfixExtraCf,
  postfixMasterAwk,
  postfixProxyClientsCidr,
  postfixProxyPostscreenCidr,
  sogoConfSed,
  unboundLocalData,
  unpackScript,
} from "./overrides";
import {
  DEFAULT_VOLUME_SIZES,
  enabledServices,
  enabledVolumes,
  MAILCOW_POD_NAME,
  MAILCOW_STATEFULSET,
  OVERRIDES_CONFIGMAP,
  podSpec,
  proxyTrust,
  pvcName,
  SOGO_WORKERS,
  STANDIN_CONFIGMAP,
  STANDIN_SERVICE_ACCOUNT,
  standinJobs,
} from "./pod";
import type { MailcowSettings } from "./settings";

export interface MailcowWorkloadsArgs {
  namespace: pulumi.Input<string>;
  settings: MailcowSettings;
  /** MAILCOW_HOSTNAME, e.g. mail.example.net. */
  hostname: string;
  /** Zone timezone (settings.timezone overrides it for Mailcow). */
  timezone: string;
  /** Cluster pod CIDR (k3s default 10.42.0.0/16). */
  podCidr: string;
}

/** The StorageClass `storage.retain` creates for the Mailcow PVCs. */
export const RETAIN_STORAGE_CLASS = "mailcow-retain";

/** The StatefulSet (one pod, `mailcow-0`, every service a container); docs/decisions/0110. */
export { MAILCOW_POD_NAME, MAILCOW_STATEFULSET } from "./pod";

/** Source of a JS module beside this file, shipped in a ConfigMap (the stand-in, the release fetcher). */
export function moduleSource(file: "dockerapi-standin.js" | "fetch-release.js"): string {
  return readFileSync(join(__dirname, file), "utf8");
}

/** Files of the `mailcow-overrides` ConfigMap (no secrets: the Secret reaches the pod only through env). */
export function overrideFiles(args: Omit<MailcowWorkloadsArgs, "namespace">): Record<string, string> {
  const s = args.settings;
  return {
    "init.sh": initScript(),
    "unpack-release.sh": unpackScript(),
    "fetch-release.js": moduleSource("fetch-release.js"),
    "postfix-master.awk": postfixMasterAwk(),
    [POSTFIX_GUARD_FILES.smtpd]: postfixProxyClientsCidr(),
    [POSTFIX_GUARD_FILES.postscreen]: postfixProxyPostscreenCidr(),
    "sogo-conf.sed": sogoConfSed(SOGO_WORKERS),
    "postfix-extra.cf": postfixExtraCf(s.postfixExtra),
    "dovecot-extra.conf": dovecotExtraConf(proxyTrust({ ...args }), s.dovecotExtra),
    "unbound-local.conf": unboundLocalData(s.composeProjectName),
    "dovecot-sogo-hook.sh": dovecotSogoHook(),
  };
}

/** Ports of the three Services, by Service (names are what Traefik routes and NetworkPolicies refer to). */
export function servicePorts(webTargetPort: number = MAILCOW_WEB_PORT) {
  const byService: Record<string, { name: string; port: number; targetPort: number }[]> = {
    [MAILCOW_SERVICES.postfix]: [],
    [MAILCOW_SERVICES.dovecot]: [],
    [MAILCOW_SERVICES.nginx]: [{ name: "http", port: MAILCOW_WEB_PORT, targetPort: webTargetPort }],
  };
  for (const [entrypoint, l] of Object.entries(PROXY_LISTENERS)) {
    byService[l.service].push({ name: `${entrypoint}-proxy`.slice(0, 15), port: l.port, targetPort: l.port });
  }
  return byService;
}

function checksum(files: Record<string, string>): string {
  const h = createHash("sha256");
  for (const k of Object.keys(files).sort()) h.update(`${k}\0${files[k]}\0`);
  return h.digest("hex").slice(0, 16);
}

export class MailcowWorkloads extends pulumi.ComponentResource {
  /** Base URL of the Mailcow API (the client appends /api/v1/...). */
  public readonly apiBaseUrl: pulumi.Output<string>;
  public readonly mode: MailcowSettings["mode"];
  /** Names of the Services the zone routes to. */
  public readonly serviceNames: typeof MAILCOW_SERVICES = MAILCOW_SERVICES;

  constructor(name: string, args: MailcowWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:mailcow:Workloads", name, {}, opts);
    this.mode = args.settings.mode;
    const ns = args.namespace;
    if (args.settings.mode === "external") {
      this.apiBaseUrl = pulumi.output(this.external(args));
    } else {
      this.inCluster(args);
      this.apiBaseUrl = pulumi.output(ns).apply(mailcowApiBaseUrl);
    }
    this.registerOutputs({ apiBaseUrl: this.apiBaseUrl, mode: this.mode });
  }

  private inCluster(args: MailcowWorkloadsArgs): void {
    const ns = args.namespace;
    const s = args.settings;
    const labels = (c: string) => zoneLabels(c);
    const opts = { parent: this };

    // The stand-in's identity: exec into and read the Mailcow pod, nothing else. No token is mounted by default;
    // the pod spec projects one into the stand-in's container only.
    const sa = new k8s.core.v1.ServiceAccount(
      "mailcow-dockerapi",
      {
        metadata: { name: STANDIN_SERVICE_ACCOUNT, namespace: ns, labels: labels("mailcow") },
        automountServiceAccountToken: false,
      },
      opts,
    );
    const role = new k8s.rbac.v1.Role(
      "mailcow-dockerapi",
      {
        metadata: { name: STANDIN_SERVICE_ACCOUNT, namespace: ns, labels: labels("mailcow") },
        // Only the StatefulSet's one pod, by name: a stolen token cannot exec into the backup or any other pod.
        rules: [
          { apiGroups: [""], resources: ["pods"], resourceNames: [MAILCOW_POD_NAME], verbs: ["get"] },
          // WebSocket exec is a GET; newer API servers authorise it as create.
          { apiGroups: [""], resources: ["pods/exec"], resourceNames: [MAILCOW_POD_NAME], verbs: ["get", "create"] },
        ],
      },
      opts,
    );
    new k8s.rbac.v1.RoleBinding(
      "mailcow-dockerapi",
      {
        metadata: { name: STANDIN_SERVICE_ACCOUNT, namespace: ns, labels: labels("mailcow") },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: ns }],
      },
      opts,
    );

    const overrides = overrideFiles(args);
    const services = enabledServices(s);
    const standin = {
      "dockerapi-standin.js": moduleSource("dockerapi-standin.js"),
      "jobs.json": JSON.stringify(standinJobs(services), null, 2),
    };
    const overridesCm = new k8s.core.v1.ConfigMap(
      "mailcow-overrides",
      { metadata: { name: OVERRIDES_CONFIGMAP, namespace: ns, labels: labels("mailcow") }, data: overrides },
      opts,
    );
    const standinCm = new k8s.core.v1.ConfigMap(
      "mailcow-dockerapi-standin",
      { metadata: { name: STANDIN_CONFIGMAP, namespace: ns, labels: labels("mailcow") }, data: standin },
      opts,
    );

    // A Retain class keeps the data on the node when a PVC (or the namespace holding it) is deleted.
    const storageClassName = s.storage.retain ? RETAIN_STORAGE_CLASS : s.storage.storageClass;
    if (s.storage.retain) {
      new k8s.storage.v1.StorageClass(
        RETAIN_STORAGE_CLASS,
        {
          metadata: { name: RETAIN_STORAGE_CLASS, labels: labels("mailcow") },
          provisioner: s.storage.retainProvisioner,
          reclaimPolicy: "Retain",
          volumeBindingMode: "WaitForFirstConsumer",
        },
        opts,
      );
    }
    const claims = enabledVolumes(s).map(
      (v) =>
        new k8s.core.v1.PersistentVolumeClaim(
          pvcName(v),
          {
            metadata: {
              name: pvcName(v),
              namespace: ns,
              labels: labels("mailcow"),
              // local-path binds on first use (WaitForFirstConsumer): do not wait for Bound before the pod exists.
              annotations: { "pulumi.com/skipAwait": "true" },
            },
            spec: {
              accessModes: ["ReadWriteOnce"],
              ...(storageClassName ? { storageClassName } : {}),
              resources: { requests: { storage: s.storage.sizes[v] ?? DEFAULT_VOLUME_SIZES[v] } },
            },
          },
          // Mail, keys and the database must survive a `pulumi destroy` mistake (docs/mailcow-on-kubernetes.md).
          { ...opts, protect: v !== "tree" },
        ),
    );

    const spec = podSpec(args, IN_POD_NAMES);
    new k8s.apps.v1.StatefulSet(
      MAILCOW_STATEFULSET,
      {
        metadata: { name: MAILCOW_STATEFULSET, namespace: ns, labels: labels("mailcow") },
        spec: {
          replicas: 1,
          // Required by the API; no headless Service is created (nothing resolves the pod by its own name).
          serviceName: MAILCOW_STATEFULSET,
          // One ordinal: an update deletes mailcow-0 before it creates the new one, so RWO volumes are let go first.
          updateStrategy: { type: "RollingUpdate" },
          podManagementPolicy: "OrderedReady",
          selector: { matchLabels: { ...MAILCOW_POD_LABELS } },
          template: {
            metadata: {
              labels: { ...MAILCOW_POD_LABELS, "app.kubernetes.io/component": "mailcow" },
              // A change to the overrides or the stand-in rolls the pod (the init step applies them at start).
              annotations: {
                "mail-zone/overrides-checksum": checksum(overrides),
                "mail-zone/standin-checksum": checksum(standin),
                "mail-zone/release": s.release,
              },
            },
            spec: spec as k8s.types.input.core.v1.PodSpec,
          },
        },
      },
      { ...opts, dependsOn: [overridesCm, standinCm, ...claims] },
    );

    for (const [service, ports] of Object.entries(servicePorts())) {
      new k8s.core.v1.Service(
        service,
        {
          metadata: { name: service, namespace: ns, labels: labels("mailcow") },
          spec: {
            type: "ClusterIP",
            selector: { ...MAILCOW_POD_LABELS },
            ports: ports.map((p) => ({ ...p, protocol: "TCP" })),
          },
        },
        opts,
      );
    }
  }

  /** Services pointing at the external host; returns the API base URL. */
  private external(args: MailcowWorkloadsArgs): string {
    const ext = args.settings.external;
    if (!ext) throw new Error("mail-zone:mailcow.external: required when mode is external");
    const ns = args.namespace;
    const opts = { parent: this };
    const isIp = /^([0-9]{1,3}\.){3}[0-9]{1,3}$/.test(ext.host);
    for (const [service, ports] of Object.entries(servicePorts(ext.webPort))) {
      const metadata = { name: service, namespace: ns, labels: zoneLabels("mailcow") };
      if (!isIp) {
        // ExternalName: clients connect to <host>:<service port>, so the host listens on the same ports.
        new k8s.core.v1.Service(
          service,
          {
            metadata,
            spec: {
              type: "ExternalName",
              externalName: ext.host,
              ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: "TCP" })),
            },
          },
          opts,
        );
        continue;
      }
      new k8s.core.v1.Service(
        service,
        {
          metadata,
          spec: {
            type: "ClusterIP",
            ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: "TCP" })),
          },
        },
        opts,
      );
      new k8s.discovery.v1.EndpointSlice(
        `${service}-external`,
        {
          metadata: {
            name: `${service}-external`,
            namespace: ns,
            labels: {
              ...zoneLabels("mailcow"),
              "kubernetes.io/service-name": service,
              "endpointslice.kubernetes.io/managed-by": "pulumi",
            },
          },
          addressType: "IPv4",
          endpoints: [{ addresses: [ext.host], conditions: { ready: true } }],
          ports: ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: "TCP" })),
        },
        opts,
      );
    }
    return ext.apiUrl ?? `https://${ext.host}`;
  }
}
