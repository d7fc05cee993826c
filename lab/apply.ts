/** Server-side apply of plain objects to the lab's API server, finding each kind's resource by discovery. */
import type { ApiClient } from "./kube-http";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export class Discovery {
  private readonly cache = new Map<string, ApiResource[]>();
  constructor(private readonly api: ApiClient) {}

  async resourceFor(apiVersion: string, kind: string): Promise<ApiResource> {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let list = this.cache.get(base);
    if (!list) {
      list = (await this.api.get<{ resources: ApiResource[] }>(base)).resources.filter((r) => !r.name.includes("/"));
      this.cache.set(base, list);
    }
    const found = list.find((r) => r.kind === kind);
    if (!found) throw new Error(`the API server serves no kind ${kind} in ${apiVersion}`);
    return found;
  }

  async pathFor(obj: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<string> {
    const r = await this.resourceFor(obj.apiVersion, obj.kind);
    const base = obj.apiVersion.includes("/") ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const ns = r.namespaced ? `/namespaces/${obj.metadata.namespace ?? "default"}` : "";
    return `${base}${ns}/${r.name}/${obj.metadata.name}`;
  }
}

/** Applies as `fieldManager` (force: the lab owns what it applies); throws with the API's message on a refusal. */
export async function apply(api: ApiClient, discovery: Discovery, obj: KubeObject, fieldManager = "mail-zone-lab") {
  const path = await discovery.pathFor(obj);
  const res = await api.request(
    "PATCH",
    `${path}?fieldManager=${fieldManager}&force=true`,
    JSON.stringify(obj),
    "application/apply-patch+yaml",
  );
  if (res.status !== 200 && res.status !== 201) {
    throw new Error(
      `apply ${obj.kind} ${obj.metadata.namespace ?? ""}/${obj.metadata.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`,
    );
  }
  return res.body as KubeObject;
}
