/** Types of fetch-release.js (plain JS so the init container runs it from a ConfigMap without a build). */
import type { LookupFunction } from "node:net";

export function lookupVia(server: string): LookupFunction;
export function download(
  url: string,
  file: string,
  options: { lookup?: LookupFunction; timeoutMs?: number },
): Promise<string>;
export function main(env: Record<string, string | undefined>): Promise<string>;
