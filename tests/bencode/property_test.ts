// Property tests for the bencode codec, driven by a small seeded PRNG so every failure is
// reproducible: the seed and case number are in each assertion message. Set SHOAL_SEED to
// run with another seed (e.g. `SHOAL_SEED=123 deno test -A tests/bencode/property_test.ts`).
import { deepStrictEqual, fail, ok } from "node:assert/strict";
import { BencodeError, decodeBencode, decodeBencodePrefix } from "../../src/bencode/decode.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import type { BencodeValue } from "../../src/bencode/types.ts";

const DEFAULT_SEED = 0x5eed_b1e;

function readSeed(): number {
  const allowed = Deno.permissions.querySync({ name: "env", variable: "SHOAL_SEED" });
  const text = allowed.state === "granted" ? Deno.env.get("SHOAL_SEED") : undefined;
  return text === undefined ? DEFAULT_SEED : Number(text) >>> 0;
}

const SEED = readSeed();

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
function makeRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);

function randomBytes(random: Random, maxLength: number): Uint8Array {
  const out = new Uint8Array(int(random, maxLength + 1));
  for (let i = 0; i < out.length; i++) out[i] = int(random, 256);
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A random integer in the form the decoder returns: number when safe, bigint beyond. */
function randomInteger(random: Random): number | bigint {
  switch (int(random, 5)) {
    case 0:
      return int(random, 21) - 10;
    case 1:
      return int(random, 2 ** 31) * (random() < 0.5 ? -1 : 1);
    case 2: { // near the safe-integer edge, on either side
      const n = MAX_SAFE - 3n + BigInt(int(random, 7));
      const signed = random() < 0.5 ? -n : n;
      return signed >= -MAX_SAFE && signed <= MAX_SAFE ? Number(signed) : signed;
    }
    case 3: { // a big one, 54..200 bits
      let n = 1n;
      const bits = 54 + int(random, 147);
      for (let i = 1; i < bits; i++) n = (n << 1n) | BigInt(int(random, 2));
      return random() < 0.5 ? -n : n;
    }
    default:
      return Math.floor(random() * Number.MAX_SAFE_INTEGER) * (random() < 0.5 ? -1 : 1) || 0;
  }
}

function randomValue(random: Random, depth: number): BencodeValue {
  const kind = int(random, depth >= 4 ? 2 : 4);
  if (kind === 0) return randomInteger(random);
  if (kind === 1) return randomBytes(random, 12);
  if (kind === 2) {
    const list: BencodeValue[] = [];
    const n = int(random, 5);
    for (let i = 0; i < n; i++) list.push(randomValue(random, depth + 1));
    return list;
  }
  const dict = new Map<string, BencodeValue>();
  const n = int(random, 5);
  for (let i = 0; i < n; i++) {
    const key = String.fromCharCode(...randomBytes(random, 4));
    dict.set(key, randomValue(random, depth + 1));
  }
  return dict;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

const show = (bytes: Uint8Array): string => JSON.stringify(String.fromCharCode(...bytes));

/** True when every dictionary's keys are in ascending byte order. */
function keysSorted(value: BencodeValue): boolean {
  if (Array.isArray(value)) return value.every(keysSorted);
  if (value instanceof Map) {
    const keys = [...value.keys()];
    for (let i = 1; i < keys.length; i++) if (!(keys[i - 1] < keys[i])) return false;
    return [...value.values()].every(keysSorted);
  }
  return true;
}

Deno.test("random bencode values round-trip through encode and decode", () => {
  const random = makeRandom(SEED);
  for (let c = 0; c < 2000; c++) {
    const where = `seed ${SEED}, case ${c}`;
    const value = randomValue(random, 0);
    const encoded = encodeBencode(value);
    let decoded: BencodeValue;
    try {
      decoded = decodeBencode(encoded);
    } catch (error) {
      fail(`${where}: decoding ${show(encoded)} threw ${describe(error)}`);
    }
    deepStrictEqual(decoded, value, `${where}: ${show(encoded)}`);
    ok(keysSorted(decoded), `${where}: decoded keys are in encoded (sorted) order`);
    deepStrictEqual(encodeBencode(decoded), encoded, `${where}: re-encoding is byte-identical`);
  }
});

Deno.test("every proper prefix of a valid encoding throws BencodeError", () => {
  const random = makeRandom(SEED ^ 0x1111);
  let prefixes = 0;
  for (let c = 0; c < 400; c++) {
    const encoded = encodeBencode(randomValue(random, 0));
    for (let cut = 0; cut < encoded.length; cut++) {
      const prefix = encoded.subarray(0, cut);
      let result: BencodeValue | undefined;
      try {
        result = decodeBencode(prefix);
      } catch (error) {
        ok(
          error instanceof BencodeError,
          `seed ${SEED}, case ${c}, cut ${cut}: ${show(prefix)} threw ${describe(error)}`,
        );
        ok(error.offset >= 0 && error.offset <= cut, `offset ${error.offset} within the prefix`);
        prefixes++;
        continue;
      }
      fail(`seed ${SEED}, case ${c}: prefix ${show(prefix)} decoded to ${String(result)}`);
    }
  }
  ok(prefixes > 1000, `only ${prefixes} prefixes were tried`);
});

/** Decodes untrusted bytes; anything but a value or a BencodeError fails the test. */
function decodeOrBencodeError(input: Uint8Array, where: string): BencodeValue | undefined {
  try {
    return decodeBencode(input);
  } catch (error) {
    if (error instanceof BencodeError) {
      ok(
        Number.isInteger(error.offset) && error.offset >= 0 && error.offset <= input.length,
        `${where}: offset ${error.offset} outside the input`,
      );
      return undefined;
    }
    fail(`${where}: ${show(input)} threw ${describe(error)}`);
  }
}

// Bytes that matter to the grammar, so mutations hit structure often.
const GRAMMAR = Uint8Array.from("ilde-:0123456789", (ch) => ch.charCodeAt(0));

Deno.test("single-byte mutations of valid encodings decode or throw BencodeError", () => {
  const random = makeRandom(SEED ^ 0x2222);
  let decodedCount = 0;
  let errorCount = 0;
  for (let c = 0; c < 5000; c++) {
    const encoded = encodeBencode(randomValue(random, 0)).slice();
    const at = int(random, encoded.length);
    encoded[at] = random() < 0.7 ? GRAMMAR[int(random, GRAMMAR.length)] : int(random, 256);
    const where = `seed ${SEED}, case ${c}, byte ${at}`;
    const value = decodeOrBencodeError(encoded, where);
    if (value === undefined) {
      errorCount++;
      continue;
    }
    decodedCount++;
    // Whatever was accepted must survive a round trip too.
    deepStrictEqual(decodeBencode(encodeBencode(value)), value, `${where}: ${show(encoded)}`);
  }
  ok(decodedCount > 0 && errorCount > 0, `decoded ${decodedCount}, refused ${errorCount}`);
});

Deno.test("random byte strings decode or throw BencodeError", () => {
  const random = makeRandom(SEED ^ 0x3333);
  for (let c = 0; c < 5000; c++) {
    const input = new Uint8Array(int(random, 40));
    const grammarOnly = random() < 0.8;
    for (let i = 0; i < input.length; i++) {
      input[i] = grammarOnly ? GRAMMAR[int(random, GRAMMAR.length)] : int(random, 256);
    }
    const where = `seed ${SEED}, case ${c}`;
    decodeOrBencodeError(input, where);
    try {
      const { end } = decodeBencodePrefix(input);
      ok(end > 0 && end <= input.length, `${where}: prefix end ${end}`);
    } catch (error) {
      ok(error instanceof BencodeError, `${where}: prefix of ${show(input)}: ${describe(error)}`);
    }
  }
});

Deno.test("decodeBencodePrefix() finds the end of each value in a concatenation", () => {
  const random = makeRandom(SEED ^ 0x4444);
  for (let c = 0; c < 300; c++) {
    const values = Array.from({ length: 1 + int(random, 5) }, () => randomValue(random, 0));
    const parts = values.map((v) => encodeBencode(v));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    let start = 0;
    for (let i = 0; i < values.length; i++) {
      const { value, end } = decodeBencodePrefix(all, start);
      deepStrictEqual(value, values[i], `seed ${SEED}, case ${c}, value ${i}`);
      start = end;
    }
    deepStrictEqual(start, all.length, `seed ${SEED}, case ${c}: ends at the input end`);
  }
});
