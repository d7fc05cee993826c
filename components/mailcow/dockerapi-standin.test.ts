import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  containerId,
  createHandler,
  decodeFrames,
  dueJobs,
  encodeFrame,
  kubeExec,
  statesFromPod,
  syncCertificate,
} from "./dockerapi-standin";

const config = {
  project: "mailcowdockerized",
  containers: {
    "mysql-mailcow": "mysql",
    "sogo-mailcow": "sogo",
    "postfix-mailcow": "postfix",
    "dovecot-mailcow": "dovecot",
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

  it("answers success for a task it cannot perform, and danger for an unknown container", async () => {
    const res = await post(`/containers/${containerId("dovecot-mailcow")}/exec`, {
      cmd: "doveadm",
      task: "get_acl",
      id: "x",
    });
    expect(await res.json()).toMatchObject({ type: "success" });
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
