import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { formatContentRange, parseByteRange } from "../../src/daemon/byte_range.ts";

const partial = (start: number, end: number) => ({ type: "partial", start, end });
const full = { type: "full" };
const bad = { type: "unsatisfiable" };

Deno.test("parseByteRange() serves the whole file without a Range, or with another unit", () => {
  deepStrictEqual(parseByteRange(null, 100), full);
  deepStrictEqual(parseByteRange(undefined, 100), full);
  deepStrictEqual(parseByteRange("items=0-5", 100), full);
  deepStrictEqual(parseByteRange("nonsense", 100), full);
});

Deno.test("parseByteRange() takes first-last, open ends, clips past the end, and is case-blind about the unit", () => {
  deepStrictEqual(parseByteRange("bytes=10-19", 100), partial(10, 20));
  deepStrictEqual(parseByteRange("bytes=90-", 100), partial(90, 100));
  deepStrictEqual(parseByteRange("bytes=90-500", 100), partial(90, 100));
  deepStrictEqual(parseByteRange("Bytes = 0-0", 100), partial(0, 1));
  deepStrictEqual(parseByteRange("bytes=99-99", 100), partial(99, 100));
});

Deno.test("parseByteRange() takes suffix ranges, the whole file when the suffix is longer", () => {
  deepStrictEqual(parseByteRange("bytes=-10", 100), partial(90, 100));
  deepStrictEqual(parseByteRange("bytes=-1000", 100), partial(0, 100));
  deepStrictEqual(parseByteRange("bytes=-0", 100), bad);
});

Deno.test("parseByteRange() refuses starts at or past the end, malformed specs, and any range of an empty file", () => {
  deepStrictEqual(parseByteRange("bytes=100-", 100), bad);
  deepStrictEqual(parseByteRange("bytes=100-200", 100), bad);
  deepStrictEqual(parseByteRange("bytes=20-10", 100), bad);
  deepStrictEqual(parseByteRange("bytes=a-b", 100), bad);
  deepStrictEqual(parseByteRange("bytes=-", 100), bad);
  deepStrictEqual(parseByteRange("bytes=", 100), bad);
  deepStrictEqual(parseByteRange("bytes=1.5-3", 100), bad);
  deepStrictEqual(parseByteRange("bytes=0-", 0), bad);
  deepStrictEqual(parseByteRange("bytes=-5", 0), bad);
  deepStrictEqual(parseByteRange(`bytes=${"1-2,".repeat(65)}1-2`, 100), bad);
});

Deno.test("parseByteRange() coalesces several ranges into one span, skipping unsatisfiable ones", () => {
  deepStrictEqual(parseByteRange("bytes=0-9, 50-59", 100), partial(0, 60));
  deepStrictEqual(parseByteRange("bytes=50-59,-5", 100), partial(50, 100));
  deepStrictEqual(parseByteRange("bytes=500-600, 10-19", 100), partial(10, 20));
  deepStrictEqual(parseByteRange("bytes=500-600, 700-", 100), bad);
});

Deno.test("formatContentRange() writes inclusive ends and the 416 form", () => {
  strictEqual(formatContentRange({ start: 10, end: 20 }, 100), "bytes 10-19/100");
  strictEqual(formatContentRange(undefined, 100), "bytes */100");
});
