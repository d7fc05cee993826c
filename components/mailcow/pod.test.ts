import { describe, expect, it } from "vitest";
import { IN_POD_NAMES } from "./catalogue";
import {
  DEFAULT_RESOURCES,
  enabledVolumes,
  podSpec,
  proxyTrust,
  resolveContext,
  SOGO_WORKERS,
  treeSubPaths,
} from "./pod";
import { parseMailcowSettings } from "./settings";

const input = (raw: unknown) => ({
  settings: parseMailcowSettings(raw),
  hostname: "mail.example.net",
  timezone: "UTC",
  podCidr: "10.42.0.0/16",
});

describe("the Mailcow pod with default settings", () => {
  it("runs the essential services, olefy and the stand-in, but not SOGo, memcached or clamd", () => {
    const names = podSpec(input({}), IN_POD_NAMES).containers.map((c) => c.name);
    expect(names).toEqual([
      "unbound",
      "mysql",
      "redis",
      "php-fpm",
      "nginx",
      "dovecot",
      "postfix",
      "postfix-tlspol",
      "rspamd",
      "olefy",
      "dockerapi",
    ]);
    expect(enabledVolumes(input({}).settings)).not.toContain("clamd-db");
    expect(enabledVolumes(input({}).settings)).not.toContain("sogo-userdata-backup");
  });

  it("tells php-fpm and nginx that SOGo and clamd are skipped", () => {
    const spec = podSpec(input({}), IN_POD_NAMES);
    const php = spec.containers.find((c) => c.name === "php-fpm");
    const e = Object.fromEntries((php?.env ?? []).map((x) => [x.name, x.value]));
    expect(e.SKIP_SOGO).toBe("y");
    expect(e.SKIP_CLAMD).toBe("y");
    expect(e.SKIP_OLEFY).toBe("n");
  });

  it("merges per-container resource overrides over the defaults", () => {
    const spec = podSpec(input({ resources: { mysql: { limits: { memory: "2Gi" } } } }), IN_POD_NAMES);
    const mysql = spec.containers.find((c) => c.name === "mysql");
    expect(mysql?.resources?.limits).toEqual({ cpu: DEFAULT_RESOURCES.mysql.limits.cpu, memory: "2Gi" });
    expect(mysql?.resources?.requests).toEqual(DEFAULT_RESOURCES.mysql.requests);
  });

  it("lets the init step create single-file mount sources before the kubelet turns them into directories", () => {
    const { files, dirs } = treeSubPaths(["unbound", "redis", "php-fpm"]);
    expect(files).toContain("data/conf/unbound/unbound.conf");
    expect(files).toContain("data/conf/redis/redis-conf.sh");
    expect(dirs).toContain("data/web");
    expect(files).not.toContain("data/web");
  });
});

/** Mi of a Kubernetes memory quantity (Mi or Gi, as the defaults are written). */
function mib(q: string | undefined): number {
  const m = q?.match(/^([0-9]+)(Mi|Gi)$/);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
}

describe("memory limits against upstream's worker counts", () => {
  it("lets php-fpm run both pools at their pm.max_children (15 system + 50 web workers)", () => {
    expect(mib(DEFAULT_RESOURCES["php-fpm"].limits.memory)).toBeGreaterThanOrEqual((15 + 50) * 32);
  });

  it("lets every SOGo worker reach its 384 MB SxVMemLimit, with fewer workers than upstream's 20", () => {
    expect(SOGO_WORKERS).toBeLessThan(20);
    expect(mib(DEFAULT_RESOURCES.sogo.limits.memory) * 1_048_576).toBeGreaterThan(SOGO_WORKERS * 384_000_000);
  });

  it("lets clamd hold two signature sets while freshclam tests a download (TestDatabases yes)", () => {
    // One loaded set is over 1 GiB (main + daily + bytecode); 2Gi, the old limit, could not hold two.
    expect(mib(DEFAULT_RESOURCES.clamd.limits.memory)).toBeGreaterThan(2 * 1024);
  });
});

describe("trust defaults derived from the pod CIDR", () => {
  it("uses the pod CIDR for API_ALLOW_FROM, TRUSTED_PROXIES and PROXY trust", () => {
    const c = resolveContext(input({}));
    expect(c.apiAllowFrom).toBe("10.42.0.0/16");
    expect(c.trustedProxies).toBe("10.42.0.0/16");
    expect(proxyTrust(input({}))).toEqual(["10.42.0.0/16"]);
  });

  it("refuses a pod CIDR that would trust everyone or the internet, naming the setting", () => {
    for (const podCidr of ["0.0.0.0/0", "8.8.0.0/16"]) {
      expect(() => resolveContext({ ...input({}), podCidr })).toThrow(
        /mail-zone:mailcow\.apiAllowFrom: defaults to the pod CIDR/,
      );
      expect(() => proxyTrust({ ...input({}), podCidr })).toThrow(/mail-zone:mailcow\.proxyTrustedNetworks/);
    }
    // An explicit, valid setting does not depend on the pod CIDR.
    expect(
      resolveContext({
        ...input({ apiAllowFrom: ["10.42.0.0/16"], trustedProxies: ["10.42.0.0/16"] }),
        podCidr: "0.0.0.0/0",
      }).apiAllowFrom,
    ).toBe("10.42.0.0/16");
  });
});
