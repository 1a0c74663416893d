import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  BencodeError,
  decodeBencode,
  decodeBencodePrefix,
  MAX_BENCODE_DEPTH,
} from "../../src/bencode/decode.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import type { BencodeSpan, BencodeValue } from "../../src/bencode/types.ts";

const te = new TextEncoder();
const bytes = (text: string): Uint8Array => te.encode(text);
/** Bytes from a binary string (one char per byte), for inputs with bytes >= 0x80. */
const raw = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const ascii = (value: Uint8Array): string => String.fromCharCode(...value);

/** Asserts that decoding `input` throws a BencodeError (a SyntaxError) at byte `offset`. */
function throwsAt(input: string | Uint8Array, offset: number, message?: RegExp): void {
  const data = typeof input === "string" ? bytes(input) : input;
  let caught: unknown;
  try {
    decodeBencode(data);
  } catch (error) {
    caught = error;
  }
  const label = typeof input === "string" ? JSON.stringify(input) : `${input.length} bytes`;
  ok(caught instanceof BencodeError, `${label}: expected BencodeError, got ${caught}`);
  ok(caught instanceof SyntaxError, `${label}: BencodeError must be a SyntaxError`);
  strictEqual(caught.name, "BencodeError");
  strictEqual(caught.offset, offset, `${label}: offset (${caught.message})`);
  ok(caught.message.endsWith(` at byte ${offset}`), `${label}: message "${caught.message}"`);
  if (message) ok(message.test(caught.message), `${label}: message "${caught.message}"`);
}

Deno.test("decodeBencode() decodes integers as numbers", () => {
  strictEqual(decodeBencode(bytes("i0e")), 0);
  strictEqual(decodeBencode(bytes("i42e")), 42);
  strictEqual(decodeBencode(bytes("i-42e")), -42);
  strictEqual(decodeBencode(bytes("i999999999999999e")), 999999999999999);
  strictEqual(decodeBencode(bytes("i-999999999999999e")), -999999999999999);
  strictEqual(decodeBencode(bytes(`i${Number.MAX_SAFE_INTEGER}e`)), Number.MAX_SAFE_INTEGER);
  strictEqual(decodeBencode(bytes(`i${Number.MIN_SAFE_INTEGER}e`)), Number.MIN_SAFE_INTEGER);
  strictEqual(decodeBencode(bytes("i1000000000000000e")), 1e15); // 16 digits, still a number
});

Deno.test("decodeBencode() decodes integers beyond 2^53 as exact bigints", () => {
  const cases = [
    2n ** 53n,
    -(2n ** 53n),
    2n ** 53n + 1n,
    -(2n ** 53n) - 1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 64n + 12345n,
    10n ** 40n + 7n,
    -(10n ** 40n) - 7n,
  ];
  for (const n of cases) {
    const encoded = bytes(`i${n}e`);
    const value = decodeBencode(encoded);
    strictEqual(typeof value, "bigint", `${n}`);
    strictEqual(value, n);
    deepStrictEqual(encodeBencode(value), encoded, `${n} round-trips`);
  }
  // Exactly 2^53 - 1 and its negative are numbers; one more is a bigint.
  strictEqual(typeof decodeBencode(bytes("i9007199254740991e")), "number");
  strictEqual(typeof decodeBencode(bytes("i-9007199254740991e")), "number");
  strictEqual(typeof decodeBencode(bytes("i9007199254740992e")), "bigint");
  strictEqual(typeof decodeBencode(bytes("i-9007199254740992e")), "bigint");
});

Deno.test("decodeBencode() decodes byte strings as views, including binary bytes", () => {
  deepStrictEqual(decodeBencode(bytes("0:")), new Uint8Array(0));
  deepStrictEqual(decodeBencode(bytes("4:spam")), bytes("spam"));
  deepStrictEqual(decodeBencode(raw("3:\x00\xff:")), new Uint8Array([0, 255, 58]));
  const input = bytes("10:0123456789");
  const value = decodeBencode(input) as Uint8Array;
  strictEqual(value.buffer, input.buffer, "the result is a view into the input");
  strictEqual(value.byteOffset, 3);
  // A string whose content looks like bencode stays a string.
  deepStrictEqual(decodeBencode(bytes("4:i1ee")), bytes("i1ee"));
});

Deno.test("decodeBencode() decodes lists and dictionaries", () => {
  deepStrictEqual(decodeBencode(bytes("le")), []);
  deepStrictEqual(decodeBencode(bytes("de")), new Map());
  deepStrictEqual(decodeBencode(bytes("l4:spami-3eli1eedee")), [
    bytes("spam"),
    -3,
    [1],
    new Map(),
  ]);
  deepStrictEqual(
    decodeBencode(bytes("d3:cow3:moo4:spaml1:a1:bee")),
    new Map<string, BencodeValue>([["cow", bytes("moo")], ["spam", [bytes("a"), bytes("b")]]]),
  );
  // Empty keys and binary keys are kept as binary strings (one char per byte).
  const dict = decodeBencode(raw("d0:i1e2:\xff\x00i2ee")) as Map<string, BencodeValue>;
  deepStrictEqual([...dict.keys()], ["", "\xff\x00"]);
  // UTF-8 keys are NOT decoded as text: "é" is two bytes, two chars.
  const utf8Key = decodeBencode(bytes("d2:éi1ee")) as Map<string, BencodeValue>;
  deepStrictEqual([...utf8Key.keys()], ["\xc3\xa9"]);
});

Deno.test("decodeBencode() accepts unsorted keys and keeps input order", () => {
  const dict = decodeBencode(bytes("d1:bi1e1:ai2e1:ci3ee")) as Map<string, BencodeValue>;
  deepStrictEqual([...dict.keys()], ["b", "a", "c"]);
  strictEqual(ascii(encodeBencode(dict)), "d1:ai2e1:bi1e1:ci3ee", "encodeBencode re-sorts");
});

Deno.test("decodeBencode() refuses leading zeros and -0", () => {
  throwsAt("i03e", 1, /leading zero/);
  throwsAt("i00e", 1, /leading zero/);
  throwsAt("i-03e", 1, /leading zero/);
  throwsAt("i-0e", 1, /-0/);
  throwsAt("03:abc", 0, /leading zero/);
  throwsAt("00:", 0, /leading zero/);
  throwsAt("l01:ae", 1, /leading zero/);
});

Deno.test("decodeBencode() refuses integers without digits or with other bytes", () => {
  throwsAt("ie", 1, /no digits/);
  throwsAt("i-e", 1, /no digits/);
  throwsAt("i--1e", 2, /non-digit/);
  throwsAt("i+1e", 1, /non-digit/);
  throwsAt("i1x2e", 2, /non-digit/);
  throwsAt("i 1e", 1);
  throwsAt("i1.5e", 2);
  throwsAt("i1-e", 2);
});

Deno.test("decodeBencode() refuses truncated values", () => {
  throwsAt("", 0, /end of input/);
  throwsAt("i", 0, /unterminated integer/);
  throwsAt("i12", 0, /unterminated integer/);
  throwsAt("i-", 0, /unterminated integer/);
  throwsAt("4", 0, /past the end/); // the length alone already exceeds the input
  throwsAt("0", 0, /unterminated string/);
  throwsAt("12", 0, /past the end|unterminated string/);
  throwsAt("4:", 0, /past the end/);
  throwsAt("4:spa", 0, /past the end/);
  throwsAt("l", 0, /unterminated list/);
  throwsAt("li1e", 0, /unterminated list/);
  throwsAt("lli1ee", 0, /unterminated list/);
  throwsAt("d", 0, /unterminated dictionary/);
  throwsAt("d3:cowi1e", 0, /unterminated dictionary/);
  throwsAt("d3:cow", 6, /end of input/); // a key without its value
  throwsAt("l4:spami3ed1:a", 14, /end of input/);
});

Deno.test("decodeBencode() refuses huge string lengths quickly", () => {
  throwsAt("99999999999999999999:abc", 0, /past the end/);
  throwsAt("9007199254740993:x", 0, /past the end/);
  throwsAt(`1${"0".repeat(400)}:`, 0, /past the end/);
  throwsAt("l5:abcde", 0, /unterminated list/);
  throwsAt("l6:abcde", 1, /past the end/);
  // A million-digit length must fail without reading the whole run of digits as a number.
  const long = bytes(`${"9".repeat(1_000_000)}:`);
  throwsAt(long, 0, /past the end/);
});

Deno.test("decodeBencode() refuses trailing bytes", () => {
  throwsAt("i1ex", 3, /trailing/);
  throwsAt("i1ei2e", 3, /trailing/);
  throwsAt("lee", 2, /trailing/);
  throwsAt("0:0:", 2, /trailing/);
  throwsAt("de\n", 2, /trailing/);
});

Deno.test("decodeBencode() refuses non-string keys, duplicate keys and stray bytes", () => {
  throwsAt("di1ei2ee", 1, /key is not a string/);
  throwsAt("dlei1ee", 1, /key is not a string/);
  throwsAt("ddeei1ee", 1, /key is not a string/);
  throwsAt("d1:ai1e1:ai2ee", 7, /duplicate/);
  throwsAt("d1:ai1e1:bi2e1:ai3ee", 13, /duplicate/);
  throwsAt("x", 0, /unexpected byte 0x78/);
  throwsAt("e", 0, /unexpected byte 0x65/);
  throwsAt("lxe", 1, /unexpected byte/);
  throwsAt(raw("\xff"), 0, /unexpected byte 0xff/);
  throwsAt("-1:a", 0, /unexpected byte/);
});

Deno.test("decodeBencode() accepts MAX_BENCODE_DEPTH levels of nesting and no more", () => {
  strictEqual(MAX_BENCODE_DEPTH, 64);
  const ok64 = "l".repeat(MAX_BENCODE_DEPTH) + "e".repeat(MAX_BENCODE_DEPTH);
  let value = decodeBencode(bytes(ok64));
  for (let depth = 1; depth < MAX_BENCODE_DEPTH; depth++) {
    ok(Array.isArray(value) && value.length === 1, `depth ${depth}`);
    value = value[0];
  }
  deepStrictEqual(value, []);
  const tooDeep = "l".repeat(MAX_BENCODE_DEPTH + 1) + "e".repeat(MAX_BENCODE_DEPTH + 1);
  throwsAt(tooDeep, MAX_BENCODE_DEPTH, /nesting deeper than 64/);
  // Dictionaries count too, mixed with lists.
  const mixed = "d1:a".repeat(40) + "l".repeat(25) + "e".repeat(25) + "e".repeat(40);
  throwsAt(mixed, 40 * 4 + 24, /nesting/);
});

Deno.test("decodeBencode() of 1 MB of 'l' throws BencodeError, not a stack overflow", () => {
  const input = new Uint8Array(1 << 20).fill(0x6c);
  throwsAt(input, MAX_BENCODE_DEPTH, /nesting/);
  const dicts = new Uint8Array(1 << 20);
  for (let i = 0; i < dicts.length; i += 4) dicts.set(bytes("d1:a"), i);
  throwsAt(dicts, MAX_BENCODE_DEPTH * 4, /nesting/);
});

Deno.test("decodeBencodePrefix() returns the end offset and allows trailing data", () => {
  deepStrictEqual(decodeBencodePrefix(bytes("i42eXYZ")), { value: 42, end: 4 });
  deepStrictEqual(decodeBencodePrefix(bytes("d1:ai1ee\x00\x01")), {
    value: new Map([["a", 1]]),
    end: 8,
  });
  // BEP 9 shape: a dictionary followed by raw piece data.
  const msg = bytes("d8:msg_typei1e5:piecei0e10:total_sizei3eeabc");
  const { value, end } = decodeBencodePrefix(msg);
  deepStrictEqual(value, new Map([["msg_type", 1], ["piece", 0], ["total_size", 3]]));
  deepStrictEqual(msg.subarray(end), bytes("abc"));
  // A start offset other than 0.
  deepStrictEqual(decodeBencodePrefix(bytes("XXi7eYY"), 2), { value: 7, end: 5 });
  deepStrictEqual(decodeBencodePrefix(bytes("i1e4:spam"), 3), { value: bytes("spam"), end: 9 });
  // Truncated values still throw, with offsets relative to the whole input.
  throws(
    () => decodeBencodePrefix(bytes("XXi7"), 2),
    (e) => e instanceof BencodeError && e.offset === 2,
  );
  throws(
    () => decodeBencodePrefix(bytes("XX"), 2),
    (e) => e instanceof BencodeError && e.offset === 2,
  );
});

Deno.test("decodeBencodePrefix() refuses a start outside the input with RangeError", () => {
  for (const start of [-1, 5, 0.5, NaN]) {
    throws(() => decodeBencodePrefix(bytes("i1e"), start), RangeError, `start ${start}`);
  }
});

Deno.test("decodeBencode() records spans that equal the original bytes of nested values", () => {
  // Keys out of order in both the outer and the info dictionary.
  const infoText = "d6:lengthi5e4:name3:a.b12:piece lengthi16384e6:pieces20:" + "x".repeat(20) +
    "5:filesld6:lengthi1e4:pathl1:aeeee";
  const outerText = `d8:announce9:http://x/4:info${infoText}7:comment2:hie`;
  const input = bytes(outerText);
  const spans = new WeakMap<object, BencodeSpan>();
  const outer = decodeBencode(input, { spans }) as Map<string, BencodeValue>;
  deepStrictEqual([...outer.keys()], ["announce", "info", "comment"]);
  const info = outer.get("info") as Map<string, BencodeValue>;
  const span = spans.get(info);
  ok(span);
  strictEqual(ascii(input.subarray(span.start, span.end)), infoText);
  // Re-encoding sorts keys, so it differs from the original bytes: the span is what a hash needs.
  const reencoded = ascii(encodeBencode(info));
  ok(reencoded !== infoText);
  strictEqual(reencoded.length, infoText.length);
  deepStrictEqual(decodeBencode(encodeBencode(info)), info);
  // Spans of nested lists and the outer dictionary.
  deepStrictEqual(spans.get(outer), { start: 0, end: input.length });
  const files = info.get("files") as BencodeValue[];
  const filesSpan = spans.get(files);
  ok(filesSpan);
  strictEqual(ascii(input.subarray(filesSpan.start, filesSpan.end)), "ld6:lengthi1e4:pathl1:aeee");
  const path = (files[0] as Map<string, BencodeValue>).get("path") as BencodeValue[];
  const pathSpan = spans.get(path);
  ok(pathSpan);
  strictEqual(ascii(input.subarray(pathSpan.start, pathSpan.end)), "l1:ae");
});

Deno.test("decodeBencodePrefix() records spans as absolute offsets when start > 0", () => {
  const input = bytes("junkd1:ali1eee");
  const spans = new WeakMap<object, BencodeSpan>();
  const { value } = decodeBencodePrefix(input, 4, { spans });
  deepStrictEqual(spans.get(value as object), { start: 4, end: 14 });
  const list = (value as Map<string, BencodeValue>).get("a") as object;
  deepStrictEqual(spans.get(list), { start: 8, end: 13 });
});

Deno.test("decodeBencode() without spans records nothing and still decodes", () => {
  const spans = new WeakMap<object, BencodeSpan>();
  const a = decodeBencode(bytes("ld1:ai1eee"));
  ok(!spans.has(a as object));
  deepStrictEqual(a, [new Map([["a", 1]])]);
});

Deno.test("decodeBencode() with lenient reads what libtorrent's bdecode reads", () => {
  const lenient = (text: string) =>
    decodeBencode(new TextEncoder().encode(text), { lenient: true });
  deepStrictEqual(lenient("i03e"), 3);
  deepStrictEqual(Object.is(lenient("i-0e"), 0), true, "-0 reads as 0, not negative zero");
  deepStrictEqual(lenient("i-007e"), -7);
  deepStrictEqual(lenient("03:abc"), new TextEncoder().encode("abc"));
  deepStrictEqual(lenient("d1:ai1e1:ai2ee"), new Map([["a", 1]]), "the first duplicate wins");
  const deep = (n: number) => "l".repeat(n) + "e".repeat(n);
  deepStrictEqual(Array.isArray(lenient(deep(100))), true);
  throws(() => lenient(deep(101)), /nesting deeper than 100/);
  // What is broken stays refused.
  throws(() => lenient("i3"), BencodeError);
  throws(() => lenient("5:abc"), BencodeError);
  throws(() => lenient("d1:a"), BencodeError);
});

Deno.test("decodeBencode() with spanDepth records spans only that deep", () => {
  const spans = new WeakMap<object, BencodeSpan>();
  const root = decodeBencode(bytes("d4:infod5:filesl1:aeee"), { spans, spanDepth: 2 }) as Map<
    string,
    BencodeValue
  >;
  const info = root.get("info") as Map<string, BencodeValue>;
  deepStrictEqual(spans.get(root), { start: 0, end: 22 });
  deepStrictEqual(spans.get(info), { start: 7, end: 21 });
  strictEqual(spans.get(info.get("files") as object), undefined, "depth 3: not recorded");
});
