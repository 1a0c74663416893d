/**
 * The allowed-fast set of BEP 6: pieces a peer may request even while we choke it, so that a
 * newcomer with nothing to trade gets its first pieces. The set is derived from the peer's
 * IPv4 /24 and the info hash, so a peer cannot widen it by reconnecting from another port.
 * @module
 */

import { sha1 } from "../sha1/sha1.ts";

/** How many pieces each peer is offered (the size BEP 6 uses in its example). */
export const ALLOWED_FAST_COUNT = 10;

/**
 * Computes the canonical allowed-fast set for a peer (BEP 6).
 * @param ipv4 The peer's IPv4 address, dotted quad; IPv6 has no canonical set.
 * @param infoHash The torrent's 20-byte info hash.
 * @param pieceCount Pieces in the torrent.
 * @param count How many pieces to pick (at most `pieceCount`).
 * @returns The pieces in the order the algorithm picks them; empty for an address that is not
 *   IPv4 or for a torrent without pieces.
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { allowedFastSet } from "@shoal/shoal/wire";
 *
 * // The example of BEP 6.
 * deepStrictEqual(
 *   allowedFastSet("80.4.4.200", new Uint8Array(20).fill(0xaa), 1313, 7),
 *   [1059, 431, 808, 1217, 287, 376, 1188],
 * );
 * ```
 */
export function allowedFastSet(
  ipv4: string,
  infoHash: Uint8Array,
  pieceCount: number,
  count: number = ALLOWED_FAST_COUNT,
): number[] {
  const octets = parseIpv4(ipv4);
  const wanted = Math.min(count, pieceCount);
  if (!octets || wanted <= 0) return [];
  // x = (ip & 0xffffff00) followed by the info hash; then x = SHA1(x), read as five
  // big-endian 32-bit words, each taken modulo the piece count, until the set is full.
  let x: Uint8Array = new Uint8Array(4 + infoHash.length);
  x.set([octets[0], octets[1], octets[2], 0]);
  x.set(infoHash, 4);
  const picked: number[] = [];
  const seen = new Set<number>();
  while (picked.length < wanted) {
    x = sha1(x);
    const words = new DataView(x.buffer, x.byteOffset, x.byteLength);
    for (let i = 0; i < 5 && picked.length < wanted; i++) {
      const index = words.getUint32(i * 4) % pieceCount;
      if (seen.has(index)) continue;
      seen.add(index);
      picked.push(index);
    }
  }
  return picked;
}

function parseIpv4(text: string): number[] | undefined {
  const mapped = text.startsWith("::ffff:") ? text.slice(7) : text;
  const parts = mapped.split(".");
  if (parts.length !== 4) return undefined;
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return octets.every((o) => o <= 255) ? octets : undefined;
}
