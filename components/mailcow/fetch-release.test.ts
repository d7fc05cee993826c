import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveTreeId, main } from "./fetch-release";

const work = mkdtempSync(path.join(tmpdir(), "fetch-release-"));
const git = (...args: string[]) =>
  execFileSync("git", ["-C", path.join(work, "repo"), ...args], {
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
    },
  }).trim();

/**
 * A small release built with the real git: nested directories, an executable, a symlink, an empty file, a long
 * path (pax header) and names whose order differs between plain byte order and git's (`conf.d` vs `conf/`).
 */
function buildRelease(): { archive: string; tamperedArchive: string; dataTree: string; commit: string } {
  const repo = path.join(work, "repo");
  const file = (rel: string, body: string, mode?: number) => {
    mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    writeFileSync(path.join(repo, rel), body);
    if (mode) chmodSync(path.join(repo, rel), mode);
  };
  mkdirSync(repo, { recursive: true });
  execFileSync("git", ["init", "-q", repo]);
  file("docker-compose.yml", "services: {}\n");
  file("data/conf/postfix/main.cf", "mynetworks_style = subnet\n");
  file("data/conf.d/x", "beside conf/, sorted before it by git\n");
  file("data/conf/rspamd/custom/empty.map", "");
  file("data/Dockerfiles/dovecot/docker-entrypoint.sh", "#!/bin/sh\nexit 0\n", 0o755);
  file(`data/web/${"deep/".repeat(30)}file.php`, "<?php\n");
  symlinkSync("conf/postfix/main.cf", path.join(repo, "data/main.cf"));
  git("add", "-A");
  git("commit", "-q", "-m", "release");
  const commit = git("rev-parse", "HEAD");
  const dataTree = git("rev-parse", "HEAD:data");
  const archive = path.join(work, "release.tar.gz");
  execFileSync("sh", [
    "-c",
    `git -C '${repo}' archive --format=tar.gz --prefix=mailcow-dockerized-${commit}/ HEAD > '${archive}'`,
  ]);
  // The same tree with one byte changed in one file: another tree id.
  file("data/conf/postfix/main.cf", "mynetworks_style = host\n");
  git("commit", "-qam", "tampered");
  const tamperedArchive = path.join(work, "tampered.tar.gz");
  execFileSync("sh", [
    "-c",
    `git -C '${repo}' archive --format=tar.gz --prefix=mailcow-dockerized-${commit}/ HEAD > '${tamperedArchive}'`,
  ]);
  return { archive, tamperedArchive, dataTree, commit };
}

let release: ReturnType<typeof buildRelease>;
let server: https.Server;
let base = "";
let cert = "";

beforeAll(async () => {
  release = buildRelease();
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      path.join(work, "key.pem"),
      "-out",
      path.join(work, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  cert = readFileSync(path.join(work, "cert.pem"), "utf8");
  server = https.createServer({ cert, key: readFileSync(path.join(work, "key.pem")) }, (req, res) => {
    if (req.url === "/archive/good.tar.gz") {
      res.writeHead(302, { Location: "/codeload/good" });
      return res.end();
    }
    if (req.url === "/archive/downgrade.tar.gz") {
      res.writeHead(302, { Location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/codeload/good` });
      return res.end();
    }
    if (req.url === "/codeload/good") return res.end(readFileSync(release.archive));
    if (req.url === "/codeload/tampered") return res.end(readFileSync(release.tamperedArchive));
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server?.close());

const target = () => path.join(mkdtempSync(path.join(work, "dl-")), "release.tar.gz");

describe("the release's data/ tree id", () => {
  it("is computed from the archive exactly as git computes it", async () => {
    const tree = await archiveTreeId(release.archive, "data");
    expect(tree.treeId).toBe(release.dataTree);
    expect(tree).toMatchObject({ files: 6, regular: 4, executable: 1, links: 1 });
  });

  it("changes when one byte of one file changes", async () => {
    expect((await archiveTreeId(release.tamperedArchive, "data")).treeId).not.toBe(release.dataTree);
  });
});

describe("fetch-release", () => {
  it("follows an https redirect, writes the archive and accepts the pinned tree", async () => {
    const file = target();
    const got = await main(
      { RELEASE_URL: `${base}/archive/good.tar.gz`, RELEASE_FILE: file, RELEASE_DATA_TREE: release.dataTree },
      { ca: cert },
    );
    expect(got.treeId).toBe(release.dataTree);
    expect(got.sha256).toBe(createHash("sha256").update(readFileSync(release.archive)).digest("hex"));
    expect(readFileSync(file)).toEqual(readFileSync(release.archive));
  });

  it("refuses and removes an archive whose data/ tree is not the pinned one", async () => {
    const file = target();
    await expect(
      main(
        { RELEASE_URL: `${base}/codeload/tampered`, RELEASE_FILE: file, RELEASE_DATA_TREE: release.dataTree },
        { ca: cert },
      ),
    ).rejects.toThrow(/data\/ tree mismatch/);
    expect(existsSync(file)).toBe(false);
  });

  it("refuses a release without a pinned tree id", async () => {
    await expect(main({ RELEASE_URL: `${base}/codeload/good`, RELEASE_FILE: target() }, { ca: cert })).rejects.toThrow(
      /RELEASE_DATA_TREE/,
    );
  });

  it("refuses a plain-http URL and a redirect from https to http", async () => {
    await expect(
      main({ RELEASE_URL: "http://127.0.0.1:1/x.tar.gz", RELEASE_FILE: target(), RELEASE_DATA_TREE: release.dataTree }),
    ).rejects.toThrow(/only https/);
    await expect(
      main(
        {
          RELEASE_URL: `${base}/archive/downgrade.tar.gz`,
          RELEASE_FILE: target(),
          RELEASE_DATA_TREE: release.dataTree,
        },
        { ca: cert },
      ),
    ).rejects.toThrow(/refusing a redirect to http:/);
  });

  it("refuses an archive whose sha256 differs from a pinned one", async () => {
    await expect(
      main(
        {
          RELEASE_URL: `${base}/codeload/good`,
          RELEASE_FILE: target(),
          RELEASE_DATA_TREE: release.dataTree,
          RELEASE_SHA256: "0".repeat(64),
        },
        { ca: cert },
      ),
    ).rejects.toThrow(/sha256 mismatch/);
  });

  it("fails on an HTTP error", async () => {
    await expect(
      main(
        { RELEASE_URL: `${base}/missing`, RELEASE_FILE: target(), RELEASE_DATA_TREE: release.dataTree },
        { ca: cert },
      ),
    ).rejects.toThrow(/HTTP 404/);
  });
});
