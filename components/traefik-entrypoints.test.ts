import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { planProgram } from "../stacks/preview/engine";
import { parseZoneConfig } from "../stacks/zone-config";
import { TraefikEntrypoints } from "./traefik-entrypoints";
import { traefikChartValues } from "./traefik-values";

describe("TraefikEntrypoints", () => {
  it("writes k3s's HelmChartConfig traefik in kube-system with the mail entrypoints", async () => {
    const { traefik } = parseZoneConfig({
      "mail-zone:hostname": "mail.example.com",
      "mail-zone:publicIPv4": "203.0.113.10",
      "mail-zone:traefik": JSON.stringify({ optionalEntrypoints: { sieve: true } }),
    });
    const plan = await planProgram(
      () => {
        new TraefikEntrypoints("traefik", { traefik });
      },
      { project: "mail-zone", stack: "test" },
    );
    const configs = plan.resources.filter((r) => r.type === "kubernetes:helm.cattle.io/v1:HelmChartConfig");
    expect(configs).toHaveLength(1);
    const inputs = configs[0].inputs as {
      metadata: { name: string; namespace: string };
      spec: { valuesContent: string };
    };
    expect(inputs.metadata).toMatchObject({ name: "traefik", namespace: "kube-system" });
    const values = parse(inputs.spec.valuesContent);
    expect(values).toEqual(traefikChartValues(traefik));
    expect(Object.keys(values.ports)).toEqual(["smtp", "submissions", "submission", "imap", "imaps", "sieve"]);
    expect(values.service.spec.externalTrafficPolicy).toBe("Local");
  });
});
