import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildSiteRecords, type MailDnsRecord } from "../components/site-records";
import { type PlannedResource, planProgram } from "./preview/engine";
import { CLOUDFLARE_GET_ZONE, previewCalls } from "./preview/preview-calls";
import { parseSiteInput, SITE_PROJECT, type SiteInputRaw, siteStackConfig } from "./site-config";
import { siteProgram } from "./site-program";

const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";

const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const DKIM_TXT = `v=DKIM1;k=rsa;t=s;s=email;p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;

const site: SiteInputRaw = {
  slug: "shop",
  domain: "shop.example",
  mailHost: "mail.zone.example",
  dnsProvider: "cloudflare",
  dkim: { selector: "mc2026a", txt: DKIM_TXT },
};

interface ZoneLookup {
  token: string;
  inputs: Record<string, unknown>;
}

/** Runs the site program exactly as the preview CLI does: parsed input → stack config strings → planProgram. */
async function plan(raw: SiteInputRaw) {
  const input = parseSiteInput(raw);
  const config = Object.fromEntries(Object.entries(siteStackConfig(input)).map(([k, v]) => [k, v.value]));
  const lookups: ZoneLookup[] = [];
  const result = await planProgram(siteProgram, {
    project: SITE_PROJECT,
    stack: input.slug,
    config,
    call: (token, inputs) => {
      lookups.push({ token, inputs });
      return previewCalls(token, inputs);
    },
  });
  const dnsRecords = result.resources.filter((r) => r.type === DNS_RECORD);
  return { ...result, lookups, dnsRecords, input };
}

function recordNamed(resources: PlannedResource[], name: string): PlannedResource {
  const found = resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
  return found;
}

describe("the site program with dnsProvider cloudflare", () => {
  it("looks the zone up by name and creates one unproxied DnsRecord per record", async () => {
    const { lookups, dnsRecords, outputs, resources, input } = await plan(site);
    const expected: MailDnsRecord[] = buildSiteRecords({ ...input, dkim: DKIM(input.dkim) });

    expect(lookups).toHaveLength(1);
    expect(lookups[0].token).toBe(CLOUDFLARE_GET_ZONE);
    expect(lookups[0].inputs.filter).toEqual({ name: "shop.example" });

    expect(dnsRecords).toHaveLength(expected.length);
    for (const r of dnsRecords) {
      expect(r.inputs.proxied).toBe(false);
      expect(r.inputs.zoneId).toBe("preview-zone-shop.example");
    }
    // Registrations reach the engine asynchronously, so compare as sets.
    expect(dnsRecords.map((r) => `${r.inputs.type} ${r.inputs.name}`).sort()).toEqual(
      expected.map((r) => `${r.type} ${r.name}`).sort(),
    );

    const component = resources.find((r) => r.type === "mail-zone:site:SiteMailDns");
    expect(component?.name).toBe("shop");
    expect(component?.custom).toBe(false);

    expect(outputs.provider).toBe("cloudflare");
    expect(outputs.records).toEqual(expected);
    expect(outputs.mtaStsPolicy).toBe("version: STSv1\nmode: testing\nmx: mail.zone.example\nmax_age: 604800\n");
  });

  it("sends TXT content as quoted ≤255-byte strings that re-join to the DKIM key", async () => {
    const { dnsRecords } = await plan(site);
    const dkim = recordNamed(dnsRecords, "txt-mc2026a._domainkey.shop.example");
    const content = String(dkim.inputs.content);
    const strings = [...content.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    expect(content).toBe(strings.map((s) => `"${s}"`).join(" "));
    expect(strings.length).toBeGreaterThan(1);
    for (const s of strings) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(255);
    expect(strings.join("")).toBe(DKIM_TXT);
    expect(recordNamed(dnsRecords, "txt-shop.example").inputs.content).toBe('"v=spf1 mx -all"');
  });

  it("gives MX its priority and SRV v6 structured data", async () => {
    const { dnsRecords } = await plan(site);
    expect(recordNamed(dnsRecords, "mx-shop.example").inputs).toMatchObject({
      type: "MX",
      content: "mail.zone.example",
      priority: 10,
      ttl: 3600,
    });
    const srv = recordNamed(dnsRecords, "srv-_submissions._tcp.shop.example").inputs;
    expect(srv).toMatchObject({ type: "SRV", name: "_submissions._tcp.shop.example", priority: 0 });
    expect(srv.data).toEqual({ priority: 0, weight: 1, port: 465, target: "mail.zone.example" });
    expect(srv.content).toBeUndefined();
  });

  it("narrows the lookup to the account and uses the configured zone name", async () => {
    const { lookups, dnsRecords } = await plan({
      ...site,
      domain: "shop.customers.example",
      cloudflare: { zoneName: "customers.example", accountId: "0123456789abcdef0123456789abcdef" },
    });
    expect(lookups[0].inputs.filter).toEqual({
      name: "customers.example",
      account: { id: "0123456789abcdef0123456789abcdef" },
    });
    expect(dnsRecords[0].inputs.zoneId).toBe("preview-zone-customers.example");
    expect(dnsRecords[0].inputs.name).toBe("shop.customers.example");
  });

  it("keeps every record's resource name when other records are added", async () => {
    const before = (await plan(site)).dnsRecords.map((r) => r.name);
    const after = (await plan({ ...site, pop3: true, spfInclude: "relay.example.net" })).dnsRecords.map((r) => r.name);
    expect(after.length).toBe(before.length + 1);
    for (const name of before) expect(after).toContain(name);
    expect(after).toContain("srv-_pop3s._tcp.shop.example");
  });

  it("creates nothing and outputs no records when the site is disabled", async () => {
    const { lookups, dnsRecords, outputs } = await plan({ ...site, enabled: false });
    expect(lookups).toHaveLength(0);
    expect(dnsRecords).toHaveLength(0);
    expect(outputs).toEqual({ provider: "cloudflare", records: [] });
  });
});

describe("the site program with dnsProvider manual", () => {
  it("creates no DnsRecord and no zone lookup, and outputs the records to publish", async () => {
    const { lookups, dnsRecords, outputs, input } = await plan({ ...site, dnsProvider: "manual" });
    expect(lookups).toHaveLength(0);
    expect(dnsRecords).toHaveLength(0);
    expect(outputs.provider).toBe("manual");
    expect(outputs.records).toEqual(buildSiteRecords({ ...input, dkim: DKIM(input.dkim) }));
    expect(outputs.records.map((r) => r.purpose)).toContain("dkim");
  });

  it("outputs nothing to publish when disabled", async () => {
    const { dnsRecords, outputs } = await plan({ ...site, dnsProvider: "manual", enabled: false });
    expect(dnsRecords).toHaveLength(0);
    expect(outputs.records).toEqual([]);
    expect(outputs.mtaStsPolicy).toBeUndefined();
  });
});

function DKIM(dkim: { selector: string; txt: string } | undefined): { selector: string; txt: string } {
  if (!dkim) throw new Error("test site has no dkim");
  return dkim;
}
