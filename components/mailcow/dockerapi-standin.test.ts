import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminPasswordSync,
  adminResetSql,
  configFromEnv,
  containerId,
  createHandler,
  decodeFrames,
  dueJobs,
  encodeFrame,
  ensureAdminPassword,
  kubeExec,
  ssha256,
  statesFromPod,
  syncCertificate,
  verifySsha256,
} from "./dockerapi-standin";

const config = {
  project: "mailcowdockerized",
  containers: {
    "mysql-mailcow": "mysql",
    "sogo-mailcow": "sogo",
    "postfix-mailcow": "postfix",
    "dovecot-mailcow": "dovecot",
    "rspamd-mailcow": "rspamd",
  },
};

/** A stand-in for the Kubernetes API: pods/exec over WebSocket, answering from a script table. */
interface ExecCall {
  container: string;
  command: string[];
  auth: string | undefined;
}
const execCalls: ExecCall[] = [];
let answer: (call: ExecCall) => { stdout: string; status: Record<string, unknown> } = () => ({
  stdout: "",
  status: { status: "Success" },
});

function frame(channel: number, text: string): Buffer {
  return encodeFrame(0x2, Buffer.concat([Buffer.from([channel]), Buffer.from(text)]), false);
}

const kubeApi = http.createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(
    JSON.stringify({
      status: {
        containerStatuses: [
          { name: "mysql", state: { running: { startedAt: "2026-08-01T00:00:00Z" } } },
          { name: "sogo", state: { waiting: { reason: "CrashLoopBackOff" } } },
        ],
      },
    }),
  );
});
kubeApi.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
  const url = new URL(req.url ?? "", "http://kube");
  const call = {
    container: url.searchParams.get("container") ?? "",
    command: url.searchParams.getAll("command"),
    auth: req.headers.authorization,
  };
  execCalls.push(call);
  const accept = createHash("sha1")
    .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n`,
  );
  const a = answer(call);
  socket.write(frame(1, a.stdout));
  socket.end(Buffer.concat([frame(3, JSON.stringify(a.status)), encodeFrame(0x8, Buffer.alloc(0), false)]));
});

let standin: http.Server;
let base = "";
const kube = { base: "", token: () => "test-token" };
const target = { namespace: "mail-zone", pod: "mailcow-abc" };

beforeAll(async () => {
  await new Promise<void>((r) => kubeApi.listen(0, "127.0.0.1", r));
  kube.base = `http://127.0.0.1:${(kubeApi.address() as AddressInfo).port}`;
  const handler = createHandler(config, {
    exec: (container, script) => kubeExec(kube, target, container, script, 5_000),
    podStates: async () => statesFromPod(await (await fetch(`${kube.base}/pod`)).json(), config),
  });
  standin = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => standin.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(standin.address() as AddressInfo).port}`;
});
afterAll(() => {
  standin.close();
  kubeApi.close();
});

async function post(p: string, body: unknown): Promise<Response> {
  return fetch(`${base}${p}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" },
  });
}

describe("dockerapi stand-in", () => {
  it("lists a mysql-mailcow container with compose labels, the way php-fpm's entrypoint looks for it", async () => {
    const list = (await (await fetch(`${base}/containers/json`)).json()) as Record<
      string,
      { Id: string; State: { Running: boolean }; Config: { Labels: Record<string, string> } }
    >;
    const mysql = Object.values(list).find(
      (c) =>
        c.Config.Labels["com.docker.compose.service"] === "mysql-mailcow" &&
        c.Config.Labels["com.docker.compose.project"] === "mailcowdockerized",
    );
    expect(mysql?.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(mysql?.State.Running).toBe(true);
    expect(list[containerId("sogo-mailcow")].State.Running).toBe(false);
  });

  it("runs mysql_upgrade in the mysql container with the container's own root password", async () => {
    execCalls.length = 0;
    answer = () => ({
      stdout: "This installation of MariaDB is already upgraded to 10.11.14",
      status: { status: "Success" },
    });
    const res = await post(`/containers/${containerId("mysql-mailcow")}/exec`, {
      cmd: "system",
      task: "mysql_upgrade",
    });
    expect(await res.json()).toMatchObject({ type: "success", msg: "mysql_upgrade: already upgraded" });
    expect(execCalls).toHaveLength(1);
    expect(execCalls[0].container).toBe("mysql");
    expect(execCalls[0].command.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(execCalls[0].command[2]).toContain('-p"$MYSQL_ROOT_PASSWORD"');
    expect(execCalls[0].auth).toBe("Bearer test-token");
  });

  it("restarts the container after mysql_upgrade applied an upgrade, as dockerapi does", async () => {
    execCalls.length = 0;
    answer = () => ({ stdout: "Phase 1/7: Checking and upgrading mysql database", status: { status: "Success" } });
    const res = await post(`/containers/${containerId("mysql-mailcow")}/exec`, {
      cmd: "system",
      task: "mysql_upgrade",
    });
    expect(((await res.json()) as { type: string }).type).toBe("warning");
    expect(execCalls.map((c) => [c.container, c.command[2]])).toEqual([
      ["mysql", expect.stringContaining("mysql_upgrade")],
      ["mysql", "kill -TERM 1"],
    ]);
  });

  it("restarts SOGo through the Kubernetes API when the web code asks", async () => {
    execCalls.length = 0;
    answer = () => ({ stdout: "", status: { status: "Success" } });
    const res = await post(`/containers/${containerId("sogo-mailcow")}/restart`, {});
    expect(await res.json()).toEqual({ type: "success", msg: "command completed successfully" });
    expect(execCalls).toEqual([
      { container: "sogo", command: ["/bin/sh", "-c", "kill -TERM 1"], auth: "Bearer test-token" },
    ]);
  });

  it("reports a failed command the way dockerapi does", async () => {
    answer = () => ({
      stdout: "postfix/postfix-script: fatal: the Postfix mail system is not running",
      status: { status: "Failure", details: { causes: [{ reason: "ExitCode", message: "1" }] } },
    });
    const res = await post(`/containers/${containerId("postfix-mailcow")}/exec`, { cmd: "reload", task: "postfix" });
    const body = (await res.json()) as { type: string; msg: string };
    expect(body.type).toBe("danger");
    expect(body.msg).toContain("not running");
  });

  it("returns mailq output as text", async () => {
    answer = () => ({ stdout: '{"queue_id":"ABC"}\n', status: { status: "Success" } });
    const res = await post(`/containers/${containerId("postfix-mailcow")}/exec`, { cmd: "mailq", task: "list" });
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toBe('{"queue_id":"ABC"}');
  });

  it("answers danger, never success, for a task it does not know or cannot perform, and for an unknown container", async () => {
    execCalls.length = 0;
    const res = await post(`/containers/${containerId("dovecot-mailcow")}/exec`, { cmd: "system", task: "reboot" });
    expect(await res.json()).toMatchObject({ type: "danger" });
    const noParams = await post(`/containers/${containerId("dovecot-mailcow")}/exec`, { cmd: "maildir", task: "move" });
    expect(await noParams.json()).toMatchObject({ type: "danger" });
    for (const action of ["start", "stop"]) {
      const r = await post(`/containers/${containerId("sogo-mailcow")}/${action}`, {});
      expect(await r.json(), action).toMatchObject({ type: "danger", msg: expect.stringContaining("use restart") });
    }
    expect(execCalls).toEqual([]);
    const bad = await post(`/containers/${"0".repeat(64)}/restart`, {});
    expect(await bad.json()).toMatchObject({ type: "danger" });
    const missing = await post(`/containers/${containerId("dovecot-mailcow")}/exec`, { task: "x" });
    expect(await missing.json()).toEqual({ type: "danger", msg: "cmd is missing" });
  });

  it("answers its health endpoint", async () => {
    expect(await (await fetch(`${base}/healthz`)).text()).toBe("ok");
  });
});

describe("dockerapi stand-in helpers", () => {
  it("decodes frames split across reads", () => {
    const whole = Buffer.concat([frame(1, "hello"), frame(3, "{}")]);
    const first = decodeFrames(whole.subarray(0, 4));
    expect(first.frames).toHaveLength(0);
    const all = decodeFrames(whole);
    expect(all.frames.map((f) => f.payload.subarray(1).toString())).toEqual(["hello", "{}"]);
    expect(all.rest.length).toBe(0);
  });

  it("runs ofelia's jobs on ofelia's schedule", () => {
    const jobs = [
      { name: "every-minute", container: "dovecot", command: "true", everyMinutes: 1 },
      { name: "every-30", container: "dovecot", command: "true", everyMinutes: 30 },
      { name: "daily", container: "sogo", command: "true", everyMinutes: 1440 },
    ];
    expect(dueJobs(jobs, new Date(2026, 0, 1, 10, 7)).map((j) => j.name)).toEqual(["every-minute"]);
    expect(dueJobs(jobs, new Date(2026, 0, 1, 10, 30)).map((j) => j.name)).toEqual(["every-minute", "every-30"]);
    expect(dueJobs(jobs, new Date(2026, 0, 1, 0, 0)).map((j) => j.name)).toEqual(["every-minute", "every-30", "daily"]);
  });

  it("copies a renewed certificate to /etc/ssl/mail once, and reports when it changed", () => {
    const tls = mkdtempSync(path.join(tmpdir(), "tls-"));
    const ssl = mkdtempSync(path.join(tmpdir(), "ssl-"));
    writeFileSync(path.join(tls, "tls.crt"), "CERT-1");
    writeFileSync(path.join(tls, "tls.key"), "KEY-1");
    expect(syncCertificate(tls, ssl)).toBe(true);
    expect(readFileSync(path.join(ssl, "cert.pem"), "utf8")).toBe("CERT-1");
    expect(readFileSync(path.join(ssl, "key.pem"), "utf8")).toBe("KEY-1");
    expect(syncCertificate(tls, ssl)).toBe(false);
    writeFileSync(path.join(tls, "tls.crt"), "CERT-2");
    expect(syncCertificate(tls, ssl)).toBe(true);
    expect(readFileSync(path.join(ssl, "cert.pem"), "utf8")).toBe("CERT-2");
  });
});

describe("kubeExec", () => {
  it("gives up on an exec whose WebSocket opened but never finished, and closes that socket", async () => {
    let serverSide: Duplex | undefined;
    const silent = http.createServer();
    silent.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
      serverSide = socket;
      const accept = createHash("sha1")
        .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest("base64");
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n`,
      );
      // …and then says nothing more, like an exec stuck in its container.
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const stuck = { base: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, token: () => "" };
      await expect(kubeExec(stuck, target, "postfix", "sleep infinity", 100)).rejects.toThrow(
        "exec in postfix timed out",
      );
      // The stand-in hung up: the API's side of the socket reads its end.
      const ended = new Promise<void>((r) => serverSide?.once("end", () => r()));
      serverSide?.resume();
      await ended;
    } finally {
      silent.close();
    }
  });
});

describe("the modules shipped in ConfigMaps", () => {
  it("parse as plain CommonJS under node, as the node image runs them", async () => {
    const { execFileSync } = await import("node:child_process");
    for (const file of ["dockerapi-standin.js", "fetch-release.js"]) {
      expect(() => execFileSync(process.execPath, ["--check", path.join(__dirname, file)])).not.toThrow();
    }
  });
});

/** Runs one exec task through the HTTP contract against the exec double; returns the calls and the answer. */
async function task(service: string, body: Record<string, unknown>, reply?: (c: ExecCall) => string) {
  execCalls.length = 0;
  answer = (c) => ({ stdout: reply ? reply(c) : "", status: { status: "Success" } });
  const res = await post(`/containers/${containerId(service)}/exec`, body);
  const text = await res.text();
  return {
    calls: execCalls.map((c) => ({ container: c.container, script: c.command[2] })),
    type: res.headers.get("content-type") ?? "",
    text,
  };
}

/** sh single-quoting of one word, written out as the expectation (not with the code under test). */
const q = (w: string) => `'\\''${w}'\\''`;

describe("dockerapi stand-in tasks, performed as dockerapi performs them", () => {
  it("renames a mailbox's maildir and index as vmail (maildir/move)", async () => {
    const r = await task("dovecot-mailcow", {
      cmd: "maildir",
      task: "move",
      old_maildir: "example.com/old",
      new_maildir: "example.com/new",
    });
    expect(r.calls).toEqual([
      {
        container: "dovecot",
        script:
          `su -s /bin/sh vmail -c 'if [ -d ${q("/var/vmail/example.com/old")} ]; then mv ${q("/var/vmail/example.com/old")} ${q("/var/vmail/example.com/new")}; fi && ` +
          `if [ -d ${q("/var/vmail_index/old@example.com")} ]; then mv ${q("/var/vmail_index/old@example.com")} ${q("/var/vmail_index/new@example.com_index")}; fi'`,
      },
    ]);
    expect(JSON.parse(r.text)).toEqual({ type: "success", msg: "command completed successfully" });
  });

  it("moves a deleted mailbox, and a deleted domain, to the garbage folder (maildir/cleanup)", async () => {
    const mailbox = await task("dovecot-mailcow", { cmd: "maildir", task: "cleanup", maildir: "example.com/alice" });
    expect(mailbox.calls).toHaveLength(1);
    expect(mailbox.calls[0].container).toBe("dovecot");
    expect(mailbox.calls[0].script).toMatch(/^su -s \/bin\/sh vmail -c /);
    expect(mailbox.calls[0].script).toMatch(
      /mv '\\''\/var\/vmail\/example\.com\/alice'\\'' '\\''\/var\/vmail\/_garbage\/[0-9]+_examplecomalice'\\''/,
    );
    expect(mailbox.calls[0].script).toContain("/var/vmail_index/alice@example.com");
    expect(JSON.parse(mailbox.text).type).toBe("success");
    const domain = await task("dovecot-mailcow", { cmd: "maildir", task: "cleanup", maildir: "example.com" });
    expect(domain.calls[0].script).toMatch(/_garbage\/[0-9]+_examplecom'\\''; fi'$/);
    expect(domain.calls[0].script).not.toContain("vmail_index");
  });

  it("answers get_acl with the list of the user's and shared folders' ACLs", async () => {
    const r = await task("dovecot-mailcow", { cmd: "doveadm", task: "get_acl", id: "bob@example.com" }, (c) => {
      const script = c.command[2];
      if (script.startsWith("doveadm mailbox list")) return "INBOX\nProjects\nShared/alice@example.com/Team\n";
      if (script.includes("'Projects'"))
        return "ID                    Global Rights\nuser=carol@example.com lookup read\n";
      if (script.includes("-u 'alice@example.com' 'Team'"))
        return "ID Global Rights\nuser=bob@example.com lookup read write\nuser=dave@example.com lookup\n";
      return "ID Global Rights\n";
    });
    expect(r.calls.map((c) => c.script)).toEqual([
      "doveadm mailbox list -u 'bob@example.com'",
      "doveadm acl get -u 'bob@example.com' 'INBOX'",
      "doveadm acl get -u 'bob@example.com' 'Projects'",
      "doveadm acl get -u 'alice@example.com' 'Team'",
    ]);
    expect(JSON.parse(r.text)).toEqual([
      { user: "bob@example.com", id: "carol@example.com", mailbox: "Projects", rights: ["lookup", "read"] },
      { user: "alice@example.com", id: "bob@example.com", mailbox: "Team", rights: ["lookup", "read", "write"] },
    ]);
  });

  it("sets and deletes ACLs, passing on only Dovecot's rights", async () => {
    const set = await task("dovecot-mailcow", {
      cmd: "doveadm",
      task: "set_acl",
      user: "alice@example.com",
      mailbox: "Team",
      id: "bob@example.com",
      rights: ["READ", "lookup", "rm -rf /"],
    });
    expect(set.calls).toEqual([
      {
        container: "dovecot",
        script: "doveadm acl set -u 'alice@example.com' 'Team' 'user=bob@example.com' read lookup",
      },
    ]);
    const del = await task("dovecot-mailcow", {
      cmd: "doveadm",
      task: "delete_acl",
      user: "alice@example.com",
      mailbox: "Team",
      id: "bob@example.com",
    });
    expect(del.calls).toEqual([
      { container: "dovecot", script: "doveadm acl delete -u 'alice@example.com' 'Team' 'user=bob@example.com'" },
    ]);
    expect(JSON.parse(del.text).type).toBe("success");
  });

  it("renames a SOGo user with sogo-tool as sogo", async () => {
    const r = await task("sogo-mailcow", {
      cmd: "sogo",
      task: "rename_user",
      old_username: "old@example.com",
      new_username: "new@example.com",
    });
    expect(r.calls).toEqual([
      {
        container: "sogo",
        script: `su -s /bin/sh sogo -c 'sogo-tool rename-user ${q("old@example.com")} ${q("new@example.com")}'`,
      },
    ]);
  });

  it("sets the Rspamd UI password: hashes it, writes the include, checks it and restarts rspamd", async () => {
    const hash = "$2$abcdefghijklmnop$qrstuvwxyz0123456789";
    const r = await task("rspamd-mailcow", { cmd: "rspamd", task: "worker_password", raw: "s3cret" }, (c) => {
      const script = c.command[2];
      if (script.includes("rspamadm pw")) return `${hash}\n`;
      if (script.includes("worker-controller-password.inc")) return `enable_password = "${hash}";\n`;
      return "";
    });
    expect(r.calls.map((c) => c.container)).toEqual(["rspamd", "rspamd", "rspamd"]);
    expect(r.calls[0].script).toMatch(/^su -s \/bin\/sh _rspamd -c 'rspamadm pw -e -p /);
    expect(r.calls[1].script).toContain("> /etc/rspamd/override.d/worker-controller-password.inc");
    expect(r.calls[1].script).toContain(hash);
    expect(r.calls[2].script).toBe("kill -TERM 1");
    expect(JSON.parse(r.text)).toEqual({ type: "success", msg: "command completed successfully" });
  });

  it("answers danger when rspamadm gives no hash, and restarts nothing", async () => {
    const r = await task("rspamd-mailcow", { cmd: "rspamd", task: "worker_password", raw: "x" }, () => "error\n");
    expect(JSON.parse(r.text)).toEqual({ type: "danger", msg: "command did not complete" });
    expect(r.calls).toHaveLength(1);
  });

  it("deletes, holds and releases queued mail by hex queue id only", async () => {
    for (const [t, flag] of [
      ["delete", "-d"],
      ["hold", "-h"],
      ["unhold", "-H"],
    ]) {
      const r = await task("postfix-mailcow", { cmd: "mailq", task: t, items: ["4Xy1", "ABC123", "$(reboot)"] });
      expect(r.calls, t).toEqual([{ container: "postfix", script: `postsuper ${flag} ABC123` }]);
    }
  });

  it("shows a queued message as text and schedules delivery of each one", async () => {
    const cat = await task(
      "postfix-mailcow",
      { cmd: "mailq", task: "cat", items: ["ABC123"] },
      () => "*** ENVELOPE ***\n",
    );
    expect(cat.calls).toEqual([{ container: "postfix", script: "su -s /bin/sh postfix -c 'postcat -q ABC123'" }]);
    expect(cat.type).toContain("text/plain");
    expect(cat.text).toBe("*** ENVELOPE ***\n");
    const deliver = await task("postfix-mailcow", { cmd: "mailq", task: "deliver", items: ["ABC", "DEF"] });
    expect(deliver.calls.map((c) => c.script)).toEqual([
      "su -s /bin/sh postfix -c 'postqueue -i ABC'",
      "su -s /bin/sh postfix -c 'postqueue -i DEF'",
    ]);
    expect(JSON.parse(deliver.text)).toEqual({ type: "success", msg: "Scheduled immediate delivery" });
  });

  it("rescans the full-text index of one user or of all", async () => {
    const one = await task("dovecot-mailcow", { cmd: "system", task: "fts_rescan", username: "a@example.com" });
    expect(one.calls[0].script).toBe(`su -s /bin/sh vmail -c 'doveadm fts rescan -u ${q("a@example.com")}'`);
    expect(JSON.parse(one.text)).toEqual({ type: "success", msg: "fts_rescan: rescan triggered" });
    const all = await task("dovecot-mailcow", { cmd: "system", task: "fts_rescan", all: true });
    expect(all.calls[0].script).toBe("su -s /bin/sh vmail -c 'doveadm fts rescan -A'");
  });

  it("answers system/df as a JSON string, which the dashboard json_decodes", async () => {
    const r = await task(
      "dovecot-mailcow",
      { cmd: "system", task: "df", dir: "/var/vmail" },
      () => "/dev/sda1,53G,12G,39G,24%,/var/vmail\n",
    );
    expect(r.type).toContain("application/json");
    expect(JSON.parse(r.text)).toBe("/dev/sda1,53G,12G,39G,24%,/var/vmail");
    expect(r.calls[0].script).toMatch(/^su -s \/bin\/sh nobody -c 'df -H /);
  });
});

describe("Mailcow's admin password", () => {
  it("is hashed in the SSHA256 format Mailcow verifies (checked with Python's hashlib)", async () => {
    const { execFileSync } = await import("node:child_process");
    const hash = ssha256("correct horse");
    expect(hash).toMatch(/^\{SSHA256\}[A-Za-z0-9+/]+=*$/);
    const py = [
      "import base64, hashlib, sys",
      "raw = base64.b64decode(sys.argv[1][len('{SSHA256}'):])",
      "print(hashlib.sha256(sys.argv[2].encode() + raw[32:]).digest() == raw[:32])",
    ].join("\n");
    expect(execFileSync("python3", ["-c", py, hash, "correct horse"], { encoding: "utf8" }).trim()).toBe("True");
    expect(execFileSync("python3", ["-c", py, hash, "wrong"], { encoding: "utf8" }).trim()).toBe("False");
    expect(verifySsha256("correct horse", hash)).toBe(true);
    expect(verifySsha256("wrong", hash)).toBe(false);
  });

  it("is set as the reset helper does when the stored hash does not verify (the seeded moohoo)", async () => {
    const scripts: string[] = [];
    const outcome = await ensureAdminPassword(async (script) => {
      scripts.push(script);
      // init_db's seed is a BLF-CRYPT hash of moohoo.
      return { output: scripts.length === 1 ? "{BLF-CRYPT}$2y$10$seeded\n" : "", exitCode: 0 };
    }, "N3wGeneratedPassword");
    expect(outcome).toBe("set");
    expect(scripts).toHaveLength(2);
    // The SQL reaches mysql single-quoted for sh: each ' of the SQL is written '\''.
    expect(scripts[0]).toContain("SELECT password FROM admin WHERE username='\\''admin'\\'';");
    const sql = scripts[1];
    const order = [
      "DELETE FROM admin WHERE username='admin';",
      "DELETE FROM domain_admins WHERE username='admin';",
      "INSERT INTO admin (username, password, superadmin, active) VALUES ('admin', '{SSHA256}",
      "DELETE FROM tfa WHERE username='admin';",
    ].map((part) => sql.indexOf(part.replaceAll("'", "'\\''")));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(sql).not.toContain("N3wGeneratedPassword");
    for (const s of scripts) expect(s).toMatch(/^mysql -u"\$MYSQL_USER" -p"\$MYSQL_PASSWORD" "\$MYSQL_DATABASE"/);
  });

  it("is left alone (TFA included) when the stored hash already verifies", async () => {
    const stored = ssha256("Same");
    const scripts: string[] = [];
    const outcome = await ensureAdminPassword(async (script) => {
      scripts.push(script);
      return { output: `${stored}\n`, exitCode: 0 };
    }, "Same");
    expect(outcome).toBe("unchanged");
    expect(scripts).toHaveLength(1);
  });

  it("fails, to be retried, while Mailcow's schema is not there yet", async () => {
    await expect(
      ensureAdminPassword(
        async () => ({ output: "ERROR 1146: Table 'mailcow.admin' doesn't exist", exitCode: 1 }),
        "x",
      ),
    ).rejects.toThrow(/schema not ready/);
  });

  it("is applied at start and after each change of the Secret, and retried after a failure", async () => {
    let secret: string | undefined = "First";
    let stored = "{BLF-CRYPT}$2y$10$seeded";
    let schemaReady = false;
    const inserts: string[] = [];
    const exec = async (script: string) => {
      if (!schemaReady) return { output: "ERROR 1146", exitCode: 1 };
      if (script.includes("SELECT password")) return { output: `${stored}\n`, exitCode: 0 };
      const hash = /\{SSHA256\}[A-Za-z0-9+/=]+/.exec(script)?.[0] ?? "";
      inserts.push(hash);
      stored = hash;
      return { output: "", exitCode: 0 };
    };
    const lines: string[] = [];
    const sync = adminPasswordSync(
      () => secret,
      exec,
      (line) => lines.push(line),
    );
    await sync(); // the schema is not there yet: nothing set, retried next minute
    expect(inserts).toEqual([]);
    schemaReady = true;
    await sync();
    expect(inserts).toHaveLength(1);
    expect(verifySsha256("First", stored)).toBe(true);
    await sync(); // the Secret did not change: nothing is set again
    expect(inserts).toHaveLength(1);
    secret = "Rotated";
    await sync();
    expect(inserts).toHaveLength(2);
    expect(verifySsha256("Rotated", stored)).toBe(true);
    secret = undefined; // the file is missing for a moment (the kubelet swaps the Secret's files)
    await sync();
    expect(inserts).toHaveLength(2);
    expect(lines.join("\n")).not.toMatch(/First|Rotated/);
  });

  it("puts only base64 characters between the SQL quotes of the hash", () => {
    const sql = adminResetSql(ssha256("it's"));
    expect(sql).toMatch(/VALUES \('admin', '\{SSHA256\}[A-Za-z0-9+/=]+', 1, 1\);/);
  });
});

describe("the remaining dockerapi tasks, each against the exec double", () => {
  const cases: [string, string, Record<string, unknown>, string, string][] = [
    [
      "system/mysql_tzinfo_to_sql",
      "mysql-mailcow",
      {},
      "mysql",
      "mysql_tzinfo_to_sql /usr/share/zoneinfo | sed 's/Local time zone must be set--see zic manual page/FCTY/' | mysql -uroot -p\"$MYSQL_ROOT_PASSWORD\" mysql",
    ],
    ["reload/postfix", "postfix-mailcow", {}, "postfix", "postfix reload"],
    ["reload/dovecot", "dovecot-mailcow", {}, "dovecot", "dovecot reload"],
    ["mailq/list", "postfix-mailcow", {}, "postfix", "su -s /bin/sh postfix -c 'postqueue -j'"],
    ["mailq/flush", "postfix-mailcow", {}, "postfix", "su -s /bin/sh postfix -c 'postqueue -f'"],
    ["mailq/super_delete", "postfix-mailcow", {}, "postfix", "postsuper -d ALL"],
    [
      "sieve/list",
      "dovecot-mailcow",
      { username: "a@example.com" },
      "dovecot",
      "doveadm sieve list -u 'a@example.com'",
    ],
    [
      "sieve/print",
      "dovecot-mailcow",
      { username: "a@example.com", script_name: "vacation" },
      "dovecot",
      "doveadm sieve get -u 'a@example.com' 'vacation'",
    ],
  ];
  it.each(cases)("performs %s in the container dockerapi targets", async (name, service, extra, container, script) => {
    const [cmd, taskName] = name.split("/");
    const r = await task(service, { cmd, task: taskName, ...extra });
    expect(r.calls).toEqual([{ container, script }]);
  });
});

describe("the stand-in's listen address", () => {
  it("is loopback unless told otherwise, so nothing reaching the pod IP can drive it", () => {
    expect(configFromEnv({}).host).toBe("127.0.0.1");
    expect(configFromEnv({ LISTEN_HOST: "127.0.0.1", ADMIN_PASSWORD_FILE: "/admin/ADMIN_PASSWORD" })).toMatchObject({
      host: "127.0.0.1",
      adminPasswordFile: "/admin/ADMIN_PASSWORD",
    });
  });
});
