import { beforeAll, describe, expect, it } from "vitest";
import { type Plan, planProgram } from "../stacks/preview/engine";
import { CONTROLLER_POD_LABELS, MAILCOW_POD_LABELS } from "./labels";
import { MAILCOW_WEB_PORT } from "./mailcow-endpoints";
import { NetworkPolicies } from "./network-policies";
import { controllerIngressPolicy, type NetworkPolicySpec, proxyListenerPorts } from "./network-policy-specs";

let plan: Plan<void>;
const policies = () =>
  new Map(
    plan.resources
      .filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .map((r) => {
        const inputs = r.inputs as { metadata: { name: string; namespace: string }; spec: NetworkPolicySpec };
        return [inputs.metadata.name, inputs] as const;
      }),
  );

beforeAll(async () => {
  plan = await planProgram(
    () => {
      new NetworkPolicies("net", {
        namespace: "mail-zone",
        entrypoints: ["smtp", "submissions", "submission", "imap", "imaps"],
        traefikNamespace: "kube-system",
        traefikPodSelector: { "app.kubernetes.io/name": "traefik" },
        platformNamespace: "platform",
      });
    },
    { project: "mail-zone", stack: "test" },
  );
});

describe("NetworkPolicies", () => {
  it("creates its policies in the zone namespace", () => {
    const all = policies();
    expect([...all.keys()].sort()).toEqual([
      "controller-to-mailcow-api",
      "default-deny-ingress",
      "mailcow-internal",
      "traefik-to-acme-solver",
      "traefik-to-mailcow",
    ]);
    for (const p of all.values()) expect(p.metadata.namespace).toBe("mail-zone");
  });

  it("denies all ingress to every pod by default", () => {
    expect(policies().get("default-deny-ingress")?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
  });

  it("lets Mailcow's pods talk to each other", () => {
    expect(policies().get("mailcow-internal")?.spec).toEqual({
      podSelector: { matchLabels: MAILCOW_POD_LABELS },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: MAILCOW_POD_LABELS } }] }],
    });
  });

  it("lets only Traefik's pods reach the PROXY listeners of the open entrypoints and the web port", () => {
    const spec = policies().get("traefik-to-mailcow")?.spec;
    expect(spec?.podSelector).toEqual({ matchLabels: MAILCOW_POD_LABELS });
    expect(spec?.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
          },
        ],
        ports: [10025, 10143, 10465, 10587, 10993, MAILCOW_WEB_PORT].map((port) => ({ protocol: "TCP", port })),
      },
    ]);
  });

  it("lets the controller's pods in the platform namespace reach only the web (API) port", () => {
    expect(policies().get("controller-to-mailcow-api")?.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "platform" } },
            podSelector: { matchLabels: CONTROLLER_POD_LABELS },
          },
        ],
        ports: [{ protocol: "TCP", port: MAILCOW_WEB_PORT }],
      },
    ]);
  });

  it("lets Traefik reach cert-manager's HTTP-01 solver pods, so the certificate can be issued", () => {
    expect(policies().get("traefik-to-acme-solver")?.spec).toEqual({
      podSelector: { matchLabels: { "acme.cert-manager.io/http01-solver": "true" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
              podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
            },
          ],
          ports: [{ protocol: "TCP", port: 8089 }],
        },
      ],
    });
  });
});

describe("controllerIngressPolicy", () => {
  it("admits no peer by pod labels alone: each is also held to its namespace", () => {
    // A peer with only a podSelector would match pods of the policy's own namespace carrying those labels; with the
    // namespace's name label as well, labelling a pod in another namespace gains nothing.
    const { spec } = controllerIngressPolicy(
      [{ namespace: "panel", podLabels: { app: "panel" } }, { namespace: "ops" }],
      8080,
    );
    const peers = spec.ingress?.flatMap((rule) => rule.from) ?? [];
    expect(peers.map((p) => p.namespaceSelector?.matchLabels["kubernetes.io/metadata.name"])).toEqual(["panel", "ops"]);
    expect(spec.ingress?.map((rule) => rule.ports)).toEqual([[{ protocol: "TCP", port: 8080 }]]);
  });
});

describe("proxyListenerPorts", () => {
  it("includes the optional entrypoints' listeners when they are open", () => {
    expect(proxyListenerPorts(["imaps", "pop3", "pop3s", "sieve"])).toEqual([10110, 10993, 10995, 14190]);
  });
});
