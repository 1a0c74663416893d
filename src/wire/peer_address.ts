/**
 * Where a peer listens. IPv6 hosts are written without brackets (`"::1"`).
 */
export interface PeerAddress {
  /** An IPv4 (`"10.0.0.1"`) or IPv6 (`"2001:db8::1"`) address, or a host name. */
  host: string;
  /** TCP port, 1..65535. */
  port: number;
}

/**
 * Formats an address as `host:port`, bracketing IPv6 hosts (`[::1]:6881`).
 * @param address The address.
 * @returns The text form.
 * @example
 * ```ts
 * import { formatPeerAddress } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(formatPeerAddress({ host: "::1", port: 6881 }), "[::1]:6881");
 * ```
 */
export function formatPeerAddress(address: PeerAddress): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  let tail: Uint8Array | undefined;
  let body = text;
  const lastColon = body.lastIndexOf(":");
  if (body.includes(".")) {
    tail = parseIpv4(body.slice(lastColon + 1));
    if (!tail) return undefined;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return undefined;
  const groups = halves.length === 2
    ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
    : head;
  if (groups.length !== 8 || (halves.length === 2 && head.length + rest.length > 7)) {
    return undefined;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i] >> 8;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/**
 * Parses an IPv4 or IPv6 address (IPv6 without brackets) into its 4 or 16 bytes.
 * @param host The address text.
 * @returns 4 bytes for IPv4, 16 for IPv6.
 * @throws {SyntaxError} If `host` is not an IP address (host names are not resolved).
 * @example
 * ```ts
 * import { encodeIpAddress } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(encodeIpAddress("10.0.0.1"), new Uint8Array([10, 0, 0, 1]));
 * deepStrictEqual(encodeIpAddress("::1").length, 16);
 * ```
 */
export function encodeIpAddress(host: string): Uint8Array {
  const bytes = host.includes(":") ? parseIpv6(host) : parseIpv4(host);
  if (!bytes) throw new SyntaxError(`Cannot encode IP address: "${host}" is not an IP address`);
  return bytes;
}

/**
 * Formats 4 or 16 address bytes as IPv4 dotted text or RFC 5952 IPv6 text
 * (lowercase, longest zero run compressed, no brackets).
 * @param bytes 4 or 16 bytes.
 * @returns The address text.
 * @throws {RangeError} If `bytes` is neither 4 nor 16 long.
 * @example
 * ```ts
 * import { decodeIpAddress } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(decodeIpAddress(new Uint8Array([127, 0, 0, 1])), "127.0.0.1");
 * const v6 = new Uint8Array(16);
 * v6[0] = 0x20; v6[1] = 0x01; v6[15] = 1;
 * strictEqual(decodeIpAddress(v6), "2001::1");
 * ```
 */
export function decodeIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) {
    throw new RangeError(`Cannot decode IP address: ${bytes.length} bytes, expected 4 or 16`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1, bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(":");
  if (bestLength < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * Encodes one peer in compact form: 4 address bytes + 2 port bytes for IPv4
 * (BEP 23), 16 + 2 for IPv6 (BEP 7), port big-endian.
 * @param address An address whose host is an IP address.
 * @returns 6 or 18 bytes.
 * @throws {SyntaxError} If the host is not an IP address.
 * @throws {RangeError} If the port is not an integer in 0..65535.
 * @example
 * ```ts
 * import { encodeCompactPeer } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(
 *   encodeCompactPeer({ host: "10.0.0.1", port: 6881 }),
 *   new Uint8Array([10, 0, 0, 1, 0x1a, 0xe1]),
 * );
 * ```
 */
export function encodeCompactPeer(address: PeerAddress): Uint8Array {
  const ip = encodeIpAddress(address.host);
  const { port } = address;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot encode peer: port ${port} is out of range 0..65535`);
  }
  const out = new Uint8Array(ip.length + 2);
  out.set(ip);
  out[ip.length] = port >> 8;
  out[ip.length + 1] = port & 0xff;
  return out;
}

/**
 * Encodes peers of one family back to back in compact form (the `peers`/`peers6`
 * tracker fields, BEP 11 `added`/`added6`). Peers of the other family are skipped.
 * @param addresses The peers.
 * @param family 4 for 6-byte IPv4 entries, 6 for 18-byte IPv6 entries.
 * @returns The concatenated entries.
 * @throws {SyntaxError} If a host is not an IP address.
 * @example
 * ```ts
 * import { encodeCompactPeers } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * const bytes = encodeCompactPeers([{ host: "10.0.0.1", port: 1 }, { host: "::1", port: 2 }], 4);
 * strictEqual(bytes.length, 6);
 * ```
 */
export function encodeCompactPeers(addresses: readonly PeerAddress[], family: 4 | 6): Uint8Array {
  const parts = addresses
    .filter((a) => a.host.includes(":") === (family === 6))
    .map(encodeCompactPeer);
  const out = new Uint8Array(parts.length * (family === 4 ? 6 : 18));
  parts.forEach((part, i) => out.set(part, i * part.length));
  return out;
}

/**
 * Decodes compact peers (BEP 23 IPv4, 6 bytes each; BEP 7 IPv6, 18 bytes each).
 * Lenient, since the bytes are untrusted: a trailing partial entry and entries with
 * port 0 are skipped, so this never throws.
 * @param bytes The concatenated entries.
 * @param family 4 or 6.
 * @returns The peers, IPv6 hosts without brackets.
 * @example
 * ```ts
 * import { decodeCompactPeers } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(
 *   decodeCompactPeers(new Uint8Array([10, 0, 0, 1, 0x1a, 0xe1]), 4),
 *   [{ host: "10.0.0.1", port: 6881 }],
 * );
 * ```
 */
export function decodeCompactPeers(bytes: Uint8Array, family: 4 | 6): PeerAddress[] {
  const ipLength = family === 4 ? 4 : 16;
  const size = ipLength + 2;
  const out: PeerAddress[] = [];
  for (let i = 0; i + size <= bytes.length; i += size) {
    const port = (bytes[i + ipLength] << 8) | bytes[i + ipLength + 1];
    if (port === 0) continue;
    out.push({ host: decodeIpAddress(bytes.subarray(i, i + ipLength)), port });
  }
  return out;
}
