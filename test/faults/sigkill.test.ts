/**
 * The controller as its own process, killed with SIGKILL in the middle of a run and started again. The doubles live
 * in this process and outlast it: the Kubernetes API double keeps the annotations (the desired state), the Mailcow
 * double keeps its domains, and the stacks live in a temp dir (`FileStackRunner`), where a killed run leaves its
 * lock behind as Pulumi's file backend does. The restarted controller must clear the stale lock, converge to the
 * last accepted request, leave Mailcow with exactly one domain for the site, and lose no accepted (202) request.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ControllerChild, spawnController } from "../support/child-process";
import { type Doubles, startDoubles, TEST_TOKENS } from "../support/controller-world";
import { FileStackRunner } from "../support/file-stack-runner";
import { waitUntil } from "../support/wait";

let doubles: Doubles;
let dir: string;
let stacks: FileStackRunner;
const children: ControllerChild[] = [];

beforeEach(async () => {
  doubles = await startDoubles();
  dir = mkdtempSync(path.join(tmpdir(), "mail-zone-sigkill-"));
  stacks = new FileStackRunner(dir);
});

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  await doubles.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a controller process; `runnerMs` is how long each stack run takes in it. */
async function startController(runnerMs: number): Promise<{ child: ControllerChild; url: string }> {
  const child = spawnController({
    CHILD_K8S_URL: doubles.k8s.url,
    CHILD_MAILCOW_URL: doubles.mailcow.url,
    CHILD_MAILCOW_KEY: doubles.mailcow.apiKey,
    CHILD_RUNNER: "file",
    CHILD_STACK_DIR: dir,
    CHILD_RUNNER_MS: String(runnerMs),
  });
  children.push(child);
  const listening = await child.next("listening", 60_000);
  await child.next("started", 30_000);
  return { child, url: `http://127.0.0.1:${listening.port}` };
}

function post(url: string, path: string, body: object = {}) {
  return request(url).post(path).set("Authorization", `Bearer ${TEST_TOKENS[0]}`).send(body);
}

const annotations = () => doubles.k8s.annotations("tenant-shop");
const status = () => annotations()["voxeil.io/mail-status"];

/** The run of process `pid` holds the stack: it is in the middle of `pulumi up`. */
function runInProgress(pid: number): boolean {
  return stacks.locked("shop") && stacks.journal().some((e) => e.pid === pid && e.op === "up-start");
}

function mailcowDomains(): string[] {
  return [...doubles.mailcow.state.domains.keys()];
}

describe("a controller killed with SIGKILL mid-run", () => {
  it("converges after a restart, clearing the stale lock, with exactly one Mailcow domain — even when killed twice", async () => {
    const first = await startController(60_000);
    const accepted = await post(first.url, "/sites/shop/mail/enable");
    expect(accepted.status).toBe(202);
    await waitUntil("the first run is in its stack step", () => runInProgress(first.child.pid), 20_000);
    await first.child.kill("SIGKILL");

    // What the crash left: a promise of work in the annotations and a stale lock on the stack.
    expect(status()).toBe("provisioning");
    expect(stacks.locked("shop")).toBe(true);
    expect(mailcowDomains()).toEqual(["shop.example"]);

    // Killed again during the restarted run.
    const second = await startController(60_000);
    await waitUntil("the restarted run is in its stack step", () => runInProgress(second.child.pid), 20_000);
    expect(stacks.journal().filter((e) => e.op === "clear-lock" && e.pid === second.child.pid)).toHaveLength(1);
    await second.child.kill("SIGKILL");
    expect(stacks.locked("shop")).toBe(true);

    const third = await startController(50);
    await waitUntil("the site is ready", () => status() === "ready", 20_000);
    expect(annotations()).toMatchObject({
      "voxeil.io/mail-enabled": "true",
      "voxeil.io/mail-domain": "shop.example",
      "voxeil.io/mail-last-error": "",
      "voxeil.io/owner": "u1",
    });
    expect(mailcowDomains()).toEqual(["shop.example"]);
    expect(doubles.mailcow.state.domains.get("shop.example")?.active).toBeTruthy();
    expect(doubles.mailcow.state.dkim.size).toBe(1);
    expect(stacks.enabled("shop")).toBe(true);
    expect(stacks.locked("shop")).toBe(false);
    const journal = stacks.journal();
    expect(journal.filter((e) => e.op === "clear-lock").map((e) => e.pid)).toEqual([second.child.pid, third.child.pid]);
    expect(journal.filter((e) => e.op === "up-locked")).toHaveLength(0);
    // The status the restarted controller serves agrees.
    const served = await request(third.url)
      .get("/sites/shop/mail/status")
      .set("Authorization", `Bearer ${TEST_TOKENS[1]}`);
    expect(served.body).toMatchObject({ status: "ready", enabled: true, lastError: "" });
  });

  it("loses no accepted request: calls accepted during the killed run decide the final state", async () => {
    const first = await startController(60_000);
    const calls = ["enable", "disable", "enable", "disable"];
    expect((await post(first.url, "/sites/shop/mail/enable")).status).toBe(202);
    await waitUntil("the first run is in its stack step", () => runInProgress(first.child.pid), 20_000);
    for (const call of calls.slice(1)) expect((await post(first.url, `/sites/shop/mail/${call}`)).status).toBe(202);
    await first.child.kill("SIGKILL");
    // The last accepted call is recorded durably before its 202.
    expect(annotations()["voxeil.io/mail-enabled"]).toBe("false");

    await startController(50);
    await waitUntil("the site is disabled", () => status() === "disabled", 20_000);
    expect(annotations()).toMatchObject({ "voxeil.io/mail-enabled": "false", "voxeil.io/mail-last-error": "" });
    expect(mailcowDomains()).toEqual(["shop.example"]);
    expect(doubles.mailcow.state.domains.get("shop.example")?.active).toBeFalsy();
    expect(stacks.enabled("shop")).toBe(false);
    expect(stacks.locked("shop")).toBe(false);
  });

  it("finishes an enable whose run was killed while it waited on Mailcow", async () => {
    // The DKIM read hangs: the request's ownership check and the domain's creation have answered.
    doubles.mailcow.faults.inject({ kind: "hang", route: "get/dkim", times: 1 });
    const first = await startController(60_000);
    expect((await post(first.url, "/sites/blog/mail/enable")).status).toBe(202);
    await waitUntil("the run waits on Mailcow", () => doubles.mailcow.count({ route: "get/dkim" }) > 0, 20_000);
    await first.child.kill("SIGKILL");
    expect(doubles.k8s.annotations("tenant-blog")["voxeil.io/mail-status"]).toBe("provisioning");

    await startController(50);
    await waitUntil(
      "the site is ready",
      () => doubles.k8s.annotations("tenant-blog")["voxeil.io/mail-status"] === "ready",
      20_000,
    );
    expect(mailcowDomains()).toEqual(["blog.example"]);
    expect(stacks.enabled("blog")).toBe(true);
  });
});
