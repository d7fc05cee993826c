/**
 * The controller in the platform namespace: one replica (runs are serialised per site in memory, and the Pulumi
 * state lives on a ReadWriteOnce volume, so two pods must never overlap: `Recreate`), a ServiceAccount whose
 * ClusterRole can only read and patch namespaces (plus, with per-site web certificates, a Role in the zone namespace
 * for Certificates and IngressRoutes), a Service for the panel and a NetworkPolicy that lets only the panel's pods
 * reach it, a volume for the state backend, and two Secrets:
 * the panel's (the generated bearer token, nothing else) and the controller's own (the Pulumi passphrase), so
 * whoever may read the panel's token cannot decrypt the site stacks' secrets. Mailcow's URL and key come from the
 * zone's controller Secret (written by ZoneSecrets), so enabling the controller needs no copy-paste of keys. An
 * admission policy (controller-admission.ts) keeps the controller's namespace patches to its own annotations.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ControllerAdmission } from "./controller-admission";
import { type ControllerEnv, DEFAULT_ANNOTATION_PREFIX, DEFAULT_SITE_LAYOUT } from "./controller-settings";
import { CONTROLLER_POD_LABELS, zoneLabels } from "./labels";
import { CONTROLLER_INGRESS_POLICY, type ControllerPeer, controllerIngressPolicy } from "./network-policy-specs";

export const CONTROLLER_NAME = "mail-zone-controller";
export const CONTROLLER_PORT = 8080;
/** Keys of the generated Secrets (env names the controller reads). */
export const CONTROLLER_AUTH_KEYS = {
  /** In the panel's Secret (`mail-zone-controller-auth`). */
  tokens: "CONTROLLER_TOKENS",
  /** In the controller's own Secret (`mail-zone-controller-state`); the panel is never given it. */
  statePassphraseEnv: "PULUMI_CONFIG_PASSPHRASE",
} as const;

/** On the controller's Deployment: the admission policy bound before it runs (controller-admission.ts). */
export const ADMISSION_POLICY_ANNOTATION = "mail-zone/admission-policy";

/** The panel's Secret: the bearer tokens only. */
export const CONTROLLER_AUTH_SECRET = `${CONTROLLER_NAME}-auth`;
/** The controller's own Secret: the passphrase of the site stacks' secrets provider. */
export const CONTROLLER_STATE_SECRET = `${CONTROLLER_NAME}-state`;

export interface ControllerDeploymentArgs {
  /** The platform namespace (must exist; it also holds the zone's controller Secret). */
  namespace: pulumi.Input<string>;
  /** The controller image (see Dockerfile), pinned by tag or digest. */
  image: pulumi.Input<string>;
  /** The zone's controller Secret (`MAILCOW_API_URL`, `MAILCOW_API_KEY`, `MAILCOW_HOSTNAME`). */
  mailcowSecretName: pulumi.Input<string>;
  /** Non-secret settings (docs/controller.md), e.g. `{ SITE_LAYOUT: "shared-namespace", DNS_PROVIDER: "cloudflare" }`. */
  settings?: ControllerEnv<pulumi.Input<string>>;
  /** A Secret holding the Cloudflare API token, when DNS_PROVIDER is cloudflare. */
  cloudflareTokenSecret?: { name: pulumi.Input<string>; key: pulumi.Input<string> };
  /** Size of the state volume (Pulumi file backend, per-site work dirs, plugin cache). Default 1Gi. */
  storageSize?: string;
  storageClassName?: pulumi.Input<string>;
  /** Requests and limits; each value given replaces its default in DEFAULT_RESOURCES, the others stay. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  imagePullSecrets?: pulumi.Input<string>[];
  /** Extra bearer tokens accepted besides the generated one (rotation), comma-separated in the Secret. */
  extraTokens?: pulumi.Input<string>[];
  /**
   * The zone namespace, when per-site web certificates are on (`SITE_WEB_TLS_ISSUER`): the site stacks then create
   * Certificates and IngressRoutes there, and a Role allows exactly that. Absent: no Role.
   */
  siteWebTlsNamespace?: pulumi.Input<string>;
  /** The pods that may call the controller's port (`controller.allowFrom`). Default: every pod of `namespace`. */
  allowFrom?: readonly ControllerPeer[];
}

/** Name of the Role (and its binding) for the site web certificates in the zone namespace. */
export const SITE_WEB_TLS_ROLE = `${CONTROLLER_NAME}-site-web-tls`;

/** What the site stacks manage in the zone namespace: their Certificate and IngressRoute, nothing else. */
export const SITE_WEB_TLS_RULES = [
  {
    apiGroups: ["cert-manager.io"],
    resources: ["certificates"],
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
  },
  {
    apiGroups: ["traefik.io"],
    resources: ["ingressroutes"],
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
  },
];

const DATA_DIR = "/data";

/** Sized for a few hundred sites: runs are short bursts of the Pulumi CLI, so no CPU limit. */
export const DEFAULT_RESOURCES = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { memory: "1Gi" },
} as const;

export class ControllerDeployment extends pulumi.ComponentResource {
  /** In-cluster URL the panel calls. */
  readonly url: pulumi.Output<string>;
  /** The Secret holding the bearer token (key CONTROLLER_TOKENS); give the panel read access to it. */
  readonly authSecretName: pulumi.Output<string>;
  /** The generated bearer token (secret). */
  readonly token: pulumi.Output<string>;
  readonly deployment: k8s.apps.v1.Deployment;

  constructor(name: string, args: ControllerDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:controller:ControllerDeployment", name, {}, opts);
    const parent = { parent: this };
    const labels = zoneLabels("controller");
    const ns = args.namespace;

    const token = new random.RandomPassword(`${name}-token`, { length: 48, special: false }, parent);
    const passphrase = new random.RandomPassword(`${name}-passphrase`, { length: 48, special: false }, parent);
    const tokens = pulumi
      .all([token.result, pulumi.output(args.extraTokens ?? [])])
      .apply(([t, extra]) => [t, ...extra].join(","));

    const authSecret = new k8s.core.v1.Secret(
      `${name}-auth`,
      {
        metadata: { name: CONTROLLER_AUTH_SECRET, namespace: ns, labels },
        type: "Opaque",
        stringData: { [CONTROLLER_AUTH_KEYS.tokens]: pulumi.secret(tokens) },
      },
      parent,
    );
    const stateSecret = new k8s.core.v1.Secret(
      `${name}-state`,
      {
        metadata: { name: CONTROLLER_STATE_SECRET, namespace: ns, labels },
        type: "Opaque",
        stringData: { [CONTROLLER_AUTH_KEYS.statePassphraseEnv]: pulumi.secret(passphrase.result) },
      },
      parent,
    );

    const account = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: CONTROLLER_NAME, namespace: ns, labels } },
      parent,
    );
    // Namespaces only: find sites and write their mail annotations. Nothing else in the cluster. RBAC cannot narrow
    // a patch to some keys; the admission policy below refuses any change but the controller's own annotations.
    const role = new k8s.rbac.v1.ClusterRole(
      `${name}-role`,
      {
        metadata: { name: CONTROLLER_NAME, labels },
        rules: [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch", "patch"] }],
      },
      parent,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-binding`,
      {
        metadata: { name: CONTROLLER_NAME, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: ns }],
      },
      parent,
    );

    const settings = args.settings ?? {};
    const admission = new ControllerAdmission(
      `${name}-admission`,
      {
        serviceAccount: { namespace: account.metadata.namespace, name: account.metadata.name },
        layout: pulumi
          .output(settings.SITE_LAYOUT ?? DEFAULT_SITE_LAYOUT)
          .apply((layout) => (layout === "shared-namespace" ? "shared-namespace" : "namespace-per-site")),
        annotationPrefix: settings.ANNOTATION_PREFIX ?? DEFAULT_ANNOTATION_PREFIX,
      },
      parent,
    );

    if (args.siteWebTlsNamespace !== undefined) {
      const siteRole = new k8s.rbac.v1.Role(
        `${name}-site-web-tls-role`,
        {
          metadata: { name: SITE_WEB_TLS_ROLE, namespace: args.siteWebTlsNamespace, labels },
          rules: SITE_WEB_TLS_RULES,
        },
        parent,
      );
      new k8s.rbac.v1.RoleBinding(
        `${name}-site-web-tls-binding`,
        {
          metadata: { name: SITE_WEB_TLS_ROLE, namespace: args.siteWebTlsNamespace, labels },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: siteRole.metadata.name },
          subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: ns }],
        },
        parent,
      );
    }

    const volume = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-data`,
      {
        metadata: { name: `${CONTROLLER_NAME}-data`, namespace: ns, labels },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: args.storageSize ?? "1Gi" } },
          ...(args.storageClassName ? { storageClassName: args.storageClassName } : {}),
        },
      },
      parent,
    );

    // One entry per name, a setting replacing the default of the same name in place: a name listed twice hides the
    // first entry and makes the list invalid for server-side apply, whose env list is keyed by name.
    const values = new Map<string, pulumi.Input<string>>([
      ["DATA_DIR", DATA_DIR],
      ["HOST", "0.0.0.0"],
      ["PORT", String(CONTROLLER_PORT)],
      ["STACK_RUNNER", "automation"],
      // The root filesystem is read-only: tsx's cache, the CLI's temp files and anything written under HOME go to the
      // emptyDir (PULUMI_HOME itself is on the volume, set by the runner).
      ["TMPDIR", "/tmp"],
      ["HOME", "/tmp"],
      ...Object.entries(args.settings ?? {}),
    ]);
    const env: k8s.types.input.core.v1.EnvVar[] = [...values].map(([name, value]) => ({ name, value }));
    if (args.cloudflareTokenSecret) {
      env.push({
        name: "CLOUDFLARE_API_TOKEN",
        valueFrom: { secretKeyRef: { name: args.cloudflareTokenSecret.name, key: args.cloudflareTokenSecret.key } },
      });
    }
    const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
      httpGet: { path, port: "http" },
      periodSeconds,
      timeoutSeconds: 5,
      failureThreshold,
    });

    // The controller runs only once its admission policy is bound: never a window (first install, or a cluster
    // without admissionregistration.k8s.io/v1) in which its token may patch any namespace unchecked. The
    // annotation makes that a data dependency the plan shows, besides `dependsOn`.
    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: {
          name: CONTROLLER_NAME,
          namespace: ns,
          labels,
          annotations: { [ADMISSION_POLICY_ANNOTATION]: admission.boundPolicyName },
        },
        spec: {
          replicas: 1,
          // Never two controllers on one state volume, not even during a rollout.
          strategy: { type: "Recreate" },
          selector: { matchLabels: CONTROLLER_POD_LABELS },
          template: {
            metadata: { labels: { ...labels, ...CONTROLLER_POD_LABELS } },
            spec: {
              serviceAccountName: account.metadata.name,
              // SIGTERM lets runs finish up to SHUTDOWN_DEADLINE_SECONDS (default 60); leave room for that.
              terminationGracePeriodSeconds: 90,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 1000,
                runAsGroup: 1000,
                fsGroup: 1000,
                seccompProfile: { type: "RuntimeDefault" },
              },
              ...(args.imagePullSecrets ? { imagePullSecrets: args.imagePullSecrets.map((n) => ({ name: n })) } : {}),
              containers: [
                {
                  name: "controller",
                  image: args.image,
                  ports: [{ name: "http", containerPort: CONTROLLER_PORT, protocol: "TCP" }],
                  envFrom: [
                    { secretRef: { name: args.mailcowSecretName } },
                    { secretRef: { name: authSecret.metadata.name } },
                    { secretRef: { name: stateSecret.metadata.name } },
                  ],
                  env,
                  startupProbe: probe("/healthz", 5, 24),
                  livenessProbe: probe("/healthz", 20, 3),
                  readinessProbe: probe("/readyz", 10, 3),
                  resources: {
                    requests: { ...DEFAULT_RESOURCES.requests, ...args.resources?.requests },
                    limits: { ...DEFAULT_RESOURCES.limits, ...args.resources?.limits },
                  },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  volumeMounts: [
                    { name: "data", mountPath: DATA_DIR },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "data", persistentVolumeClaim: { claimName: volume.metadata.name } },
                { name: "tmp", emptyDir: { sizeLimit: "512Mi" } },
              ],
            },
          },
        },
      },
      { parent: this, dependsOn: [admission.binding] },
    );

    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: CONTROLLER_NAME, namespace: ns, labels },
        spec: {
          type: "ClusterIP",
          selector: CONTROLLER_POD_LABELS,
          ports: [{ name: "http", port: CONTROLLER_PORT, targetPort: "http", protocol: "TCP" }],
        },
      },
      parent,
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: { name: CONTROLLER_INGRESS_POLICY, namespace: ns, labels },
        spec: pulumi
          .output(ns)
          .apply(
            (platform) => controllerIngressPolicy(args.allowFrom ?? [{ namespace: platform }], CONTROLLER_PORT).spec,
          ),
      },
      parent,
    );

    this.url = pulumi.interpolate`http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${CONTROLLER_PORT}`;
    this.authSecretName = authSecret.metadata.name;
    this.token = pulumi.secret(token.result);
    this.registerOutputs({ url: this.url, authSecretName: this.authSecretName, token: this.token });
  }
}
