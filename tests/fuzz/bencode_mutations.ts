// Bencode-aware mutations. A tolerant scanner finds the values in an input (stopping at the
// first malformed byte) and the mutations edit those values: string lengths and integers set
// to boundaries, values nested past the depth limit, terminators dropped or doubled, dictionary
// entries duplicated or reordered, values swapped for values of another type or another seed.
import {
  BOUNDARY_DECIMALS,
  concat,
  type Mutation,
  type MutationContext,
  replaceRange,
} from "./byte_mutations.ts";
import type { Prng } from "./prng.ts";

/** One value the scanner found. */
export interface BencodeNode {
  /** "i", "s", "l" or "d". */
  kind: "i" | "s" | "l" | "d";
  /** Offset of its first byte. */
  start: number;
  /** Offset just past it. */
  end: number;
  /** Strings: offset of the first data byte; integers: of the first digit; containers: start+1. */
  inner: number;
  /** Dictionary entries only: offset of the key when this node is a value. */
  keyStart?: number;
}

const MAX_NODES = 512;

/**
 * Scans the bencode values starting at `start`, leniently (no checks on leading zeros or key
 * order), and stops at the first byte that cannot start or end a value.
 * @param bytes The input.
 * @param start Where the first value begins.
 * @returns Every complete value found, outermost last.
 */
export function scanBencode(bytes: Uint8Array, start = 0): BencodeNode[] {
  const nodes: BencodeNode[] = [];
  let pos = start;
  const value = (depth: number, keyStart?: number): boolean => {
    if (pos >= bytes.length || depth > 200 || nodes.length >= MAX_NODES) return false;
    const begin = pos;
    const c = bytes[pos];
    if (c === 0x69) { // i
      let j = pos + 1;
      while (j < bytes.length && bytes[j] !== 0x65 && j - pos < 40) j++;
      if (bytes[j] !== 0x65) return false;
      pos = j + 1;
      nodes.push({ kind: "i", start: begin, end: pos, inner: begin + 1, keyStart });
      return true;
    }
    if (c >= 0x30 && c <= 0x39) {
      let j = pos, length = 0;
      while (j < bytes.length && bytes[j] >= 0x30 && bytes[j] <= 0x39 && j - pos < 12) {
        length = length * 10 + bytes[j] - 0x30;
        j++;
      }
      if (bytes[j] !== 0x3a || j + 1 + length > bytes.length) return false;
      pos = j + 1 + length;
      nodes.push({ kind: "s", start: begin, end: pos, inner: j + 1, keyStart });
      return true;
    }
    if (c === 0x6c || c === 0x64) { // l, d
      pos++;
      while (pos < bytes.length && bytes[pos] !== 0x65) {
        if (c === 0x64) {
          const key = pos;
          if (!(bytes[pos] >= 0x30 && bytes[pos] <= 0x39) || !value(depth + 1)) return false;
          if (!value(depth + 1, key)) return false;
        } else if (!value(depth + 1)) return false;
      }
      if (pos >= bytes.length) return false;
      pos++;
      nodes.push({
        kind: c === 0x6c ? "l" : "d",
        start: begin,
        end: pos,
        inner: begin + 1,
        keyStart,
      });
      return true;
    }
    return false;
  };
  value(0);
  return nodes;
}

/** Where bencode probably starts: 0 when the input begins with a value, else some "d" or "l". */
function scanStart(input: Uint8Array, rng: Prng): number {
  const c = input[0];
  if ((c === 0x64 || c === 0x6c || c === 0x69 || (c >= 0x30 && c <= 0x39)) && rng.chance(0.9)) {
    return 0;
  }
  const starts: number[] = [];
  for (let i = 0; i < input.length && starts.length < 16; i++) {
    if (input[i] === 0x64 || input[i] === 0x6c) starts.push(i);
  }
  return starts.length > 0 ? rng.pick(starts) : 0;
}

function nodesOf(input: Uint8Array, rng: Prng, kinds?: string): BencodeNode[] {
  const nodes = scanBencode(input, scanStart(input, rng));
  return kinds === undefined ? nodes : nodes.filter((n) => kinds.includes(n.kind));
}

const ascii = new TextEncoder();

/** A string's length prefix set to its neighbour, zero, a boundary or a leading-zero form. */
const stringLength: Mutation = (input, rng) => {
  const nodes = nodesOf(input, rng, "s");
  if (nodes.length === 0) return undefined;
  const node = rng.pick(nodes);
  const length = node.end - node.inner;
  const text = rng.pick([
    `${length + 1}`,
    `${Math.max(0, length - 1)}`,
    "0",
    `0${length}`,
    `${length * 2}`,
    `${length + 1000000}`,
    rng.pick(BOUNDARY_DECIMALS),
  ]);
  return replaceRange(input, node.start, node.inner - 1, ascii.encode(text));
};

/** An integer's digits set to a boundary value (or to something that is not a number). */
const integerValue: Mutation = (input, rng) => {
  const nodes = nodesOf(input, rng, "i");
  if (nodes.length === 0) return undefined;
  const node = rng.pick(nodes);
  return replaceRange(input, node.inner, node.end - 1, ascii.encode(rng.pick(BOUNDARY_DECIMALS)));
};

/** A value wrapped in lists or dictionaries, sometimes past the 64-level limit. */
const nest: Mutation = (input, rng) => {
  const nodes = nodesOf(input, rng);
  if (nodes.length === 0) return undefined;
  const node = rng.pick(nodes);
  const depth = rng.pick([1, 2, 3, 62, 63, 64, 65, 100]);
  const open = rng.chance(0.5) ? "l".repeat(depth) : "d1:a".repeat(depth);
  return replaceRange(
    input,
    node.start,
    node.end,
    concat(
      ascii.encode(open),
      input.subarray(node.start, node.end),
      ascii.encode("e".repeat(depth)),
    ),
  );
};

/** A container's "e" dropped, or an extra "e" put after a value. */
const terminator: Mutation = (input, rng) => {
  const nodes = nodesOf(input, rng);
  if (nodes.length === 0) return undefined;
  const node = rng.pick(nodes);
  if ((node.kind === "l" || node.kind === "d" || node.kind === "i") && rng.chance(0.6)) {
    return replaceRange(input, node.end - 1, node.end, new Uint8Array(0));
  }
  return replaceRange(input, node.end, node.end, ascii.encode("e"));
};

const REPLACEMENTS: readonly string[] = [
  "i0e",
  "i-1e",
  "i1e",
  "i4294967296e",
  "0:",
  "1:\x00",
  "le",
  "de",
  "li0ee",
  "d1:ai0ee",
  "ll",
  "dd",
  "i9007199254740993e",
  "20:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
];

/** A value replaced by one of another type. */
const swapType: Mutation = (input, rng) => {
  const nodes = nodesOf(input, rng);
  if (nodes.length === 0) return undefined;
  const node = rng.pick(nodes);
  let bytes: Uint8Array;
  if (rng.chance(0.2)) {
    const length = rng.pick([4, 6, 16, 18, 20, 26, 38, 68, 255, 256]);
    bytes = concat(ascii.encode(`${length}:`), rng.bytes(length));
  } else bytes = Uint8Array.from(rng.pick(REPLACEMENTS), (ch) => ch.charCodeAt(0));
  return replaceRange(input, node.start, node.end, bytes);
};

/** A dictionary entry or list item repeated (duplicate key), moved, or removed. */
const entry: Mutation = (input, rng) => {
  const nodes = scanBencode(input, scanStart(input, rng));
  if (nodes.length === 0) return undefined;
  const node = rng.pick(nodes);
  const start = node.keyStart ?? node.start;
  const bytes = input.slice(start, node.end);
  const choice = rng.below(3);
  if (choice === 0) return replaceRange(input, node.end, node.end, bytes);
  if (choice === 1) return replaceRange(input, start, node.end, new Uint8Array(0));
  // Move it to the front of the nearest enclosing container that starts before it.
  const parent = nodes.find((n) =>
    (n.kind === "d" || n.kind === "l") && n.start < start && n.end >= node.end &&
    (n.kind === "d") === (node.keyStart !== undefined)
  );
  if (!parent) return undefined;
  const without = replaceRange(input, start, node.end, new Uint8Array(0));
  return replaceRange(without, parent.inner, parent.inner, bytes);
};

/** A value replaced by a value found in another seed (a structural splice). */
const graft: Mutation = (input, rng, { corpus }: MutationContext) => {
  const nodes = nodesOf(input, rng);
  if (nodes.length === 0) return undefined;
  const other = rng.pick(corpus);
  const donors = scanBencode(other, scanStart(other, rng));
  if (donors.length === 0) return undefined;
  const node = rng.pick(nodes);
  const donor = rng.pick(donors);
  return replaceRange(input, node.start, node.end, other.subarray(donor.start, donor.end));
};

/** A string inflated to a boundary length (up to 1 MiB) by repeating its own bytes. */
const inflate: Mutation = (input, rng) => {
  const nodes = nodesOf(input, rng, "s");
  if (nodes.length === 0) return undefined;
  const node = rng.pick(nodes);
  const length = rng.pick([254, 255, 256, 1499, 1500, 16384, 65536, 900_000, 1 << 20]);
  const data = new Uint8Array(length);
  const own = input.subarray(node.inner, node.end);
  if (own.length === 0) data.fill(0x61);
  else for (let i = 0; i < length; i += own.length) data.set(own.subarray(0, length - i), i);
  return replaceRange(
    input,
    node.start,
    node.end,
    concat(ascii.encode(`${length}:`), data),
  );
};

/** The bencode-aware mutations with their relative weights. */
export const BENCODE_MUTATIONS: readonly (readonly [Mutation, number])[] = [
  [stringLength, 6],
  [integerValue, 8],
  [nest, 2],
  [terminator, 3],
  [swapType, 6],
  [entry, 6],
  [graft, 5],
  [inflate, 0.3],
];
