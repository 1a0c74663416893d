import type { BencodeDict, BencodeSpan, BencodeValue } from "./types.ts";

/** The deepest nesting of lists and dictionaries the decoder accepts. */
export const MAX_BENCODE_DEPTH = 64;
/** The deepest nesting accepted with `lenient` (libtorrent's `bdecode` limit). */
export const MAX_LENIENT_BENCODE_DEPTH = 100;

/**
 * Malformed bencode. `offset` is the byte where decoding failed.
 * @example
 * ```ts
 * import { BencodeError } from "@shoal/shoal";
 * import { decodeBencode } from "@shoal/shoal/bencode";
 * import { throws } from "node:assert/strict";
 * throws(() => decodeBencode(new TextEncoder().encode("i01e")), BencodeError);
 * ```
 */
export class BencodeError extends SyntaxError {
  /** Byte offset in the input where the problem was found. */
  readonly offset: number;
  /**
   * Makes the error; the message gets " at byte N" appended.
   * @param message What failed and why.
   * @param offset Byte offset of the failure.
   */
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = "BencodeError";
    this.offset = offset;
  }
}

/** The result of decoding one value from the front of some bytes. */
export interface BencodePrefix {
  /** The decoded value. */
  value: BencodeValue;
  /** Offset just past the value. */
  end: number;
}

/** Options for {@linkcode decodeBencodePrefix}. */
export interface DecodeBencodeOptions {
  /** When given, the span of every list and dictionary is recorded here. */
  spans?: WeakMap<object, BencodeSpan>;
  /**
   * Record spans only of lists and dictionaries nested at most this deep (the top value is
   * depth 1; a torrent's info dictionary is depth 2). Default: every one.
   */
  spanDepth?: number;
  /**
   * Accept what libtorrent's `bdecode` accepts and a strict reading refuses, for `.torrent`
   * files: leading zeros and `-0` in integers and string lengths, duplicate dictionary keys (the
   * first one wins, as libtorrent's lookups find it), and nesting up to
   * {@linkcode MAX_LENIENT_BENCODE_DEPTH}. Spans stay those of the original bytes.
   */
  lenient?: boolean;
}

/** Dictionary keys remembered per decode, so a repeated key costs no new string. */
const KEY_CACHE_SIZE = 32;

const CH_0 = 48, CH_9 = 57, CH_COLON = 58, CH_MINUS = 45;
const CH_D = 100, CH_E = 101, CH_I = 105, CH_L = 108;

class Decoder {
  pos: number;
  /** Recently decoded keys: their bytes and text (torrents repeat "length", "path"...). */
  readonly keys: { bytes: Uint8Array; text: string }[] = [];
  readonly maxDepth: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly spans: WeakMap<object, BencodeSpan> | undefined,
    readonly spanDepth: number,
    readonly lenient: boolean,
  ) {
    this.pos = start;
    this.maxDepth = lenient ? MAX_LENIENT_BENCODE_DEPTH : MAX_BENCODE_DEPTH;
  }

  /** The text of a key (byte for byte: keys are compared as bytes, Latin-1 keeps them apart). */
  key(bytes: Uint8Array): string {
    for (const cached of this.keys) {
      const known = cached.bytes;
      if (known.length !== bytes.length) continue;
      let same = true;
      for (let k = 0; k < bytes.length && same; k++) same = known[k] === bytes[k];
      if (same) return cached.text;
    }
    let text = "";
    for (let k = 0; k < bytes.length; k++) text += String.fromCharCode(bytes[k]);
    if (this.keys.length < KEY_CACHE_SIZE && bytes.length <= 32) this.keys.push({ bytes, text });
    return text;
  }

  fail(message: string, at = this.pos): never {
    throw new BencodeError(`Cannot decode bencode: ${message}`, at);
  }

  value(depth: number): BencodeValue {
    const { bytes } = this;
    if (this.pos >= bytes.length) this.fail("unexpected end of input");
    const c = bytes[this.pos];
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.string();
    if (c === CH_L || c === CH_D) {
      if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
      return c === CH_L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    this.fail(`unexpected byte 0x${c.toString(16).padStart(2, "0")}`);
  }

  integer(): number | bigint {
    const { bytes } = this;
    const start = ++this.pos;
    let i = start;
    if (bytes[i] === CH_MINUS) i++;
    const digitsStart = i;
    while (i < bytes.length && bytes[i] >= CH_0 && bytes[i] <= CH_9) i++;
    if (i >= bytes.length) this.fail("unterminated integer", start - 1);
    if (bytes[i] !== CH_E) this.fail("integer has a non-digit", i);
    const digits = i - digitsStart;
    if (digits === 0) this.fail("integer has no digits", start);
    if (!this.lenient) {
      if (bytes[digitsStart] === CH_0 && digits > 1) this.fail("integer has a leading zero", start);
      if (bytes[digitsStart] === CH_0 && digitsStart > start) this.fail("integer is -0", start);
    }
    this.pos = i + 1;
    if (i - start <= 15) {
      let n = 0;
      for (let k = digitsStart; k < i; k++) n = n * 10 + (bytes[k] - CH_0);
      return digitsStart > start && n !== 0 ? -n : n; // a lenient "-0" is 0, not -0
    }
    let text = "";
    for (let k = start; k < i; k++) text += String.fromCharCode(bytes[k]);
    const big = BigInt(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }

  string(): Uint8Array {
    const { bytes } = this;
    const start = this.pos;
    let i = start;
    let length = 0;
    while (i < bytes.length && bytes[i] >= CH_0 && bytes[i] <= CH_9) {
      length = length * 10 + (bytes[i] - CH_0);
      i++;
      if (length > bytes.length) this.fail("string length runs past the end", start);
    }
    if (i >= bytes.length) this.fail("unterminated string length", start);
    if (bytes[i] !== CH_COLON) this.fail("string length has a non-digit", i);
    if (bytes[start] === CH_0 && i - start > 1 && !this.lenient) {
      this.fail("string length has a leading zero", start);
    }
    const dataStart = i + 1;
    if (dataStart + length > bytes.length) this.fail("string length runs past the end", start);
    this.pos = dataStart + length;
    return bytes.subarray(dataStart, dataStart + length);
  }

  list(depth: number): BencodeValue[] {
    const { bytes } = this;
    const start = this.pos++;
    const out: BencodeValue[] = [];
    while (true) {
      if (this.pos >= bytes.length) this.fail("unterminated list", start);
      if (bytes[this.pos] === CH_E) break;
      out.push(this.value(depth));
    }
    this.pos++;
    if (depth <= this.spanDepth) this.spans?.set(out, { start, end: this.pos });
    return out;
  }

  dict(depth: number): BencodeDict {
    const { bytes } = this;
    const start = this.pos++;
    const out: BencodeDict = new Map();
    while (true) {
      if (this.pos >= bytes.length) this.fail("unterminated dictionary", start);
      if (bytes[this.pos] === CH_E) break;
      const keyAt = this.pos;
      const c = bytes[keyAt];
      if (c < CH_0 || c > CH_9) this.fail("dictionary key is not a string", keyAt);
      const key = this.key(this.string());
      if (!out.has(key)) out.set(key, this.value(depth));
      else if (this.lenient) this.value(depth); // read past it: the first one wins
      else this.fail("duplicate dictionary key", keyAt);
    }
    this.pos++;
    if (depth <= this.spanDepth) this.spans?.set(out, { start, end: this.pos });
    return out;
  }
}

/**
 * Decodes one bencoded value from `bytes` starting at `start`, allowing bytes after it
 * (as in a BEP 9 metadata message, where raw data follows the dictionary).
 * Byte strings in the result are views into `bytes`.
 * @param bytes The input.
 * @param start Offset of the value's first byte.
 * @param options `spans` to record the byte span of every list and dictionary (down to
 *   `spanDepth`).
 * @returns The value and the offset just past it.
 * @throws {BencodeError} On malformed or truncated input, naming the byte offset.
 * @throws {RangeError} If `start` is not an integer in `0..bytes.length`.
 * @example
 * ```ts
 * import { decodeBencodePrefix } from "@shoal/shoal/bencode";
 * import { deepStrictEqual } from "node:assert/strict";
 * const r = decodeBencodePrefix(new TextEncoder().encode("i42eXYZ"));
 * deepStrictEqual(r, { value: 42, end: 4 });
 * ```
 */
export function decodeBencodePrefix(
  bytes: Uint8Array,
  start = 0,
  options: DecodeBencodeOptions = {},
): BencodePrefix {
  if (!Number.isSafeInteger(start) || start < 0 || start > bytes.length) {
    throw new RangeError(`Cannot decode bencode: start ${start} is outside 0..${bytes.length}`);
  }
  const decoder = new Decoder(
    bytes,
    start,
    options.spans,
    options.spanDepth ?? Infinity,
    options.lenient ?? false,
  );
  const value = decoder.value(0);
  return { value, end: decoder.pos };
}

/**
 * Decodes bytes that hold exactly one bencoded value.
 * The decoder is strict: leading zeros, `-0`, duplicate keys, truncation,
 * trailing bytes and nesting deeper than {@linkcode MAX_BENCODE_DEPTH} are refused.
 * @param bytes The input.
 * @param options `spans` to record the byte span of every list and dictionary.
 * @returns The decoded value.
 * @throws {BencodeError} On malformed input, naming the byte offset.
 * @example
 * ```ts
 * import { decodeBencode } from "@shoal/shoal/bencode";
 * import { deepStrictEqual } from "node:assert/strict";
 * const value = decodeBencode(new TextEncoder().encode("d3:cowi7ee"));
 * deepStrictEqual(value, new Map([["cow", 7]]));
 * ```
 */
export function decodeBencode(bytes: Uint8Array, options: DecodeBencodeOptions = {}): BencodeValue {
  const { value, end } = decodeBencodePrefix(bytes, 0, options);
  if (end !== bytes.length) {
    throw new BencodeError("Cannot decode bencode: trailing bytes after the value", end);
  }
  return value;
}
