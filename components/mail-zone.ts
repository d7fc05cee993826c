/**
 * The shared mail zone: everything `pulumi up` of the zone stack declares, composed from one component per concept.
 * The lead wires Mailcow's workloads, the controller and backups in here; what they need is exposed below.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BackupSettings } from "./backup-settings";
import { ZoneBackups } from "./backups";
import type { ClusterSettings } from "./cluster-settings";
import { ControllerDeployment } from "./controller-deployment";
import type { ControllerEnv, ControllerSettings } from "./controller-settings";
import type { DnsSettings } from "./dns-settings";
import { MailHostDns } from "./mail-host-dns";
import { MailRoutes } from "./mail-routes";
import type { MailcowSettings } from "./mailcow/settings";
import { MailcowWorkloads } from "./mailcow/workloads";
import { MAILCOW_TLS_SECRET } from "./mailcow-endpoints";
import { NetworkPolicies } from "./network-policies";
import { TraefikEntrypoints } from "./traefik-entrypoints";
import type { TraefikSettings } from "./traefik-settings";
import { enabledEntrypoints } from "./traefik-values";
import { WebIngress } from "./web-ingress";
import type { WebSettings } from "./web-settings";
import { ZoneNamespace } from "./zone-namespace";
import { ZoneSecrets } from "./zone-secrets";

/** What the zone needs, section by section; stacks/zone-config.ts parses Pulumi config into this shape. */
export interface MailZoneSettings {
  hostname: string;
  namespace: string;
  platformNamespace: string;
  controllerSecretName: string;
  publicIPv4: string;
  publicIPv6?: string;
  timezone: string;
  traefik: TraefikSettings;
  web: WebSettings;
  cluster: ClusterSettings;
  dns: DnsSettings;
  mailcow: MailcowSettings;
  backup: BackupSettings;
  controller: ControllerSettings;
}

export interface MailZoneArgs {
  config: MailZoneSettings;
  /** Mailcow's API base URL for the controller; defaults to the in-cluster nginx Service (set it in external mode). */
  mailcowApiUrl?: pulumi.Input<string>;
}

export class MailZone extends pulumi.ComponentResource {
  readonly config: MailZoneSettings;
  /** The zone namespace's name, resolved after the Namespace exists: use it so children wait for the namespace. */
  readonly namespace: pulumi.Output<string>;
  readonly mailcowSecretName: string;
  readonly tlsSecretName: string = MAILCOW_TLS_SECRET;
  readonly controllerSecretName: string;
  readonly controllerSecretNamespace: string;
  readonly apiUrl: pulumi.Output<string>;
  readonly secrets: ZoneSecrets;
  readonly mailcow: MailcowWorkloads;
  readonly traefik?: TraefikEntrypoints;
  /** Present when `controller.enabled`. */
  readonly controller?: ControllerDeployment;

  constructor(name: string, args: MailZoneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:zone:MailZone", name, {}, opts);
    const config = args.config;
    this.config = config;
    const child = { parent: this };

    const namespace = new ZoneNamespace(`${name}-namespace`, { name: config.namespace }, child);
    this.namespace = namespace.name;

    // In-cluster mode runs Mailcow in the zone namespace; external mode only points the zone's Services at it.
    this.mailcow = new MailcowWorkloads(
      `${name}-mailcow`,
      {
        namespace: this.namespace,
        settings: config.mailcow,
        hostname: config.hostname,
        timezone: config.timezone,
        podCidr: config.cluster.podCidr,
      },
      child,
    );
    this.apiUrl = pulumi.output(args.mailcowApiUrl ?? this.mailcow.apiBaseUrl);
    // Backups read Mailcow's volumes on its node, so they only exist where Mailcow runs in the cluster.
    if (config.backup.enabled && config.mailcow.mode === "in-cluster") {
      new ZoneBackups(
        `${name}-backups`,
        { namespace: this.namespace, settings: config.backup },
        { parent: this, dependsOn: [this.mailcow] },
      );
    }

    this.secrets = new ZoneSecrets(
      `${name}-secrets`,
      {
        namespace: this.namespace,
        platformNamespace: config.platformNamespace,
        controllerSecretName: config.controllerSecretName,
        apiUrl: this.apiUrl,
        mailHostname: config.hostname,
      },
      child,
    );
    this.mailcowSecretName = this.secrets.mailcowSecretName;
    this.controllerSecretName = this.secrets.controllerSecretName;
    this.controllerSecretNamespace = this.secrets.controllerSecretNamespace;

    const controller = config.controller;
    if (controller.enabled && controller.image) {
      const siteWebTls = controller.env.SITE_WEB_TLS_ISSUER !== undefined && controller.env.SITE_WEB_TLS_ISSUER !== "";
      // The sites' web objects go where the Role is: this zone's namespace, unless the operator says otherwise.
      const controllerEnv: ControllerEnv<pulumi.Input<string>> =
        siteWebTls && controller.env.SITE_WEB_TLS_NAMESPACE === undefined
          ? { ...controller.env, SITE_WEB_TLS_NAMESPACE: this.namespace }
          : controller.env;
      this.controller = new ControllerDeployment(
        `${name}-controller`,
        {
          namespace: this.controllerSecretNamespace,
          image: controller.image,
          mailcowSecretName: this.controllerSecretName,
          settings: controllerEnv,
          cloudflareTokenSecret: controller.cloudflareTokenSecret,
          storageSize: controller.storageSize,
          storageClassName: controller.storageClass,
          resources: controller.resources,
          allowFrom: controller.allowFrom,
          // The site stacks create their web Certificates and IngressRoutes here when the controller is told to.
          ...(siteWebTls ? { siteWebTlsNamespace: this.namespace } : {}),
        },
        { parent: this, dependsOn: [this.secrets] },
      );
    }

    if (config.traefik.manageHelmChartConfig) {
      this.traefik = new TraefikEntrypoints(`${name}-traefik`, { traefik: config.traefik }, child);
    }
    const entrypoints = enabledEntrypoints(config.traefik);
    new MailRoutes(
      `${name}-mail-routes`,
      { namespace: this.namespace, entrypoints, proxyProtocolMode: config.traefik.proxyProtocolMode },
      child,
    );
    new WebIngress(
      `${name}-web`,
      { namespace: this.namespace, hostname: config.hostname, web: config.web, cluster: config.cluster },
      child,
    );
    new NetworkPolicies(
      `${name}-network`,
      {
        namespace: this.namespace,
        entrypoints,
        traefikNamespace: config.traefik.namespace,
        traefikPodSelector: config.traefik.podSelector,
        platformNamespace: config.platformNamespace,
      },
      child,
    );
    if (config.dns.provider === "cloudflare") {
      new MailHostDns(
        `${name}-dns`,
        {
          zone: config.dns.zone,
          accountId: config.dns.accountId,
          hostname: config.hostname,
          publicIPv4: config.publicIPv4,
          publicIPv6: config.publicIPv6,
        },
        child,
      );
    }
    this.registerOutputs({
      namespace: this.namespace,
      apiUrl: this.apiUrl,
      controllerSecretName: this.controllerSecretName,
    });
  }
}
