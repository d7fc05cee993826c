import { describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../settings";
import { DeliverabilityChecker } from "./checker";
import { dnsCheckerFromSettings, NameServerSettingError } from "./from-settings";

const base = {
  MAILCOW_API_URL: "https://mail.example.net",
  MAILCOW_API_KEY: "mailcow-key-123456",
  CONTROLLER_TOKENS: "a".repeat(40),
  STACK_RUNNER: "preview",
  ALLOWED_DOMAIN_SUFFIXES: "*",
};

function problems(env: Record<string, string>): string[] {
  try {
    loadSettings({ ...base, ...env });
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  throw new Error("expected the settings to be rejected");
}

describe("DNS_CHECK settings", () => {
  it("default to checks on, every 30 s, for at most 15 minutes, at the authoritative servers", () => {
    expect(loadSettings(base).dnsCheck).toEqual({
      enabled: true,
      intervalSeconds: 30,
      timeoutSeconds: 900,
      nameServers: [],
      allowPrivateNameServers: false,
    });
  });

  it("read off, the schedule and a list of name servers in every host[:port] form", () => {
    const s = loadSettings({
      ...base,
      DNS_CHECK: "off",
      DNS_CHECK_INTERVAL_SECONDS: "5",
      DNS_CHECK_TIMEOUT_SECONDS: "120",
      DNS_CHECK_NAMESERVERS: "192.0.2.53, 127.0.0.1:5353,[2001:db8::53]:54, 2001:db8::1, ns1.Example.net.:5300",
    });
    expect(s.dnsCheck).toEqual({
      enabled: false,
      allowPrivateNameServers: false,
      intervalSeconds: 5,
      timeoutSeconds: 120,
      nameServers: [
        { host: "192.0.2.53", port: 53 },
        { host: "127.0.0.1", port: 5353 },
        { host: "2001:db8::53", port: 54 },
        { host: "2001:db8::1", port: 53 },
        { host: "ns1.example.net", port: 5300 },
      ],
    });
  });

  it("name the variable, the value and what is expected when one is wrong", () => {
    expect(problems({ DNS_CHECK: "maybe" })).toEqual(['DNS_CHECK: expected on or off (got "maybe")']);
    expect(problems({ DNS_CHECK_INTERVAL_SECONDS: "0" })[0]).toMatch(/^DNS_CHECK_INTERVAL_SECONDS: .*"0"/);
    const bad = problems({ DNS_CHECK_NAMESERVERS: "127.0.0.1:99999, not a host, [ns1.example]:53" });
    expect(bad).toHaveLength(3);
    expect(bad[0]).toMatch(/^DNS_CHECK_NAMESERVERS: "127.0.0.1:99999" has no valid port .*expected host\[:port\]/);
    expect(bad[1]).toMatch(/"not a host" is not an IP address or host name/);
    expect(bad[2]).toMatch(/"\[ns1.example\]:53" has brackets/);
  });
});

describe("dnsCheckerFromSettings", () => {
  const settings = { enabled: true, intervalSeconds: 30, timeoutSeconds: 900, allowPrivateNameServers: false };

  it("builds no checker when the checks are off", async () => {
    expect(await dnsCheckerFromSettings({ ...settings, enabled: false, nameServers: [] })).toBeNull();
  });

  it("builds a checker, resolving named servers once", async () => {
    const asked: string[] = [];
    const checker = await dnsCheckerFromSettings(
      { ...settings, nameServers: [{ host: "ns.internal", port: 5353 }] },
      {
        resolveHost: async (host) => {
          asked.push(host);
          return ["10.0.0.53"];
        },
      },
    );
    expect(checker).toBeInstanceOf(DeliverabilityChecker);
    expect(asked).toEqual(["ns.internal"]);
  });

  it("fails naming the setting when a server's name does not resolve", async () => {
    const failing = dnsCheckerFromSettings(
      { ...settings, nameServers: [{ host: "ns.nowhere", port: 53 }] },
      { resolveHost: async () => Promise.reject(Object.assign(new Error("nope"), { code: "ENOTFOUND" })) },
    );
    await expect(failing).rejects.toBeInstanceOf(NameServerSettingError);
    await expect(failing).rejects.toThrow("DNS_CHECK_NAMESERVERS: cannot resolve ns.nowhere (ENOTFOUND)");
  });
});
