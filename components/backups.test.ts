import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { describe, expect, it } from "vitest";
import { type PlannedResource, planProgram, unwrapSecrets } from "../stacks/preview/engine";
import { findPlanIssues } from "../stacks/preview/validate";
import { COVERED_VOLUMES, DEFAULT_CLAIMS } from "./backup-plan";
import { parseBackupSettings } from "./backup-settings";
import { BACKUP_NAMES, NEVER_SCHEDULE, ZoneBackups, type ZoneBackupsArgs } from "./backups";
import { MAILCOW_POD_LABELS } from "./labels";
import { MAILCOW_SECRET } from "./mailcow-endpoints";

interface Container {
  name: string;
  image: string;
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: {
    name: string;
    persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
    projected?: { sources: { serviceAccountToken?: unknown }[] };
  }[];
  affinity?: { podAffinity?: { requiredDuringSchedulingIgnoredDuringExecution: unknown[] } };
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}
interface CronJobInputs {
  metadata: { name: string; namespace: string };
  spec: {
    schedule: string;
    timeZone?: string;
    suspend?: boolean;
    concurrencyPolicy: string;
    jobTemplate: { spec: { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } } };
  };
}

/** Plans the component (with a zone-like Secret of generated passwords beside it) and returns the resources. */
async function plan(rawSettings: unknown, extra: Partial<ZoneBackupsArgs> = {}) {
  const settings = parseBackupSettings(rawSettings);
  return planProgram(
    () => {
      const db = new random.RandomPassword("dbroot", { length: 28, special: false });
      const redis = new random.RandomPassword("redispass", { length: 28, special: false });
      new k8s.core.v1.Secret("mailcow-secrets", {
        metadata: { name: MAILCOW_SECRET.name, namespace: "mail-zone" },
        stringData: {
          [MAILCOW_SECRET.keys.dbRootPassword]: db.result,
          [MAILCOW_SECRET.keys.redisPassword]: redis.result,
        },
      });
      new ZoneBackups("backups", { namespace: "mail-zone", settings, ...extra });
    },
    { project: "mail-zone", stack: "test" },
  );
}

const cronJobs = (resources: PlannedResource[]) =>
  resources
    .filter((r) => r.type === "kubernetes:batch/v1:CronJob")
    .map((r) => unwrapSecrets(r.inputs) as CronJobInputs);
const cronJob = (resources: PlannedResource[], name: string) => {
  const found = cronJobs(resources).find((c) => c.metadata.name === name);
  if (!found) throw new Error(`no CronJob ${name}`);
  return found;
};
const pod = (c: CronJobInputs) => c.spec.jobTemplate.spec.template.spec;
const container = (p: PodSpec, name: string) => {
  const found = [...(p.initContainers ?? []), ...p.containers].find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
};
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);

describe("ZoneBackups with default settings", () => {
  it("mounts every covered Mailcow volume read-only in the archiving container, and not the live MySQL files", async () => {
    const { resources } = await plan(undefined);
    const p = pod(cronJob(resources, BACKUP_NAMES.cronJob));
    const archive = container(p, "archive");
    for (const v of COVERED_VOLUMES) {
      const volume = p.volumes.find((x) => x.persistentVolumeClaim?.claimName === DEFAULT_CLAIMS[v]);
      expect(volume, `volume for ${v}`).toBeDefined();
      expect(volume?.persistentVolumeClaim?.readOnly).toBe(true);
      const mount = archive.volumeMounts?.find((m) => m.name === volume?.name);
      expect(mount, `mount of ${v}`).toMatchObject({ mountPath: `/data/${v}`, readOnly: true });
    }
    expect(envOf(archive, "VOLUMES")?.value?.split(" ").sort()).toEqual([...COVERED_VOLUMES].sort());
    expect(p.volumes.some((v) => v.persistentVolumeClaim?.claimName === "mailcow-mysql")).toBe(false);
    expect(p.volumes.some((v) => v.persistentVolumeClaim?.claimName === "mailcow-vmail-index")).toBe(false);
  });

  it("runs daily at 03:15 UTC, one at a time, keeping 14 days", async () => {
    const { resources } = await plan(undefined);
    const c = cronJob(resources, BACKUP_NAMES.cronJob);
    expect(c.spec).toMatchObject({ schedule: "15 3 * * *", timeZone: "Etc/UTC", concurrencyPolicy: "Forbid" });
    expect(envOf(container(pod(c), "archive"), "RETENTION_DAYS")?.value).toBe("14");
    expect(container(pod(c), "archive").args[0]).toContain("rclone purge");
  });

  it("schedules the pod on the Mailcow pod's node", async () => {
    const { resources } = await plan(undefined);
    const p = pod(cronJob(resources, BACKUP_NAMES.cronJob));
    expect(p.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: MAILCOW_POD_LABELS }, topologyKey: "kubernetes.io/hostname" },
    ]);
  });

  it("writes to a backup PVC created with the configured size", async () => {
    const { resources } = await plan(undefined);
    const pvc = resources.find((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim");
    expect(pvc?.inputs).toMatchObject({
      metadata: { name: "mailcow-backups" },
      spec: { resources: { requests: { storage: "50Gi" } } },
    });
    const archive = container(pod(cronJob(resources, BACKUP_NAMES.cronJob)), "archive");
    expect(envOf(archive, "BACKUP_ROOT")?.value).toBe("/backup");
    expect(archive.volumeMounts?.find((m) => m.mountPath === "/backup")).toBeDefined();
  });

  it("saves Redis with BGSAVE and waits for it before any volume is copied", async () => {
    const { resources } = await plan(undefined);
    const p = pod(cronJob(resources, BACKUP_NAMES.cronJob));
    const inits = (p.initContainers ?? []).map((c) => c.name);
    expect(inits).toContain("redis-save");
    // Init containers finish, in order, before the archiving container starts.
    expect(p.containers.map((c) => c.name)).toEqual(["archive"]);
    const save = container(p, "redis-save");
    expect(save.args[0]).toContain("BGSAVE");
    expect(save.args[0]).toContain("rdb_bgsave_in_progress");
    expect(save.args[0]).toContain("rdb_last_bgsave_status");
    expect(envOf(save, "REDISCLI_AUTH")?.valueFrom?.secretKeyRef).toEqual({
      name: MAILCOW_SECRET.name,
      key: MAILCOW_SECRET.keys.redisPassword,
    });
    expect(envOf(container(p, "archive"), "VOLUMES")?.value?.split(" ")[0]).toBe("redis");
  });

  it("dumps MySQL in one consistent transaction with the root password from the Secret", async () => {
    const { resources } = await plan(undefined);
    const dump = container(pod(cronJob(resources, BACKUP_NAMES.cronJob)), "mysql-dump");
    expect(dump.args[0]).toContain("mariadb-dump");
    expect(dump.args[0]).toContain("--single-transaction");
    expect(envOf(dump, "DBROOT")?.valueFrom?.secretKeyRef).toEqual({
      name: MAILCOW_SECRET.name,
      key: MAILCOW_SECRET.keys.dbRootPassword,
    });
  });

  it("exports the zone's Secrets with a role that may only get those Secrets", async () => {
    const { resources } = await plan(undefined);
    const role = resources.find((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:Role");
    expect(role?.inputs.rules).toEqual([
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: [MAILCOW_SECRET.name] },
    ]);
    const p = pod(cronJob(resources, BACKUP_NAMES.cronJob));
    expect(p.serviceAccountName).toBe(BACKUP_NAMES.serviceAccount);
    expect(envOf(container(p, "secrets-export"), "SECRET_NAMES")?.value).toBe(MAILCOW_SECRET.name);
  });

  it("mounts the ServiceAccount token into secrets-export only, not into the Redis, MariaDB or rclone containers", async () => {
    const { resources } = await plan(undefined);
    const p = pod(cronJob(resources, BACKUP_NAMES.cronJob));
    expect(p.automountServiceAccountToken).toBe(false);
    const tokenVolumes = p.volumes
      .filter((v) => v.projected?.sources.some((s) => s.serviceAccountToken !== undefined))
      .map((v) => v.name);
    expect(tokenVolumes).toHaveLength(1);
    const holders = [...(p.initContainers ?? []), ...p.containers]
      .filter((c) => c.volumeMounts?.some((m) => tokenVolumes.includes(m.name)))
      .map((c) => c.name);
    expect(holders).toEqual(["secrets-export"]);
    // The export script reads the token, CA and namespace from the client libraries' default directory.
    const mount = container(p, "secrets-export").volumeMounts?.find((m) => m.name === tokenVolumes[0]);
    expect(mount).toEqual({
      name: tokenVolumes[0],
      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      readOnly: true,
    });
  });

  it("reaches Redis and MariaDB through Services on the Mailcow pod, opened only to backup and restore pods", async () => {
    const { resources } = await plan(undefined);
    const services = resources.filter((r) => r.type === "kubernetes:core/v1:Service").map((r) => r.inputs);
    expect(services).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          metadata: expect.objectContaining({ name: BACKUP_NAMES.redisService }),
          spec: expect.objectContaining({
            selector: MAILCOW_POD_LABELS,
            ports: [expect.objectContaining({ port: 6379 })],
          }),
        }),
        expect.objectContaining({
          metadata: expect.objectContaining({ name: BACKUP_NAMES.mysqlService }),
          spec: expect.objectContaining({
            selector: MAILCOW_POD_LABELS,
            ports: [expect.objectContaining({ port: 3306 })],
          }),
        }),
      ]),
    );
    const p = pod(cronJob(resources, BACKUP_NAMES.cronJob));
    expect(envOf(container(p, "redis-save"), "REDIS_HOST")?.value).toBe(BACKUP_NAMES.redisService);
    expect(envOf(container(p, "mysql-dump"), "MYSQL_HOST")?.value).toBe(BACKUP_NAMES.mysqlService);
    const policy = resources.find((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")?.inputs as {
      spec: {
        podSelector: unknown;
        ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
      };
    };
    expect(policy.spec.podSelector).toEqual({ matchLabels: MAILCOW_POD_LABELS });
    expect(policy.spec.ingress[0].ports.map((x) => x.port).sort()).toEqual([3306, 6379]);
    const allowed = policy.spec.ingress[0].from.map((f) => f.podSelector.matchLabels["app.kubernetes.io/name"]);
    expect(allowed.sort()).toEqual(["mailcow-backup", "mailcow-restore"]);
    // The pods carry the labels the policy allows.
    expect(cronJob(resources, BACKUP_NAMES.cronJob).spec.jobTemplate.spec.template).toMatchObject({
      metadata: { labels: { "app.kubernetes.io/name": "mailcow-backup" } },
    });
  });

  it("puts no secret value in any CronJob", async () => {
    const { resources, secretValues } = await plan(undefined);
    expect(secretValues.length).toBeGreaterThan(0);
    const rendered = JSON.stringify(cronJobs(resources));
    for (const v of secretValues) expect(rendered).not.toContain(v);
  });

  it("creates the restore templates suspended and on a date that never comes", async () => {
    const { resources } = await plan(undefined);
    for (const name of [BACKUP_NAMES.restoreFiles, BACKUP_NAMES.restoreDatabase]) {
      expect(cronJob(resources, name).spec).toMatchObject({ suspend: true, schedule: NEVER_SCHEDULE });
    }
    const files = pod(cronJob(resources, BACKUP_NAMES.restoreFiles));
    expect(files.affinity).toBeUndefined();
    expect(container(files, "mailcow-stopped").args[0]).toContain("PING");
    const restore = container(files, "restore");
    for (const v of COVERED_VOLUMES) {
      expect(restore.volumeMounts?.find((m) => m.mountPath === `/data/${v}`)?.readOnly).toBeUndefined();
    }
  });
});

describe("ZoneBackups with settings", () => {
  it("applies the configured schedule, time zone, retention and claim names", async () => {
    const { resources } = await plan(
      { schedule: "30 1 * * 0", timeZone: "Europe/Berlin", retentionDays: 30 },
      { claims: { vmail: "mail-data" } },
    );
    const c = cronJob(resources, BACKUP_NAMES.cronJob);
    expect(c.spec).toMatchObject({ schedule: "30 1 * * 0", timeZone: "Europe/Berlin" });
    expect(envOf(container(pod(c), "archive"), "RETENTION_DAYS")?.value).toBe("30");
    expect(pod(c).volumes.some((v) => v.persistentVolumeClaim?.claimName === "mail-data")).toBe(true);
    expect(pod(c).volumes.some((v) => v.persistentVolumeClaim?.claimName === "mailcow-vmail")).toBe(false);
  });

  it("uploads to S3 with keys from the named Secret and creates no backup PVC", async () => {
    const { resources } = await plan({
      target: {
        type: "s3",
        endpoint: "https://s3.example.test",
        bucket: "mail-backups",
        prefix: "/zone-a/",
        credentialsSecret: { name: "backup-s3" },
      },
    });
    expect(resources.some((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim")).toBe(false);
    const archive = container(pod(cronJob(resources, BACKUP_NAMES.cronJob)), "archive");
    expect(envOf(archive, "BACKUP_ROOT")?.value).toBe("target:mail-backups/zone-a");
    expect(envOf(archive, "RCLONE_CONFIG_TARGET_ENDPOINT")?.value).toBe("https://s3.example.test");
    expect(envOf(archive, "RCLONE_CONFIG_TARGET_ACCESS_KEY_ID")?.valueFrom?.secretKeyRef).toEqual({
      name: "backup-s3",
      key: "AWS_ACCESS_KEY_ID",
    });
    expect(envOf(archive, "RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY")?.valueFrom?.secretKeyRef).toEqual({
      name: "backup-s3",
      key: "AWS_SECRET_ACCESS_KEY",
    });
    expect(archive.volumeMounts?.some((m) => m.mountPath === "/backup")).toBe(false);
  });

  it("encrypts with a passphrase from a Secret when encryption is configured", async () => {
    const { resources } = await plan({ encryption: { secretName: "backup-passphrase" } });
    const archive = container(pod(cronJob(resources, BACKUP_NAMES.cronJob)), "archive");
    expect(envOf(archive, "BACKUP_PASSPHRASE")?.valueFrom?.secretKeyRef).toEqual({
      name: "backup-passphrase",
      key: "BACKUP_PASSPHRASE",
    });
    expect(archive.args[0]).toContain("RCLONE_CONFIG_SEALED_TYPE=crypt");
    expect(archive.args[0]).toContain('DEST="sealed:"');
  });

  it("produces Kubernetes objects that pass schema validation, for both targets", async () => {
    for (const target of [
      undefined,
      { type: "s3", endpoint: "https://s3.example.test", bucket: "mail-backups", credentialsSecret: { name: "s3" } },
    ]) {
      const { resources } = await plan({ target, encryption: { secretName: "pp" } });
      expect(findPlanIssues(resources)).toEqual([]);
    }
  });

  it("creates nothing when backups are disabled", async () => {
    const { resources } = await plan({ enabled: false });
    expect(
      resources.filter((r) => r.custom && r.type !== "kubernetes:core/v1:Secret" && !r.type.startsWith("random:")),
    ).toEqual([]);
  });
});
