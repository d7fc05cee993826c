/**
 * Pure builders for Traefik's side of mail: which entrypoints are on, and the k3s Traefik chart values that open
 * them. No Pulumi here, so the values can be tested and printed on their own.
 */
import { stringify } from "yaml";
import type { MailEntrypoint } from "./mailcow-endpoints";
import type { TraefikSettings } from "./traefik-settings";

/** Public port of every mail entrypoint (what clients connect to). */
export const MAIL_PUBLIC_PORTS: Record<MailEntrypoint, number> = {
  smtp: 25,
  submissions: 465,
  submission: 587,
  imap: 143,
  imaps: 993,
  pop3: 110,
  pop3s: 995,
  sieve: 4190,
};

/** Implicit-TLS ports: Traefik passes TLS through so Postfix and Dovecot terminate it with the mail host's cert. */
export const IMPLICIT_TLS_ENTRYPOINTS: ReadonlySet<MailEntrypoint> = new Set(["submissions", "imaps", "pop3s"]);

const ALWAYS_ON: readonly MailEntrypoint[] = ["smtp", "submissions", "submission", "imap", "imaps"];
const OPTIONAL: readonly (keyof TraefikSettings["optionalEntrypoints"])[] = ["pop3", "pop3s", "sieve"];

/** The entrypoints the zone opens, in a stable order. */
export function enabledEntrypoints(traefik: Pick<TraefikSettings, "optionalEntrypoints">): MailEntrypoint[] {
  return [...ALWAYS_ON, ...OPTIONAL.filter((name) => traefik.optionalEntrypoints[name])];
}

export interface TraefikPortValues {
  port: number;
  exposedPort: number;
  protocol: "TCP";
  expose: { default: true };
}

/** The chart values the zone sets; the operator's `additionalValues` may add more keys (and ports) beside them. */
export interface TraefikChartValues {
  ports: Record<string, TraefikPortValues>;
  service: { spec: { externalTrafficPolicy: "Local" } };
  [key: string]: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge where `over` wins; lists are replaced, not concatenated. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return out;
}

/**
 * Chart values for k3s's Traefik: one TCP entrypoint per enabled mail port, listening on an unprivileged container
 * port (the chart runs as non-root without NET_BIND_SERVICE) and exposed on the public port; and
 * `externalTrafficPolicy: Local` so Traefik sees, and can pass on by PROXY, the client's real address.
 * The operator's `additionalValues` are the base; the zone's mail settings win where they overlap.
 */
export function traefikChartValues(traefik: TraefikSettings): TraefikChartValues {
  const ports: Record<string, TraefikPortValues> = {};
  for (const name of enabledEntrypoints(traefik)) {
    ports[name] = {
      port: traefik.containerPorts[name],
      exposedPort: MAIL_PUBLIC_PORTS[name],
      protocol: "TCP",
      // A map since chart v27 (k3s ≥ 1.32 ships a newer chart); older charts took `expose: true`.
      expose: { default: true },
    };
  }
  const own = { ports, service: { spec: { externalTrafficPolicy: "Local" } } };
  return merge(traefik.additionalValues, own) as TraefikChartValues;
}

/** The `spec.valuesContent` text of the HelmChartConfig. */
export function traefikValuesYaml(traefik: TraefikSettings): string {
  return stringify(traefikChartValues(traefik), { sortMapEntries: false });
}
