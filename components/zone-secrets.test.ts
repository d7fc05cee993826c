import { beforeAll, describe, expect, it } from "vitest";
import { isWrappedSecret, type Plan, planProgram, unwrapSecrets } from "../stacks/preview/engine";
import { MAILCOW_SECRET } from "./mailcow-endpoints";
import { ZoneSecrets } from "./zone-secrets";

let plan: Plan<{ apiKey: unknown }>;
const secrets = () =>
  plan.resources
    .filter((r) => r.type === "kubernetes:core/v1:Secret")
    .map((r) => r.inputs as { metadata: { name: string; namespace: string }; stringData: unknown });

beforeAll(async () => {
  plan = await planProgram(
    () => {
      const zone = new ZoneSecrets("secrets", {
        namespace: "mail-zone",
        platformNamespace: "platform",
        controllerSecretName: "mail-zone-controller",
        apiUrl: "http://mailcow-nginx.mail-zone.svc.cluster.local:8080",
        mailHostname: "mail.example.com",
      });
      return { apiKey: zone.apiKey };
    },
    { project: "mail-zone", stack: "test" },
  );
});

describe("ZoneSecrets", () => {
  it("generates one random value per Mailcow secret, letters and digits only", () => {
    const passwords = plan.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
    expect(passwords).toHaveLength(Object.keys(MAILCOW_SECRET.keys).length);
    for (const p of passwords) expect(p.inputs).toMatchObject({ special: false });
    const sogo = passwords.find((p) => p.name.endsWith("sogo-url-encryption-key"));
    expect(sogo?.inputs.length).toBe(16);
  });

  it("stores every generated value in Mailcow's Secret in the zone namespace, as a Pulumi secret", () => {
    const mailcow = secrets().find((s) => s.metadata.name === MAILCOW_SECRET.name);
    expect(mailcow?.metadata.namespace).toBe("mail-zone");
    expect(isWrappedSecret(mailcow?.stringData)).toBe(true);
    const data = unwrapSecrets(mailcow?.stringData) as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(Object.values(MAILCOW_SECRET.keys).sort());
    expect(new Set(Object.values(data)).size).toBe(7);
    for (const value of Object.values(data)) expect(plan.secretValues).toContain(value);
  });

  it("generates Mailcow's admin password into Mailcow's Secret only, never the controller's", () => {
    const data = unwrapSecrets(secrets().find((s) => s.metadata.name === MAILCOW_SECRET.name)?.stringData) as Record<
      string,
      string
    >;
    expect(data.ADMIN_PASSWORD).toMatch(/^[A-Za-z0-9]{28}$/);
    expect(data.ADMIN_PASSWORD).not.toBe("moohoo");
    const controller = unwrapSecrets(secrets().find((s) => s.metadata.name === "mail-zone-controller")?.stringData);
    expect(Object.values(controller as Record<string, string>)).not.toContain(data.ADMIN_PASSWORD);
  });

  it("writes the controller's Secret in the platform namespace with the API URL, API key and mail host", () => {
    const controller = secrets().find((s) => s.metadata.name === "mail-zone-controller");
    expect(controller?.metadata.namespace).toBe("platform");
    expect(isWrappedSecret(controller?.stringData)).toBe(true);
    const mailcow = unwrapSecrets(secrets().find((s) => s.metadata.name === MAILCOW_SECRET.name)?.stringData) as Record<
      string,
      string
    >;
    expect(unwrapSecrets(controller?.stringData)).toEqual({
      MAILCOW_API_URL: "http://mailcow-nginx.mail-zone.svc.cluster.local:8080",
      MAILCOW_API_KEY: mailcow.API_KEY,
      MAILCOW_HOSTNAME: "mail.example.com",
    });
  });

  it("exposes the API key only as a Pulumi secret", () => {
    expect(isWrappedSecret(plan.outputs.apiKey)).toBe(true);
  });
});
