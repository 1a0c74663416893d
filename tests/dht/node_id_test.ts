import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  commonPrefixBits,
  compareBytes,
  compareDistance,
  randomIdWithPrefix,
  xorDistance,
} from "../../src/dht/node_id.ts";

function id(...head: number[]): Uint8Array {
  const out = new Uint8Array(20);
  out.set(head);
  return out;
}

Deno.test("xorDistance() is symmetric, zero to itself, and refuses other lengths", () => {
  const a = id(0xf0, 0x0f), b = id(0x0f, 0x0f);
  deepStrictEqual(xorDistance(a, b), id(0xff, 0));
  deepStrictEqual(xorDistance(a, b), xorDistance(b, a));
  deepStrictEqual(xorDistance(a, a), new Uint8Array(20));
  throws(() => xorDistance(a, new Uint8Array(19)), RangeError);
});

Deno.test("compareDistance() orders by XOR distance, not by numeric value", () => {
  const target = id(0x80);
  // 0x00.. is numerically nearer to 0x80 than 0xff.., but by XOR 0xff (distance 0x7f) is nearer.
  ok(compareDistance(id(0xff), id(0x00), target) < 0);
  ok(compareDistance(id(0x80, 1), id(0x80, 2), target) < 0);
  strictEqual(compareDistance(id(5), id(5), target), 0);
  // Agrees with comparing the distances themselves.
  const x = id(3, 9), y = id(3, 200);
  strictEqual(
    Math.sign(compareDistance(x, y, target)),
    Math.sign(compareBytes(xorDistance(x, target), xorDistance(y, target))),
  );
});

Deno.test("commonPrefixBits() counts shared leading bits", () => {
  strictEqual(commonPrefixBits(id(0), id(0x80)), 0);
  strictEqual(commonPrefixBits(id(0), id(0x01)), 7);
  strictEqual(commonPrefixBits(id(0xaa, 0xbb), id(0xaa, 0xba)), 15);
  strictEqual(commonPrefixBits(id(1, 2, 3), id(1, 2, 3)), 160);
});

Deno.test("randomIdWithPrefix() keeps the prefix and flips the next bit when asked", () => {
  const own = id(0b10110011, 0xff, 0x12);
  for (let bits = 0; bits < 160; bits += 7) {
    const inBucket = randomIdWithPrefix(own, bits, true);
    strictEqual(commonPrefixBits(own, inBucket), bits, `flip at ${bits}`);
    ok(commonPrefixBits(own, randomIdWithPrefix(own, bits, false)) >= bits);
  }
  deepStrictEqual(randomIdWithPrefix(own, 160, true), own);
  throws(() => randomIdWithPrefix(own, 161, false), RangeError);
});
