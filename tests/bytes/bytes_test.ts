import { deepStrictEqual, notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  binaryToBytes,
  bytesToBinary,
  concatBytes,
  equalBytes,
  utf8,
} from "../../src/bytes/bytes.ts";

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

Deno.test("equalBytes() compares length and every byte", () => {
  ok(equalBytes(new Uint8Array(), new Uint8Array()));
  ok(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  ok(!equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  ok(!equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])));
  ok(!equalBytes(new Uint8Array([0]), new Uint8Array()));
  ok(!equalBytes(new Uint8Array([9, 2, 3]), new Uint8Array([1, 2, 3])), "first byte differs");
  // Views are compared by content, not by buffer.
  const big = new Uint8Array([7, 1, 2, 3, 7]);
  ok(equalBytes(big.subarray(1, 4), new Uint8Array([1, 2, 3])));
  ok(equalBytes(ALL_BYTES, ALL_BYTES.slice()));
});

Deno.test("concatBytes() joins parts into a fresh array", () => {
  deepStrictEqual(concatBytes([]), new Uint8Array());
  deepStrictEqual(concatBytes([new Uint8Array()]), new Uint8Array());
  const a = new Uint8Array([1, 2]);
  const joined = concatBytes([a, new Uint8Array(), new Uint8Array([3]), a.subarray(1)]);
  deepStrictEqual(joined, new Uint8Array([1, 2, 3, 2]));
  const single = concatBytes([a]);
  deepStrictEqual(single, a);
  notStrictEqual(single.buffer, a.buffer, "a copy, even for one part");
  single[0] = 99;
  strictEqual(a[0], 1);
});

Deno.test("utf8() encodes text as UTF-8", () => {
  deepStrictEqual(utf8(""), new Uint8Array());
  deepStrictEqual(utf8("hi"), new Uint8Array([104, 105]));
  deepStrictEqual(
    utf8("é€😀"),
    new Uint8Array([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]),
  );
});

Deno.test("bytesToBinary() and binaryToBytes() round-trip all 256 byte values", () => {
  const text = bytesToBinary(ALL_BYTES);
  strictEqual(text.length, 256);
  for (let i = 0; i < 256; i++) strictEqual(text.charCodeAt(i), i);
  deepStrictEqual(binaryToBytes(text), ALL_BYTES);
  strictEqual(bytesToBinary(new Uint8Array()), "");
  deepStrictEqual(binaryToBytes(""), new Uint8Array());
});

Deno.test("bytesToBinary() and binaryToBytes() round-trip large arrays across chunk edges", () => {
  for (const length of [8191, 8192, 8193, 100_003, 1 << 20]) {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = (i * 131 + (i >> 8)) & 255;
    const text = bytesToBinary(bytes);
    strictEqual(text.length, length, `length ${length}`);
    strictEqual(text.charCodeAt(length - 1), bytes[length - 1], `last char, length ${length}`);
    strictEqual(
      text.charCodeAt(8192 % length),
      bytes[8192 % length],
      `chunk edge, length ${length}`,
    );
    ok(sameBytes(binaryToBytes(text), bytes), `round trip, length ${length}`);
  }
});

Deno.test("binaryToBytes() throws RangeError for characters above 255", () => {
  throws(
    () => binaryToBytes("ab\u0100"),
    (e) => e instanceof RangeError && /character 2/.test(e.message),
  );
  throws(() => binaryToBytes("€"), RangeError);
  throws(() => binaryToBytes("😀"), RangeError);
});

/** An independent reference comparison, so the round trip does not rely on equalBytes(). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
