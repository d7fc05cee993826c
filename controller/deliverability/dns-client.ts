/**
 * A minimal DNS stub that asks one name server directly: UDP first, TCP when the answer comes back truncated
 * (RFC 7766). Recursion is not requested: the deliverability checks talk to authoritative servers, whose answers
 * are what the rest of the Internet will eventually see, without cache delays.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import { isIPv6 } from "node:net";
import * as dnsPacket from "dns-packet";

export interface NameServer {
  /** IP address (v4 or v6). */
  address: string;
  /** Port, 53 unless a test says otherwise. */
  port: number;
  /** Host name, for messages. */
  name?: string;
}

export type QueryType = "A" | "AAAA" | "NS" | "MX" | "TXT" | "CNAME" | "SRV" | "SOA";

export type DnsRcode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED" | `RCODE${number}`;

export interface DnsResponse {
  rcode: DnsRcode;
  /** Whether the server claimed authority (AA flag). */
  authoritative: boolean;
  answers: dnsPacket.Answer[];
  authorities: dnsPacket.Answer[];
  /** The transport that produced this answer. */
  transport: "udp" | "tcp";
}

export class DnsQueryError extends Error {
  constructor(
    message: string,
    readonly server: NameServer,
    readonly code: "timeout" | "network" | "malformed",
  ) {
    super(message);
    this.name = "DnsQueryError";
  }
}

export interface DnsClientOptions {
  /** Per-attempt timeout in milliseconds (default 2000). */
  timeoutMs?: number;
  /** UDP attempts before giving up (default 2). */
  udpAttempts?: number;
}

const RCODES: Record<number, DnsRcode> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

function describe(server: NameServer): string {
  return `${server.name ? `${server.name} ` : ""}(${server.address}:${server.port})`;
}

export class DnsClient {
  private readonly timeoutMs: number;
  private readonly udpAttempts: number;

  constructor(options: DnsClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.udpAttempts = options.udpAttempts ?? 2;
  }

  /** Asks `server` for (`name`, `type`); retries UDP on timeout and switches to TCP on truncation. */
  async query(server: NameServer, name: string, type: QueryType): Promise<DnsResponse> {
    const id = Math.floor(Math.random() * 65536);
    const packet = dnsPacket.encode({
      type: "query",
      id,
      flags: 0,
      questions: [{ type, name, class: "IN" }],
    });
    let lastError: unknown;
    for (let attempt = 0; attempt < this.udpAttempts; attempt++) {
      try {
        const raw = await this.udp(server, packet, id);
        const decoded = this.decode(server, raw, id, name, type);
        if (decoded.flag_tc)
          return this.toResponse(this.decode(server, await this.tcp(server, packet), id, name, type), "tcp");
        return this.toResponse(decoded, "udp");
      } catch (err) {
        lastError = err;
        // Only a lost datagram is worth another UDP try; anything else is the server's real answer or a bug.
        if (!(err instanceof DnsQueryError && err.code === "timeout")) throw err;
      }
    }
    throw lastError;
  }

  private toResponse(packet: dnsPacket.DecodedPacket, transport: "udp" | "tcp"): DnsResponse {
    const code = (packet.flags ?? 0) & 0xf;
    return {
      rcode: RCODES[code] ?? `RCODE${code}`,
      authoritative: packet.flag_aa,
      answers: packet.answers ?? [],
      authorities: packet.authorities ?? [],
      transport,
    };
  }

  private decode(server: NameServer, raw: Buffer, id: number, name: string, type: QueryType): dnsPacket.DecodedPacket {
    let decoded: dnsPacket.DecodedPacket;
    try {
      decoded = dnsPacket.decode(raw);
    } catch (err) {
      throw new DnsQueryError(
        `${describe(server)} sent a malformed DNS message for ${name} ${type}: ${(err as Error).message}`,
        server,
        "malformed",
      );
    }
    const q = decoded.questions?.[0];
    if (decoded.id !== id || !q || q.name.toLowerCase() !== name.replace(/\.$/, "").toLowerCase() || q.type !== type) {
      throw new DnsQueryError(
        `${describe(server)} answered a different question than ${name} ${type}`,
        server,
        "malformed",
      );
    }
    return decoded;
  }

  private udp(server: NameServer, packet: Buffer, id: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(isIPv6(server.address) ? "udp6" : "udp4");
      const timer = setTimeout(() => {
        finish();
        reject(
          new DnsQueryError(`no answer from ${describe(server)} within ${this.timeoutMs} ms (UDP)`, server, "timeout"),
        );
      }, this.timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.close();
      };
      socket.on("error", (err) => {
        finish();
        reject(new DnsQueryError(`UDP query to ${describe(server)} failed: ${err.message}`, server, "network"));
      });
      socket.on("message", (msg, rinfo) => {
        // Ignore stray datagrams (wrong source port or id; the address is not compared); a stray answer must not end the wait.
        if (rinfo.port !== server.port || msg.length < 2 || msg.readUInt16BE(0) !== id) return;
        finish();
        resolve(msg);
      });
      socket.send(packet, server.port, server.address);
    });
  }

  private tcp(server: NameServer, packet: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: server.address, port: server.port });
      let buffer = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new DnsQueryError(`no answer from ${describe(server)} within ${this.timeoutMs} ms (TCP)`, server, "timeout"),
        );
      }, this.timeoutMs);
      socket.on("connect", () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(packet.length);
        socket.write(Buffer.concat([prefix, packet]));
      });
      socket.on("data", (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        if (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(buffer.subarray(2, 2 + buffer.readUInt16BE(0)));
        }
      });
      socket.on("error", (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new DnsQueryError(`TCP query to ${describe(server)} failed: ${err.message}`, server, "network"));
      });
      socket.on("close", () => {
        clearTimeout(timer);
        reject(new DnsQueryError(`${describe(server)} closed the TCP connection without an answer`, server, "network"));
      });
    });
  }
}

/** The strings of a TXT answer joined into one value (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
export function txtValue(answer: dnsPacket.Answer): string {
  if (answer.type !== "TXT") return "";
  const data = answer.data;
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (Buffer.isBuffer(p) ? p.toString("utf8") : p)).join("");
}
