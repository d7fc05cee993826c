/**
 * Generated bad zone and site configuration: parsing either succeeds or fails with the module's own error whose
 * message names the key or field that was bad, never with a crash of another kind, and a secret value is never shown.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSiteInput, SiteConfigError } from "../../stacks/site-config";
import { parseZoneConfig, ZONE_CONFIG_KEYS, ZoneConfigError } from "../../stacks/zone-config";

const REQUIRED = { "mail-zone:hostname": "mail.example.com", "mail-zone:publicIPv4": "203.0.113.10" };

/** Sub-keys of the structured zone keys, so generated maps hit real fields as well as unknown ones. */
const ZONE_SUBKEYS: Record<string, string[]> = {
  traefik: [
    "manageHelmChartConfig",
    "optionalEntrypoints",
    "containerPorts",
    "proxyProtocolMode",
    "namespace",
    "podSelector",
    "additionalValues",
  ],
  web: ["clusterIssuer", "entrypoint", "adminAllowList"],
  cluster: ["podCidr", "serviceCidr"],
  dns: ["provider", "zone", "accountId"],
  mailcow: ["mode", "release", "resources", "storage", "apiAllowFrom"],
  backup: ["enabled", "schedule", "retention", "target"],
};

const weirdText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom(
    "",
    " ",
    "null",
    "[]",
    "{}",
    "true",
    "-1",
    "1e309",
    "0x1F",
    '{"a":',
    "\u0000",
    "mail..example",
    "::1",
  ),
);

const zoneValue = (key: string) =>
  fc.oneof(
    weirdText,
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    fc
      .dictionary(fc.constantFrom(...(ZONE_SUBKEYS[key] ?? ["x"]), "unknownKey"), fc.jsonValue({ maxDepth: 2 }), {
        maxKeys: 3,
      })
      .map((v) => JSON.stringify(v)),
  );

const zoneCorruption = fc
  .constantFrom(...ZONE_CONFIG_KEYS)
  .chain((key) => fc.record({ key: fc.constant(key), value: zoneValue(key) }));

/** Runs the parser; returns the error's problems, or null when the input was accepted. Other throws fail the test. */
function zoneProblems(raw: Record<string, string>, secretKeys: string[] = []): string[] | null {
  try {
    parseZoneConfig(raw, "mail-zone", secretKeys);
    return null;
  } catch (err) {
    if (err instanceof ZoneConfigError) return err.problems;
    throw new Error(`parseZoneConfig crashed with ${String(err)}`);
  }
}

describe("zone config with generated bad values", () => {
  it("either parses or names the corrupted key in every rejection", () => {
    let rejected = 0;
    fc.assert(
      fc.property(zoneCorruption, ({ key, value }) => {
        const problems = zoneProblems({ ...REQUIRED, [`mail-zone:${key}`]: value });
        if (problems === null) return;
        rejected++;
        expect(problems.length).toBeGreaterThan(0);
        for (const p of problems) expect(p).toMatch(/^mail-zone:[A-Za-z]/);
        expect(problems.some((p) => p.startsWith(`mail-zone:${key}`))).toBe(true);
        // Every line says what was given and what is expected.
        for (const p of problems) expect(p).toMatch(/got .* — expected/s);
      }),
      { numRuns: 200 },
    );
    // The generator mostly produces bad values; a run of accepted ones would prove nothing.
    expect(rejected).toBeGreaterThan(100);
  });

  it("names every unknown key as a typo", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,15}$/).filter((k) => !ZONE_CONFIG_KEYS.includes(k)),
        weirdText,
        (key, value) => {
          const problems = zoneProblems({ ...REQUIRED, [`mail-zone:${key}`]: value });
          expect(problems?.some((p) => p.startsWith(`mail-zone:${key}:`) && p.includes("no such key"))).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("never shows the value of a secret key, even when it is rejected", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONE_CONFIG_KEYS),
        fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => `Secret-${s}`),
        (key, secret) => {
          const problems = zoneProblems({ ...REQUIRED, [`mail-zone:${key}`]: secret }, [`mail-zone:${key}`]);
          for (const p of problems ?? []) expect(p).not.toContain(secret);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("rejects missing required keys naming them", () => {
    const problems = zoneProblems({});
    expect(problems?.some((p) => p.startsWith("mail-zone:hostname"))).toBe(true);
    expect(problems?.some((p) => p.startsWith("mail-zone:publicIPv4"))).toBe(true);
  });
});

const DKIM_TXT = `v=DKIM1;k=rsa;t=s;s=email;p=${"A".repeat(392)}`;
const VALID_SITE = {
  slug: "my-site",
  domain: "site.example",
  mailHost: "mail.zone.example",
  dnsProvider: "manual",
  dkim: { selector: "dkim", txt: DKIM_TXT },
  dmarc: { policy: "quarantine" },
  mtaSts: { mode: "testing", maxAgeSeconds: 86_400 },
  cloudflare: { zoneName: "site.example" },
  pop3: false,
  ttl: 3600,
  allowedSuffixes: [],
};
const SITE_FIELDS = [
  "slug",
  "domain",
  "mailHost",
  "enabled",
  "dnsProvider",
  "dkim",
  "dkim.selector",
  "dkim.txt",
  "spfInclude",
  "dmarc",
  "dmarc.policy",
  "dmarc.rua",
  "pop3",
  "announcePop3Unavailable",
  "mtaSts",
  "mtaSts.mode",
  "mtaSts.maxAgeSeconds",
  "tlsRptRua",
  "cloudflare",
  "cloudflare.zoneName",
  "cloudflare.accountId",
  "allowedSuffixes",
  "ttl",
] as const;

const badValue = fc.oneof(
  weirdText,
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    -1,
    0,
    1.5,
    Number.MAX_SAFE_INTEGER,
    "xn--",
    "a".repeat(64),
    `${"a".repeat(63)}.example`,
    "bücher.example",
    "☃.example",
    "-bad-.example",
    "exa_mple.com",
    "mail.zone.example",
    "1.2.3.4",
  ),
);

function withField(base: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base) as Record<string, unknown>;
  const [head, tail] = field.split(".");
  if (tail === undefined) copy[head] = value;
  else copy[head] = { ...((copy[head] as Record<string, unknown> | undefined) ?? {}), [tail]: value };
  return copy;
}

/** "allowedSuffixes" and "allowed suffixes" alike. */
const squash = (text: string) => text.toLowerCase().replace(/[^a-z]/g, "");

function siteIssues(raw: unknown): SiteConfigError["issues"] | null {
  try {
    parseSiteInput(raw);
    return null;
  } catch (err) {
    if (err instanceof SiteConfigError) return err.issues;
    throw new Error(`parseSiteInput crashed with ${String(err)}`);
  }
}

describe("site config with generated bad values", () => {
  it("the base site used below is valid", () => {
    expect(siteIssues(VALID_SITE)).toBeNull();
  });

  it("either parses or names the corrupted field in an issue", () => {
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...SITE_FIELDS), badValue, (field, value) => {
        const issues = siteIssues(withField(VALID_SITE, field, value));
        if (issues === null) return;
        rejected++;
        expect(issues.length).toBeGreaterThan(0);
        const top = field.split(".")[0];
        // The issue's path or its message names the field (e.g. a zone name that no longer contains the domain).
        const named = issues.some((i) => i.path.startsWith(top) || squash(i.message).includes(squash(top)));
        expect(named, JSON.stringify({ field, value, issues })).toBe(true);
        for (const i of issues) expect(i.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
    expect(rejected).toBeGreaterThan(150);
  });

  it("fails only with SiteConfigError whatever is given", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), (raw) => {
        siteIssues(raw);
        siteIssues({ ...VALID_SITE, ...(typeof raw === "object" && raw !== null ? raw : { extra: raw }) });
      }),
      { numRuns: 200 },
    );
  });

  it("names unknown fields as unknown settings", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-zA-Z]{2,12}$/).filter((k) => !SITE_FIELDS.some((f) => f.split(".")[0] === k)),
        (key) => {
          const issues = siteIssues({ ...VALID_SITE, [key]: 1 });
          expect(issues?.some((i) => i.message.includes(key) && i.message.includes("unknown setting"))).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});
