import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PATHS, RETENTION_SCRIPT, restoreFilesScript } from "./backup-plan";
import { parseBackupSettings } from "./backup-settings";

/**
 * A stand-in for rclone over a local directory: the verbs the scripts use (lsf, cat, size --json, purge, rcat,
 * copy, copyto), so the retention and restore logic runs for real under sh.
 */
const FAKE_RCLONE = `#!/bin/sh
verb="$1"; shift
case "$verb" in
  lsf)
    if [ "$1" = --dirs-only ]; then for d in "$2"/*/; do [ -d "$d" ] && basename "$d" | sed 's#$#/#'; done; exit 0; fi
    [ -e "$1" ] ;;
  cat) cat "$1" ;;
  size) printf '{"count":1,"bytes":%s}\\n' "$(find "$2" -type f -exec cat {} + | wc -c | tr -d ' ')" ;;
  purge) rm -rf "$1" ;;
  rcat) mkdir -p "$(dirname "$1")"; cat > "$1" ;;
  copy) mkdir -p "$2"; cp -R "$1"/. "$2"/ ;;
  copyto) mkdir -p "$(dirname "$2")"; cp "$1" "$2" ;;
  *) echo "fake rclone: $verb not supported" >&2; exit 2 ;;
esac
`;

function fakeBin(): string {
  const bin = mkdtempSync(path.join(tmpdir(), "fake-rclone-"));
  writeFileSync(path.join(bin, "rclone"), FAKE_RCLONE);
  chmodSync(path.join(bin, "rclone"), 0o755);
  return bin;
}

function makeSet(dest: string, name: string, bytes: number, complete = true): void {
  mkdirSync(path.join(dest, name), { recursive: true });
  writeFileSync(path.join(dest, name, "vmail.tar.gz"), "x".repeat(bytes));
  if (complete) writeFileSync(path.join(dest, name, "COMPLETE"), `${name}\n`);
}

function retention(dest: string, newSet: string, env: Record<string, string> = {}) {
  const r = spawnSync("sh", ["-c", `set -eu\n${RETENTION_SCRIPT}`], {
    encoding: "utf8",
    env: {
      PATH: `${fakeBin()}:${process.env.PATH}`,
      DEST: dest,
      SET: newSet,
      RETENTION_DAYS: "14",
      KEEP_LAST: "3",
      MAX_SHRINK_PERCENT: "50",
      ...env,
    },
  });
  expect(r.status, r.stderr).toBe(0);
  return { out: r.stdout, left: readdirSync(dest).sort() };
}

const NOW = "mailcow-2099-01-01-03-15-00"; // newer than any cutoff
const old = (day: number) => `mailcow-2020-01-${String(day).padStart(2, "0")}-03-15-00`;

describe("backup retention", () => {
  it("prunes sets past the retention, but always keeps the newest complete ones", () => {
    const dest = mkdtempSync(path.join(tmpdir(), "sets-"));
    for (let d = 1; d <= 6; d++) makeSet(dest, old(d), 1000);
    makeSet(dest, NOW, 1000);
    const { left } = retention(dest, NOW);
    // KEEP_LAST 3: the new set and the two newest old ones.
    expect(left).toEqual([old(5), old(6), NOW]);
  });

  it("counts only complete sets as kept, and prunes old incomplete ones", () => {
    const dest = mkdtempSync(path.join(tmpdir(), "sets-"));
    for (let d = 1; d <= 4; d++) makeSet(dest, old(d), 1000);
    makeSet(dest, old(5), 1000, false);
    makeSet(dest, NOW, 1000);
    const { left } = retention(dest, NOW);
    expect(left).toEqual([old(3), old(4), NOW]);
  });

  it("prunes nothing after a sharp size drop, so good sets outlive backups of wiped volumes", () => {
    const dest = mkdtempSync(path.join(tmpdir(), "sets-"));
    for (let d = 1; d <= 6; d++) makeSet(dest, old(d), 10_000);
    makeSet(dest, NOW, 100);
    const { out, left } = retention(dest, NOW);
    expect(left).toHaveLength(7);
    expect(out).toMatch(
      /WARNING: mailcow-2099-01-01-03-15-00 \([0-9]+ bytes\) is far smaller than mailcow-2020-01-0[0-9]/,
    );
  });

  it("takes keepLast and maxShrinkPercent from the settings, with safe defaults", () => {
    const s = parseBackupSettings({});
    expect(s.keepLast).toBe(7);
    expect(s.maxShrinkPercent).toBe(50);
    expect(() => parseBackupSettings({ keepLast: 0 })).toThrow(
      /mail-zone:backup\.keepLast: got 0; expected at least 1/,
    );
  });
});

describe("restore of the volumes' files", () => {
  /** Volumes under a temporary data dir (the script's /data), a backup set holding their archives. */
  function setup(): { data: string; dest: string; script: string; run: () => ReturnType<typeof spawnSync> } {
    const root = mkdtempSync(path.join(tmpdir(), "restore-"));
    const data = path.join(root, "data");
    const dest = path.join(root, "backups");
    for (const v of ["vmail", "crypt"]) {
      mkdirSync(path.join(data, v, "example.com"), { recursive: true });
      writeFileSync(path.join(data, v, "example.com", "current"), `current ${v}\n`);
      const src = path.join(root, `src-${v}`);
      mkdirSync(path.join(src, "example.com"), { recursive: true });
      writeFileSync(path.join(src, "example.com", "restored"), `restored ${v}\n`);
      mkdirSync(path.join(dest, "mailcow-2026-01-01-03-15-00"), { recursive: true });
      execFileSync("tar", ["-C", src, "-czf", path.join(dest, "mailcow-2026-01-01-03-15-00", `${v}.tar.gz`), "."]);
    }
    writeFileSync(path.join(dest, "mailcow-2026-01-01-03-15-00", "COMPLETE"), "x\n");
    const script = restoreFilesScript(parseBackupSettings({})).replaceAll(`${PATHS.data}/`, `${data}/`);
    const run = () =>
      // bash for `set -o pipefail` (the rclone image's busybox ash has it; this machine's dash has not).
      spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        env: {
          PATH: `${fakeBin()}:${process.env.PATH}`,
          BACKUP_ROOT: dest,
          BACKUP_SET: "latest",
          RESTORE_VOLUMES: "vmail crypt",
        },
      });
    return { data, dest, script, run };
  }

  it("swaps in each volume's archive once it verified, leaving no staging behind", () => {
    const { data, run } = setup();
    const r = run();
    expect(r.status, String(r.stderr)).toBe(0);
    for (const v of ["vmail", "crypt"]) {
      expect(readdirSync(path.join(data, v))).toEqual(["example.com"]);
      expect(readFileSync(path.join(data, v, "example.com", "restored"), "utf8")).toBe(`restored ${v}\n`);
      expect(existsSync(path.join(data, v, "example.com", "current"))).toBe(false);
    }
  });

  it("changes nothing when an archive does not verify, not even the volumes before it", () => {
    const { data, dest, run } = setup();
    const crypt = path.join(dest, "mailcow-2026-01-01-03-15-00", "crypt.tar.gz");
    writeFileSync(crypt, readFileSync(crypt).subarray(0, 40)); // truncated upload
    const r = run();
    expect(r.status).not.toBe(0);
    expect(String(r.stdout)).toContain("does not verify; nothing was changed");
    for (const v of ["vmail", "crypt"]) {
      expect(readdirSync(path.join(data, v))).toEqual(["example.com"]);
      expect(readFileSync(path.join(data, v, "example.com", "current"), "utf8")).toBe(`current ${v}\n`);
    }
  });
});
