/**
 * Installs the upstream CRDs the zone and the site stacks use (Traefik, cert-manager, HelmChartConfig), read at run
 * time from ../shared/reference/crds/ (never copied into the repository), and waits until each is Established.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { ApiClient } from "./kube-http";

export const CRD_DIR = resolve(__dirname, "..", "..", "shared", "reference", "crds");

interface Crd {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

export function readCrds(dir = CRD_DIR): Crd[] {
  const out: Crd[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      const obj = doc.toJSON() as (Crd & { kind?: string }) | null;
      if (obj?.kind === "CustomResourceDefinition") out.push(obj);
    }
  }
  return out;
}

export async function installCrds(api: ApiClient, dir = CRD_DIR, timeoutMs = 60_000): Promise<string[]> {
  const crds = readCrds(dir);
  if (crds.length === 0) throw new Error(`no CustomResourceDefinition found in ${dir}`);
  for (const crd of crds) {
    const res = await api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`installing CRD ${crd.metadata.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
  const names = crds.map((c) => c.metadata.name);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const got = await api.request<Crd>("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      if (got.body?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established within ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return names;
}
