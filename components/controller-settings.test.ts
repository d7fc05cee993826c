import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTROLLER_ENV_KEYS, CONTROLLER_MANAGED_ENV, CONTROLLER_SECRET_ENV } from "./controller-settings";

const docs = readFileSync(path.resolve(__dirname, "../docs/controller.md"), "utf8");

/** The variables docs/controller.md documents, one table row each (`| \`NAME\` | ...`). */
const documented = [...docs.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);

describe("CONTROLLER_ENV_KEYS", () => {
  it("is exactly the set of variables docs/controller.md documents, so controller.env knows every setting", () => {
    expect(documented.length).toBeGreaterThan(40);
    expect([...CONTROLLER_ENV_KEYS].sort()).toEqual([...new Set(documented)].sort());
  });

  it("holds the secret names too, which controller.env refuses for their own reason", () => {
    for (const name of CONTROLLER_SECRET_ENV) expect(CONTROLLER_ENV_KEYS).toContain(name);
  });

  it("leaves out TMPDIR and HOME: the Deployment sets them for the runtime, the controller does not read them", () => {
    expect(CONTROLLER_MANAGED_ENV).toContain("TMPDIR");
    expect(CONTROLLER_ENV_KEYS).not.toContain("TMPDIR");
    expect(CONTROLLER_ENV_KEYS).not.toContain("HOME");
  });
});
