/**
 * Plays the controllers a node-less control plane lacks, as kwok does, so that pulumi-kubernetes's await logic runs
 * for real against the lab's API server: Deployments get a ReplicaSet per template and become available,
 * StatefulSets roll out and get their PVCs, PVCs are Bound, Services get Endpoints and an EndpointSlice, Jobs
 * complete, terminating Namespaces are emptied and finalized, and orphans of deleted owners are collected.
 * It polls (every `intervalMs`), which keeps it simple and restart-safe: every decision is read from the API.
 */
import { createHash } from "node:crypto";
import type { ApiClient } from "./kube-http";

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    resourceVersion?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};
type List = { items: Obj[] };

const REVISION = "deployment.kubernetes.io/revision";
const PROTECTION_FINALIZERS = ["kubernetes.io/pvc-protection", "kubernetes.io/pv-protection"];
const MANAGER = "fieldManager=mail-zone-lab-simulator";

export interface Simulator {
  stop(): Promise<void>;
  /** One pass over everything (the loop runs these; tests may call it to settle without waiting). */
  tick(): Promise<void>;
  readonly errors: string[];
}

const hash = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 10);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const replicasOf = (o: Obj) => (typeof o.spec?.replicas === "number" ? (o.spec.replicas as number) : 1);
const nsPath = (o: Obj) => `/namespaces/${o.metadata.namespace}`;

function ownedBy(o: Obj, owner: Obj): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);
}

export function startSimulator(api: ApiClient, options: { intervalMs?: number } = {}): Simulator {
  const intervalMs = options.intervalMs ?? 500;
  const errors: string[] = [];
  const note = (msg: string) => {
    if (errors.length < 200) errors.push(msg);
  };
  const must = async (method: string, path: string, body?: unknown, type?: string) => {
    const res = await api.request(method, path, body, type);
    // 404/409: the object moved on between our read and write; the next pass sees the new state.
    if (res.status >= 300 && res.status !== 404 && res.status !== 409) {
      note(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }
    return res;
  };
  const patchStatus = (path: string, status: Record<string, unknown>) =>
    must("PATCH", `${path}/status?${MANAGER}`, { status }, "application/merge-patch+json");

  async function deployments() {
    const deps = (await api.get<List>("/apis/apps/v1/deployments")).items;
    const sets = (await api.get<List>("/apis/apps/v1/replicasets")).items;
    for (const d of deps) {
      if (d.metadata.deletionTimestamp) continue;
      const base = `/apis/apps/v1${nsPath(d)}`;
      const replicas = replicasOf(d);
      const templateHash = hash(d.spec?.template);
      const mine = sets.filter((rs) => ownedBy(rs, d));
      let current = mine.find((rs) => rs.metadata.labels?.["pod-template-hash"] === templateHash);
      const revisions = mine.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0));
      if (!current) {
        const template = (d.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string> } };
        const labels = { ...(template.metadata?.labels ?? {}), "pod-template-hash": templateHash };
        const revision = String(Math.max(0, ...revisions) + 1);
        const res = await must("POST", `${base}/replicasets?${MANAGER}`, {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          metadata: {
            name: `${d.metadata.name}-${templateHash}`,
            namespace: d.metadata.namespace,
            labels,
            annotations: { [REVISION]: revision },
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "Deployment",
                name: d.metadata.name,
                uid: d.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            replicas,
            selector: { matchLabels: labels },
            template: { ...(d.spec?.template as object), metadata: { ...template.metadata, labels } },
          },
        });
        if (res.status !== 201) continue;
        current = res.body as Obj;
      }
      for (const old of mine.filter((rs) => rs !== current && replicasOf(rs) !== 0)) {
        await must(
          "PATCH",
          `${base}/replicasets/${old.metadata.name}?${MANAGER}`,
          { spec: { replicas: 0 } },
          "application/merge-patch+json",
        );
        await patchStatus(`${base}/replicasets/${old.metadata.name}`, {
          replicas: 0,
          readyReplicas: 0,
          availableReplicas: 0,
        });
      }
      if (replicasOf(current) !== replicas) {
        await must(
          "PATCH",
          `${base}/replicasets/${current.metadata.name}?${MANAGER}`,
          { spec: { replicas } },
          "application/merge-patch+json",
        );
      }
      const rsStatus = current.status ?? {};
      if (rsStatus.availableReplicas !== replicas || rsStatus.observedGeneration !== current.metadata.generation) {
        await patchStatus(`${base}/replicasets/${current.metadata.name}`, {
          replicas,
          fullyLabeledReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
          observedGeneration: current.metadata.generation,
        });
      }
      const revision = current.metadata.annotations?.[REVISION] ?? "1";
      if (d.metadata.annotations?.[REVISION] !== revision) {
        await must(
          "PATCH",
          `${base}/deployments/${d.metadata.name}?${MANAGER}`,
          { metadata: { annotations: { [REVISION]: revision } } },
          "application/merge-patch+json",
        );
      }
      const st = d.status ?? {};
      if (
        st.observedGeneration !== d.metadata.generation ||
        st.availableReplicas !== replicas ||
        st.updatedReplicas !== replicas
      ) {
        const t = now();
        await patchStatus(`${base}/deployments/${d.metadata.name}`, {
          observedGeneration: d.metadata.generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
          conditions: [
            {
              type: "Available",
              status: "True",
              reason: "MinimumReplicasAvailable",
              message: "Deployment has minimum availability.",
              lastUpdateTime: t,
              lastTransitionTime: t,
            },
            {
              type: "Progressing",
              status: "True",
              reason: "NewReplicaSetAvailable",
              message: `ReplicaSet "${current.metadata.name}" has successfully progressed.`,
              lastUpdateTime: t,
              lastTransitionTime: t,
            },
          ],
        });
      }
    }
    // The garbage collector's part: a ReplicaSet whose Deployment is gone goes too.
    for (const rs of sets) {
      const owner = rs.metadata.ownerReferences?.find((r) => r.kind === "Deployment");
      if (owner && !deps.some((d) => d.metadata.uid === owner.uid)) {
        await must("DELETE", `/apis/apps/v1${nsPath(rs)}/replicasets/${rs.metadata.name}`);
      }
    }
  }

  async function statefulSets() {
    const sets = (await api.get<List>("/apis/apps/v1/statefulsets")).items;
    for (const s of sets) {
      if (s.metadata.deletionTimestamp) continue;
      const replicas = replicasOf(s);
      const revision = `${s.metadata.name}-${hash(s.spec?.template)}`;
      const templates = (s.spec?.volumeClaimTemplates ?? []) as Obj[];
      for (let i = 0; i < replicas; i++) {
        for (const t of templates) {
          const name = `${t.metadata.name}-${s.metadata.name}-${i}`;
          const got = await api.request("GET", `/api/v1${nsPath(s)}/persistentvolumeclaims/${name}`);
          if (got.status === 404) {
            await must("POST", `/api/v1${nsPath(s)}/persistentvolumeclaims?${MANAGER}`, {
              apiVersion: "v1",
              kind: "PersistentVolumeClaim",
              metadata: { name, namespace: s.metadata.namespace, labels: t.metadata.labels ?? {} },
              spec: t.spec,
            });
          }
        }
      }
      const st = s.status ?? {};
      if (
        st.observedGeneration !== s.metadata.generation ||
        st.readyReplicas !== replicas ||
        st.updateRevision !== revision
      ) {
        await patchStatus(`/apis/apps/v1${nsPath(s)}/statefulsets/${s.metadata.name}`, {
          observedGeneration: s.metadata.generation,
          replicas,
          readyReplicas: replicas,
          currentReplicas: replicas,
          updatedReplicas: replicas,
          availableReplicas: replicas,
          currentRevision: revision,
          updateRevision: revision,
          collisionCount: 0,
        });
      }
    }
  }

  async function claims() {
    for (const c of (await api.get<List>("/api/v1/persistentvolumeclaims")).items) {
      if (c.metadata.deletionTimestamp) continue;
      const wanted = ((c.spec?.resources as { requests?: { storage?: string } })?.requests?.storage ?? "1Gi") as string;
      const st = c.status ?? {};
      if (st.phase !== "Bound" || (st.capacity as { storage?: string } | undefined)?.storage !== wanted) {
        await patchStatus(`/api/v1${nsPath(c)}/persistentvolumeclaims/${c.metadata.name}`, {
          phase: "Bound",
          accessModes: c.spec?.accessModes ?? ["ReadWriteOnce"],
          capacity: { storage: wanted },
        });
      }
    }
  }

  async function services() {
    const svcs = (await api.get<List>("/api/v1/services")).items;
    const endpoints = (await api.get<List>("/api/v1/endpoints")).items;
    const slices = (await api.get<List>("/apis/discovery.k8s.io/v1/endpointslices")).items;
    for (const s of svcs) {
      if (s.metadata.deletionTimestamp || !s.spec?.selector) continue;
      const ports = (
        (s.spec.ports ?? []) as { name?: string; port: number; targetPort?: number | string; protocol?: string }[]
      ).map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: typeof p.targetPort === "number" ? p.targetPort : p.port,
        protocol: p.protocol ?? "TCP",
      }));
      // A documentation-range address: an object to read, never a destination (nothing here routes to it).
      const address = { ip: "192.0.2.10" };
      if (
        !endpoints.some((e) => e.metadata.namespace === s.metadata.namespace && e.metadata.name === s.metadata.name)
      ) {
        await must("POST", `/api/v1${nsPath(s)}/endpoints?${MANAGER}`, {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: s.metadata.name, namespace: s.metadata.namespace },
          subsets: ports.length ? [{ addresses: [address], ports }] : [],
        });
      }
      const sliceName = `${s.metadata.name}-lab`;
      if (!slices.some((e) => e.metadata.namespace === s.metadata.namespace && e.metadata.name === sliceName)) {
        await must("POST", `/apis/discovery.k8s.io/v1${nsPath(s)}/endpointslices?${MANAGER}`, {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: {
            name: sliceName,
            namespace: s.metadata.namespace,
            labels: {
              "kubernetes.io/service-name": s.metadata.name,
              "endpointslice.kubernetes.io/managed-by": "mail-zone-lab",
            },
            ownerReferences: [{ apiVersion: "v1", kind: "Service", name: s.metadata.name, uid: s.metadata.uid }],
          },
          addressType: "IPv4",
          endpoints: [{ addresses: [address.ip], conditions: { ready: true } }],
          ports,
        });
      }
    }
    for (const e of endpoints) {
      if (e.metadata.name === "kubernetes" && e.metadata.namespace === "default") continue;
      if (!svcs.some((s) => s.metadata.namespace === e.metadata.namespace && s.metadata.name === e.metadata.name)) {
        await must("DELETE", `/api/v1${nsPath(e)}/endpoints/${e.metadata.name}`);
      }
    }
    for (const e of slices) {
      const svc = e.metadata.labels?.["kubernetes.io/service-name"];
      if (e.metadata.labels?.["endpointslice.kubernetes.io/managed-by"] !== "mail-zone-lab") continue;
      if (!svcs.some((s) => s.metadata.namespace === e.metadata.namespace && s.metadata.name === svc)) {
        await must("DELETE", `/apis/discovery.k8s.io/v1${nsPath(e)}/endpointslices/${e.metadata.name}`);
      }
    }
  }

  async function jobs() {
    for (const j of (await api.get<List>("/apis/batch/v1/jobs")).items) {
      if (j.metadata.deletionTimestamp || j.spec?.suspend === true) continue;
      const conditions = (j.status?.conditions ?? []) as { type: string; status: string }[];
      if (conditions.some((c) => c.type === "Complete" && c.status === "True")) continue;
      const t = now();
      const completions = typeof j.spec?.completions === "number" ? (j.spec.completions as number) : 1;
      await patchStatus(`/apis/batch/v1${nsPath(j)}/jobs/${j.metadata.name}`, {
        startTime: j.status?.startTime ?? t,
        completionTime: t,
        succeeded: completions,
        active: 0,
        ready: 0,
        terminating: 0,
        uncountedTerminatedPods: {},
        conditions: [
          {
            type: "SuccessCriteriaMet",
            status: "True",
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
            lastProbeTime: t,
            lastTransitionTime: t,
          },
          {
            type: "Complete",
            status: "True",
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
            lastProbeTime: t,
            lastTransitionTime: t,
          },
        ],
      });
    }
  }

  interface ListableType {
    /** e.g. `/apis/apps/v1` */
    group: string;
    resource: string;
    namespaced: boolean;
  }
  let listable: ListableType[] | undefined;
  async function discoverListable(): Promise<ListableType[]> {
    if (listable) return listable;
    const paths = ["/api/v1"];
    const groups = await api.get<{ groups: { preferredVersion: { groupVersion: string } }[] }>("/apis");
    for (const g of groups.groups) paths.push(`/apis/${g.preferredVersion.groupVersion}`);
    const out: ListableType[] = [];
    for (const group of paths) {
      const list = await api.get<{ resources: { name: string; namespaced: boolean; verbs: string[] }[] }>(group);
      for (const r of list.resources) {
        if (!r.name.includes("/") && r.verbs.includes("list") && r.verbs.includes("delete") && r.name !== "events") {
          out.push({ group, resource: r.name, namespaced: r.namespaced });
        }
      }
    }
    listable = out;
    setTimeout(() => {
      listable = undefined;
    }, 10_000).unref();
    return out;
  }

  const objectPath = (t: ListableType, o: Obj) =>
    `${t.group}${t.namespaced ? `/namespaces/${o.metadata.namespace}` : ""}/${t.resource}/${o.metadata.name}`;

  /**
   * The garbage collector's part. pulumi-kubernetes deletes with foreground propagation by default, which leaves the
   * object with a `foregroundDeletion` finalizer until its dependents are gone; dependents of a deleted owner go too.
   */
  async function garbage() {
    const all: { t: ListableType; o: Obj }[] = [];
    for (const t of await discoverListable()) {
      const res = await api.request<List>("GET", `${t.group}/${t.resource}`);
      if (res.status === 200) for (const o of res.body.items ?? []) all.push({ t, o });
    }
    const uids = new Set(all.map(({ o }) => o.metadata.uid));
    const dependentsOf = (uid: string | undefined) =>
      all.filter(({ o }) => (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid));
    for (const { t, o } of all) {
      const finalizers = (o.metadata as { finalizers?: string[] }).finalizers ?? [];
      if (o.metadata.deletionTimestamp && finalizers.includes("foregroundDeletion")) {
        const deps = dependentsOf(o.metadata.uid);
        for (const d of deps)
          if (!d.o.metadata.deletionTimestamp)
            await must("DELETE", `${objectPath(d.t, d.o)}?propagationPolicy=Foreground`);
        if (deps.length === 0) {
          await must(
            "PATCH",
            objectPath(t, o),
            {
              metadata: {
                finalizers: finalizers.filter((f) => f !== "foregroundDeletion"),
                resourceVersion: o.metadata.resourceVersion,
              },
            },
            "application/merge-patch+json",
          );
        }
      } else if (o.metadata.deletionTimestamp && finalizers.some((f) => PROTECTION_FINALIZERS.includes(f))) {
        // The pvc-protection and pv-protection controllers: no pod uses anything here, so nothing is protected.
        await must(
          "PATCH",
          objectPath(t, o),
          {
            metadata: {
              finalizers: finalizers.filter((f) => !PROTECTION_FINALIZERS.includes(f)),
              resourceVersion: o.metadata.resourceVersion,
            },
          },
          "application/merge-patch+json",
        );
      } else if (o.metadata.deletionTimestamp && finalizers.includes("orphan")) {
        for (const d of dependentsOf(o.metadata.uid)) {
          const refs = (d.o.metadata.ownerReferences ?? []).filter((r) => r.uid !== o.metadata.uid);
          await must(
            "PATCH",
            objectPath(d.t, d.o),
            { metadata: { ownerReferences: refs } },
            "application/merge-patch+json",
          );
        }
        await must(
          "PATCH",
          objectPath(t, o),
          {
            metadata: {
              finalizers: finalizers.filter((f) => f !== "orphan"),
              resourceVersion: o.metadata.resourceVersion,
            },
          },
          "application/merge-patch+json",
        );
      } else if (!o.metadata.deletionTimestamp) {
        const refs = o.metadata.ownerReferences ?? [];
        if (refs.length > 0 && refs.every((r) => !uids.has(r.uid)))
          await must("DELETE", `${objectPath(t, o)}?propagationPolicy=Background`);
      }
    }
  }

  let namespacedResources: string[] | undefined;
  async function discoverNamespaced(): Promise<string[]> {
    if (namespacedResources) return namespacedResources;
    const paths = ["/api/v1"];
    const groups = await api.get<{ groups: { preferredVersion: { groupVersion: string } }[] }>("/apis");
    for (const g of groups.groups) paths.push(`/apis/${g.preferredVersion.groupVersion}`);
    const out: string[] = [];
    for (const p of paths) {
      const list = await api.get<{ resources: { name: string; namespaced: boolean; verbs: string[] }[] }>(p);
      for (const r of list.resources) {
        if (r.namespaced && !r.name.includes("/") && r.verbs.includes("deletecollection") && r.name !== "events") {
          out.push(`${p}/namespaces/{ns}/${r.name}`);
        }
      }
    }
    // Discovery changes when CRDs are added; re-read it now and then.
    namespacedResources = out;
    setTimeout(() => {
      namespacedResources = undefined;
    }, 10_000).unref();
    return out;
  }

  async function namespaces() {
    for (const ns of (await api.get<List>("/api/v1/namespaces")).items) {
      if (!ns.metadata.deletionTimestamp) continue;
      const name = ns.metadata.name;
      let left = 0;
      for (const tpl of await discoverNamespaced()) {
        const path = tpl.replace("{ns}", name);
        const got = await api.request<List>("GET", path);
        const items = got.status === 200 ? got.body.items : [];
        if (items.length === 0) continue;
        left += items.length;
        await must("DELETE", `${path}?propagationPolicy=Background`);
        // Objects with finalizers of controllers that are not here would block forever: drop those finalizers.
        for (const it of items) {
          if ((it.metadata as { finalizers?: string[] }).finalizers?.length) {
            await must(
              "PATCH",
              `${path}/${it.metadata.name}`,
              { metadata: { finalizers: null } },
              "application/merge-patch+json",
            );
          }
        }
      }
      if (left === 0) {
        await must("PUT", `/api/v1/namespaces/${name}/finalize`, {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name, resourceVersion: ns.metadata.resourceVersion },
          spec: { finalizers: [] },
        });
      }
    }
  }

  const passes = [deployments, statefulSets, claims, services, jobs, garbage, namespaces];
  const tick = async () => {
    for (const pass of passes) {
      try {
        await pass();
      } catch (err) {
        note(`${pass.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const loop = async () => {
    while (!stopped) {
      running = tick();
      await running;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };
  void loop();
  return {
    errors,
    tick,
    async stop() {
      stopped = true;
      await running;
    },
  };
}
