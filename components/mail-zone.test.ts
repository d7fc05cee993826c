import { describe, expect, it } from "vitest";
import { planProgram, unwrapSecrets } from "../stacks/preview/engine";
import { parseZoneConfig } from "../stacks/zone-config";
import { MailZone } from "./mail-zone";

const base = { "mail-zone:hostname": "mail.example.com", "mail-zone:publicIPv4": "203.0.113.10" };

async function planZone(settings: Record<string, unknown>, mailcowApiUrl?: string) {
  const raw: Record<string, string> = { ...base };
  for (const [key, value] of Object.entries(settings)) {
    raw[`mail-zone:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const config = parseZoneConfig(raw);
  return planProgram(
    () => {
      const zone = new MailZone("zone", { config, mailcowApiUrl });
      return { apiUrl: zone.apiUrl, namespace: zone.namespace, tls: zone.tlsSecretName };
    },
    {
      project: "mail-zone",
      stack: "test",
      call: (token) =>
        token === "cloudflare:index/getZone:getZone" ? { id: "zone123", name: "example.com" } : undefined,
    },
  );
}

const types = (plan: Awaited<ReturnType<typeof planZone>>) => plan.resources.map((r) => r.type);

describe("MailZone", () => {
  it("declares the whole zone, without DNS records when the DNS provider is none", async () => {
    const plan = await planZone({});
    const kinds = types(plan);
    for (const kind of [
      "kubernetes:core/v1:Namespace",
      "kubernetes:core/v1:Secret",
      "kubernetes:helm.cattle.io/v1:HelmChartConfig",
      "kubernetes:traefik.io/v1alpha1:ServersTransportTCP",
      "kubernetes:traefik.io/v1alpha1:IngressRouteTCP",
      "kubernetes:traefik.io/v1alpha1:IngressRoute",
      "kubernetes:cert-manager.io/v1:Certificate",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ]) {
      expect(kinds).toContain(kind);
    }
    expect(kinds.filter((t) => t.startsWith("cloudflare:"))).toEqual([]);
    // The admin allow-list is empty by default: no Middleware, and no route to the UI and API.
    expect(kinds).not.toContain("kubernetes:traefik.io/v1alpha1:Middleware");
    expect(plan.outputs).toEqual({
      apiUrl: "http://mailcow-nginx.mail-zone.svc.cluster.local:8080",
      namespace: "mail-zone",
      tls: "mailcow-tls",
    });
  });

  it("skips the HelmChartConfig when the operator manages Traefik, but still routes every entrypoint", async () => {
    const plan = await planZone({
      traefik: { manageHelmChartConfig: false, proxyProtocolMode: "service", optionalEntrypoints: { pop3s: true } },
    });
    const kinds = types(plan);
    expect(kinds).not.toContain("kubernetes:helm.cattle.io/v1:HelmChartConfig");
    expect(kinds).not.toContain("kubernetes:traefik.io/v1alpha1:ServersTransportTCP");
    expect(kinds.filter((t) => t === "kubernetes:traefik.io/v1alpha1:IngressRouteTCP")).toHaveLength(6);
  });

  it("creates the mail host's records when the DNS provider is cloudflare", async () => {
    const plan = await planZone({ dns: { provider: "cloudflare", zone: "example.com" } });
    const records = plan.resources.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord");
    expect(records.map((r) => r.inputs.type).sort()).toEqual(["A", "CNAME", "CNAME", "CNAME"]);
    for (const r of records) expect(r.inputs.proxied).toBe(false);
  });

  it("puts everything of the zone into the configured namespace", async () => {
    const plan = await planZone({ namespace: "mail", platformNamespace: "panel", controllerSecretName: "mailcow-api" });
    const namespaced = plan.resources
      .filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:core/v1:Namespace")
      .map((r) => (r.inputs.metadata as { name: string; namespace: string }) ?? {});
    const outside = namespaced.filter((m) => m.namespace !== "mail");
    expect(outside.map((m) => `${m.namespace}/${m.name}`).sort()).toEqual(["kube-system/traefik", "panel/mailcow-api"]);
    expect(plan.outputs.apiUrl).toBe("http://mailcow-nginx.mail.svc.cluster.local:8080");
  });

  it("points the controller at Mailcow's in-cluster Service, not at the mail host behind the admin allow-list", async () => {
    const plan = await planZone({
      controller: { enabled: true, image: "registry.example.com/c:1", env: { ALLOWED_DOMAIN_SUFFIXES: "*" } },
    });
    const secret = plan.resources.find(
      (r) =>
        r.type === "kubernetes:core/v1:Secret" &&
        (r.inputs.metadata as { name: string }).name === "mail-zone-controller",
    );
    const data = unwrapSecrets(secret?.inputs.stringData) as Record<string, string>;
    expect(data.MAILCOW_API_URL).toBe("http://mailcow-nginx.mail-zone.svc.cluster.local:8080");
    expect(data.MAILCOW_API_URL).not.toContain("mail.example.com");
  });

  it("hands the controller the API URL it is given (external Mailcow)", async () => {
    const plan = await planZone({}, "https://mail.elsewhere.example");
    expect(plan.outputs.apiUrl).toBe("https://mail.elsewhere.example");
  });
});
