/**
 * The zone's backups: a CronJob that saves Redis, dumps MySQL, exports the zone's Secrets and archives Mailcow's
 * volumes to a PVC or an S3-compatible bucket with retention; plus two suspended restore templates
 * (`kubectl create job --from=cronjob/...`). Specs and scripts are built in `backup-plan.ts`; the procedure is in
 * docs/backup-restore.md.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import {
  BACKUP_POD_LABELS,
  type BackupPlanInput,
  backupPodSpec,
  COVERED_VOLUMES,
  type CoveredVolume,
  DEFAULT_CLAIMS,
  RESTORE_POD_LABELS,
  restoreDatabasePodSpec,
  restoreFilesPodSpec,
} from "./backup-plan";
import type { BackupSettings } from "./backup-settings";
import { MAILCOW_POD_LABELS, zoneLabels } from "./labels";
import { MAILCOW_SECRET } from "./mailcow-endpoints";

/** Object names people `kubectl get`. */
export const BACKUP_NAMES = {
  cronJob: "mailcow-backup",
  restoreFiles: "mailcow-restore-files",
  restoreDatabase: "mailcow-restore-database",
  serviceAccount: "mailcow-backup",
  role: "mailcow-backup-read-secrets",
  /** ClusterIP Services onto the Mailcow pod's Redis and MariaDB: inside the one-pod shape they listen on the pod only. */
  redisService: "mailcow-backup-redis",
  mysqlService: "mailcow-backup-mysql",
  networkPolicy: "mailcow-backup-to-mailcow",
} as const;

export const REDIS_PORT = 6379;
export const MYSQL_PORT = 3306;

/** Feb 31 never comes: the restore templates cannot fire even if someone un-suspends them. */
export const NEVER_SCHEDULE = "0 0 31 2 *";

export interface ZoneBackupsArgs {
  namespace: pulumi.Input<string>;
  settings: BackupSettings;
  /** Claim names of the covered Mailcow volumes; defaults `mailcow-<volume>`. */
  claims?: Partial<Record<CoveredVolume, string>>;
  /** Zone Secrets to export into each backup (default: Mailcow's generated secrets). */
  secretNames?: string[];
  /**
   * Where the backup reaches Mailcow's Redis and MariaDB over TCP. Default: Services this component creates
   * (`mailcow-backup-redis:6379`, `mailcow-backup-mysql:3306`) selecting the Mailcow pod; give a host to use your own.
   */
  redis?: { host: string; port?: number };
  mysql?: { host: string; port?: number; database?: string };
  /** Labels of the Mailcow pod(s) the backup pod must share a node with (default MAILCOW_POD_LABELS). */
  mailcowPodLabels?: Record<string, string>;
}

export class ZoneBackups extends pulumi.ComponentResource {
  readonly enabled: boolean;
  /** `mailcow-backup`, or undefined when backups are off. */
  readonly cronJobName: string | undefined;
  readonly restoreTemplates: string[];
  /** Where the sets go: the PVC name or `s3://bucket/prefix` (no credentials). */
  readonly target: string | undefined;

  constructor(name: string, args: ZoneBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mail-zone:backup:ZoneBackups", name, {}, opts);
    const { settings } = args;
    this.enabled = settings.enabled;
    this.restoreTemplates = [];
    this.cronJobName = undefined;
    this.target = undefined;
    if (!settings.enabled) {
      this.registerOutputs({ enabled: false });
      return;
    }
    const ns = args.namespace;
    const secretNames = args.secretNames ?? [MAILCOW_SECRET.name];
    const plan: BackupPlanInput = {
      settings,
      claims: { ...DEFAULT_CLAIMS, ...args.claims },
      secretNames,
      serviceAccountName: BACKUP_NAMES.serviceAccount,
      mailcowPodLabels: args.mailcowPodLabels ?? { ...MAILCOW_POD_LABELS },
      mailcow: {
        secretName: MAILCOW_SECRET.name,
        redisPasswordKey: MAILCOW_SECRET.keys.redisPassword,
        dbRootPasswordKey: MAILCOW_SECRET.keys.dbRootPassword,
        redisHost: args.redis?.host ?? BACKUP_NAMES.redisService,
        redisPort: args.redis?.port ?? REDIS_PORT,
        mysqlHost: args.mysql?.host ?? BACKUP_NAMES.mysqlService,
        mysqlPort: args.mysql?.port ?? MYSQL_PORT,
        mysqlDatabase: args.mysql?.database ?? "mailcow",
      },
    };
    for (const v of COVERED_VOLUMES) {
      if (!plan.claims[v])
        throw new Error(`ZoneBackups: claims.${v} is empty; expected the PVC name of Mailcow's ${v} volume`);
    }
    const labels = zoneLabels("backup");
    const child = { parent: this };

    // Read access to exactly the exported Secrets, nothing else in the namespace.
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: BACKUP_NAMES.serviceAccount, namespace: ns, labels }, automountServiceAccountToken: false },
      child,
    );
    const role = new k8s.rbac.v1.Role(
      `${name}-role`,
      {
        metadata: { name: BACKUP_NAMES.role, namespace: ns, labels },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: secretNames }],
      },
      child,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-rolebinding`,
      {
        metadata: { name: BACKUP_NAMES.role, namespace: ns, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: BACKUP_NAMES.role },
        subjects: [{ kind: "ServiceAccount", name: BACKUP_NAMES.serviceAccount, namespace: ns }],
      },
      { parent: this, dependsOn: [sa, role] },
    );

    const dependsOn: pulumi.Resource[] = [sa];
    const mailcowSelector = args.mailcowPodLabels ?? { ...MAILCOW_POD_LABELS };
    for (const [svcName, port, given] of [
      [BACKUP_NAMES.redisService, REDIS_PORT, args.redis?.host],
      [BACKUP_NAMES.mysqlService, MYSQL_PORT, args.mysql?.host],
    ] as const) {
      if (given) continue;
      dependsOn.push(
        new k8s.core.v1.Service(
          `${name}-${svcName}`,
          {
            metadata: { name: svcName, namespace: ns, labels },
            spec: {
              type: "ClusterIP",
              selector: mailcowSelector,
              ports: [{ name: "tcp", port, targetPort: port, protocol: "TCP" }],
            },
          },
          child,
        ),
      );
    }
    // The zone denies ingress by default; let only the backup and restore pods reach Redis and MariaDB.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: { name: BACKUP_NAMES.networkPolicy, namespace: ns, labels },
        spec: {
          podSelector: { matchLabels: mailcowSelector },
          policyTypes: ["Ingress"],
          ingress: [
            {
              from: [
                { podSelector: { matchLabels: BACKUP_POD_LABELS } },
                { podSelector: { matchLabels: RESTORE_POD_LABELS } },
              ],
              ports: [
                { protocol: "TCP", port: REDIS_PORT },
                { protocol: "TCP", port: MYSQL_PORT },
              ],
            },
          ],
        },
      },
      child,
    );
    const target = settings.target;
    if (target.type === "volume") {
      dependsOn.push(
        new k8s.core.v1.PersistentVolumeClaim(
          `${name}-target`,
          {
            metadata: { name: target.claimName, namespace: ns, labels },
            spec: {
              accessModes: ["ReadWriteOnce"],
              ...(target.storageClass ? { storageClassName: target.storageClass } : {}),
              resources: { requests: { storage: target.size } },
            },
          },
          // Backups outlive a mistaken `pulumi destroy` of the component.
          { parent: this, retainOnDelete: true },
        ),
      );
      this.target = `pvc/${target.claimName}`;
    } else {
      this.target = `s3://${target.bucket}${target.prefix ? `/${target.prefix}` : ""} at ${target.endpoint}`;
    }

    const jobSpec = (podSpec: IPodSpec, podLabels: Record<string, string>, backoffLimit: number) => ({
      backoffLimit,
      activeDeadlineSeconds: settings.activeDeadlineSeconds,
      ttlSecondsAfterFinished: 7 * 86_400,
      // kubernetes-models types Quantity more loosely than Pulumi; the shapes are the same API objects.
      template: { metadata: { labels: { ...labels, ...podLabels } }, spec: podSpec as k8s.types.input.core.v1.PodSpec },
    });

    new k8s.batch.v1.CronJob(
      `${name}-cronjob`,
      {
        metadata: { name: BACKUP_NAMES.cronJob, namespace: ns, labels },
        spec: {
          schedule: settings.schedule,
          timeZone: settings.timeZone,
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: 3600,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: { metadata: { labels }, spec: jobSpec(backupPodSpec(plan), BACKUP_POD_LABELS, 1) },
        },
      },
      { parent: this, dependsOn },
    );
    this.cronJobName = BACKUP_NAMES.cronJob;

    const restoreLabels = zoneLabels("restore");
    for (const [cronName, spec] of [
      [BACKUP_NAMES.restoreFiles, restoreFilesPodSpec(plan)],
      [BACKUP_NAMES.restoreDatabase, restoreDatabasePodSpec(plan)],
    ] as const) {
      new k8s.batch.v1.CronJob(
        `${name}-${cronName}`,
        {
          metadata: {
            name: cronName,
            namespace: ns,
            labels: restoreLabels,
            annotations: {
              "mail-zone/usage": `kubectl -n <namespace> create job --from=cronjob/${cronName} <job-name>`,
            },
          },
          spec: {
            // A template only: never scheduled; docs/backup-restore.md creates Jobs from it by hand.
            schedule: NEVER_SCHEDULE,
            suspend: true,
            concurrencyPolicy: "Forbid",
            jobTemplate: { metadata: { labels: restoreLabels }, spec: jobSpec(spec, RESTORE_POD_LABELS, 0) },
          },
        },
        { parent: this, dependsOn },
      );
      this.restoreTemplates.push(cronName);
    }

    this.registerOutputs({
      enabled: true,
      cronJobName: this.cronJobName,
      restoreTemplates: this.restoreTemplates,
      target: this.target,
    });
  }
}
