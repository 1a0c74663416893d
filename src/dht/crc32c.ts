/** The CRC-32C (Castagnoli) polynomial, bit-reversed. */
const CASTAGNOLI_REFLECTED = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI_REFLECTED : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32C (Castagnoli, as in iSCSI and BEP 42), table-driven: WebCrypto has no CRC.
 * @param bytes The input.
 * @returns The checksum as an unsigned 32-bit number.
 * @example
 * ```ts
 * import { crc32c } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
 * ```
 */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
