/**
 * Pure comparison of what a site should publish with what its authoritative name servers answer. No I/O: the
 * checker feeds it the answers. Each expected record ends up pending (nothing there yet), failed (something else is
 * there, so waiting will not help unless someone changes it) or verified.
 */
import type * as dnsPacket from "dns-packet";
import type { MailDnsRecord } from "../../components/site-records";
import { txtValue } from "./dns-client";

export type RecordState = "pending" | "verified" | "failed";

/** The records the checker compares: the site record list's shape (components/site-records.ts). */
export type ExpectedRecord = Pick<MailDnsRecord, "name" | "type" | "content" | "purpose"> &
  Partial<Pick<MailDnsRecord, "chunks" | "priority" | "ttl">>;

export interface RecordCheck {
  name: string;
  type: ExpectedRecord["type"];
  purpose: string;
  state: RecordState;
  /** One sentence for the status: what was found and, when not verified, what is expected. */
  detail: string;
  /** Failed records only: the values found instead (shortened), for one-line summaries. */
  found?: string[];
}

/** What the authoritative server said for one (name, type). */
export type Observation =
  | { kind: "answers"; answers: dnsPacket.Answer[] }
  /** NXDOMAIN: the name does not exist at all. */
  | { kind: "nxdomain" }
  /** NOERROR without records of the type (the name exists, or the server has nothing yet). */
  | { kind: "nodata" /** For CNAME checks: A/AAAA found at the name instead. */; addresses?: string[] }
  /** No usable answer (timeouts, SERVFAIL, no name servers): the state stays pending and says why. */
  | { kind: "error"; message: string };

export const hostKey = (host: string): string => host.trim().replace(/\.$/, "").toLowerCase();

/** The version tag that identifies a TXT record's kind (`v=spf1`, `v=DKIM1`, `v=DMARC1`, `v=STSv1`, `v=TLSRPTv1`). */
export function txtTag(text: string): string | undefined {
  const m = /^\s*v\s*=\s*([A-Za-z0-9]+)/.exec(text);
  return m ? m[1].toLowerCase() : undefined;
}

/** SPF terms are case-insensitive and separated by any run of spaces (RFC 7208 §4.6.1). */
function normaliseSpf(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}

/**
 * Tag-list records (DKIM, DMARC, MTA-STS, TLS-RPT): `tag=value` pairs separated by `;` where whitespace around tags
 * is insignificant (RFC 6376 §3.2) and DKIM's base64 may be folded. Compared as a sorted list of pairs with `v`
 * first; tag names lower-cased, whitespace inside values removed.
 */
export function normaliseTagList(text: string): string[] {
  const pairs = text
    .split(";")
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf("=");
      if (eq < 0) return p.replace(/\s+/g, "");
      return `${p.slice(0, eq).trim().toLowerCase()}=${p.slice(eq + 1).replace(/\s+/g, "")}`;
    });
  const v = pairs.filter((p) => p.startsWith("v="));
  return [...v, ...pairs.filter((p) => !p.startsWith("v=")).sort()];
}

function sameTxt(expected: string, actual: string): boolean {
  const tag = txtTag(expected);
  if (tag === "spf1") return normaliseSpf(expected) === normaliseSpf(actual);
  if (tag) return normaliseTagList(expected).join(";") === normaliseTagList(actual).join(";");
  return expected === actual;
}

/** Quotes a value for a detail line, shortened so a 2048-bit DKIM key does not flood the status. */
export function shown(value: string, max = 80): string {
  const v = value.length > max ? `${value.slice(0, max - 1)}…` : value;
  return `"${v}"`;
}

function expectedMx(record: ExpectedRecord): { preference: number | undefined; host: string } {
  // Accept both shapes: content "10 mail.example" or content "mail.example" with priority.
  const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(record.content);
  if (m) return { preference: Number(m[1]), host: hostKey(m[2]) };
  return { preference: record.priority, host: hostKey(record.content) };
}

interface SrvValue {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

function expectedSrv(record: ExpectedRecord): SrvValue | undefined {
  const parts = record.content.trim().split(/\s+/);
  const nums = parts.slice(0, -1).map(Number);
  const target = hostKey(parts[parts.length - 1] ?? "");
  const norm = target === "" ? "." : target;
  if (nums.length === 3 && nums.every(Number.isInteger)) {
    return { priority: nums[0], weight: nums[1], port: nums[2], target: norm };
  }
  if (nums.length === 2 && nums.every(Number.isInteger)) {
    return { priority: record.priority ?? 0, weight: nums[0], port: nums[1], target: norm };
  }
  return undefined;
}

const srvText = (s: SrvValue): string => `${s.priority} ${s.weight} ${s.port} ${s.target}`;

function result(record: ExpectedRecord, state: RecordState, detail: string, found?: string[]): RecordCheck {
  const check: RecordCheck = { name: hostKey(record.name), type: record.type, purpose: record.purpose, state, detail };
  if (state === "failed" && found && found.length > 0) check.found = found;
  return check;
}

function pendingFor(record: ExpectedRecord, observation: Observation): RecordCheck | undefined {
  const what = `${record.type} at ${hostKey(record.name)}`;
  switch (observation.kind) {
    case "nxdomain":
      return result(record, "pending", `${hostKey(record.name)} does not exist yet (NXDOMAIN)`);
    case "error":
      return result(record, "pending", `could not check ${what}: ${observation.message}`);
    case "nodata":
      if (record.type === "CNAME" && observation.addresses && observation.addresses.length > 0) {
        return result(
          record,
          "failed",
          `${hostKey(record.name)} has address records (${observation.addresses.join(", ")}) instead of a CNAME to ${hostKey(record.content)}`,
          observation.addresses,
        );
      }
      return result(record, "pending", `no ${what} yet`);
    case "answers":
      return undefined;
  }
}

/** Compares one expected record with the observation for its (name, type). */
export function compareRecord(record: ExpectedRecord, observation: Observation): RecordCheck {
  const early = pendingFor(record, observation);
  if (early) return early;
  const answers = observation.kind === "answers" ? observation.answers : [];
  const name = hostKey(record.name);
  switch (record.type) {
    case "MX": {
      const want = expectedMx(record);
      const mx = answers.flatMap((a) =>
        a.type === "MX" ? [{ preference: a.data.preference, host: hostKey(a.data.exchange) }] : [],
      );
      if (mx.length === 0) return cnameInstead(record, answers) ?? result(record, "pending", `no MX at ${name} yet`);
      const ours = mx.find((m) => m.host === want.host);
      const others = mx.filter((m) => m.host !== want.host);
      const list = (ms: typeof mx) => ms.map((m) => `${m.preference} ${m.host}`).join(", ");
      if (!ours) {
        return result(record, "failed", `MX at ${name} points to ${list(mx)}; expected ${want.host}`, [list(mx)]);
      }
      if (others.length > 0) {
        return result(
          record,
          "failed",
          `MX at ${name} also lists ${list(others)}: mail may be delivered elsewhere; remove them`,
          [list(mx)],
        );
      }
      if (want.preference !== undefined && ours.preference !== want.preference) {
        return result(
          record,
          "failed",
          `MX at ${name} has preference ${ours.preference}; expected ${want.preference}`,
          [list(mx)],
        );
      }
      return result(record, "verified", `MX ${ours.preference} ${ours.host}`);
    }
    case "CNAME": {
      const cnames = answers.flatMap((a) => (a.type === "CNAME" ? [hostKey(a.data)] : []));
      const want = hostKey(record.content);
      if (cnames.length === 0) return result(record, "pending", `no CNAME at ${name} yet`);
      if (cnames.includes(want)) return result(record, "verified", `CNAME ${want}`);
      return result(record, "failed", `CNAME at ${name} points to ${cnames.join(", ")}; expected ${want}`, cnames);
    }
    case "TXT": {
      const want = record.chunks && record.chunks.length > 0 ? record.chunks.join("") : record.content;
      const texts = answers.flatMap((a) => (a.type === "TXT" ? [txtValue(a)] : []));
      if (texts.length === 0)
        return cnameInstead(record, answers) ?? result(record, "pending", `no TXT at ${name} yet`);
      const tag = txtTag(want);
      // Only TXT records of the same kind compete (an apex also carries site-verification strings and the like).
      const sameKind = tag ? texts.filter((t) => txtTag(t) === tag) : texts;
      const label = record.purpose.toUpperCase();
      if (sameKind.some((t) => sameTxt(want, t))) {
        if (tag === "spf1" && sameKind.length > 1) {
          return result(
            record,
            "failed",
            `${sameKind.length} SPF records at ${name} (RFC 7208 allows one; receivers answer permerror): keep only ${shown(want)}`,
            sameKind.map((t) => shown(t, 40)),
          );
        }
        return result(record, "verified", `${label} ${shown(want, 60)}`);
      }
      if (sameKind.length === 0) {
        return result(record, "pending", `no ${label} TXT at ${name} yet`);
      }
      const found = sameKind.map((t) => shown(t)).join(", ");
      return result(
        record,
        "failed",
        `${label} at ${name} is ${found}; expected ${shown(want)}`,
        sameKind.map((t) => shown(t, 40)),
      );
    }
    case "SRV": {
      const want = expectedSrv(record);
      const got = answers.flatMap((a) =>
        a.type === "SRV"
          ? [
              {
                priority: a.data.priority ?? 0,
                weight: a.data.weight ?? 0,
                port: a.data.port,
                target: hostKey(a.data.target) || ".",
              },
            ]
          : [],
      );
      if (got.length === 0) return result(record, "pending", `no SRV at ${name} yet`);
      if (!want) return result(record, "failed", `cannot read the expected SRV value ${shown(record.content)}`);
      if (got.some((g) => srvText(g) === srvText(want))) return result(record, "verified", `SRV ${srvText(want)}`);
      return result(
        record,
        "failed",
        `SRV at ${name} is ${got.map(srvText).join(", ")}; expected ${srvText(want)}`,
        got.map(srvText),
      );
    }
  }
}

/** A TXT/MX query answered with a CNAME means the name is an alias: the record cannot coexist (RFC 1034 §3.6.2). */
function cnameInstead(record: ExpectedRecord, answers: dnsPacket.Answer[]): RecordCheck | undefined {
  const cname = answers.find((a) => a.type === "CNAME");
  if (cname?.type !== "CNAME") return undefined;
  return result(
    record,
    "failed",
    `${hostKey(record.name)} is a CNAME to ${hostKey(cname.data)}, so it cannot also hold the ${record.type} record`,
    [`CNAME ${hostKey(cname.data)}`],
  );
}
