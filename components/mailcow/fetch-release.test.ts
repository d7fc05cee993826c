import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "./fetch-release";

const BODY = Buffer.from("pretend this is mailcow-dockerized-2026-07a.tar.gz");
const server = http.createServer((req, res) => {
  if (req.url === "/archive/refs/tags/2026-07a.tar.gz") {
    res.writeHead(302, { Location: "/codeload/2026-07a" });
    return res.end();
  }
  if (req.url === "/codeload/2026-07a") return res.end(BODY);
  res.writeHead(404);
  res.end();
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe("fetch-release", () => {
  it("follows GitHub's redirect, writes the tarball and accepts the pinned sha256", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "rel-")), "release.tar.gz");
    const sha = createHash("sha256").update(BODY).digest("hex");
    await expect(
      main({ RELEASE_URL: `${base}/archive/refs/tags/2026-07a.tar.gz`, RELEASE_FILE: file, RELEASE_SHA256: sha }),
    ).resolves.toBe(sha);
    expect(readFileSync(file)).toEqual(BODY);
  });

  it("refuses a tarball whose sha256 differs from the pinned one", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "rel-")), "release.tar.gz");
    await expect(
      main({
        RELEASE_URL: `${base}/archive/refs/tags/2026-07a.tar.gz`,
        RELEASE_FILE: file,
        RELEASE_SHA256: "0".repeat(64),
      }),
    ).rejects.toThrow(/sha256 mismatch/);
  });

  it("fails on an HTTP error", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "rel-")), "release.tar.gz");
    await expect(main({ RELEASE_URL: `${base}/missing`, RELEASE_FILE: file })).rejects.toThrow(/HTTP 404/);
  });
});
