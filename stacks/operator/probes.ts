/** The real probes behind the checks: child processes, the system resolver, TCP connects. */
import { execFile } from "node:child_process";
import { Resolver } from "node:dns/promises";
import * as net from "node:net";
import type { CommandRunner, DnsProbe, Probes, TcpProbe } from "./checks";

/** Runs `binary args…`; never rejects: a missing binary is `missing: true`, a failure is a non-zero code. */
export function commandRunner(binary: string, timeoutMs = 30_000): CommandRunner {
  return (args) =>
    new Promise((resolve) => {
      execFile(binary, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
          resolve({ code: 127, stdout: "", stderr: `${binary}: not found`, missing: true });
          return;
        }
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr || (err ? err.message : "")) });
      });
    });
}

/** The reverse-zone name of an address: `10.113.0.203.in-addr.arpa`, or 32 nibbles under `ip6.arpa`. */
export function ptrName(ip: string): string {
  if (net.isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  if (!net.isIPv6(ip) || ip.includes(".")) throw new Error(`not an IPv4 or plain IPv6 address: ${ip}`);
  const [head, tail = ""] = ip.split("::");
  const groups = (part: string) => (part ? part.split(":") : []);
  const left = groups(head);
  const right = ip.includes("::") ? groups(tail) : [];
  const full = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  const nibbles = full.map((g) => g.padStart(4, "0")).join("");
  return `${[...nibbles].reverse().join(".")}.ip6.arpa`;
}

export function systemDns(): DnsProbe {
  const resolver = new Resolver({ timeout: 5000, tries: 2 });
  return {
    // A PTR query rather than `resolver.reverse`: reverse falls back to /etc/hosts and then reports ENOTFOUND even
    // when the name server never answered (measured: ECONNREFUSED from the server comes out as ENOTFOUND), which
    // would turn "could not check" into "no PTR record".
    reverse: (ip) => resolver.resolvePtr(ptrName(ip)),
    resolve4: (host) => resolver.resolve4(host),
    resolve6: (host) => resolver.resolve6(host),
  };
}

export const tcpConnect: TcpProbe = (host, port, timeoutMs) =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });

export function systemProbes(): Probes {
  return { kubectl: commandRunner("kubectl"), dns: systemDns(), tcp: tcpConnect };
}
