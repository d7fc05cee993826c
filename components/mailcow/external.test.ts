import { EndpointSlice } from "kubernetes-models/discovery.k8s.io/v1";
import { Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { planProgram, unwrapSecrets } from "../../stacks/preview/engine";
import { MAILCOW_SERVICES, MAILCOW_WEB_PORT, PROXY_LISTENERS } from "../mailcow-endpoints";
import { parseMailcowSettings } from "./settings";
import { MailcowWorkloads } from "./workloads";

// biome-ignore lint/suspicious/noExplicitAny: tests read untyped plan inputs
type Obj = Record<string, any>;

async function plan(external: Record<string, unknown>) {
  return planProgram(
    () => {
      const w = new MailcowWorkloads("mailcow", {
        namespace: "mail-zone",
        settings: parseMailcowSettings({ mode: "external", external }),
        hostname: "mail.example.net",
        timezone: "UTC",
        podCidr: "10.42.0.0/16",
      });
      return { apiBaseUrl: w.apiBaseUrl };
    },
    { project: "mail-zone", stack: "test" },
  );
}

const WORKLOAD_TYPES = /Deployment|StatefulSet|DaemonSet|ReplicaSet|:Pod$|Job|CronJob|PersistentVolumeClaim/;

describe("MailcowWorkloads in external mode", () => {
  it("runs no workload and points the three Services at an external host name", async () => {
    const p = await plan({ host: "mailcow.internal.example.net" });
    expect(p.resources.filter((r) => WORKLOAD_TYPES.test(r.type))).toEqual([]);
    const services = p.resources.filter((r) => r.type === "kubernetes:core/v1:Service");
    expect(services.map((r) => r.name).sort()).toEqual(Object.values(MAILCOW_SERVICES).sort());
    for (const r of services) {
      const svc = unwrapSecrets(r.inputs) as Obj;
      expect(svc.spec.type).toBe("ExternalName");
      expect(svc.spec.externalName).toBe("mailcow.internal.example.net");
      expect(() => new Service(svc as never).validate()).not.toThrow();
    }
    expect(p.outputs.apiBaseUrl).toBe("https://mailcow.internal.example.net");
  });

  it("uses selector-less Services with EndpointSlices for an external IP, mapping the web port", async () => {
    const p = await plan({ host: "192.0.2.10", webPort: 80, apiUrl: "https://mail.example.net" });
    expect(p.resources.filter((r) => WORKLOAD_TYPES.test(r.type))).toEqual([]);
    const slices = p.resources.filter((r) => r.type === "kubernetes:discovery.k8s.io/v1:EndpointSlice");
    expect(slices).toHaveLength(3);
    for (const r of slices) {
      const slice = unwrapSecrets(r.inputs) as Obj;
      expect(slice.endpoints[0].addresses).toEqual(["192.0.2.10"]);
      expect(Object.values(MAILCOW_SERVICES)).toContain(slice.metadata.labels["kubernetes.io/service-name"]);
      expect(() => new EndpointSlice(slice as never).validate()).not.toThrow();
    }
    const nginx = unwrapSecrets(p.resources.find((r) => r.name === MAILCOW_SERVICES.nginx)?.inputs) as Obj;
    expect(nginx.spec.selector).toBeUndefined();
    expect(nginx.spec.ports[0]).toMatchObject({ port: MAILCOW_WEB_PORT, targetPort: 80 });
    const postfix = unwrapSecrets(p.resources.find((r) => r.name === MAILCOW_SERVICES.postfix)?.inputs) as Obj;
    expect(postfix.spec.ports.map((x: Obj) => x.port)).toContain(PROXY_LISTENERS.smtp.port);
    expect(p.outputs.apiBaseUrl).toBe("https://mail.example.net");
  });
});
