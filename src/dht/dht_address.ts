import { encodeIpAddress } from "../wire/peer_address.ts";

/** A UDP endpoint of a DHT node: an IP literal (IPv6 without brackets) and a port. */
export interface DhtAddress {
  /** IPv4 or IPv6 address. */
  host: string;
  /** UDP port, 1..65535. */
  port: number;
}

/**
 * Turns an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as a dual-stack socket reports IPv4
 * senders) into plain IPv4 and lowercases IPv6; other text is returned as it is.
 * @param host An address as a socket reported it.
 * @returns The canonical form.
 * @example
 * ```ts
 * import { canonicalHost } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(canonicalHost("::ffff:127.0.0.1"), "127.0.0.1");
 * ```
 */
export function canonicalHost(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  return lower;
}

/**
 * The address family of an IP literal.
 * @param host An IPv4 or IPv6 address.
 * @returns 6 when it contains ":", else 4.
 * @example
 * ```ts
 * import { addressFamily } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(addressFamily("::1"), 6);
 * ```
 */
export function addressFamily(host: string): 4 | 6 {
  return host.includes(":") ? 6 : 4;
}

/**
 * A map key for an endpoint: `host:port` with the host made canonical.
 * @param address The endpoint.
 * @returns The key.
 * @example
 * ```ts
 * import { addressKey } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(addressKey({ host: "::ffff:10.0.0.1", port: 6881 }), "10.0.0.1:6881");
 * ```
 */
export function addressKey(address: DhtAddress): string {
  return `${canonicalHost(address.host)}:${address.port}`;
}

/**
 * Tells whether an address learnt from another node (a `nodes` entry, a peer in `values`) may be
 * contacted: a valid IP and port, not unspecified, broadcast, multicast or reserved, and a
 * loopback address only when the node that told us is itself on loopback.
 * @param address The endpoint to check.
 * @param from The node that sent it, or `undefined` when it came from the user.
 * @returns `true` when it may be used.
 * @example
 * ```ts
 * import { isUsableAddress } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * ok(isUsableAddress({ host: "1.2.3.4", port: 6881 }, { host: "5.6.7.8", port: 1 }));
 * ok(!isUsableAddress({ host: "127.0.0.1", port: 6881 }, { host: "5.6.7.8", port: 1 }));
 * ok(!isUsableAddress({ host: "224.0.0.1", port: 6881 }, undefined));
 * ```
 */
export function isUsableAddress(address: DhtAddress, from: DhtAddress | undefined): boolean {
  const { port } = address;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return false;
  let ip: Uint8Array;
  try {
    ip = encodeIpAddress(canonicalHost(address.host));
  } catch {
    return false;
  }
  if (isLoopback(ip)) return from === undefined || isLoopbackHost(from.host);
  if (ip.length === 4) return ip[0] !== 0 && ip[0] < 224;
  if (ip[0] === 0xff) return false; // multicast
  return !ip.every((b) => b === 0);
}

function isLoopback(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 127;
  for (let i = 0; i < 15; i++) if (ip[i] !== 0) return false;
  return ip[15] === 1;
}

function isLoopbackHost(host: string): boolean {
  try {
    return isLoopback(encodeIpAddress(canonicalHost(host)));
  } catch {
    return false;
  }
}
