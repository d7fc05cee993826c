/**
 * Pure builders for the zone's NetworkPolicies. Ingress is denied by default; then exactly these ways in:
 * Mailcow pods among themselves, Traefik to the PROXY listeners and the web port, the controller to the web
 * (API) port, and Traefik to cert-manager's HTTP-01 solver pods (which run in the Certificate's namespace).
 * Egress is left open (Mailcow must reach DNS, other mail servers and its update sources). The controller's own
 * ingress, in the platform namespace, is `controllerIngressPolicy`.
 */
import { CONTROLLER_POD_LABELS, MAILCOW_POD_LABELS } from "./labels";
import { MAILCOW_WEB_PORT, type MailEntrypoint, PROXY_LISTENERS } from "./mailcow-endpoints";

/** Labels and port of the pods cert-manager starts to answer HTTP-01 challenges. */
export const ACME_SOLVER = { labels: { "acme.cert-manager.io/http01-solver": "true" }, port: 8089 } as const;

/** Label every namespace carries with its own name (Kubernetes ≥ 1.22). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export interface NetworkPolicyPort {
  protocol: "TCP";
  port: number;
}

export interface NetworkPolicyPeer {
  podSelector: { matchLabels: Record<string, string> };
  namespaceSelector?: { matchLabels: Record<string, string> };
}

export interface NetworkPolicySpec {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes: ["Ingress"];
  ingress?: { from: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
}

export interface NamedNetworkPolicy {
  name: string;
  spec: NetworkPolicySpec;
}

export interface NetworkPolicyInputs {
  entrypoints: readonly MailEntrypoint[];
  traefikNamespace: string;
  traefikPodSelector: Record<string, string>;
  platformNamespace: string;
}

const tcp = (port: number): NetworkPolicyPort => ({ protocol: "TCP", port });

/**
 * The pods of one namespace carrying `podLabels` (none: all of them). The namespace is matched by the name label the
 * API server sets, which a tenant cannot change.
 */
const podsIn = (namespace: string, podLabels: Record<string, string> = {}): NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
  podSelector: { matchLabels: { ...podLabels } },
});

/** The PROXY listener ports behind the enabled entrypoints, each once, ascending. */
export function proxyListenerPorts(entrypoints: readonly MailEntrypoint[]): number[] {
  return [...new Set(entrypoints.map((e) => PROXY_LISTENERS[e].port))].sort((a, b) => a - b);
}

/** Pods allowed to call the controller: every pod of `namespace`, or only those carrying `podLabels`. */
export interface ControllerPeer {
  namespace: string;
  podLabels?: Record<string, string>;
}

export const CONTROLLER_INGRESS_POLICY = "mail-zone-controller-ingress";

/**
 * The controller's ingress in the platform namespace, outside the zone's default deny: only the given peers may
 * open a connection to its port, so a tenant pod cannot even reach the API without a token. No peers: nobody (the
 * kubelet's probes come from the node, which NetworkPolicies always let through).
 */
export function controllerIngressPolicy(peers: readonly ControllerPeer[], port: number): NamedNetworkPolicy {
  const from = peers.map((p) => podsIn(p.namespace, p.podLabels));
  return {
    name: CONTROLLER_INGRESS_POLICY,
    spec: {
      podSelector: { matchLabels: { ...CONTROLLER_POD_LABELS } },
      policyTypes: ["Ingress"],
      ingress: from.length === 0 ? [] : [{ from, ports: [tcp(port)] }],
    },
  };
}

export function networkPolicies(input: NetworkPolicyInputs): NamedNetworkPolicy[] {
  const mailcow = { matchLabels: { ...MAILCOW_POD_LABELS } };
  const traefik = podsIn(input.traefikNamespace, input.traefikPodSelector);
  return [
    { name: "default-deny-ingress", spec: { podSelector: {}, policyTypes: ["Ingress"] } },
    {
      name: "mailcow-internal",
      spec: { podSelector: mailcow, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: mailcow }] }] },
    },
    {
      name: "traefik-to-mailcow",
      spec: {
        podSelector: mailcow,
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [traefik],
            ports: [...proxyListenerPorts(input.entrypoints), MAILCOW_WEB_PORT].map(tcp),
          },
        ],
      },
    },
    {
      name: "controller-to-mailcow-api",
      spec: {
        podSelector: mailcow,
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [podsIn(input.platformNamespace, CONTROLLER_POD_LABELS)],
            ports: [tcp(MAILCOW_WEB_PORT)],
          },
        ],
      },
    },
    {
      name: "traefik-to-acme-solver",
      spec: {
        podSelector: { matchLabels: { ...ACME_SOLVER.labels } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [traefik], ports: [tcp(ACME_SOLVER.port)] }],
      },
    },
  ];
}
