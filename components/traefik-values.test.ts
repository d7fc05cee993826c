import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseZoneConfig } from "../stacks/zone-config";
import type { TraefikSettings } from "./traefik-settings";
import { enabledEntrypoints, MAIL_PUBLIC_PORTS, traefikChartValues, traefikValuesYaml } from "./traefik-values";

function traefik(settings: Record<string, unknown> = {}): TraefikSettings {
  return parseZoneConfig({
    "mail-zone:hostname": "mail.example.com",
    "mail-zone:publicIPv4": "203.0.113.10",
    "mail-zone:traefik": JSON.stringify(settings),
  }).traefik;
}

describe("enabledEntrypoints", () => {
  it("opens smtp, submissions, submission, imap and imaps by default", () => {
    expect(enabledEntrypoints(traefik())).toEqual(["smtp", "submissions", "submission", "imap", "imaps"]);
  });

  it("adds pop3, pop3s and sieve only when configured", () => {
    expect(enabledEntrypoints(traefik({ optionalEntrypoints: { pop3s: true, sieve: true } }))).toEqual([
      "smtp",
      "submissions",
      "submission",
      "imap",
      "imaps",
      "pop3s",
      "sieve",
    ]);
  });
});

describe("traefikChartValues", () => {
  it("exposes each mail port on its public port from an unprivileged container port", () => {
    const values = traefikChartValues(traefik());
    expect(values.ports).toEqual({
      smtp: { port: 2525, exposedPort: 25, protocol: "TCP", expose: { default: true } },
      submissions: { port: 4465, exposedPort: 465, protocol: "TCP", expose: { default: true } },
      submission: { port: 2587, exposedPort: 587, protocol: "TCP", expose: { default: true } },
      imap: { port: 2143, exposedPort: 143, protocol: "TCP", expose: { default: true } },
      imaps: { port: 2993, exposedPort: 993, protocol: "TCP", expose: { default: true } },
    });
    for (const port of Object.values(values.ports)) expect(port.port).toBeGreaterThanOrEqual(1024);
  });

  it("keeps the client's address with externalTrafficPolicy Local", () => {
    expect(traefikChartValues(traefik()).service).toEqual({ spec: { externalTrafficPolicy: "Local" } });
  });

  it("adds the optional ports with their public ports", () => {
    const values = traefikChartValues(traefik({ optionalEntrypoints: { pop3: true, pop3s: true, sieve: true } }));
    expect(values.ports.pop3).toMatchObject({ port: 2110, exposedPort: MAIL_PUBLIC_PORTS.pop3 });
    expect(values.ports.pop3s).toMatchObject({ port: 2995, exposedPort: 995 });
    expect(values.ports.sieve).toMatchObject({ port: 4190, exposedPort: 4190 });
  });

  it("uses configured container ports", () => {
    expect(traefikChartValues(traefik({ containerPorts: { smtp: 10025 } })).ports.smtp.port).toBe(10025);
  });

  it("keeps the operator's additional values while the zone's mail settings win", () => {
    const values = traefikChartValues(
      traefik({
        additionalValues: {
          logs: { access: { enabled: true } },
          ports: { web: { redirections: { entryPoint: { to: "websecure" } } }, smtp: { port: 25 } },
          service: { spec: { externalTrafficPolicy: "Cluster", loadBalancerClass: "x" } },
        },
      }),
    );
    expect(values.logs).toEqual({ access: { enabled: true } });
    expect(values.ports.web).toEqual({ redirections: { entryPoint: { to: "websecure" } } });
    expect(values.ports.smtp.port).toBe(2525);
    expect(values.service.spec).toEqual({ externalTrafficPolicy: "Local", loadBalancerClass: "x" });
  });

  it("renders as YAML that reads back to the same values", () => {
    const settings = traefik({ optionalEntrypoints: { pop3: true } });
    expect(parse(traefikValuesYaml(settings))).toEqual(traefikChartValues(settings));
  });
});
