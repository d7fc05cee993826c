import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseZoneConfig, ZONE_CONFIG_KEYS, ZoneConfigError } from "./zone-config";

const root = path.resolve(__dirname, "..");

const required = { "mail-zone:hostname": "mail.example.com", "mail-zone:publicIPv4": "203.0.113.10" };

function problemsOf(raw: Record<string, string>, secretKeys: string[] = []): string[] {
  try {
    parseZoneConfig(raw, "mail-zone", secretKeys);
  } catch (error) {
    if (error instanceof ZoneConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

describe("parseZoneConfig", () => {
  it("fills every default when only the mail host and the public IPv4 are set", () => {
    const config = parseZoneConfig(required);
    expect(config).toMatchObject({
      hostname: "mail.example.com",
      namespace: "mail-zone",
      platformNamespace: "platform",
      controllerSecretName: "mail-zone-controller",
      publicIPv4: "203.0.113.10",
      timezone: "Etc/UTC",
      traefik: {
        manageHelmChartConfig: true,
        optionalEntrypoints: { pop3: false, pop3s: false, sieve: false },
        proxyProtocolMode: "serversTransport",
        namespace: "kube-system",
        podSelector: { "app.kubernetes.io/name": "traefik" },
      },
      web: { clusterIssuer: "letsencrypt-prod", entrypoint: "websecure", adminAllowList: [] },
      cluster: { podCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16" },
      dns: { provider: "none" },
      mailcow: { mode: "in-cluster" },
    });
    expect(config.publicIPv6).toBeUndefined();
  });

  it("reads structured values from the JSON text Pulumi hands over", () => {
    const config = parseZoneConfig({
      ...required,
      "mail-zone:traefik": JSON.stringify({ optionalEntrypoints: { pop3s: true }, proxyProtocolMode: "service" }),
      "mail-zone:web": JSON.stringify({ adminAllowList: ["198.51.100.0/24", "2001:db8::/48"] }),
      "mail-zone:dns": JSON.stringify({ provider: "cloudflare", zone: "example.com" }),
    });
    expect(config.traefik.optionalEntrypoints).toEqual({ pop3: false, pop3s: true, sieve: false });
    expect(config.traefik.proxyProtocolMode).toBe("service");
    expect(config.traefik.containerPorts.smtp).toBe(2525);
    expect(config.web.adminAllowList).toEqual(["198.51.100.0/24", "2001:db8::/48"]);
    expect(config.dns).toEqual({ provider: "cloudflare", zone: "example.com" });
  });

  it("ignores keys of other namespaces such as the Cloudflare provider's token", () => {
    expect(() =>
      parseZoneConfig({ ...required, "cloudflare:apiToken": "tok", "kubernetes:context": "k3s" }),
    ).not.toThrow();
  });

  it("rejects an unknown key, naming it and the key it was meant to be", () => {
    const problems = problemsOf({ ...required, "mail-zone:timezon": "Europe/Berlin" });
    expect(problems).toEqual([
      'mail-zone:timezon: got "Europe/Berlin" — expected no such key; did you mean mail-zone:timezone?',
    ]);
  });

  it("lists the known keys when an unknown key is near none of them", () => {
    const problems = problemsOf({ ...required, "mail-zone:colour": "blue" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^mail-zone:colour: got "blue" — expected no such key; known keys: hostname,/);
  });

  it("rejects an unknown nested key with its full path and the nearest known key", () => {
    const problems = problemsOf({ ...required, "mail-zone:traefik": JSON.stringify({ proxyProtocolMod: "service" }) });
    expect(problems).toEqual([
      'mail-zone:traefik.proxyProtocolMod: got "service" — expected no such key; did you mean mail-zone:traefik.proxyProtocolMode?',
    ]);
  });

  it("reads who may call the controller, and names a bad entry and a misspelt key", () => {
    const controller = (allowFrom: unknown) =>
      JSON.stringify({ enabled: true, image: "c:1", env: { ALLOWED_DOMAIN_SUFFIXES: "*" }, allowFrom });
    const config = parseZoneConfig({
      ...required,
      "mail-zone:controller": controller([{ namespace: "panel", podLabels: { app: "panel" } }]),
    });
    expect(config.controller.allowFrom).toEqual([{ namespace: "panel", podLabels: { app: "panel" } }]);
    expect(parseZoneConfig({ ...required, "mail-zone:controller": controller(undefined) }).controller.allowFrom).toBe(
      undefined,
    );
    const [bad] = problemsOf({ ...required, "mail-zone:controller": controller([{ namespace: "Panel_NS" }]) });
    expect(bad).toMatch(
      /^mail-zone:controller\.allowFrom\[0\]\.namespace: got "Panel_NS" — expected a Kubernetes name/,
    );
    expect(
      problemsOf({ ...required, "mail-zone:controller": controller([{ namespace: "panel", podLabel: { app: "x" } }]) }),
    ).toEqual([
      'mail-zone:controller.allowFrom[0].podLabel: got {"app":"x"} — expected no such key; did you mean mail-zone:controller.allowFrom[0].podLabels?',
    ]);
  });

  it("names a pod label Kubernetes would refuse, in Traefik's selector and in the controller's peers", () => {
    const [key] = problemsOf({
      ...required,
      "mail-zone:traefik": JSON.stringify({ podSelector: { "app name": "x" } }),
    });
    expect(key).toMatch(/^mail-zone:traefik\.podSelector\.app name: got the key "app name" — expected a label key/);
    const controller = JSON.stringify({
      enabled: true,
      image: "c:1",
      env: { ALLOWED_DOMAIN_SUFFIXES: "*" },
      allowFrom: [{ namespace: "panel", podLabels: { app: "panel ui" } }],
    });
    const [value] = problemsOf({ ...required, "mail-zone:controller": controller });
    expect(value).toMatch(
      /^mail-zone:controller\.allowFrom\[0\]\.podLabels\.app: got "panel ui" — expected a label value/,
    );
  });

  it("finds the nearest key inside a union's variant and a deeper map", () => {
    expect(
      problemsOf({
        ...required,
        "mail-zone:dns": JSON.stringify({ provider: "cloudflare", zone: "example.com", acountId: "x" }),
      }),
    ).toEqual(['mail-zone:dns.acountId: got "x" — expected no such key; did you mean mail-zone:dns.accountId?']);
    expect(
      problemsOf({ ...required, "mail-zone:traefik": JSON.stringify({ optionalEntrypoints: { seive: true } }) }),
    ).toEqual([
      "mail-zone:traefik.optionalEntrypoints.seive: got true — expected no such key; did you mean mail-zone:traefik.optionalEntrypoints.sieve?",
    ]);
  });

  it("refuses a misspelt config namespace, naming the stray key and the one meant", () => {
    const problems = problemsOf({ ...required, "mailzone:timezone": "Europe/Berlin" });
    expect(problems).toEqual([
      'mailzone:timezone: got "Europe/Berlin" — expected no such namespace: the zone\'s settings are under mail-zone:; did you mean mail-zone:timezone?',
    ]);
  });

  it("names the stray key when a required setting was set under a misspelt namespace", () => {
    const problems = problemsOf({ "mailzone:hostname": "mail.example.com", "mail-zone:publicIPv4": "203.0.113.10" });
    expect(problems).toEqual([
      'mailzone:hostname: got "mail.example.com" — expected no such namespace: the zone\'s settings are under mail-zone:; did you mean mail-zone:hostname?',
      "mail-zone:hostname: got nothing — expected a lowercase fully qualified domain name like mail.example.com; mailzone:hostname is set instead: did you mean mail-zone:hostname?",
    ]);
  });

  it("catches separator and one-letter slips of the namespace, and hides a secret stray value", () => {
    expect(problemsOf({ ...required, "mail_zone:timezone": "Etc/UTC" })[0]).toMatch(/^mail_zone:timezone: got/);
    expect(problemsOf({ ...required, "mial-zone:timezone": "Etc/UTC" })[0]).toMatch(/^mial-zone:timezone: got/);
    expect(problemsOf({ ...required, "mailzone:backup": "{}" }, ["mailzone:backup"])[0]).toMatch(
      /^mailzone:backup: got \[secret\] —/,
    );
  });

  it("leaves the providers' namespaces alone, even short ones", () => {
    expect(() =>
      parseZoneConfig({ ...required, "random:x": "1", "pulumi:template": "t", "mailcow:x": "1", "aws:region": "x" }),
    ).not.toThrow();
  });

  it("words a number below its minimum in the zone's terms, not the schema library's", () => {
    const problems = problemsOf({ ...required, "mail-zone:backup": JSON.stringify({ retentionDays: -3 }) });
    expect(problems).toEqual(["mail-zone:backup.retentionDays: got -3 — expected a number of at least 1"]);
  });

  it("words a number above its maximum and a list that is too short the same way", () => {
    expect(problemsOf({ ...required, "mail-zone:backup": JSON.stringify({ retentionDays: 99999 }) })).toEqual([
      "mail-zone:backup.retentionDays: got 99999 — expected a number of at most 3650",
    ]);
    const tooShort = problemsOf({ ...required, "mail-zone:mailcow": JSON.stringify({ apiAllowFrom: [] }) });
    expect(tooShort).toEqual(["mail-zone:mailcow.apiAllowFrom: got [] — expected a list of at least 1 entries"]);
    for (const p of [...tooShort]) expect(p).not.toMatch(/Too (small|big)/);
  });

  it("names a missing mail hostname and what it should be", () => {
    const problems = problemsOf({ "mail-zone:publicIPv4": "203.0.113.10" });
    expect(problems).toEqual([
      "mail-zone:hostname: got nothing — expected a lowercase fully qualified domain name like mail.example.com",
    ]);
  });

  it("names a bad CIDR with its list index and the value", () => {
    const problems = problemsOf({
      ...required,
      "mail-zone:web": JSON.stringify({ adminAllowList: ["198.51.100.0/24", "10.0.0.1/8"] }),
    });
    expect(problems).toEqual([
      'mail-zone:web.adminAllowList[1]: got "10.0.0.1/8" — expected a CIDR with host bits zero, like 10.42.0.0/16 or 2001:db8::/64',
    ]);
  });

  it("names a bad cluster CIDR", () => {
    const problems = problemsOf({ ...required, "mail-zone:cluster": JSON.stringify({ podCidr: "10.42.0.0/33" }) });
    expect(problems[0]).toMatch(/^mail-zone:cluster\.podCidr: got "10\.42\.0\.0\/33" — expected a CIDR/);
  });

  it("refuses a cluster network of /0, which would trust every address on the internet", () => {
    const problems = problemsOf({ ...required, "mail-zone:cluster": JSON.stringify({ podCidr: "0.0.0.0/0" }) });
    expect(problems).toEqual([
      'mail-zone:cluster.podCidr: got "0.0.0.0/0" — expected a narrower range: /0 would trust every address on the internet',
    ]);
  });

  it("refuses a public range as the service network, naming the private ranges it expects", () => {
    const problems = problemsOf({
      ...required,
      "mail-zone:cluster": JSON.stringify({ serviceCidr: "198.51.100.0/24" }),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^mail-zone:cluster\.serviceCidr: got "198\.51\.100\.0\/24" — expected a private range \(10\.0\.0\.0\/8/,
    );
    expect(problems[0]).toContain("a public range would trust internet clients");
  });

  it("refuses an IPv6 /0 as the pod network too", () => {
    const problems = problemsOf({ ...required, "mail-zone:cluster": JSON.stringify({ podCidr: "::/0" }) });
    expect(problems).toEqual([
      'mail-zone:cluster.podCidr: got "::/0" — expected a narrower range: /0 would trust every address on the internet',
    ]);
  });

  it("refuses an admin allow-list entry overlapping the pod network, saying tenants live there", () => {
    const problems = problemsOf({
      ...required,
      "mail-zone:web": JSON.stringify({ adminAllowList: ["198.51.100.0/24", "10.42.7.0/24"] }),
    });
    expect(problems).toEqual([
      'mail-zone:web.adminAllowList[1]: got "10.42.7.0/24" — expected no address of the pod network (10.42.0.0/16): tenants\' pods live there, so any tenant could reach the admin UI',
    ]);
  });

  it("refuses an admin allow-list entry covering both cluster networks, naming both", () => {
    const problems = problemsOf({
      ...required,
      "mail-zone:cluster": JSON.stringify({ podCidr: "10.42.0.0/16", serviceCidr: "10.96.0.0/12" }),
      "mail-zone:web": JSON.stringify({ adminAllowList: ["10.0.0.0/8"] }),
    });
    expect(problems).toEqual([
      'mail-zone:web.adminAllowList[0]: got "10.0.0.0/8" — expected no address of the pod network (10.42.0.0/16) or the service network (10.96.0.0/12): tenants\' pods live there, so any tenant could reach the admin UI',
    ]);
  });

  it("accepts an allow-list of the operator's own addresses next to a custom service network", () => {
    const config = parseZoneConfig({
      ...required,
      "mail-zone:cluster": JSON.stringify({ serviceCidr: "10.96.0.0/12" }),
      "mail-zone:web": JSON.stringify({ adminAllowList: ["10.43.0.0/24", "192.168.1.0/24"] }),
    });
    expect(config.web.adminAllowList).toEqual(["10.43.0.0/24", "192.168.1.0/24"]);
  });

  it("refuses an admin allow-list of /0", () => {
    const problems = problemsOf({ ...required, "mail-zone:web": JSON.stringify({ adminAllowList: ["0.0.0.0/0"] }) });
    expect(problems).toEqual([
      'mail-zone:web.adminAllowList[0]: got "0.0.0.0/0" — expected your own addresses: /0 would open the admin UI to everyone',
    ]);
  });

  it("names a bad enum value and lists the allowed ones", () => {
    const problems = problemsOf({ ...required, "mail-zone:traefik": JSON.stringify({ proxyProtocolMode: "v2" }) });
    expect(problems).toEqual([
      'mail-zone:traefik.proxyProtocolMode: got "v2" — expected one of "serversTransport", "service"',
    ]);
  });

  it("names an unknown DNS provider at dns.provider", () => {
    const problems = problemsOf({ ...required, "mail-zone:dns": JSON.stringify({ provider: "route53" }) });
    expect(problems).toEqual(['mail-zone:dns.provider: got "route53" — expected one of "none", "cloudflare"']);
  });

  it("requires the Cloudflare zone to hold the mail host", () => {
    const problems = problemsOf({
      ...required,
      "mail-zone:dns": JSON.stringify({ provider: "cloudflare", zone: "example.org" }),
    });
    expect(problems).toEqual([
      'mail-zone:dns.zone: got "example.org" — expected the Cloudflare zone that holds the mail host mail.example.com',
    ]);
  });

  it("rejects text that is not JSON for a structured key", () => {
    const problems = problemsOf({ ...required, "mail-zone:cluster": "podCidr=10.42.0.0/16" });
    expect(problems).toEqual([
      'mail-zone:cluster: got "podCidr=10.42.0.0/16" — expected JSON (a YAML map or list in the stack file)',
    ]);
  });

  it("rejects privileged, reserved and duplicate Traefik container ports", () => {
    expect(
      problemsOf({ ...required, "mail-zone:traefik": JSON.stringify({ containerPorts: { smtp: 25 } }) })[0],
    ).toMatch(/^mail-zone:traefik\.containerPorts\.smtp: got 25 — expected an integer port from 1024/);
    expect(
      problemsOf({ ...required, "mail-zone:traefik": JSON.stringify({ containerPorts: { imap: 8443 } }) })[0],
    ).toMatch(/^mail-zone:traefik\.containerPorts\.imap: got 8443/);
    expect(
      problemsOf({ ...required, "mail-zone:traefik": JSON.stringify({ containerPorts: { imap: 2525 } }) })[0],
    ).toMatch(/^mail-zone:traefik\.containerPorts: got .* — expected a different container port for every entrypoint/);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({
      "mail-zone:publicIPv4": "203.0.113.300",
      "mail-zone:timezone": "Mars/Olympus",
      "mail-zone:namespace": "Mail_Zone",
      "mail-zone:extra": "1",
    });
    const keys = problems.map((p) => p.split(":")[1]);
    expect(keys.sort()).toEqual(["extra", "hostname", "namespace", "publicIPv4", "timezone"]);
  });

  it("prints [secret] instead of the value of a key passed as secret", () => {
    const problems = problemsOf(
      {
        ...required,
        "mail-zone:dns": JSON.stringify({ provider: "cloudflare", zone: "example.com", accountId: "s3cr3t-v4lue" }),
      },
      ["mail-zone:dns"],
    );
    expect(problems).toEqual([
      "mail-zone:dns.accountId: got [secret] — expected a 32-character hex Cloudflare account id",
    ]);
    const unknown = problemsOf({ ...required, "mail-zone:apiToken": "tok-s3cr3t" }, ["mail-zone:apiToken"]);
    expect(unknown[0]).toMatch(/^mail-zone:apiToken: got \[secret\] — expected no such key/);
    expect(unknown.join("\n")).not.toContain("tok-s3cr3t");
  });

  it("throws a Pulumi RunError, which pulumi up prints without a stack trace", () => {
    let error: unknown;
    try {
      parseZoneConfig({});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ZoneConfigError);
    expect(pulumi.RunError.isInstance(error)).toBe(true);
  });

  it("throws a ZoneConfigError whose message lists the problems", () => {
    expect(() => parseZoneConfig({})).toThrowError(
      /invalid zone configuration:\n {2}- mail-zone:hostname: got nothing/,
    );
  });

  it("uses the project name given as the key prefix", () => {
    expect(() =>
      parseZoneConfig({ "other:hostname": "mail.example.com", "other:publicIPv4": "203.0.113.10" }, "other"),
    ).not.toThrow();
  });
});

/** A stack file's `config:` as Pulumi hands it to the program: scalars as text, maps and lists as JSON. */
function stackFileConfig(file: string): Record<string, string> {
  const doc = parse(readFileSync(path.join(root, file), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)] as const),
  );
}

/** Dotted paths of every setting, down to the leaves (label and value maps count as one setting). */
function settingPaths(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [prefix];
  if (prefix.endsWith("podSelector") || prefix.endsWith("additionalValues")) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => settingPaths(v, prefix ? `${prefix}.${k}` : k));
}

describe("Pulumi.example.yaml", () => {
  const raw = stackFileConfig("Pulumi.example.yaml");

  it("is valid input for the zone config", () => {
    expect(() => parseZoneConfig(raw)).not.toThrow();
  });

  it("sets every top-level zone setting", () => {
    const present = new Set(Object.keys(raw).map((k) => k.replace(/^mail-zone:/, "")));
    // publicIPv6 is optional without a default; the example shows it commented out.
    for (const key of ZONE_CONFIG_KEYS.filter((k) => k !== "publicIPv6")) expect(present, key).toContain(key);
  });

  it("shows the defaults for the settings it does not need to change", () => {
    const example = parseZoneConfig(raw);
    const defaults = parseZoneConfig(required);
    // dns differs on purpose (the preview shows Cloudflare records); mailcow's defaults belong to its own docs.
    const { dns: _exampleDns, mailcow: _m, ...exampleRest } = example;
    const { dns: _defaultDns, mailcow: _m2, ...defaultRest } = defaults;
    expect(exampleRest).toEqual(defaultRest);
  });
});

describe("docs/settings.md", () => {
  const docs = readFileSync(path.join(root, "docs/settings.md"), "utf8");

  it("documents every zone setting by its full key", () => {
    const config = parseZoneConfig(stackFileConfig("Pulumi.example.yaml"));
    const { mailcow: _mailcow, ...zoneOwn } = config;
    const paths = [...settingPaths(zoneOwn), "publicIPv6", "dns.accountId", "mailcow"];
    const missing = paths.filter((p) => !docs.includes(`\`mail-zone:${p}\``));
    expect(missing).toEqual([]);
  });
});

describe("mail-zone:controller", () => {
  const base = { "mail-zone:hostname": "mail.example.com", "mail-zone:publicIPv4": "203.0.113.10" };

  it("needs an image when enabled, naming the key", () => {
    expect(() => parseZoneConfig({ ...base, "mail-zone:controller": JSON.stringify({ enabled: true }) })).toThrow(
      /mail-zone:controller\.image: got nothing — expected an image reference/,
    );
  });

  it("refuses the env settings the Deployment manages itself", () => {
    expect(() =>
      parseZoneConfig({
        ...base,
        "mail-zone:controller": JSON.stringify({ enabled: true, image: "x:1", env: { PORT: "9090" } }),
      }),
    ).toThrow(/mail-zone:controller\.env\.PORT: .* a setting the Deployment manages/);
  });

  it("refuses a misspelt env key by name with the controller setting it was meant to be", () => {
    const problems = problemsOf({
      ...base,
      "mail-zone:controller": JSON.stringify({
        enabled: true,
        image: "x:1",
        env: { DKIM_SELECTR: "mail", ALLOWED_DOMAIN_SUFFIXES: "*" },
      }),
    });
    expect(problems).toEqual([
      'mail-zone:controller.env.DKIM_SELECTR: got "mail" — expected no such key: the controller reads no DKIM_SELECTR (docs/controller.md lists its settings); did you mean DKIM_SELECTOR?',
    ]);
  });

  it("accepts every controller setting that is neither secret nor managed by the Deployment", () => {
    const config = parseZoneConfig({
      ...base,
      "mail-zone:controller": JSON.stringify({
        enabled: true,
        image: "x:1",
        env: { DKIM_SELECTOR: "mail", SITE_LAYOUT: "shared-namespace", ALLOWED_DOMAIN_SUFFIXES: "example.org" },
      }),
    });
    expect(config.controller.env).toEqual({
      DKIM_SELECTOR: "mail",
      SITE_LAYOUT: "shared-namespace",
      ALLOWED_DOMAIN_SUFFIXES: "example.org",
    });
  });

  it("checks the two env settings the admission policy is built from", () => {
    const problems = problemsOf({
      ...base,
      "mail-zone:controller": JSON.stringify({
        enabled: true,
        image: "x:1",
        env: { SITE_LAYOUT: "shared", ANNOTATION_PREFIX: "x' || true || '", ALLOWED_DOMAIN_SUFFIXES: "*" },
      }),
    });
    expect(problems).toEqual([
      'mail-zone:controller.env.SITE_LAYOUT: got "shared" — expected one of "namespace-per-site", "shared-namespace"',
      "mail-zone:controller.env.ANNOTATION_PREFIX: got \"x' || true || '\" — expected a DNS-style prefix such as voxeil.io (lowercase letters, digits, '-' and '.')",
    ]);
  });

  it("refuses an enabled controller without ALLOWED_DOMAIN_SUFFIXES, since the controller would not start", () => {
    for (const env of [{}, { ALLOWED_DOMAIN_SUFFIXES: " , " }]) {
      const problems = problemsOf({
        ...base,
        "mail-zone:controller": JSON.stringify({ enabled: true, image: "x:1", env }),
      });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^mail-zone:controller\.env\.ALLOWED_DOMAIN_SUFFIXES: .*or \* to allow any domain as a deliberate choice$/,
      );
    }
    // `*` is the deliberate "any"; a disabled controller needs nothing.
    const any = { enabled: true, image: "x:1", env: { ALLOWED_DOMAIN_SUFFIXES: "*" } };
    expect(parseZoneConfig({ ...base, "mail-zone:controller": JSON.stringify(any) }).controller.env).toEqual({
      ALLOWED_DOMAIN_SUFFIXES: "*",
    });
    expect(
      parseZoneConfig({ ...base, "mail-zone:controller": JSON.stringify({ enabled: false }) }).controller.enabled,
    ).toBe(false);
  });

  it("refuses secrets among its env settings", () => {
    expect(() =>
      parseZoneConfig({
        ...base,
        "mail-zone:controller": JSON.stringify({ enabled: true, image: "x:1", env: { MAILCOW_API_KEY: "k" } }),
      }),
    ).toThrow(/mail-zone:controller\.env\.MAILCOW_API_KEY: .* no secret here/);
  });
});
