/** One code point read from the front of some UTF-8 bytes by {@linkcode decodeUtf8Codepoint}. */
export interface Utf8Codepoint {
  /** The code point, or -1 for an invalid or truncated sequence. */
  readonly codepoint: number;
  /** How many bytes it used (an invalid sequence may claim up to 5, past the end). */
  readonly length: number;
}

const INVALID_ONE: Utf8Codepoint = { codepoint: -1, length: 1 };
const MAX_CODEPOINT = 0x10ffff;
const UNDERSCORE = 0x5f;

function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >> 5 === 0b110) return 2;
  if (lead >> 4 === 0b1110) return 3;
  if (lead >> 3 === 0b11110) return 4;
  if (lead >> 2 === 0b111110) return 5; // never valid, but skipped as a whole
  return 0;
}

const MIN_FOR_LENGTH = [0, 0, 0x80, 0x800, 0x10000];
const LEAD_MASK = [0, 0x7f, 0x1f, 0x0f, 0x07];

/**
 * Reads one UTF-8 code point at `at`, with libtorrent 2.0's rules (its `parse_utf8_codepoint`),
 * so that invalid bytes are replaced in exactly the same places as libtorrent replaces them:
 * - a stray continuation byte or a 0xFC..0xFF byte is one invalid byte;
 * - a lead byte announcing more bytes than remain uses all the remaining bytes;
 * - a bad continuation byte, an overlong form, a surrogate or a value above U+10FFFF makes the
 *   whole announced sequence (its lead byte's length) one invalid code point.
 * @param bytes The bytes.
 * @param at Offset of the first byte (must be inside `bytes`).
 * @returns The code point (or -1) and how many bytes it used.
 * @example
 * ```ts
 * import { decodeUtf8Codepoint } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(decodeUtf8Codepoint(new Uint8Array([0xc3, 0xa9]), 0), { codepoint: 0xe9, length: 2 });
 * deepStrictEqual(decodeUtf8Codepoint(new Uint8Array([0xc3, 0x41]), 0), { codepoint: -1, length: 2 });
 * ```
 */
export function decodeUtf8Codepoint(bytes: Uint8Array, at: number): Utf8Codepoint {
  const lead = bytes[at];
  const length = sequenceLength(lead);
  if (length === 1) return { codepoint: lead, length: 1 };
  if (length === 0) return INVALID_ONE;
  if (length > 4) return { codepoint: -1, length };
  const remaining = bytes.length - at;
  if (length > remaining) return { codepoint: -1, length: remaining };
  let codepoint = lead & LEAD_MASK[length];
  for (let i = 1; i < length; i++) {
    const b = bytes[at + i];
    if (b < 0x80 || b > 0xbf) return { codepoint: -1, length };
    codepoint = (codepoint << 6) | (b & 0x3f);
  }
  if (codepoint < MIN_FOR_LENGTH[length] || codepoint > MAX_CODEPOINT) {
    return { codepoint: -1, length };
  }
  if (codepoint >= 0xd800 && codepoint <= 0xdfff) return { codepoint: -1, length };
  return { codepoint, length };
}

/** Text read by {@linkcode repairUtf8}. */
export interface RepairedText {
  /** The text; every invalid sequence became `_`. */
  readonly text: string;
  /** `true` when at least one sequence was invalid. */
  readonly repaired: boolean;
}

// ignoreBOM keeps a leading U+FEFF, as libtorrent does.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Decodes bytes as UTF-8 the way libtorrent 2.0 repairs a torrent's text fields (its
 * `verify_encoding`): each invalid sequence, as {@linkcode decodeUtf8Codepoint} delimits it,
 * becomes one `_`, and everything else is kept.
 * @param bytes The bytes (a `comment`, `created by`, ...).
 * @returns The text and whether anything was replaced.
 * @example
 * ```ts
 * import { repairUtf8 } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(repairUtf8(new Uint8Array([0x62, 0xff, 0x63])), { text: "b_c", repaired: true });
 * ```
 */
export function repairUtf8(bytes: Uint8Array): RepairedText {
  let out: number[] | undefined;
  for (let i = 0; i < bytes.length;) {
    const { codepoint, length } = decodeUtf8Codepoint(bytes, i);
    if (codepoint < 0 && out === undefined) out = [...bytes.subarray(0, i)];
    if (out !== undefined) {
      if (codepoint < 0) out.push(UNDERSCORE);
      else for (let k = i; k < i + length; k++) out.push(bytes[k]);
    }
    i += Math.max(1, Math.min(length, bytes.length - i));
  }
  if (out === undefined) return { text: decoder.decode(bytes), repaired: false };
  return { text: decoder.decode(new Uint8Array(out)), repaired: true };
}

/** The longest text {@linkcode quoteTorrentText} quotes in full, in UTF-16 code units. */
const QUOTE_MAX_CHARS = 100;
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Quotes a name or path from a torrent for a one-line message: raw bytes are decoded with each
 * invalid sequence shown as U+FFFD (so that a message tells what the torrent really held), the
 * text is cut to 100 characters with `…`, and written as a JSON string so that control
 * characters and quotes cannot break the line.
 * @param value The raw bytes or the text.
 * @returns The quoted text.
 * @example
 * ```ts
 * import { quoteTorrentText } from "@shoal/shoal/metainfo";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(quoteTorrentText(new Uint8Array([0x61, 0x0a, 0xff])), '"a\\n\ufffd"');
 * ```
 */
export function quoteTorrentText(value: Uint8Array | string): string {
  const text = typeof value === "string" ? value : lenient.decode(value);
  return JSON.stringify(
    text.length > QUOTE_MAX_CHARS ? `${text.slice(0, QUOTE_MAX_CHARS)}…` : text,
  );
}
