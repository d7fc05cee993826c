/**
 * A local authoritative DNS server double for tests: UDP and TCP on 127.0.0.1 (one random port for both), built
 * with dns-packet. It serves configurable zones and can misbehave per name: truncate UDP answers (so clients must
 * retry over TCP), drop queries (the client times out), or answer SERVFAIL/REFUSED. Every query is logged so tests
 * can assert on transport and order.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import * as dnsPacket from "dns-packet";

export type DoubleRecordType = "A" | "AAAA" | "NS" | "MX" | "TXT" | "CNAME" | "SRV" | "SOA";

export interface DoubleRecord {
  name: string;
  type: DoubleRecordType;
  ttl?: number;
  /** A/AAAA/NS/CNAME: a string; MX: {preference, exchange}; TXT: string or strings; SRV: dns-packet's SrvData. */
  data: string | string[] | dnsPacket.MxData | dnsPacket.SrvData | dnsPacket.SoaData;
}

/** How the server treats queries for one name (any type). */
export type Behaviour = "truncate-udp" | "drop" | "servfail" | "refused";

export interface LoggedQuery {
  transport: "udp" | "tcp";
  name: string;
  type: string;
}

export interface DnsServerDouble {
  address: string;
  port: number;
  /** Zone apexes this server is authoritative for. */
  zones: string[];
  records: DoubleRecord[];
  /** Per-name behaviour (lower-case name without trailing dot). */
  behaviours: Map<string, Behaviour>;
  queries: LoggedQuery[];
  /** Replaces every record at (name, type) with the given data (none = delete them). */
  set(name: string, type: DoubleRecordType, ...data: DoubleRecord["data"][]): void;
  close(): Promise<void>;
}

export interface DnsServerOptions {
  zones: string[];
  records?: DoubleRecord[];
  behaviours?: Record<string, Behaviour>;
}

const norm = (name: string): string => name.replace(/\.$/, "").toLowerCase();

function zoneOf(zones: string[], name: string): string | undefined {
  const n = norm(name);
  return zones
    .map(norm)
    .filter((z) => n === z || n.endsWith(`.${z}`))
    .sort((a, b) => b.length - a.length)[0];
}

function soaFor(zone: string): dnsPacket.Answer {
  return {
    name: zone,
    type: "SOA",
    ttl: 300,
    data: {
      mname: `ns1.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 60,
    },
  };
}

function toAnswer(r: DoubleRecord): dnsPacket.Answer {
  // dns-packet encodes a TXT array in place (strings become Buffers): every answer gets its own copy.
  const data = Array.isArray(r.data) ? [...r.data] : r.data;
  return { name: norm(r.name), type: r.type, ttl: r.ttl ?? 300, data } as dnsPacket.Answer;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServerDouble> {
  const records: DoubleRecord[] = [...(options.records ?? [])];
  const behaviours = new Map(Object.entries(options.behaviours ?? {}).map(([k, v]) => [norm(k), v]));
  const queries: LoggedQuery[] = [];
  const zones = options.zones.map(norm);

  /** Builds the response for a query, or undefined to stay silent. */
  function respond(query: dnsPacket.DecodedPacket, transport: "udp" | "tcp"): Buffer | undefined {
    const q = query.questions?.[0];
    if (!q) return undefined;
    queries.push({ transport, name: norm(q.name), type: q.type });
    const behaviour = behaviours.get(norm(q.name));
    if (behaviour === "drop") return undefined;
    const base = { type: "response" as const, id: query.id, questions: [q] };
    if (behaviour === "servfail" || behaviour === "refused") {
      return dnsPacket.encode({ ...base, flags: behaviour === "servfail" ? RCODE.SERVFAIL : RCODE.REFUSED });
    }
    const zone = zoneOf(zones, q.name);
    if (!zone) return dnsPacket.encode({ ...base, flags: RCODE.REFUSED });
    if (behaviour === "truncate-udp" && transport === "udp") {
      return dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE });
    }
    const atName = records.filter((r) => norm(r.name) === norm(q.name));
    const cname = atName.filter((r) => r.type === "CNAME");
    const matching = atName.filter((r) => r.type === q.type);
    // A name with a CNAME answers every other type with the CNAME (RFC 1034 §3.6.2).
    const answers = (matching.length > 0 ? matching : cname).map(toAnswer);
    if (answers.length > 0) {
      return dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers });
    }
    const nameExists = records.some((r) => {
      const n = norm(r.name);
      return n === norm(q.name) || n.endsWith(`.${norm(q.name)}`);
    });
    return dnsPacket.encode({
      ...base,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (nameExists || norm(q.name) === zone ? RCODE.NOERROR : RCODE.NXDOMAIN),
      authorities: [soaFor(zone)],
    });
  }

  let udp = dgram.createSocket("udp4");
  const tcp = net.createServer((socket) => serveTcp(socket));
  // One port serves UDP and TCP, as on a real name server; retry if the TCP side of a random UDP port is taken.
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    const probe = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
    port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    if (attempt > 0) udp = dgram.createSocket("udp4");
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, "127.0.0.1", () => {
          tcp.off("error", reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(port, "127.0.0.1", () => {
          udp.off("error", reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      if (tcp.listening) await new Promise<void>((resolve) => tcp.close(() => resolve()));
      udp.close();
      if (attempt >= 10) throw err;
    }
  }
  udp.on("message", (msg, rinfo) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const out = respond(query, "udp");
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });

  const sockets = new Set<net.Socket>();
  function serveTcp(socket: net.Socket): void {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2) {
        const length = buffer.readUInt16BE(0);
        if (buffer.length < 2 + length) break;
        const message = buffer.subarray(2, 2 + length);
        buffer = buffer.subarray(2 + length);
        let query: dnsPacket.DecodedPacket;
        try {
          query = dnsPacket.decode(message);
        } catch {
          socket.destroy();
          return;
        }
        const out = respond(query, "tcp");
        if (out) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        }
      }
    });
  }

  return {
    address: "127.0.0.1",
    port,
    zones,
    records,
    behaviours,
    queries,
    set(name, type, ...data) {
      for (let i = records.length - 1; i >= 0; i--) {
        if (norm(records[i].name) === norm(name) && records[i].type === type) records.splice(i, 1);
      }
      for (const d of data) records.push({ name, type, data: d });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}
