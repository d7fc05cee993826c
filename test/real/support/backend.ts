/** Reads a `file://` Pulumi backend as the CLI leaves it: a stack's checkpoint and its lock files. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface Checkpoint {
  resources: { urn: string; type: string }[];
  pendingOperations: { type: string; urn: string }[];
}

function backendDir(dataDir: string): string {
  return join(dataDir, "backend");
}

export function readCheckpoint(dataDir: string, project: string, stack: string): Checkpoint | undefined {
  const base = join(backendDir(dataDir), ".pulumi", "stacks", project);
  for (const name of [`${stack}.json`, `${stack}.json.gz`]) {
    const file = join(base, name);
    if (!existsSync(file)) continue;
    const raw = readFileSync(file);
    const text = name.endsWith(".gz") ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
    const deployment = (
      JSON.parse(text) as {
        checkpoint?: {
          latest?: {
            resources?: { urn: string; type: string }[];
            pending_operations?: { type: string; resource: { urn: string } }[];
          };
        };
      }
    ).checkpoint?.latest;
    return {
      resources: deployment?.resources ?? [],
      pendingOperations: (deployment?.pending_operations ?? []).map((p) => ({ type: p.type, urn: p.resource.urn })),
    };
  }
  return undefined;
}

/** Lock files of a stack (`.pulumi/locks/<org>/<project>/<stack>/<id>.json`): one while an update holds it. */
export function lockFiles(dataDir: string, stack: string): string[] {
  const root = join(backendDir(dataDir), ".pulumi", "locks");
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (!existsSync(dir) || depth > 4) return;
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) {
        if (entry === stack) found.push(...readdirSync(p).map((f) => join(p, f)));
        else walk(p, depth + 1);
      }
    }
  };
  walk(root, 0);
  return found;
}
