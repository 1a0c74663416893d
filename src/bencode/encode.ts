import type { BencodeValue } from "./types.ts";

const textEncoder = new TextEncoder();

/** Values {@linkcode encodeBencode} accepts: bencode values plus text, encoded as UTF-8. */
export type BencodeInput =
  | BencodeValue
  | string
  | readonly BencodeInput[]
  | Map<string, BencodeInput>
  | { readonly [key: string]: BencodeInput | undefined };

class Writer {
  chunks: Uint8Array[] = [];
  size = 0;
  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }
  ascii(text: string): void {
    this.push(textEncoder.encode(text));
  }
}

function binaryKey(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 255) {
      throw new TypeError(`Cannot encode bencode: dictionary key "${key}" is not a binary string`);
    }
    out[i] = c;
  }
  return out;
}

function write(w: Writer, value: BencodeInput): void {
  if (value instanceof Uint8Array) {
    w.ascii(`${value.length}:`);
    w.push(value);
  } else if (typeof value === "string") {
    const bytes = textEncoder.encode(value);
    w.ascii(`${bytes.length}:`);
    w.push(bytes);
  } else if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new TypeError(`Cannot encode bencode: ${value} is not an integer`);
    }
    // BigInt keeps every digit: `${1e21}` would be "1e+21", which is not bencode.
    w.ascii(`i${BigInt(value)}e`);
  } else if (typeof value === "bigint") {
    w.ascii(`i${value}e`);
  } else if (Array.isArray(value)) {
    w.ascii("l");
    for (const item of value) write(w, item);
    w.ascii("e");
  } else if (typeof value !== "object" || value === null) {
    throw new TypeError(`Cannot encode bencode: ${String(value)} is not a bencode value`);
  } else {
    const entries: [string, BencodeInput][] = value instanceof Map
      ? [...value]
      : Object.entries(value).filter((e): e is [string, BencodeInput] => e[1] !== undefined);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    w.ascii("d");
    for (const [key, item] of entries) {
      const keyBytes = binaryKey(key);
      w.ascii(`${keyBytes.length}:`);
      w.push(keyBytes);
      write(w, item);
    }
    w.ascii("e");
  }
}

/**
 * Encodes a value as bencode. Dictionary keys are sorted by their raw bytes.
 * Maps use binary-string keys (one char per byte); plain objects are accepted for
 * convenience (their keys must be binary strings too) and `undefined` fields are skipped.
 * Text values are written as UTF-8 byte strings.
 * @param value The value to encode.
 * @returns The bencoded bytes.
 * @throws {TypeError} For a non-integer number, a key with a character above 255, or a value
 * that is not bencode (boolean, `null`, `undefined` inside a list or Map, function, symbol).
 * @example
 * ```ts
 * import { encodeBencode } from "@shoal/shoal/bencode";
 * import { strictEqual } from "node:assert/strict";
 * const bytes = encodeBencode({ spam: ["a", 1], cow: "moo" });
 * strictEqual(new TextDecoder().decode(bytes), "d3:cow3:moo4:spaml1:ai1eee");
 * ```
 */
export function encodeBencode(value: BencodeInput): Uint8Array {
  const w = new Writer();
  write(w, value);
  const out = new Uint8Array(w.size);
  let offset = 0;
  for (const chunk of w.chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
