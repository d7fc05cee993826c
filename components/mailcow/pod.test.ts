import { describe, expect, it } from "vitest";
import { IN_POD_NAMES } from "./catalogue";
import { DEFAULT_RESOURCES, enabledVolumes, podSpec, treeSubPaths } from "./pod";
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
