import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainValidationError } from "./domain-name";
import {
  buildSiteRecords,
  type MailDnsRecord,
  mtaStsPolicy,
  mtaStsPolicyId,
  quoteTxtChunks,
  recordResourceName,
  type SiteRecordsInput,
  splitTxt,
  toZoneFileLine,
} from "./site-records";

/** Mailcow's dkim_txt for a fresh RSA key of `bits` (`v=DKIM1;k=rsa;t=s;s=email;p=<base64 SPKI DER>`). */
function dkimTxt(bits: number): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const der = publicKey.export({ type: "spki", format: "der" });
  return `v=DKIM1;k=rsa;t=s;s=email;p=${der.toString("base64")}`;
}

const KEY_2048 = dkimTxt(2048);

const base: SiteRecordsInput = {
  domain: "site.example",
  mailHost: "mail.zone.example",
  dkim: { selector: "mc2026a", txt: KEY_2048 },
};

function byPurpose(records: MailDnsRecord[], purpose: string): MailDnsRecord {
  const found = records.find((r) => r.purpose === purpose);
  if (!found) throw new Error(`no record with purpose ${purpose}`);
  return found;
}

function errorOf(fn: () => unknown): DomainValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainValidationError) return err;
    throw err;
  }
  throw new Error("expected a DomainValidationError");
}

describe("buildSiteRecords with defaults", () => {
  const records = buildSiteRecords(base);

  it("publishes MX 10 pointing at the mail host", () => {
    expect(byPurpose(records, "mx")).toEqual({
      name: "site.example",
      type: "MX",
      content: "mail.zone.example",
      priority: 10,
      ttl: 3600,
      purpose: "mx",
    });
  });

  it("publishes SPF that allows only the domain's MX", () => {
    const spf = byPurpose(records, "spf");
    expect(spf).toMatchObject({ name: "site.example", type: "TXT", content: "v=spf1 mx -all" });
    expect(spf.chunks).toEqual(["v=spf1 mx -all"]);
  });

  it("publishes the DKIM key under <selector>._domainkey", () => {
    const dkim = byPurpose(records, "dkim");
    expect(dkim.name).toBe("mc2026a._domainkey.site.example");
    expect(dkim.type).toBe("TXT");
    expect(dkim.content).toBe(KEY_2048);
  });

  it("publishes DMARC with policy quarantine and reports to dmarc-reports@<domain>", () => {
    expect(byPurpose(records, "dmarc")).toMatchObject({
      name: "_dmarc.site.example",
      type: "TXT",
      content: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@site.example",
    });
  });

  it("points autoconfig and autodiscover at the mail host", () => {
    expect(byPurpose(records, "autoconfig")).toMatchObject({
      name: "autoconfig.site.example",
      type: "CNAME",
      content: "mail.zone.example",
    });
    expect(byPurpose(records, "autodiscover")).toMatchObject({
      name: "autodiscover.site.example",
      type: "CNAME",
      content: "mail.zone.example",
    });
  });

  it("publishes the RFC 6186/8314 SRV set without POP3, implicit TLS preferred", () => {
    const srv = records.filter((r) => r.type === "SRV").map((r) => [r.name, r.content, r.priority]);
    expect(srv).toEqual([
      ["_submissions._tcp.site.example", "0 1 465 mail.zone.example", 0],
      ["_submission._tcp.site.example", "10 1 587 mail.zone.example", 10],
      ["_imaps._tcp.site.example", "0 1 993 mail.zone.example", 0],
      ["_imap._tcp.site.example", "10 1 143 mail.zone.example", 10],
      ["_autodiscover._tcp.site.example", "0 1 443 mail.zone.example", 0],
    ]);
  });

  it("publishes the MTA-STS TXT with a policy id and the mta-sts host", () => {
    const sts = byPurpose(records, "mta-sts");
    expect(sts.name).toBe("_mta-sts.site.example");
    expect(sts.content).toMatch(/^v=STSv1; id=[0-9a-f]{16}$/);
    expect(byPurpose(records, "mta-sts-host")).toMatchObject({
      name: "mta-sts.site.example",
      type: "CNAME",
      content: "mail.zone.example",
    });
  });

  it("publishes TLS-RPT reporting to tls-reports@<domain>", () => {
    expect(byPurpose(records, "tls-rpt")).toMatchObject({
      name: "_smtp._tls.site.example",
      type: "TXT",
      content: "v=TLSRPTv1; rua=mailto:tls-reports@site.example",
    });
  });

  it("gives every record the default TTL and unique name+type (so resource names are unique)", () => {
    expect(new Set(records.map((r) => r.ttl))).toEqual(new Set([3600]));
    const names = records.map(recordResourceName);
    expect(new Set(names).size).toBe(names.length);
  });

  it("lists the records in a fixed order", () => {
    expect(records.map((r) => r.purpose)).toEqual([
      "mx",
      "spf",
      "dkim",
      "dmarc",
      "autoconfig",
      "autodiscover",
      "srv-submissions",
      "srv-submission",
      "srv-imaps",
      "srv-imap",
      "srv-autodiscover",
      "mta-sts",
      "mta-sts-host",
      "tls-rpt",
    ]);
  });
});

describe("buildSiteRecords options", () => {
  it("adds a relay's include: to SPF", () => {
    const spf = byPurpose(buildSiteRecords({ ...base, spfInclude: "Relay.Example.NET" }), "spf");
    expect(spf.content).toBe("v=spf1 mx include:relay.example.net -all");
  });

  it("uses the configured DMARC policy and rua", () => {
    const dmarc = byPurpose(
      buildSiteRecords({ ...base, dmarc: { policy: "reject", rua: "mailto:reports@dmarc.example" } }),
      "dmarc",
    );
    expect(dmarc.content).toBe("v=DMARC1; p=reject; rua=mailto:reports@dmarc.example");
    const bare = byPurpose(buildSiteRecords({ ...base, dmarc: { rua: "ops@Bücher.example" } }), "dmarc");
    expect(bare.content).toBe("v=DMARC1; p=quarantine; rua=mailto:ops@xn--bcher-kva.example");
  });

  it("omits DMARC rua when it is disabled", () => {
    const dmarc = byPurpose(buildSiteRecords({ ...base, dmarc: { policy: "none", rua: false } }), "dmarc");
    expect(dmarc.content).toBe("v=DMARC1; p=none");
  });

  it("adds _pop3s._tcp when POP3 is on", () => {
    const records = buildSiteRecords({ ...base, pop3: true });
    expect(byPurpose(records, "srv-pop3s")).toMatchObject({
      name: "_pop3s._tcp.site.example",
      content: "20 1 995 mail.zone.example",
      priority: 20,
    });
    expect(records.some((r) => r.name.startsWith("_pop3._tcp"))).toBe(false);
  });

  it("announces POP3 as not offered with target '.' when asked and POP3 is off", () => {
    const srv = buildSiteRecords({ ...base, announcePop3Unavailable: true })
      .filter((r) => r.name.startsWith("_pop3"))
      .map((r) => [r.name, r.content]);
    expect(srv).toEqual([
      ["_pop3s._tcp.site.example", "0 0 0 ."],
      ["_pop3._tcp.site.example", "0 0 0 ."],
    ]);
  });

  it("changes the MTA-STS id exactly when the policy changes", () => {
    const idOf = (input: SiteRecordsInput) => byPurpose(buildSiteRecords(input), "mta-sts").content;
    const first = idOf(base);
    // Things outside the policy leave the id alone.
    expect(idOf({ ...base, dkim: { selector: "other", txt: dkimTxt(1024) } })).toBe(first);
    expect(idOf({ ...base, ttl: 300, pop3: true, dmarc: { policy: "reject" } })).toBe(first);
    expect(idOf({ ...base, mtaSts: { mode: "testing", maxAgeSeconds: 604800 } })).toBe(first); // = the defaults
    // Each policy field moves it.
    const changed = [
      idOf({ ...base, mtaSts: { mode: "enforce" } }),
      idOf({ ...base, mtaSts: { maxAgeSeconds: 86400 } }),
      idOf({ ...base, mailHost: "mx2.zone.example" }),
    ];
    for (const id of changed) expect(id).not.toBe(first);
    expect(new Set(changed).size).toBe(3);
  });

  it("uses the policy text as the source of the id", () => {
    const policy = mtaStsPolicy({ mailHost: "mail.zone.example", mtaSts: { mode: "enforce", maxAgeSeconds: 1209600 } });
    expect(policy).toBe("version: STSv1\nmode: enforce\nmx: mail.zone.example\nmax_age: 1209600\n");
    const records = buildSiteRecords({ ...base, mtaSts: { mode: "enforce", maxAgeSeconds: 1209600 } });
    expect(byPurpose(records, "mta-sts").content).toBe(`v=STSv1; id=${mtaStsPolicyId(policy)}`);
  });

  it("uses the configured TLS-RPT address, https endpoint, or none", () => {
    const rua = (tlsRptRua: string | false) =>
      buildSiteRecords({ ...base, tlsRptRua }).find((r) => r.purpose === "tls-rpt")?.content;
    expect(rua("tls@reports.example")).toBe("v=TLSRPTv1; rua=mailto:tls@reports.example");
    expect(rua("https://reports.example/tlsrpt")).toBe("v=TLSRPTv1; rua=https://reports.example/tlsrpt");
    expect(rua(false)).toBeUndefined();
  });

  it("applies the configured TTL to every record", () => {
    expect(new Set(buildSiteRecords({ ...base, ttl: 300 }).map((r) => r.ttl))).toEqual(new Set([300]));
  });

  it("normalises the domain and mail host (IDN to punycode) in every name and target", () => {
    const records = buildSiteRecords({ ...base, domain: "Bücher.Example.", mailHost: "MAIL.zone.example" });
    for (const r of records) {
      expect(r.name.endsWith("xn--bcher-kva.example")).toBe(true);
      if (r.type === "CNAME" || r.type === "MX") expect(r.content).toBe("mail.zone.example");
    }
  });
});

describe("buildSiteRecords validation", () => {
  it.each<[string, Partial<SiteRecordsInput>, string]>([
    ["domain", { domain: "203.0.113.7" }, "IP address"],
    ["mailHost", { mailHost: "mail" }, "single label"],
    ["dkim.selector", { dkim: { selector: "bad selector", txt: KEY_2048 } }, "outside"],
    ["dkim.txt", { dkim: { selector: "dkim", txt: "v=DKIM1;k=rsa" } }, "p="],
    ["dkim.txt", { dkim: { selector: "dkim", txt: "v=DKIM1;\np=abc" } }, "control"],
    ["spfInclude", { spfInclude: "relay" }, "single label"],
    ["dmarc.rua", { dmarc: { rua: "not-an-address" } }, "report address"],
    ["dmarc.rua", { dmarc: { rua: "a,b@site.example" } }, "report address"],
    ["tlsRptRua", { tlsRptRua: "https://x.example/a,b" }, "','"],
    ["ttl", { ttl: 30 }, "out of range"],
    ["mtaSts.maxAgeSeconds", { mtaSts: { maxAgeSeconds: 40_000_000 } }, "out of range"],
  ])("rejects a bad %s and names it", (field, patch, problem) => {
    const err = errorOf(() => buildSiteRecords({ ...base, ...patch }));
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field} `)).toBe(true);
    expect(err.message).toContain(problem);
  });

  it("rejects a domain so long that a record name would exceed 253 bytes", () => {
    const label = "a".repeat(60);
    const domain = `${label}.${label}.${label}.${"b".repeat(50)}.example`; // 240 bytes: fine alone
    const err = errorOf(() => buildSiteRecords({ ...base, domain }));
    expect(err.field).toBe("domain");
    expect(err.message).toContain("longer than DNS allows");
  });

  it("blames the selector when only the DKIM name is too long", () => {
    const selector = `${"s".repeat(63)}.${"t".repeat(63)}.${"u".repeat(63)}`;
    const domain = `${"d".repeat(52)}.example`; // 191 + 12 + 60 bytes > 253
    const err = errorOf(() => buildSiteRecords({ ...base, domain, dkim: { selector, txt: KEY_2048 } }));
    expect(err.field).toBe("dkim.selector");
  });
});

describe("DKIM TXT splitting", () => {
  it.each([2048, 4096])("splits a real %i-bit key into ≤255-byte strings that re-join byte-exact", (bits) => {
    const txt = bits === 2048 ? KEY_2048 : dkimTxt(bits);
    const dkim = byPurpose(buildSiteRecords({ ...base, dkim: { selector: "mc2026a", txt } }), "dkim");
    const chunks = dkim.chunks ?? [];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(Buffer.byteLength(c, "utf8")).toBeLessThanOrEqual(255);
    expect(Buffer.from(chunks.join(""), "utf8").equals(Buffer.from(txt, "utf8"))).toBe(true);
    expect(dkim.content).toBe(txt);
    // Every chunk but the last is full: no needless extra strings.
    for (const c of chunks.slice(0, -1)) expect(Buffer.byteLength(c, "utf8")).toBe(255);
  });

  it("never cuts inside a multi-byte character", () => {
    const text = `${"a".repeat(254)}é${"€".repeat(100)}😀`;
    const chunks = splitTxt(text);
    expect(chunks[0]).toBe("a".repeat(254)); // é (2 bytes) would overflow 255
    for (const c of chunks) {
      expect(Buffer.byteLength(c, "utf8")).toBeLessThanOrEqual(255);
      expect(c).not.toContain("\uFFFD");
    }
    expect(Buffer.from(chunks.join("")).equals(Buffer.from(text))).toBe(true);
  });

  it("re-joins any text byte-exact in chunks within the limit", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 1200 }), fc.integer({ min: 4, max: 300 }), (text, max) => {
        const chunks = splitTxt(text, max);
        return (
          chunks.every((c) => Buffer.byteLength(c) <= max) &&
          Buffer.from(chunks.join("")).equals(Buffer.from(text)) &&
          chunks.length >= 1
        );
      }),
    );
  });
});

describe("quoting and zone-file lines", () => {
  it("quotes each chunk and escapes quotes and backslashes", () => {
    expect(quoteTxtChunks(["a", 'b"c', "d\\e"])).toBe('"a" "b\\"c" "d\\\\e"');
  });

  it("renders records as absolute BIND lines", () => {
    const records = buildSiteRecords({ ...base, announcePop3Unavailable: true });
    const lines = records.map(toZoneFileLine);
    expect(lines).toContain("site.example. 3600 IN MX 10 mail.zone.example.");
    expect(lines).toContain("_submissions._tcp.site.example. 3600 IN SRV 0 1 465 mail.zone.example.");
    expect(lines).toContain("_pop3._tcp.site.example. 3600 IN SRV 0 0 0 .");
    expect(lines).toContain("autoconfig.site.example. 3600 IN CNAME mail.zone.example.");
    const dkimLine = lines.find((l) => l.startsWith("mc2026a._domainkey."));
    expect(dkimLine).toMatch(/IN TXT "v=DKIM1;k=rsa;t=s;s=email;p=[^"]+" "[^"]+"/);
  });
});
