import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decodeBencode } from "../../src/bencode/decode.ts";
import { type BencodeInput, encodeBencode } from "../../src/bencode/encode.ts";
import type { BencodeValue } from "../../src/bencode/types.ts";

/** The encoding as a binary string (one char per byte). */
const encoded = (value: BencodeInput): string => String.fromCharCode(...encodeBencode(value));
const raw = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

Deno.test("encodeBencode() encodes integers, numbers and bigints", () => {
  strictEqual(encoded(0), "i0e");
  strictEqual(encoded(-0), "i0e");
  strictEqual(encoded(42), "i42e");
  strictEqual(encoded(-42), "i-42e");
  strictEqual(encoded(Number.MAX_SAFE_INTEGER), "i9007199254740991e");
  strictEqual(encoded(0n), "i0e");
  strictEqual(encoded(-(2n ** 64n)), "i-18446744073709551616e");
  strictEqual(encoded(10n ** 30n), `i1${"0".repeat(30)}e`);
});

Deno.test("encodeBencode() writes every digit of large integral numbers, never an exponent", () => {
  // `${1e21}` is "1e+21"; bencode needs the digits.
  strictEqual(encoded(1e21), `i1${"0".repeat(21)}e`);
  strictEqual(encoded(-1e21), `i-1${"0".repeat(21)}e`);
  strictEqual(encoded(2 ** 80), `i${2n ** 80n}e`);
  strictEqual(encoded(Number.MAX_VALUE), `i${BigInt(Number.MAX_VALUE)}e`);
  // Whatever encodeBencode writes for a number decodes to the same value.
  for (const n of [2 ** 53, 2 ** 60, 1e20, 1e21, 1e300, -(2 ** 70)]) {
    strictEqual(decodeBencode(encodeBencode(n)), BigInt(n), `${n}`);
  }
});

Deno.test("encodeBencode() throws TypeError for non-integer numbers", () => {
  for (const n of [1.5, -0.1, NaN, Infinity, -Infinity, Number.EPSILON]) {
    throws(() => encodeBencode(n), TypeError, `${n}`);
    throws(() => encodeBencode([1, n]), TypeError, `${n} in a list`);
    throws(() => encodeBencode({ a: n }), TypeError, `${n} in a dict`);
  }
});

Deno.test("encodeBencode() throws TypeError for values that are not bencode", () => {
  for (const bad of [true, false, null, undefined, Symbol("x"), () => 1]) {
    throws(() => encodeBencode(bad as unknown as BencodeInput), TypeError, String(bad));
    throws(() => encodeBencode([bad] as unknown as BencodeInput), TypeError, `[${String(bad)}]`);
  }
  throws(
    () => encodeBencode(new Map([["a", undefined]]) as unknown as BencodeInput),
    TypeError,
  );
});

Deno.test("encodeBencode() encodes byte strings and text as UTF-8", () => {
  strictEqual(encoded(new Uint8Array(0)), "0:");
  strictEqual(encoded(new Uint8Array([0, 255, 58])), "3:\x00\xff:");
  strictEqual(encoded(""), "0:");
  strictEqual(encoded("spam"), "4:spam");
  deepStrictEqual(encodeBencode("héllo"), new TextEncoder().encode("6:héllo"));
  deepStrictEqual(encodeBencode("😀"), new TextEncoder().encode("4:😀"));
  // A subarray view encodes only its own bytes.
  const backing = new Uint8Array([1, 2, 3, 4, 5]);
  strictEqual(encoded(backing.subarray(1, 3)), "2:\x02\x03");
});

Deno.test("encodeBencode() encodes lists", () => {
  strictEqual(encoded([]), "le");
  strictEqual(encoded([1, "a", [], [[]], new Map()]), "li1e1:alelleedee");
});

Deno.test("encodeBencode() encodes Maps and plain objects with keys sorted by raw bytes", () => {
  strictEqual(encoded(new Map()), "de");
  strictEqual(encoded({}), "de");
  strictEqual(encoded({ spam: ["a", 1], cow: "moo" }), "d3:cow3:moo4:spaml1:ai1eee");
  strictEqual(
    encoded(new Map<string, BencodeInput>([["spam", 1], ["cow", 2], ["", 3]])),
    "d0:i3e3:cowi2e4:spami1ee",
  );
  // Integer-like object keys come first in Object.entries order; the encoding sorts them anyway.
  strictEqual(encoded({ b: 1, "10": 2, "9": 3, a: 4 }), "d2:10i2e1:9i3e1:ai4e1:bi1ee");
  // Prefixes sort first; uppercase (0x41..) before lowercase.
  strictEqual(encoded({ ab: 1, a: 2, B: 3 }), "d1:Bi3e1:ai2e2:abi1ee");
});

Deno.test("encodeBencode() sorts binary keys with bytes >= 0x80 as unsigned bytes", () => {
  const map = new Map<string, BencodeInput>([
    ["\xff", 1],
    ["\x80\x00", 2],
    ["z", 3],
    ["\x7f", 4],
    ["\x00", 5],
    ["\x80", 6],
  ]);
  const out = encodeBencode(map);
  const expected = "d1:\x00i5e1:zi3e1:\x7fi4e1:\x80i6e2:\x80\x00i2e1:\xffi1ee";
  deepStrictEqual(out, raw(expected));
  // Decoding unsorted binary keys and re-encoding gives the sorted bytes.
  const unsorted = raw("d1:\xffi1e1:\x80i2e1:ai3ee");
  const decoded = decodeBencode(unsorted) as Map<string, BencodeValue>;
  deepStrictEqual([...decoded.keys()], ["\xff", "\x80", "a"]);
  deepStrictEqual(encodeBencode(decoded), raw("d1:ai3e1:\x80i2e1:\xffi1ee"));
});

Deno.test("encodeBencode() writes keys as binary strings and refuses characters above 255", () => {
  // A key is a binary string: "\xe9" is the single byte 0xe9, not UTF-8.
  deepStrictEqual(encodeBencode({ "\xe9": 1 }), raw("d1:\xe9i1ee"));
  throws(() => encodeBencode({ "名": 1 }), TypeError);
  throws(() => encodeBencode(new Map([["ok", 1], ["€", 2]])), TypeError);
});

Deno.test("encodeBencode() skips undefined fields of plain objects", () => {
  strictEqual(encoded({ a: 1, b: undefined, c: "x" }), "d1:ai1e1:c1:xe");
  strictEqual(encoded({ only: undefined }), "de");
  const optional: { name: string; comment?: string } = { name: "n" };
  strictEqual(encoded(optional), "d4:name1:ne");
});

Deno.test("encodeBencode() output decodes back to the same value", () => {
  const value: BencodeValue = new Map<string, BencodeValue>([
    ["a", [1, -2, 2n ** 70n, new Uint8Array([0, 1, 255])]],
    ["b", new Map<string, BencodeValue>([["\xff", new Uint8Array()]])],
  ]);
  deepStrictEqual(decodeBencode(encodeBencode(value)), value);
});
