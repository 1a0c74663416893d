import { encodeIpAddress } from "../wire/peer_address.ts";
import { crc32c } from "./crc32c.ts";
import { NODE_ID_BYTES } from "./node_id.ts";

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/** The 21-bit id prefix BEP 42 derives from an address and a 3-bit `r`. */
function prefixOf(ip: Uint8Array, r: number): number {
  const octets = ip.length === 4 ? 4 : 8;
  const mask = octets === 4 ? V4_MASK : V6_MASK;
  const masked = new Uint8Array(octets);
  for (let i = 0; i < octets; i++) masked[i] = ip[i] & mask[i];
  masked[0] |= (r & 7) << 5;
  return crc32c(masked);
}

/**
 * Makes a node id that follows BEP 42 for an external address: its first 21 bits are
 * `crc32c((ip & mask) | (r << 29 or 61))` and its last byte is `rand` (whose low 3 bits are `r`).
 * @param host Our external IPv4 or IPv6 address.
 * @param random 20 random bytes: byte 19 is `rand`, bytes 2..18 fill the free bits (default
 *   `crypto.getRandomValues`).
 * @returns A fresh 20-byte node id.
 * @throws {SyntaxError} If `host` is not an IP address.
 * @example
 * ```ts
 * import { secureNodeId } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const random = new Uint8Array(20);
 * random[19] = 1; // BEP 42's first test vector: 124.31.75.21 with rand 1 gives 5fbfbf...01
 * const id = secureNodeId("124.31.75.21", random);
 * strictEqual([id[0], id[1], id[2] & 0xf8, id[19]].join(), [0x5f, 0xbf, 0xb8, 1].join());
 * ```
 */
export function secureNodeId(
  host: string,
  random: Uint8Array = crypto.getRandomValues(new Uint8Array(NODE_ID_BYTES)),
): Uint8Array {
  const ip = encodeIpAddress(host);
  const rand = random[19];
  const crc = prefixOf(ip, rand & 7);
  const id = new Uint8Array(NODE_ID_BYTES);
  id.set(random.subarray(0, NODE_ID_BYTES));
  id[0] = crc >>> 24;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (random[2] & 7);
  id[19] = rand;
  return id;
}

/**
 * Tells whether a node id follows BEP 42 for an address (first 21 bits match, `r` taken from
 * the id's last byte).
 * @param id A 20-byte node id.
 * @param host The address the node was seen at.
 * @returns `true` when the id is valid for that address.
 * @throws {SyntaxError} If `host` is not an IP address.
 * @example
 * ```ts
 * import { decodeHex } from "@shoal/shoal/bytes";
 * import { isSecureNodeId } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * ok(isSecureNodeId(decodeHex("5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"), "21.75.31.124"));
 * ```
 */
export function isSecureNodeId(id: Uint8Array, host: string): boolean {
  if (id.length !== NODE_ID_BYTES) return false;
  const crc = prefixOf(encodeIpAddress(host), id[19] & 7);
  return id[0] === crc >>> 24 && id[1] === ((crc >>> 16) & 0xff) &&
    (id[2] & 0xf8) === ((crc >>> 8) & 0xf8);
}

/**
 * Tells whether BEP 42 exempts an address: loopback, private (RFC 1918), link-local and
 * unique-local addresses, where an id cannot be tied to a public address.
 * @param host An IPv4 or IPv6 address.
 * @returns `true` for an exempt (local) address, also for anything that is not an IP.
 * @example
 * ```ts
 * import { isLocalAddress } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * ok(isLocalAddress("192.168.1.4") && !isLocalAddress("124.31.75.21"));
 * ```
 */
export function isLocalAddress(host: string): boolean {
  let ip: Uint8Array;
  try {
    ip = encodeIpAddress(host);
  } catch {
    return true;
  }
  if (ip.length === 4) {
    return ip[0] === 10 || ip[0] === 127 || ip[0] === 0 ||
      (ip[0] === 172 && (ip[1] & 0xf0) === 16) ||
      (ip[0] === 192 && ip[1] === 168) || (ip[0] === 169 && ip[1] === 254);
  }
  const allZeroHead = ip.subarray(0, 15).every((b) => b === 0);
  return (allZeroHead && (ip[15] === 1 || ip[15] === 0)) || (ip[0] & 0xfe) === 0xfc ||
    (ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80);
}
