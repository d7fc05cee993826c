import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  backupScript,
  MAILCOW_STOPPED_SCRIPT,
  MYSQL_DUMP_SCRIPT,
  REDIS_SAVE_SCRIPT,
  RESTORE_DATABASE_SCRIPT,
  restoreFetchDumpScript,
  restoreFilesScript,
  SECRETS_EXPORT_SCRIPT,
} from "./backup-plan";
import { parseBackupSettings } from "./backup-settings";

const plain = parseBackupSettings({});
const sealed = parseBackupSettings({ encryption: { secretName: "pp" } });

/** `sh -n`/`bash -n`: a syntax error in an embedded script fails here, not at 03:15 on a live zone. */
function syntaxError(script: string, shell: "sh" | "bash"): string {
  const r = spawnSync(shell, ["-n"], { input: script, encoding: "utf8" });
  return r.status === 0 ? "" : r.stderr || `exit ${r.status}`;
}

describe("backup and restore scripts", () => {
  const posix: [string, string][] = [
    ["redis save", REDIS_SAVE_SCRIPT],
    ["secrets export", SECRETS_EXPORT_SCRIPT],
    ["mailcow stopped", MAILCOW_STOPPED_SCRIPT],
    ["backup", backupScript(plain)],
    ["backup (encrypted)", backupScript(sealed)],
    ["restore files", restoreFilesScript(plain)],
    ["restore files (encrypted)", restoreFilesScript(sealed)],
    ["fetch dump", restoreFetchDumpScript(plain)],
  ];
  it.each(posix)("parses the %s script as POSIX sh", (_name, script) => {
    expect(syntaxError(script, "sh")).toBe("");
  });

  it.each([
    ["mysql dump", MYSQL_DUMP_SCRIPT],
    ["database restore", RESTORE_DATABASE_SCRIPT],
  ])("parses the %s script as bash", (_name, script) => {
    expect(syntaxError(script, "bash")).toBe("");
  });

  it("prunes only after the set is marked complete", () => {
    const script = backupScript(plain);
    expect(script.indexOf("COMPLETE")).toBeGreaterThan(-1);
    expect(script.indexOf("rclone purge")).toBeGreaterThan(script.indexOf("COMPLETE"));
  });

  it("restores only from a set that was marked complete", () => {
    expect(restoreFilesScript(plain)).toContain('rclone cat "$DEST/$SET/COMPLETE"');
  });

  it("keeps passwords off command lines", () => {
    for (const script of [MYSQL_DUMP_SCRIPT, RESTORE_DATABASE_SCRIPT]) {
      expect(script).toContain("--defaults-extra-file");
      expect(script).not.toMatch(/--password|-p"?\$DBROOT/);
    }
    expect(backupScript(sealed)).toContain("rclone obscure -");
    expect(SECRETS_EXPORT_SCRIPT).toContain("-H @/tmp/auth");
  });
});
