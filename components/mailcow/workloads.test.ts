import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type PlannedResource, planProgram, unwrapSecrets } from "../../stacks/preview/engine";
import { validatePlan } from "../../stacks/preview/validate";
import { MAILCOW_POD_LABELS } from "../labels";
import {
  MAILCOW_SECRET,
  MAILCOW_SERVICES,
  MAILCOW_TLS_SECRET,
  MAILCOW_WEB_PORT,
  PROXY_LISTENERS,
} from "../mailcow-endpoints";
import {
  DELIBERATE_ENV_OMISSIONS,
  ESSENTIAL_SERVICES,
  IN_POD_NAMES,
  LOOPBACK_IPV4_NETWORK,
  type MailcowService,
  OPTIONAL_SERVICES,
  RELEASE_IMAGES,
} from "./catalogue";
import { POD_VOLUMES } from "./pod";
import { DEFAULT_RELEASE, isIpOrCidr, parseMailcowSettings } from "./settings";
import { MailcowWorkloads } from "./workloads";

const REFERENCE = path.resolve(__dirname, "../../../shared/reference/mailcow/docker-compose.yml");
const haveReference = existsSync(REFERENCE);
if (!haveReference) {
  console.warn(`SKIPPED compose comparisons: ${REFERENCE} is absent (the ../shared reference checkout is not here)`);
}

interface ComposeService {
  image: string;
  environment?: string[];
  volumes?: string[];
  networks?: Record<string, { aliases?: string[] }>;
}
const compose: { services: Record<string, ComposeService> } = haveReference
  ? parse(readFileSync(REFERENCE, "utf8"))
  : { services: {} };

const POD_CIDR = "10.42.0.0/16";
const ALL_SERVICES: MailcowService[] = [...ESSENTIAL_SERVICES, ...OPTIONAL_SERVICES];

// biome-ignore lint/suspicious/noExplicitAny: tests read untyped plan inputs
type Obj = Record<string, any>;
let resources: PlannedResource[] = [];
const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
let apiBaseUrl = "";

function one(type: string, name?: string): Obj {
  const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  expect(found, `${type} ${name ?? ""}`).toHaveLength(1);
  return unwrapSecrets(found[0].inputs) as Obj;
}
function podSpec(): Obj {
  return one(STATEFULSET).spec.template.spec;
}
function container(name: string): Obj {
  const c = podSpec().containers.find((x: Obj) => x.name === name);
  expect(c, `container ${name}`).toBeDefined();
  return c;
}
function env(name: string): Record<string, Obj> {
  return Object.fromEntries(container(name).env.map((e: Obj) => [e.name, e]));
}
function overrides(): Record<string, string> {
  return one("kubernetes:core/v1:ConfigMap", "mailcow-overrides").data;
}

beforeAll(async () => {
  const plan = await planProgram(
    () => {
      const w = new MailcowWorkloads("mailcow", {
        namespace: "mail-zone",
        settings: parseMailcowSettings({ optional: { sogo: true, clamd: true, olefy: true } }),
        hostname: "mail.example.net",
        timezone: "Europe/Berlin",
        podCidr: POD_CIDR,
      });
      return { apiBaseUrl: w.apiBaseUrl };
    },
    { project: "mail-zone", stack: "test" },
  );
  resources = plan.resources;
  apiBaseUrl = plan.outputs.apiBaseUrl as unknown as string;
});

describe("MailcowWorkloads in-cluster, faithful to the compose file", () => {
  it("pins every service of the default release to the compose file's image", () => {
    if (!haveReference) return;
    for (const svc of ALL_SERVICES) {
      expect(RELEASE_IMAGES[DEFAULT_RELEASE][svc], svc).toBe(compose.services[`${svc}-mailcow`].image);
    }
  });

  it.skipIf(!haveReference)("runs each service with exactly the compose file's image", () => {
    for (const svc of ALL_SERVICES) {
      expect(container(svc).image, svc).toBe(compose.services[`${svc}-mailcow`].image);
    }
  });

  it.skipIf(!haveReference)(
    "sets every compose env variable of each service, or lists it as a deliberate omission",
    () => {
      for (const svc of ALL_SERVICES) {
        const composeName = `${svc}-mailcow`;
        const omitted = DELIBERATE_ENV_OMISSIONS.filter((o) => o.service === composeName).flatMap((o) =>
          o.variables === "*" ? [] : [...o.variables],
        );
        const set = env(svc);
        for (const line of compose.services[composeName].environment ?? []) {
          const name = line.split("=")[0];
          expect(name in set || omitted.includes(name), `${composeName} ${name}`).toBe(true);
        }
      }
    },
  );

  it.skipIf(!haveReference)("lists every compose service it does not run in the omissions table", () => {
    const run = new Set(ALL_SERVICES.map((s) => `${s}-mailcow`));
    for (const name of Object.keys(compose.services)) {
      if (run.has(name)) continue;
      expect(
        DELIBERATE_ENV_OMISSIONS.some((o) => o.service === name),
        `${name} is neither run nor listed`,
      ).toBe(true);
    }
  });

  it.skipIf(!haveReference)("mounts every compose volume's container path", () => {
    for (const svc of ALL_SERVICES) {
      const mounted = new Set(container(svc).volumeMounts.map((m: Obj) => m.mountPath));
      for (const v of compose.services[`${svc}-mailcow`].volumes ?? []) {
        const target = v.split(":")[1].replace(/\/$/, "");
        expect(mounted.has(target), `${svc} ${target}`).toBe(true);
      }
    }
  });

  it("takes every secret from the mailcow-secrets Secret, never as a literal", () => {
    const secretNames = new Set(Object.values(MAILCOW_SECRET.keys));
    const secretEnv = [
      "DBPASS",
      "DBROOT",
      "MYSQL_ROOT_PASSWORD",
      "MYSQL_PASSWORD",
      "REDISPASS",
      "API_KEY",
      "API_KEY_READ_ONLY",
      "SOGO_URL_ENCRYPTION_KEY",
    ];
    for (const c of podSpec().containers) {
      for (const e of c.env ?? []) {
        if (!secretEnv.includes(e.name)) continue;
        expect(e.value, `${c.name} ${e.name}`).toBeUndefined();
        expect(e.valueFrom.secretKeyRef.name).toBe(MAILCOW_SECRET.name);
        expect(secretNames.has(e.valueFrom.secretKeyRef.key)).toBe(true);
      }
    }
    expect(env("mysql").MYSQL_ROOT_PASSWORD.valueFrom.secretKeyRef.key).toBe(MAILCOW_SECRET.keys.dbRootPassword);
  });

  it("runs nothing privileged, mounts no Docker socket and uses no host network", () => {
    const spec = podSpec();
    expect(spec.hostNetwork).not.toBe(true);
    expect(spec.hostPID).not.toBe(true);
    for (const c of [...spec.containers, ...spec.initContainers]) {
      expect(c.securityContext?.privileged, c.name).toBe(false);
    }
    for (const v of spec.volumes) expect(v.hostPath, v.name).toBeUndefined();
    expect(JSON.stringify(spec)).not.toContain("docker.sock");
  });

  it("puts startup and liveness probes and resource requests and limits on every container", () => {
    for (const c of podSpec().containers) {
      expect(c.livenessProbe, c.name).toBeDefined();
      expect(c.startupProbe, c.name).toBeDefined();
      for (const kind of ["requests", "limits"]) {
        expect(c.resources[kind].cpu, `${c.name} ${kind}`).toBeTruthy();
        expect(c.resources[kind].memory, `${c.name} ${kind}`).toBeTruthy();
      }
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean)) {
        if (p.exec) expect(p.exec.command.slice(0, 2), c.name).toEqual(["sh", "-c"]);
      }
    }
    const init = podSpec().initContainers[0];
    expect(init.resources.limits.memory).toBeTruthy();
  });

  it("claims a volume for vmail, vmail-index, mysql, redis, rspamd, postfix, postfix-tlspol, crypt, sogo and clamd", () => {
    const claims = resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim").map((r) => r.name);
    for (const v of [
      "vmail",
      "vmail-index",
      "mysql",
      "redis",
      "rspamd",
      "postfix",
      "postfix-tlspol",
      "crypt",
      "sogo-userdata-backup",
      "clamd-db",
    ]) {
      expect(claims).toContain(`mailcow-${v}`);
    }
  });

  it("runs one pod with a stable name, replaced (never doubled) on update since RWO volumes are mounted", () => {
    const d = one(STATEFULSET);
    expect(d.spec.replicas).toBe(1);
    expect(d.metadata.name).toBe("mailcow");
    // One ordinal: RollingUpdate deletes mailcow-0 before creating its successor.
    expect(d.spec.updateStrategy.type).toBe("RollingUpdate");
    expect(resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment")).toHaveLength(0);
  });

  it("creates the three Services of the contract, selecting the Mailcow pod labels with named ports", () => {
    for (const name of Object.values(MAILCOW_SERVICES)) {
      const svc = one("kubernetes:core/v1:Service", name);
      expect(svc.metadata.name).toBe(name);
      expect(svc.spec.selector).toEqual(MAILCOW_POD_LABELS);
      for (const p of svc.spec.ports) expect(p.name).toMatch(/^[a-z0-9-]{1,15}$/);
    }
    for (const l of Object.values(PROXY_LISTENERS)) {
      const svc = one("kubernetes:core/v1:Service", l.service);
      expect(svc.spec.ports.map((p: Obj) => p.port)).toContain(l.port);
    }
    expect(one("kubernetes:core/v1:Service", MAILCOW_SERVICES.nginx).spec.ports[0].targetPort).toBe(MAILCOW_WEB_PORT);
    expect(one(STATEFULSET).spec.template.metadata.labels).toMatchObject(MAILCOW_POD_LABELS);
  });

  it("exposes the in-cluster API base URL", () => {
    expect(apiBaseUrl).toBe(`http://${MAILCOW_SERVICES.nginx}.mail-zone.svc.cluster.local:${MAILCOW_WEB_PORT}`);
  });

  it("passes the preview's schema validation, mounts naming the pod's volumes included", () => {
    const objects = validatePlan(resources);
    expect(objects.length).toBeGreaterThan(10);
  });
});

describe("MailcowWorkloads answers each Kubernetes blocker", () => {
  it("brings the pinned release's data/ tree into the pod and checks it against the images", () => {
    const init = podSpec().initContainers.find((c: Obj) => c.name === "fetch-release");
    const e = Object.fromEntries(init.env.map((x: Obj) => [x.name, x.value]));
    expect(e.RELEASE).toBe(DEFAULT_RELEASE);
    // The commit's archive, verified by its data/ tree id (the pinned facts for 2026-07a).
    expect(e.RELEASE_URL).toBe(
      "https://github.com/mailcow/mailcow-dockerized/archive/489db905122d20487e29c9a8438b311c403442ab.tar.gz",
    );
    expect(e.RELEASE_COMMIT).toBe("489db905122d20487e29c9a8438b311c403442ab");
    expect(e.RELEASE_DATA_TREE).toBe("82934c5510db1549587bbb7c139f7d1ad4804938");
    for (const svc of ALL_SERVICES) expect(e.EXPECTED_IMAGES.split(" ")).toContain(container(svc).image);
    expect(init.volumeMounts.map((m: Obj) => m.name)).toContain(POD_VOLUMES.tree);
    const treeVolume = podSpec().volumes.find((v: Obj) => v.name === POD_VOLUMES.tree);
    expect(treeVolume.persistentVolumeClaim.claimName).toBe("mailcow-tree");
    expect(overrides()["init.sh"]).toContain("node /overrides/fetch-release.js");
    expect(overrides()["fetch-release.js"]).toContain("RELEASE_DATA_TREE");
    expect(overrides()["init.sh"]).toContain("sh /overrides/unpack-release.sh /tmp/release");
    // Web and config paths come from that tree.
    const web = container("php-fpm").volumeMounts.find((m: Obj) => m.mountPath === "/web");
    expect(web).toMatchObject({ name: POD_VOLUMES.tree, subPath: "data/web" });
  });

  it("shares the MySQL unix socket through one in-pod volume", () => {
    const spec = podSpec();
    const vol = spec.volumes.find((v: Obj) => v.name === "mysql-socket");
    expect(vol.emptyDir).toBeDefined();
    for (const c of ["mysql", "php-fpm", "dovecot", "postfix", "sogo"]) {
      const m = container(c).volumeMounts.find((x: Obj) => x.mountPath === "/var/run/mysqld");
      expect(m?.name, c).toBe("mysql-socket");
    }
  });

  it("puts IPV4_NETWORK on loopback so the hard-wired .248/.250/.253/.254 addresses reach the pod", () => {
    expect(LOOPBACK_IPV4_NETWORK.startsWith("127.")).toBe(true);
    for (const c of ["rspamd", "php-fpm", "sogo", "dovecot", "nginx"]) {
      expect(env(c).IPV4_NETWORK.value, c).toBe(LOOPBACK_IPV4_NETWORK);
    }
    expect(podSpec().containers).toHaveLength(ALL_SERVICES.length + 1);
  });

  it.skipIf(!haveReference)("maps every compose service name and alias to loopback", () => {
    const aliases = podSpec().hostAliases;
    expect(aliases[0].ip).toBe("127.0.0.1");
    for (const svc of ALL_SERVICES) {
      const name = `${svc}-mailcow`;
      expect(aliases[0].hostnames, name).toContain(name);
      for (const a of compose.services[name].networks?.["mailcow-network"]?.aliases ?? []) {
        expect(aliases[0].hostnames, a).toContain(a);
      }
    }
    expect(aliases[0].hostnames).toContain("dockerapi");
    for (const h of aliases[0].hostnames) expect(h).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
  });

  it("answers the names entrypoints dig for, and dockerapi's underscore name, from the pod's own unbound", () => {
    const spec = podSpec();
    expect(spec.dnsPolicy).toBe("None");
    expect(spec.dnsConfig.nameservers).toEqual(["127.0.0.1"]);
    const local = overrides()["unbound-local.conf"];
    for (const n of ["dovecot", "rspamd", "dockerapi.mailcowdockerized_mailcow-network"]) {
      expect(local).toContain(`local-data: "${n}. IN A 127.0.0.1"`);
    }
    expect(overrides()["init.sh"]).toContain("cat /overrides/unbound-local.conf >> data/conf/unbound/unbound.conf");
    for (const n of IN_POD_NAMES) expect(local).toContain(`"${n}.`);
  });

  it("lets nginx's entrypoint ping its upstreams without NET_RAW", () => {
    expect(podSpec().securityContext.sysctls).toContainEqual({
      name: "net.ipv4.ping_group_range",
      value: "0 2147483647",
    });
  });

  it("drops redis's unsafe somaxconn sysctl", () => {
    expect(JSON.stringify(podSpec())).not.toContain("somaxconn");
  });

  it("mounts cert-manager's certificate as /etc/ssl/mail/{cert,key}.pem with dhparams, kept current by the stand-in", () => {
    const spec = podSpec();
    expect(spec.volumes.find((v: Obj) => v.name === "tls").secret.secretName).toBe(MAILCOW_TLS_SECRET);
    for (const c of ["postfix", "dovecot", "nginx"]) {
      const m = container(c).volumeMounts.find((x: Obj) => x.mountPath === "/etc/ssl/mail");
      expect(m, c).toMatchObject({ name: "ssl", readOnly: true });
    }
    const init = overrides()["init.sh"];
    expect(init).toContain("cp /tls/tls.crt /ssl/cert.pem");
    expect(init).toContain("cp /tls/tls.key /ssl/key.pem");
    expect(init).toContain("dhparams.pem /ssl/dhparams.pem");
    const standin = container("dockerapi");
    expect(Object.fromEntries(standin.env.map((e: Obj) => [e.name, e.value])).SSL_DIR).toBe("/ssl");
  });

  it("turns IPv6 off for nginx on a single-stack cluster", () => {
    expect(env("nginx").ENABLE_IPV6.value).toBe("false");
  });

  it("gives unbound and dovecot a TTY", () => {
    for (const c of ["unbound", "dovecot"]) expect(container(c).tty, c).toBe(true);
  });

  it("lets the controller's keys in: API_ALLOW_FROM is the pod CIDR and passes the entrypoint's check", () => {
    const allow = env("php-fpm").API_ALLOW_FROM.value;
    expect(allow).toBe(POD_CIDR);
    for (const entry of allow.split(",")) expect(isIpOrCidr(entry)).toBe(true);
  });

  it("pins Postfix mynetworks to loopback through extra.cf", () => {
    expect(overrides()["postfix-extra.cf"]).toMatch(/^mynetworks = 127\.0\.0\.0\/8 \[::1\]\/128$/m);
    expect(overrides()["init.sh"]).toContain("cp /overrides/postfix-extra.cf data/conf/postfix/extra.cf");
  });

  it("trusts PROXY headers only from the pod CIDR in Dovecot extra.conf", () => {
    expect(overrides()["dovecot-extra.conf"]).toMatch(new RegExp(`^haproxy_trusted_networks = ${POD_CIDR}$`, "m"));
    expect(overrides()["init.sh"]).toContain("cp /overrides/dovecot-extra.conf data/conf/dovecot/extra.conf");
  });

  it("binds Dovecot's LMTP (24) and auth (10001) listeners to 127.0.0.1 and probes LMTP there", () => {
    const conf = overrides()["dovecot-extra.conf"];
    // Upstream's listener names (data/conf/dovecot/dovecot.conf): the sections amend them rather than add new ones.
    expect(conf).toContain("service lmtp {\n  inet_listener lmtp-inet {\n    address = 127.0.0.1\n  }\n}");
    expect(conf).toContain("service auth {\n  inet_listener auth-inet {\n    address = 127.0.0.1\n  }\n}");
    const live = container("dovecot").livenessProbe;
    expect(live.tcpSocket).toBeUndefined();
    expect(live.exec.command[2]).toContain("127.0.0.1 24");
  });

  it("serves plain HTTP on the web port behind Traefik and leaves 443 to the dockerapi stand-in", () => {
    const e = env("nginx");
    expect(e.HTTP_PORT.value).toBe(String(MAILCOW_WEB_PORT));
    expect(e.HTTP_REDIRECT.value).toBe("n");
    expect(e.HTTPS_PORT.value).not.toBe("443");
    expect(container("dockerapi").ports.map((p: Obj) => p.containerPort)).toEqual([443]);
    expect(Object.fromEntries(container("dockerapi").env.map((x: Obj) => [x.name, x.value])).LISTEN_HOST).toBe(
      "127.0.0.1",
    );
  });

  it("has no two containers listening on the same port in the shared network namespace", () => {
    const seen = new Map<string, string>();
    for (const c of podSpec().containers) {
      for (const p of c.ports ?? []) {
        const key = `${p.protocol}/${p.containerPort}`;
        expect(seen.get(key), `${key} in ${c.name}`).toBeUndefined();
        seen.set(key, c.name);
      }
    }
  });

  it("trusts SOGo at 127.0.0.1 where upstream trusts its fixed .248 address", () => {
    expect(overrides()["dovecot-sogo-hook.sh"]).toContain("allow_nets=127.0.0.1/32");
    expect(overrides()["init.sh"]).toContain("data/hooks/dovecot/90-mail-zone-sogo-loopback.sh");
    expect(overrides()["init.sh"]).toContain("mailcowauth.php");
  });

  it("runs the dockerapi stand-in from the repository's module with pods/exec rights only in its namespace", () => {
    const cm = one("kubernetes:core/v1:ConfigMap", "mailcow-dockerapi-standin");
    expect(cm.data["dockerapi-standin.js"]).toBe(readFileSync(path.join(__dirname, "dockerapi-standin.js"), "utf8"));
    const jobs = JSON.parse(cm.data["jobs.json"]);
    expect(jobs.map((j: Obj) => j.name)).toContain("dovecot_maildir_gc");
    expect(jobs.map((j: Obj) => j.name)).toContain("sogo_sessions");
    const role = one("kubernetes:rbac.authorization.k8s.io/v1:Role");
    expect(role.rules).toEqual([
      { apiGroups: [""], resources: ["pods"], resourceNames: ["mailcow-0"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods/exec"], resourceNames: ["mailcow-0"], verbs: ["get", "create"] },
    ]);
    expect(podSpec().serviceAccountName).toBe(role.metadata.name);
    const standin = container("dockerapi");
    expect(standin.image).toMatch(/^node:22\.[0-9]+\.[0-9]+-alpine/);
    const containers = JSON.parse(standin.env.find((e: Obj) => e.name === "MAILCOW_CONTAINERS").value);
    expect(containers["mysql-mailcow"]).toBe("mysql");
    expect(containers["sogo-mailcow"]).toBe("sogo");
  });

  it("never writes a secret into a ConfigMap or an annotation", () => {
    const rendered = JSON.stringify(
      resources
        .filter((r) => r.type === "kubernetes:core/v1:ConfigMap")
        .map((r) => r.inputs)
        .concat([one(STATEFULSET).spec.template.metadata]),
    );
    expect(rendered).not.toMatch(/secretKeyRef/);
  });
});

describe("MailcowWorkloads keeps tenants out of the pod", () => {
  it("mounts no ServiceAccount token but the stand-in's own projected one", () => {
    const spec = podSpec();
    expect(spec.automountServiceAccountToken).toBe(false);
    const sa = one("kubernetes:core/v1:ServiceAccount");
    expect(sa.automountServiceAccountToken).toBe(false);
    const token = spec.volumes.find((v: Obj) => v.projected?.sources?.some((s: Obj) => s.serviceAccountToken));
    expect(token).toBeDefined();
    for (const c of [...spec.containers, ...spec.initContainers]) {
      const mounted = (c.volumeMounts ?? []).some((m: Obj) => m.name === token.name);
      expect(mounted, c.name).toBe(c.name === "dockerapi");
    }
    const m = container("dockerapi").volumeMounts.find((x: Obj) => x.name === token.name);
    expect(m).toMatchObject({ mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true });
  });

  it("tells nginx to reach SOGo on 127.0.0.1, where SOGo now listens alone", () => {
    expect(env("nginx").SOGOHOST.value).toBe("127.0.0.1");
    expect(overrides()["sogo-conf.sed"]).toContain('"127.0.0.1:20000"');
  });

  it("ships the forged-loopback guard and the keep-edits unpack to the init step", () => {
    for (const f of [
      "postfix-master.awk",
      "mail-zone-proxy-clients.cidr",
      "mail-zone-proxy-postscreen.cidr",
      "unpack-release.sh",
    ]) {
      expect(overrides()[f], f).toBeTruthy();
    }
  });

  it("backs the admin password into the stand-in alone, from the Secret", () => {
    const spec = podSpec();
    const vol = spec.volumes.find((v: Obj) => v.secret?.items?.some((i: Obj) => i.key === "ADMIN_PASSWORD"));
    expect(vol.secret.secretName).toBe(MAILCOW_SECRET.name);
    for (const c of spec.containers) {
      const mounted = (c.volumeMounts ?? []).some((m: Obj) => m.name === vol.name);
      expect(mounted, c.name).toBe(c.name === "dockerapi");
    }
  });
});

describe("readiness gates the Services only where it means the traffic is served", () => {
  it("puts readiness probes on nginx, postfix and dovecot only", () => {
    const gated = podSpec()
      .containers.filter((c: Obj) => c.readinessProbe)
      .map((c: Obj) => c.name)
      .sort();
    expect(gated).toEqual(["dovecot", "nginx", "postfix"]);
  });

  it("probes rspamd's proxy worker, SOGo and the stand-in on 127.0.0.1, where they bind", () => {
    for (const [c, needle] of [
      ["rspamd", "127.0.0.1 9900"],
      ["sogo", "127.0.0.1 20000"],
      ["dockerapi", "host:'127.0.0.1'"],
    ]) {
      for (const kind of ["startupProbe", "livenessProbe"]) {
        const p = container(c)[kind];
        expect(p.tcpSocket, `${c} ${kind}`).toBeUndefined();
        expect(p.httpGet, `${c} ${kind}`).toBeUndefined();
        expect(p.exec.command[2], `${c} ${kind}`).toContain(needle);
      }
    }
  });

  it("binds memcached (SOGo's sessions, no authentication) and olefy to 127.0.0.1 and probes them there", () => {
    expect(container("memcached").args).toEqual(["-l", "127.0.0.1"]);
    const olefyEnv = container("olefy").env.find((e: Obj) => e.name === "OLEFY_BINDADDRESS");
    expect(olefyEnv.value).toBe("127.0.0.1");
    for (const [c, port] of [
      ["memcached", "11211"],
      ["olefy", "10055"],
    ]) {
      for (const kind of ["startupProbe", "livenessProbe"]) {
        const p = container(c)[kind];
        expect(p.tcpSocket, `${c} ${kind}`).toBeUndefined();
        expect(p.exec.command[2], `${c} ${kind}`).toContain(`127.0.0.1 ${port}`);
      }
    }
  });

  it("checks unbound through 127.0.0.11 and with a DNSSEC-validated public answer", () => {
    const live = container("unbound").livenessProbe.exec.command[2];
    expect(live).toContain("@127.0.0.11");
    expect(live).toMatch(/dig com SOA \+dnssec .*grep -Eq 'flags:\.\+ ad'/);
  });
});

describe("MailcowWorkloads with storage.retain", () => {
  it("puts every Mailcow PVC on a StorageClass that retains the volume when the claim is deleted", async () => {
    const plan = await planProgram(
      () => {
        new MailcowWorkloads("mailcow", {
          namespace: "mail-zone",
          settings: parseMailcowSettings({ storage: { retain: true } }),
          hostname: "mail.example.net",
          timezone: "UTC",
          podCidr: POD_CIDR,
        });
        return {};
      },
      { project: "mail-zone", stack: "test" },
    );
    const classes = plan.resources.filter((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass");
    expect(classes).toHaveLength(1);
    expect(classes[0].inputs).toMatchObject({
      metadata: { name: "mailcow-retain" },
      reclaimPolicy: "Retain",
      provisioner: "rancher.io/local-path",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    const claims = plan.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim");
    expect(claims.length).toBeGreaterThan(5);
    for (const c of claims) expect((c.inputs as Obj).spec.storageClassName, c.name).toBe("mailcow-retain");
  });

  it("creates no StorageClass by default, and refuses retain together with a named class", () => {
    expect(resources.filter((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass")).toHaveLength(0);
    expect(() => parseMailcowSettings({ storage: { retain: true, storageClass: "fast" } })).toThrow(
      /mail-zone:mailcow\.storage\.retain: storage\.retain creates the class mailcow-retain/,
    );
  });
});
