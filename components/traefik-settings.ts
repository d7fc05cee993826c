/**
 * Zone settings for Traefik's mail entrypoints (config key `mail-zone:traefik`), owned by TraefikEntrypoints and
 * the mail routes; stacks/zone-config.ts embeds the schema. Documented in docs/settings.md.
 */
import { z } from "zod";
import { dnsLabel, labelMap } from "./setting-values";

/** Traefik container ports must not need NET_BIND_SERVICE and must stay clear of the chart's own ports. */
export const TRAEFIK_RESERVED_PORTS = [8000, 8080, 8443, 9000, 9100] as const;

export const DEFAULT_CONTAINER_PORTS = {
  smtp: 2525,
  submissions: 4465,
  submission: 2587,
  imap: 2143,
  imaps: 2993,
  pop3: 2110,
  pop3s: 2995,
  sieve: 4190,
} as const;

const containerPort = z
  .number()
  .int()
  .refine((p) => p >= 1024 && p <= 65535 && !(TRAEFIK_RESERVED_PORTS as readonly number[]).includes(p), {
    error: `expected an integer port from 1024 to 65535, not one of Traefik's own (${TRAEFIK_RESERVED_PORTS.join(", ")})`,
  });

const containerPortsSchema = z
  .strictObject({
    smtp: containerPort.default(DEFAULT_CONTAINER_PORTS.smtp),
    submissions: containerPort.default(DEFAULT_CONTAINER_PORTS.submissions),
    submission: containerPort.default(DEFAULT_CONTAINER_PORTS.submission),
    imap: containerPort.default(DEFAULT_CONTAINER_PORTS.imap),
    imaps: containerPort.default(DEFAULT_CONTAINER_PORTS.imaps),
    pop3: containerPort.default(DEFAULT_CONTAINER_PORTS.pop3),
    pop3s: containerPort.default(DEFAULT_CONTAINER_PORTS.pop3s),
    sieve: containerPort.default(DEFAULT_CONTAINER_PORTS.sieve),
  })
  .prefault({})
  .refine((ports) => new Set(Object.values(ports)).size === Object.values(ports).length, {
    error: "expected a different container port for every entrypoint",
  });

export const traefikSettingsSchema = z
  .strictObject({
    /** Write k3s's `HelmChartConfig` `traefik` in kube-system; false when the operator manages Traefik's values. */
    manageHelmChartConfig: z.boolean().default(true),
    /** Entrypoints beyond smtp, submissions, submission, imap and imaps. */
    optionalEntrypoints: z
      .strictObject({
        pop3: z.boolean().default(false),
        pop3s: z.boolean().default(false),
        sieve: z.boolean().default(false),
      })
      .prefault({}),
    /** Ports Traefik listens on inside its pod (unprivileged); the public ports are the Service's `exposedPort`s. */
    containerPorts: containerPortsSchema,
    /**
     * How Traefik sends PROXY v2 to Mailcow: `serversTransport` (a ServersTransportTCP, Traefik ≥ 3.5.2) or
     * `service` (per-service `proxyProtocol` on each IngressRouteTCP, deprecated since 3.5.2).
     */
    proxyProtocolMode: z.enum(["serversTransport", "service"]).default("serversTransport"),
    /** Where Traefik's pods run, for the NetworkPolicies that let only Traefik in. */
    namespace: dnsLabel.default("kube-system"),
    podSelector: labelMap.default({ "app.kubernetes.io/name": "traefik" }),
    /** Extra chart values merged under the zone's own (for operators who already customise k3s's Traefik). */
    additionalValues: z.record(z.string(), z.unknown()).default({}),
  })
  .prefault({});

export type TraefikSettings = z.infer<typeof traefikSettingsSchema>;
export type ProxyProtocolMode = TraefikSettings["proxyProtocolMode"];
