const HEX_DIGITS = "0123456789abcdef";

/**
 * Encodes bytes as lowercase hexadecimal text.
 * @param bytes The bytes to encode.
 * @returns Two lowercase hex digits per byte.
 * @example
 * ```ts
 * import { encodeHex } from "@shoal/shoal/bytes";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(encodeHex(new Uint8Array([0, 171, 255])), "00abff");
 * ```
 */
export function encodeHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4] + HEX_DIGITS[byte & 15];
  return out;
}

/**
 * Decodes hexadecimal text (either case) into bytes.
 * @param text An even number of hex digits.
 * @returns The decoded bytes.
 * @throws {SyntaxError} If the text has odd length or a non-hex character.
 * @example
 * ```ts
 * import { decodeHex } from "@shoal/shoal/bytes";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(decodeHex("00ABff"), new Uint8Array([0, 171, 255]));
 * ```
 */
export function decodeHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) {
    throw new SyntaxError(`Cannot decode hex: odd length ${text.length}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const pair = text.slice(i * 2, i * 2 + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) {
      throw new SyntaxError(`Cannot decode hex: bad digits "${pair}" at character ${i * 2}`);
    }
    out[i] = parseInt(pair, 16);
  }
  return out;
}
