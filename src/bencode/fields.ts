import type { BencodeDict, BencodeValue } from "./types.ts";

/**
 * Tells whether a bencode value is a dictionary.
 * @param value Any decoded value (or `undefined` for a missing field).
 * @returns `true` for a dictionary.
 * @example
 * ```ts
 * import { isBencodeDict } from "@shoal/shoal/bencode";
 * import { ok } from "node:assert/strict";
 * ok(isBencodeDict(new Map()));
 * ```
 */
export function isBencodeDict(value: BencodeValue | undefined): value is BencodeDict {
  return value instanceof Map;
}

/**
 * Tells whether a bencode value is an integer (number or bigint).
 * @param value Any decoded value (or `undefined` for a missing field).
 * @returns `true` for an integer.
 * @example
 * ```ts
 * import { isBencodeInteger } from "@shoal/shoal/bencode";
 * import { ok } from "node:assert/strict";
 * ok(isBencodeInteger(5) && isBencodeInteger(2n ** 70n));
 * ```
 */
export function isBencodeInteger(value: BencodeValue | undefined): value is number | bigint {
  return typeof value === "number" || typeof value === "bigint";
}

const lenientUtf8 = new TextDecoder();

/**
 * Decodes a byte string as UTF-8 text, replacing invalid sequences with U+FFFD.
 * @param value A decoded byte string.
 * @returns The text.
 * @example
 * ```ts
 * import { bencodeText } from "@shoal/shoal/bencode";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(bencodeText(new TextEncoder().encode("héllo")), "héllo");
 * ```
 */
export function bencodeText(value: Uint8Array): string {
  return lenientUtf8.decode(value);
}
