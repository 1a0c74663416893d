// Fuzz target: the bencode decoder (src/bencode/decode.ts) and its round trip through the
// encoder.
import { BencodeError, decodeBencode, decodeBencodePrefix } from "../../src/bencode/decode.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import type { BencodeSpan, BencodeValue } from "../../src/bencode/types.ts";
import {
  type FuzzTarget,
  invariant,
  invariantEqual,
  mustNotThrow,
  mustThrow,
  prefixLengths,
} from "./fuzz_target.ts";

const SEEDS: readonly Parameters<typeof encodeBencode>[0][] = [
  0,
  -1,
  42,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2n ** 53n,
  -(2n ** 64n),
  "",
  "spam",
  new Uint8Array([0, 1, 2, 255]),
  [],
  {},
  ["a", 1, [2, [3, []]], {}],
  { cow: "moo", spam: ["a", "b"], n: -7 },
  new Map<string, Parameters<typeof encodeBencode>[0]>([["\u0000\u00ff", 1], ["", "empty key"]]),
  { info: { name: "x", "piece length": 16384, pieces: new Uint8Array(20), length: 5 } },
  { a: { b: { c: { d: { e: [[[[["deep"]]]]] } } } } },
  { t: "aa", y: "q", q: "ping", a: { id: new Uint8Array(20).fill(7) } },
];

/** Every list and dictionary of a decoded value. */
function containers(value: BencodeValue, out: object[] = []): object[] {
  if (Array.isArray(value)) {
    out.push(value);
    for (const item of value) containers(item, out);
  } else if (value instanceof Map) {
    out.push(value);
    for (const item of value.values()) containers(item, out);
  }
  return out;
}

/** `decodeBencode`: strict decoding, exact re-encoding, spans and prefixes. */
export const bencodeTarget: FuzzTarget = {
  name: "bencode",
  description: "decodeBencode/decodeBencodePrefix: only BencodeError escapes; a decoded value " +
    "re-encodes to the same length and decodes to itself; spans lie inside the input and " +
    "decode to their value; prefixes and extra bytes are refused with BencodeError",
  allowed: [BencodeError],
  profile: "bencode",
  dictionary: ["i", "e", "l", "d", ":", "0:", "i-0e", "i00e", "le", "de", "4:spam"],
  corpus: () => SEEDS.map((value) => encodeBencode(value)),
  run(input, { rng }) {
    const spans = new WeakMap<object, BencodeSpan>();
    const value = decodeBencode(input, { spans });
    // Strict decoding means canonical lengths: no leading zeros, no -0, so re-encoding (which
    // only sorts keys) gives exactly as many bytes.
    const again = mustNotThrow("encodeBencode(decoded)", () => encodeBencode(value));
    invariant(
      again.length === input.length,
      () => `re-encoding gave ${again.length} bytes, the input had ${input.length}`,
    );
    invariantEqual(
      mustNotThrow("decodeBencode(re-encoded)", () => decodeBencode(again)),
      value,
      "decode(encode(decode(x)))",
    );
    const all = containers(value);
    for (let i = 0; i < Math.min(all.length, 4); i++) {
      const node = all[i === 0 ? 0 : rng.below(all.length)];
      const span = spans.get(node);
      invariant(span !== undefined, "a container has no span");
      invariant(
        span.start >= 0 && span.start < span.end && span.end <= input.length,
        () => `span ${span.start}..${span.end} is outside 0..${input.length}`,
      );
      invariantEqual(
        decodeBencode(input.subarray(span.start, span.end)),
        node,
        "the bytes of a span",
      );
    }
    const tail = new Uint8Array(input.length + 3);
    tail.set(input);
    tail.set([0x69, 0x31, 0x65], input.length);
    const prefix = mustNotThrow(
      "decodeBencodePrefix(input + junk)",
      () => decodeBencodePrefix(tail),
    );
    invariant(prefix.end === input.length, `prefix end ${prefix.end} is not ${input.length}`);
    mustThrow("decodeBencode(input + junk)", [BencodeError], () => decodeBencode(tail));
    for (const n of prefixLengths(input.length, rng)) {
      mustThrow(
        `decodeBencode(first ${n} bytes)`,
        [BencodeError],
        () => decodeBencode(input.subarray(0, n)),
      );
    }
    return "accepted";
  },
};
