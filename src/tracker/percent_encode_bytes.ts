const HEX = "0123456789ABCDEF";

function isUnreserved(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x2e || byte === 0x5f ||
    byte === 0x7e;
}

/**
 * Percent-encodes raw bytes for a URL query (RFC 3986): every byte outside the unreserved set
 * `A-Z a-z 0-9 - . _ ~` becomes `%XX`. This is how BEP 3 sends `info_hash` and `peer_id`.
 * @param bytes The raw bytes.
 * @returns The encoded text.
 * @example
 * ```ts
 * import { percentEncodeBytes } from "@shoal/shoal/tracker";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(percentEncodeBytes(new Uint8Array([0x41, 0x20, 0xff, 0x7e])), "A%20%FF~");
 * ```
 */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}
