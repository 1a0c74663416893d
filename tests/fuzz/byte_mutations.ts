// Structure-blind mutations: bit flips, byte insert/delete/duplicate, splices between corpus
// entries, integer-boundary substitutions (binary big-endian and ASCII decimal), dictionary
// tokens, and a rare "grow" that repeats a range up to a boundary size (1 MiB at most).
import type { Prng } from "./prng.ts";

/** One mutation: a new input, or `undefined` when it does not apply to this input. */
export type Mutation = (
  input: Uint8Array,
  rng: Prng,
  context: MutationContext,
) => Uint8Array | undefined;

/** What a mutation may draw on besides the input. */
export interface MutationContext {
  /** The target's valid seeds, for splices. */
  corpus: readonly Uint8Array[];
  /** Tokens that mean something to the target (keys, magic strings). */
  dictionary: readonly Uint8Array[];
}

/** Bytes that sit on boundaries or mean something to bencode and the wire format. */
export const INTERESTING_BYTES: readonly number[] = [
  0x00,
  0x01,
  0x02,
  0x03,
  0x04,
  0x05,
  0x07,
  0x08,
  0x09,
  0x0d,
  0x0e,
  0x0f,
  0x10,
  0x11,
  0x13,
  0x14,
  0x20,
  0x2d,
  0x2e,
  0x2f,
  0x30,
  0x31,
  0x39,
  0x3a,
  0x3f,
  0x40,
  0x5c,
  0x64,
  0x65,
  0x69,
  0x6c,
  0x7f,
  0x80,
  0xc0,
  0xe0,
  0xef,
  0xf0,
  0xfe,
  0xff,
];

/** Integers on the boundaries codecs check: sizes, limits, and the edges of each width. */
export const BOUNDARY_INTEGERS: readonly number[] = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  12,
  13,
  16,
  17,
  18,
  19,
  20,
  26,
  38,
  63,
  64,
  65,
  68,
  96,
  127,
  128,
  255,
  256,
  511,
  512,
  513,
  1023,
  1024,
  1500,
  1501,
  4095,
  4096,
  16383,
  16384,
  16385,
  16393,
  32767,
  32768,
  65535,
  65536,
  1048581,
  1048582,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];

/** Decimal texts on the boundaries of bencode integers and lengths (and some that are wrong). */
export const BOUNDARY_DECIMALS: readonly string[] = [
  "0",
  "1",
  "-1",
  "-0",
  "00",
  "01",
  "-01",
  "",
  "-",
  "--1",
  "+1",
  "1.5",
  "1e3",
  " 1",
  "9",
  "10",
  "19",
  "20",
  "59",
  "60",
  "61",
  "255",
  "256",
  "16383",
  "16384",
  "16385",
  "65535",
  "65536",
  "7199",
  "7200",
  "7201",
  "1048576",
  "2147483647",
  "2147483648",
  "4294967295",
  "4294967296",
  "536870912",
  "536870913",
  "9007199254740991",
  "9007199254740992",
  "-9007199254740991",
  "-9007199254740992",
  "18446744073709551615",
  "18446744073709551616",
  "99999999999999999999999999999999",
  "-99999999999999999999999999999999",
];

const GROW_SIZES: readonly number[] = [256, 4096, 16385, 65536, 262144, 1 << 20];

/** Joins byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Replaces `input[start, end)` with `bytes`. */
export function replaceRange(
  input: Uint8Array,
  start: number,
  end: number,
  bytes: Uint8Array,
): Uint8Array {
  return concat(input.subarray(0, start), bytes, input.subarray(end));
}

const ascii = new TextEncoder();

function interestingByte(rng: Prng): number {
  return rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
}

const flipBit: Mutation = (input, rng) => {
  if (input.length === 0) return undefined;
  const out = input.slice();
  out[rng.below(out.length)] ^= 1 << rng.below(8);
  return out;
};

const setByte: Mutation = (input, rng) => {
  if (input.length === 0) return undefined;
  const out = input.slice();
  out[rng.below(out.length)] = interestingByte(rng);
  return out;
};

const insertBytes: Mutation = (input, rng) => {
  const bytes = new Uint8Array(rng.geometric(16)).map(() => interestingByte(rng));
  const at = rng.below(input.length + 1);
  return replaceRange(input, at, at, bytes);
};

const deleteRange: Mutation = (input, rng) => {
  if (input.length === 0) return undefined;
  const start = rng.below(input.length);
  const max = input.length - start;
  const length = rng.chance(0.8) ? Math.min(max, rng.geometric(16)) : rng.int(1, max);
  return replaceRange(input, start, start + length, new Uint8Array(0));
};

const duplicateRange: Mutation = (input, rng) => {
  if (input.length === 0) return undefined;
  const start = rng.below(input.length);
  const length = Math.min(input.length - start, rng.chance(0.7) ? rng.geometric(32) : 256);
  const at = rng.below(input.length + 1);
  return replaceRange(input, at, at, input.slice(start, start + length));
};

const truncate: Mutation = (input, rng) => {
  if (input.length === 0) return undefined;
  return input.slice(0, rng.below(input.length));
};

/** Crossover: a prefix of this input and a suffix of another seed. */
const splice: Mutation = (input, rng, { corpus }) => {
  const other = rng.pick(corpus);
  return concat(
    input.subarray(0, rng.below(input.length + 1)),
    other.subarray(rng.below(other.length + 1)),
  );
};

/** A chunk of another seed inserted or written over this input. */
const spliceChunk: Mutation = (input, rng, { corpus }) => {
  const other = rng.pick(corpus);
  if (other.length === 0) return undefined;
  const from = rng.below(other.length);
  const chunk = other.subarray(from, from + rng.int(1, Math.min(64, other.length - from)));
  const at = rng.below(input.length + 1);
  const end = rng.chance(0.5) ? at : Math.min(input.length, at + chunk.length);
  return replaceRange(input, at, end, chunk);
};

/** A big-endian integer of 1, 2, 4 or 8 bytes set to a boundary, or nudged by a little. */
const binaryInteger: Mutation = (input, rng) => {
  const width = rng.pick([1, 2, 4, 4, 8]);
  if (input.length < width) return undefined;
  const at = rng.below(input.length - width + 1);
  const out = input.slice();
  const view = new DataView(out.buffer);
  const limit = 2 ** (8 * Math.min(width, 4));
  if (width === 8) {
    const value = rng.chance(0.5)
      ? BigInt(rng.pick(BOUNDARY_INTEGERS))
      : rng.pick([0n, 1n, 0x41727101980n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n]);
    view.setBigUint64(at, value);
    return out;
  }
  const read = width === 1
    ? view.getUint8(at)
    : width === 2
    ? view.getUint16(at)
    : view.getUint32(at);
  let value = rng.chance(0.6)
    ? rng.pick(BOUNDARY_INTEGERS)
    : read + rng.pick([-2, -1, 1, 2, 16, -16, 256]);
  value = ((value % limit) + limit) % limit;
  if (width === 1) view.setUint8(at, value);
  else if (width === 2) view.setUint16(at, value);
  else view.setUint32(at, value);
  return out;
};

/** Finds runs of ASCII digits (with a leading "-"): where bencode keeps its numbers. */
function decimalRuns(input: Uint8Array, max = 64): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < input.length && runs.length < max; i++) {
    const c = input[i];
    if ((c >= 0x30 && c <= 0x39) || (c === 0x2d && input[i + 1] >= 0x30 && input[i + 1] <= 0x39)) {
      let j = i + 1;
      while (j < input.length && input[j] >= 0x30 && input[j] <= 0x39) j++;
      runs.push([i, j]);
      i = j;
    }
  }
  return runs;
}

/** An ASCII decimal replaced by a boundary value, or by its neighbour. */
const decimalInteger: Mutation = (input, rng) => {
  const runs = decimalRuns(input);
  if (runs.length === 0) return undefined;
  const [start, end] = rng.pick(runs);
  let text: string;
  if (rng.chance(0.6)) text = rng.pick(BOUNDARY_DECIMALS);
  else {
    let digits = "";
    for (let i = start; i < end; i++) digits += String.fromCharCode(input[i]);
    text = (BigInt(digits) + BigInt(rng.pick([-2, -1, 1, 2, 10, -10]))).toString();
  }
  return replaceRange(input, start, end, ascii.encode(text));
};

/** A dictionary token inserted or written over the input. */
const token: Mutation = (input, rng, { dictionary }) => {
  if (dictionary.length === 0) return undefined;
  const word = rng.pick(dictionary);
  const at = rng.below(input.length + 1);
  const end = rng.chance(0.6) ? at : Math.min(input.length, at + word.length);
  return replaceRange(input, at, end, word);
};

/** Rare: a range repeated until the input reaches a boundary size (up to 1 MiB). */
const grow: Mutation = (input, rng) => {
  if (input.length === 0) return undefined;
  const size = rng.pick(GROW_SIZES);
  if (size <= input.length) return undefined;
  const start = rng.below(input.length);
  const length = Math.min(input.length - start, rng.pick([1, 2, 6, 18, 20, 26, 38, 64]));
  const unit = input.slice(start, start + length);
  const extra = new Uint8Array(size - input.length);
  for (let i = 0; i < extra.length; i += unit.length) {
    extra.set(unit.subarray(0, extra.length - i), i);
  }
  return replaceRange(input, start, start, extra);
};

/** The structure-blind mutations with their relative weights. */
export const BYTE_MUTATIONS: readonly (readonly [Mutation, number])[] = [
  [flipBit, 8],
  [setByte, 8],
  [insertBytes, 6],
  [deleteRange, 6],
  [duplicateRange, 4],
  [truncate, 3],
  [splice, 3],
  [spliceChunk, 4],
  [binaryInteger, 8],
  [decimalInteger, 6],
  [token, 5],
  [grow, 0.15],
];
