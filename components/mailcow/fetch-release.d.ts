/** Types of fetch-release.js (plain JS so the init container runs it from a ConfigMap without a build). */
import type { LookupFunction } from "node:net";

export interface BlobEntry {
  path: string;
  kind: "file" | "link";
  executable: boolean;
  /** git blob id, hex. */
  sha: string;
}

export interface ArchiveTree {
  treeId: string;
  files: number;
  regular: number;
  executable: number;
  links: number;
}

export function lookupVia(server: string): LookupFunction;
export function download(
  url: string,
  file: string,
  options: { lookup?: LookupFunction; ca?: string | Buffer; timeoutMs?: number },
): Promise<string>;
export function createTarBlobReader(): { write(chunk: Buffer): void; end(): BlobEntry[] };
export function gitTreeId(entries: readonly BlobEntry[]): string;
export function archiveTreeId(file: string, subdir: string): Promise<ArchiveTree>;
export function main(
  env: Record<string, string | undefined>,
  extra?: { ca?: string | Buffer },
): Promise<ArchiveTree & { sha256: string }>;
