/**
 * Address ranges as values: parsing, containment and overlap, and the one rule for a range the zone may trust
 * (admin allow-list, Mailcow's API_ALLOW_FROM and TRUSTED_PROXIES, Dovecot's haproxy_trusted_networks, the pod and
 * service networks). One typo such as `0.0.0.0/0` in any of them would open the admin plane or let a forged PROXY
 * header relay mail, so every trust setting goes through `trustedRange` and every overlap test through `overlaps`.
 */
import { isIP } from "node:net";

export interface AddressRange {
  /** The text as given, e.g. `10.42.0.0/16` or `2001:db8::1`. */
  readonly text: string;
  readonly family: 4 | 6;
  /** First address of the range, as an integer. */
  readonly first: bigint;
  /** Last address of the range, as an integer. */
  readonly last: bigint;
  readonly prefix: number;
}

function ipv4ToBigInt(address: string): bigint {
  return address.split(".").reduce((acc, octet) => acc * 256n + BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]);
    text = `${text.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill("0"), ...tailGroups];
  return groups.reduce((acc, group) => acc * 65536n + BigInt(Number.parseInt(group || "0", 16)), 0n);
}

/** Parses an address or CIDR; `undefined` when it is neither (or its prefix is out of range). */
export function parseRange(text: string): AddressRange | undefined {
  const [address, prefixText, ...rest] = text.split("/");
  if (rest.length > 0) return undefined;
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  const width = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (prefix > width) return undefined;
  const value = family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const hostBits = BigInt(width - prefix);
  const first = (value >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  return { text, family, first, last, prefix };
}

/** A CIDR whose address has no host bits set (`10.42.0.0/16`, not `10.42.0.1/16`): catches a common typo. */
export function isNetworkCidr(text: string): boolean {
  if (!text.includes("/")) return false;
  const range = parseRange(text);
  if (!range) return false;
  const address = text.split("/")[0];
  const value = range.family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  return value === range.first;
}

export function overlaps(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function contains(outer: AddressRange, inner: AddressRange): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

/**
 * Ranges that are not routed on the public internet and so can only be a cluster's, a LAN's or the host's own:
 * RFC 1918, shared address space (RFC 6598, used by some CNIs), loopback, IPv6 unique-local and loopback.
 */
const PRIVATE_RANGES: readonly AddressRange[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "fc00::/7",
  "::1/128",
].map((text) => parseRange(text) as AddressRange);

export function isPrivateRange(range: AddressRange): boolean {
  return PRIVATE_RANGES.some((p) => contains(p, range));
}

export type TrustProblem = "not-a-range" | "everything" | "public";

/**
 * Why a range may not be trusted as a cluster-internal network, or `undefined` when it may. `/0` ("everything") and
 * any range reaching outside the private ranges ("public") are refused: an internet client would then count as a
 * pod, a proxy or the admin's own machine.
 */
export function trustProblem(text: string): TrustProblem | undefined {
  const range = parseRange(text);
  if (!range) return "not-a-range";
  if (range.prefix === 0) return "everything";
  if (!isPrivateRange(range)) return "public";
  return undefined;
}

export const TRUST_PROBLEM_TEXT: Readonly<Record<TrustProblem, string>> = {
  "not-a-range": "an IPv4/IPv6 address or CIDR such as 10.42.0.0/16",
  everything: "a narrower range: /0 would trust every address on the internet",
  public:
    "a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7): a public range would trust internet clients",
};
