import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { contains, parseRange } from "../network-ranges";
import {
  initScript,
  postfixMasterAwk,
  postfixProxyClientsCidr,
  postfixProxyPostscreenCidr,
  sogoConfSed,
  unboundLocalData,
  unpackScript,
} from "./overrides";

const tmp = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix));
function write(root: string, rel: string, body: string): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), body);
}
const read = (root: string, rel: string) => readFileSync(path.join(root, rel), "utf8");

describe("unbound in the pod", () => {
  it("answers from the address a query was sent to, so postfix-tlspol's 127.0.0.11 gets its replies", () => {
    const lines = unboundLocalData("mailcowdockerized").split("\n");
    const server = lines.indexOf("server:");
    expect(server).toBeGreaterThan(-1);
    // In the server clause, not after another clause.
    expect(lines.slice(server + 1).find((l) => /^\S/.test(l) && !l.startsWith("#"))).toBeUndefined();
    expect(lines).toContain("  interface-automatic: yes");
  });

  it("refuses recursion to the cluster's networks that upstream's access-control allows, leaving loopback open", () => {
    const conf = unboundLocalData("mailcowdockerized");
    const refused = [...conf.matchAll(/^ {2}access-control: (\S+) refuse$/gm)].map((m) => m[1]);
    // Upstream's allowed blocks (data/conf/unbound/unbound.conf at the pinned release), each refused in its two
    // halves: more specific than the allow, so unbound applies the refusal.
    expect(refused).toEqual([
      "10.0.0.0/9",
      "10.128.0.0/9",
      "172.16.0.0/13",
      "172.24.0.0/13",
      "192.168.0.0/17",
      "192.168.128.0/17",
      "fc00::/8",
      "fd00::/8",
      "fe80::/11",
      "fea0::/11",
    ]);
    expect(conf).not.toMatch(/access-control: (127\.|::1)/);
  });
});

/** The PROXY listeners of upstream's master.cf, as the release writes them (the services this guard touches). */
const MASTER_CF = [
  "smtp       inet  n       -       n       -       1       postscreen",
  "10025      inet  n       -       n       -       1       postscreen",
  "  -o postscreen_upstream_proxy_protocol=haproxy",
  "  -o syslog_name=haproxy",
  "smtpd      pass  -       -       n       -       -       smtpd",
  "  -o smtpd_sasl_auth_enable=no",
  "smtps    inet  n       -       n       -       -       smtpd",
  "  -o smtpd_client_restrictions=permit_mynetworks,permit_sasl_authenticated,reject",
  "10465    inet  n       -       n       -       -       smtpd",
  "  -o smtpd_upstream_proxy_protocol=haproxy",
  "  -o smtpd_client_restrictions=permit_mynetworks,permit_sasl_authenticated,reject",
  "# smtpd with starttls on 587/tcp",
  "10587      inet n       -       n       -       -       smtpd",
  "  -o smtpd_upstream_proxy_protocol=haproxy",
  "  -o smtpd_client_restrictions=permit_mynetworks,permit_sasl_authenticated,reject",
  "588 inet n      -       n       -       -       smtpd",
  "  -o smtpd_client_restrictions=permit_mynetworks,permit_sasl_authenticated,reject",
  "",
].join("\n");

/** Service name → its option lines, from a master.cf text. */
function services(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current = "";
  for (const line of text.split("\n")) {
    if (/^[^\s#]/.test(line)) {
      current = line.split(/\s+/)[0];
      out[current] = [];
    } else if (/^\s+-o /.test(line)) out[current].push(line.trim());
  }
  return out;
}

describe("the forged-loopback guard on Postfix's PROXY listeners", () => {
  const dir = tmp("master-");
  writeFileSync(path.join(dir, "master.cf"), MASTER_CF);
  writeFileSync(path.join(dir, "guard.awk"), postfixMasterAwk());
  const out = execFileSync("awk", ["-f", path.join(dir, "guard.awk"), path.join(dir, "master.cf")], {
    encoding: "utf8",
  });
  const after = services(out);
  const before = services(MASTER_CF);

  it("rejects a loopback client on 10465 and 10587 before permit_mynetworks can let it relay", () => {
    for (const svc of ["10465", "10587"]) {
      const restrictions = after[svc].filter((o) => o.startsWith("-o smtpd_client_restrictions="));
      expect(restrictions, svc).toHaveLength(1);
      expect(restrictions[0]).toBe(
        "-o smtpd_client_restrictions=check_client_access,cidr:/opt/postfix/conf/mail-zone-proxy-clients.cidr,permit_mynetworks,permit_sasl_authenticated,reject",
      );
    }
  });

  it("drops a loopback client at 10025's postscreen, ahead of upstream's own access list", () => {
    const list = after["10025"].find((o) => o.startsWith("-o postscreen_access_list="));
    expect(list?.split("=")[1].split(",")).toEqual([
      "cidr:/opt/postfix/conf/mail-zone-proxy-postscreen.cidr",
      "permit_mynetworks",
      "cidr:/opt/postfix/conf/custom_postscreen_whitelist.cidr",
      "cidr:/opt/postfix/conf/postscreen_access.cidr",
      "tcp:127.0.0.1:10027",
    ]);
    expect(after["10025"]).toContain("-o postscreen_denylist_action=drop");
    expect(after["10025"]).toContain("-o postscreen_upstream_proxy_protocol=haproxy");
  });

  it("leaves the services without PROXY alone (port 25, 465, SOGo's 588)", () => {
    for (const svc of ["smtp", "smtps", "588", "smtpd"]) expect(after[svc], svc).toEqual(before[svc]);
    expect(out.match(/mail-zone-proxy/g)).toHaveLength(3);
  });

  it("lists every loopback address, IPv4 and IPv6, in both maps", () => {
    for (const map of [postfixProxyClientsCidr(), postfixProxyPostscreenCidr()]) {
      const ranges = map
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => ({ range: parseRange(l.split(/\s+/)[0]), action: l.split(/\s+/)[1] }));
      expect(ranges.every((r) => r.action.toLowerCase() === "reject")).toBe(true);
      for (const address of ["127.0.0.1", "127.255.255.254", "::1"]) {
        const a = parseRange(address);
        expect(
          ranges.some((r) => r.range && a && contains(r.range, a)),
          address,
        ).toBe(true);
      }
    }
  });

  it("is applied at every start, and the pod refuses to start when it cannot be", () => {
    const init = initScript();
    expect(init).toContain("awk -f /overrides/postfix-master.awk");
    expect(init).toMatch(/grep -c mail-zone-proxy "\$MASTER"\)" -ge 3 \]/);
    expect(init).toContain("refusing to start");
  });
});

describe("SOGo in the pod", () => {
  it("listens on 127.0.0.1 only, with the worker count its memory limit is sized for", () => {
    const dir = tmp("sogo-");
    const conf = path.join(dir, "sogo.conf");
    writeFileSync(conf, '{\n    WOWorkersCount = "20";\n    WOPort = "0.0.0.0:20000";\n    SxVMemLimit = 384;\n}\n');
    execFileSync("sed", ["-i", sogoConfSed(4), conf]);
    const text = readFileSync(conf, "utf8");
    expect(text).toContain('    WOPort = "127.0.0.1:20000";');
    expect(text).toContain('    WOWorkersCount = "4";');
    expect(text).toContain("    SxVMemLimit = 384;");
    expect(initScript()).toContain("grep -q 'WOPort = \"127.0.0.1:20000\"'");
  });
});

describe("a release change keeps what was changed here", () => {
  function release(files: Record<string, string>): string {
    const dir = tmp("release-");
    for (const [rel, body] of Object.entries(files)) write(dir, rel, body);
    return dir;
  }
  const unpack = (tree: string, rel: string) =>
    execFileSync("sh", [path.join(tree, "..", "unpack.sh"), rel], { cwd: tree, encoding: "utf8" });
  function newTree(): string {
    const root = tmp("tree-");
    writeFileSync(path.join(root, "unpack.sh"), unpackScript());
    mkdirSync(path.join(root, "tree"));
    return path.join(root, "tree");
  }

  const r1 = {
    "data/conf/rspamd/custom/bad_asn.map": "# upstream default\n",
    "data/conf/dovecot/global_sieve_before": "# empty\n",
    "data/conf/unbound/unbound.conf": "server:\n",
    "data/web/index.php": "v1\n",
    "data/conf/postfix/main.cf": "v1\n",
  };

  it("keeps a file the UI edited, replaces untouched ones, and keeps files only the tree has", () => {
    const tree = newTree();
    unpack(tree, release(r1));
    write(tree, "data/conf/rspamd/custom/bad_asn.map", "AS64496\n"); // the UI's edit
    write(tree, "data/conf/rspamd/custom/local_only.map", "mine\n");
    const log = unpack(tree, release({ ...r1, "data/web/index.php": "v2\n" }));
    expect(read(tree, "data/conf/rspamd/custom/bad_asn.map")).toBe("AS64496\n");
    expect(read(tree, "data/conf/rspamd/custom/local_only.map")).toBe("mine\n");
    expect(read(tree, "data/web/index.php")).toBe("v2\n");
    expect(log).toContain("kept the local data/conf/rspamd/custom/bad_asn.map");
  });

  it("keeps an edit across a second release change, and warns when upstream changed that file too", () => {
    const tree = newTree();
    unpack(tree, release(r1));
    write(tree, "data/conf/dovecot/global_sieve_before", 'require "fileinto";\n');
    unpack(tree, release({ ...r1, "data/web/index.php": "v2\n" }));
    const log = unpack(tree, release({ ...r1, "data/conf/dovecot/global_sieve_before": "# new upstream\n" }));
    expect(read(tree, "data/conf/dovecot/global_sieve_before")).toBe('require "fileinto";\n');
    expect(log).toMatch(
      /WARNING: kept the local data\/conf\/dovecot\/global_sieve_before, but the new release changed it too/,
    );
  });

  it("replaces the files the overrides rewrite at every start, whatever they hold now", () => {
    const tree = newTree();
    unpack(tree, release(r1));
    write(tree, "data/conf/unbound/unbound.conf", "server:\n# BEGIN mail-zone\n# END mail-zone\n");
    unpack(tree, release({ ...r1, "data/conf/unbound/unbound.conf": "server:\n  verbosity: 1\n" }));
    expect(read(tree, "data/conf/unbound/unbound.conf")).toBe("server:\n  verbosity: 1\n");
  });

  it("keeps the UI's files of a tree unpacked before the manifest existed", () => {
    const tree = newTree();
    for (const [rel, body] of Object.entries(r1)) write(tree, rel, body);
    write(tree, "data/conf/rspamd/custom/bad_asn.map", "AS64496\n");
    write(tree, "data/conf/postfix/main.cf", "edited without a manifest\n");
    unpack(tree, release({ ...r1, "data/conf/postfix/main.cf": "v2\n" }));
    expect(read(tree, "data/conf/rspamd/custom/bad_asn.map")).toBe("AS64496\n");
    expect(read(tree, "data/conf/postfix/main.cf")).toBe("v2\n");
  });
});

describe("the init step's scripts", () => {
  it.each([
    ["init.sh", initScript()],
    ["unpack-release.sh", unpackScript()],
  ])("parse %s as POSIX sh", (_name, script) => {
    expect(() => execFileSync("sh", ["-n"], { input: script })).not.toThrow();
  });
});
