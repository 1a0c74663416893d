/**
 * Tells whether two byte arrays hold the same bytes.
 * @param a First bytes.
 * @param b Second bytes.
 * @returns `true` when lengths and every byte match.
 * @example
 * ```ts
 * import { equalBytes } from "@shoal/shoal/bytes";
 * import { ok } from "node:assert/strict";
 * ok(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Joins byte arrays into one new array.
 * @param parts The arrays to join, in order.
 * @returns A fresh array holding every part.
 * @example
 * ```ts
 * import { concatBytes } from "@shoal/shoal/bytes";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const encoder = new TextEncoder();

/**
 * Encodes text as UTF-8 bytes.
 * @param text The text.
 * @returns Its UTF-8 bytes.
 * @example
 * ```ts
 * import { utf8 } from "@shoal/shoal/bytes";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(utf8("hi"), new Uint8Array([104, 105]));
 * ```
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Converts bytes to a binary string: one character (code 0..255) per byte.
 * Used for bencode dictionary keys, which are bytes, not text.
 * @param bytes The bytes.
 * @returns A string whose char codes equal the bytes.
 * @example
 * ```ts
 * import { bytesToBinary } from "@shoal/shoal/bytes";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(bytesToBinary(new Uint8Array([97, 255])), "a\xff");
 * ```
 */
export function bytesToBinary(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/**
 * Converts a binary string (char codes 0..255) back to bytes.
 * @param text A binary string, as made by {@linkcode bytesToBinary}.
 * @returns The bytes.
 * @throws {RangeError} If a character is above 255.
 * @example
 * ```ts
 * import { binaryToBytes } from "@shoal/shoal/bytes";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(binaryToBytes("a\xff"), new Uint8Array([97, 255]));
 * ```
 */
export function binaryToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255) {
      throw new RangeError(`Cannot convert binary string: character ${i} is above 255`);
    }
    out[i] = code;
  }
  return out;
}
