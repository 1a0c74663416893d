import { deepStrictEqual, notStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { Bitfield } from "../../src/bytes/bitfield.ts";

Deno.test("Bitfield starts empty with ceil(size / 8) bytes", () => {
  for (const [size, length] of [[0, 0], [1, 1], [7, 1], [8, 1], [9, 2], [16, 2], [17, 3]]) {
    const bits = new Bitfield(size);
    strictEqual(bits.size, size);
    strictEqual(bits.bytes.length, length, `size ${size}`);
    strictEqual(bits.count, 0);
    strictEqual(bits.complete, size === 0, `size ${size}`);
    for (let i = 0; i < size; i++) ok(!bits.has(i));
  }
});

Deno.test("Bitfield.set() uses BEP 3 bit order: the high bit of byte 0 is piece 0", () => {
  const bits = new Bitfield(12);
  ok(bits.set(0));
  deepStrictEqual(bits.bytes, new Uint8Array([0x80, 0x00]));
  ok(bits.set(7));
  ok(bits.set(8));
  ok(bits.set(11));
  deepStrictEqual(bits.bytes, new Uint8Array([0x81, 0x90]));
  strictEqual(bits.count, 4);
  for (let i = 0; i < 12; i++) strictEqual(bits.has(i), [0, 7, 8, 11].includes(i), `piece ${i}`);
});

Deno.test("Bitfield.set() and clear() report changes and keep count", () => {
  const bits = new Bitfield(10);
  ok(bits.set(3));
  ok(!bits.set(3), "setting twice reports no change");
  strictEqual(bits.count, 1);
  ok(bits.clear(3));
  ok(!bits.clear(3), "clearing twice reports no change");
  strictEqual(bits.count, 0);
  ok(!bits.has(3));
  deepStrictEqual(bits.bytes, new Uint8Array(2));
  ok(!bits.clear(4), "clearing an unset piece");
  strictEqual(bits.count, 0);
});

Deno.test("Bitfield.complete and fill() cover every piece and leave spare bits zero", () => {
  for (const size of [1, 5, 8, 13, 64, 1001]) {
    const bits = new Bitfield(size);
    bits.fill();
    ok(bits.complete, `size ${size}`);
    strictEqual(bits.count, size);
    const spare = bits.bytes.length * 8 - size;
    strictEqual(
      bits.bytes[bits.bytes.length - 1] & ((1 << spare) - 1),
      0,
      `spare bits, size ${size}`,
    );
    bits.fill(); // idempotent
    strictEqual(bits.count, size);
    bits.clear(size - 1);
    ok(!bits.complete);
    strictEqual(bits.count, size - 1);
  }
  const partial = new Bitfield(3);
  partial.set(0);
  partial.set(1);
  ok(!partial.complete);
  partial.set(2);
  ok(partial.complete);
  deepStrictEqual(partial.bytes, new Uint8Array([0xe0]));
});

Deno.test("Bitfield out-of-range and non-integer indexes: has() is false, set() throws, clear() ignores", () => {
  const bits = new Bitfield(10);
  bits.fill();
  for (const index of [-1, 10, 11, 16, 1e9, Infinity, -Infinity, NaN, 0.5, 1.5, 9.99]) {
    strictEqual(bits.has(index), false, `has(${index})`);
    throws(() => bits.set(index), RangeError, `set(${index})`);
    strictEqual(bits.clear(index), false, `clear(${index})`);
  }
  strictEqual(bits.count, 10, "nothing was cleared by bad indexes");
  ok(bits.complete);
  deepStrictEqual(bits.bytes, new Uint8Array([0xff, 0xc0]));
});

Deno.test("Bitfield.has(NaN) is false even when piece 0 is set", () => {
  const bits = new Bitfield(8);
  bits.set(0);
  bits.set(1);
  strictEqual(bits.has(NaN), false);
  strictEqual(bits.has(1.2), false);
  strictEqual(bits.clear(NaN), false);
  ok(bits.has(0), "clear(NaN) must not clear piece 0");
  strictEqual(bits.count, 2);
});

Deno.test("new Bitfield(size, bytes) copies the bytes and counts set pieces", () => {
  const input = new Uint8Array([0b1010_0001, 0b1100_0000]);
  const bits = new Bitfield(10, input);
  strictEqual(bits.count, 5);
  for (let i = 0; i < 10; i++) strictEqual(bits.has(i), [0, 2, 7, 8, 9].includes(i), `piece ${i}`);
  notStrictEqual(bits.bytes, input);
  input[0] = 0;
  ok(bits.has(0), "later changes to the input do not leak in");
  ok(new Bitfield(16, new Uint8Array([0xff, 0xff])).complete);
  ok(new Bitfield(0, new Uint8Array()).complete);
});

Deno.test("new Bitfield(size, bytes) throws RangeError for spare bits set", () => {
  throws(() => new Bitfield(10, new Uint8Array([0, 0x20])), RangeError);
  throws(() => new Bitfield(10, new Uint8Array([0, 0x01])), /spare bits/);
  throws(() => new Bitfield(1, new Uint8Array([0x40])), RangeError);
  throws(() => new Bitfield(15, new Uint8Array([0, 1])), RangeError);
  // The last piece's own bit is allowed.
  strictEqual(new Bitfield(10, new Uint8Array([0, 0x40])).count, 1);
  strictEqual(new Bitfield(15, new Uint8Array([0, 2])).count, 1);
});

Deno.test("new Bitfield(size, bytes) throws RangeError for the wrong length", () => {
  throws(() => new Bitfield(10, new Uint8Array(1)), RangeError);
  throws(() => new Bitfield(10, new Uint8Array(3)), /3 bytes, expected 2/);
  throws(() => new Bitfield(8, new Uint8Array(0)), RangeError);
  throws(() => new Bitfield(0, new Uint8Array(1)), RangeError);
});

Deno.test("new Bitfield() throws RangeError for a negative or non-integer size", () => {
  for (const size of [-1, 2.5, NaN, Infinity, 2 ** 53]) {
    throws(() => new Bitfield(size), RangeError, `size ${size}`);
  }
});

Deno.test("Bitfield agrees with a Set model under random operations", () => {
  const seed = 0xb17f;
  let state = seed;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const size = 77;
  const bits = new Bitfield(size);
  const model = new Set<number>();
  for (let step = 0; step < 5000; step++) {
    const where = `seed ${seed} step ${step}`;
    const index = next(size);
    if (next(2) === 0) {
      strictEqual(bits.set(index), !model.has(index), where);
      model.add(index);
    } else {
      strictEqual(bits.clear(index), model.has(index), where);
      model.delete(index);
    }
    strictEqual(bits.count, model.size, where);
    strictEqual(bits.complete, model.size === size, where);
  }
  for (let i = 0; i < size; i++) strictEqual(bits.has(i), model.has(i), `piece ${i}`);
  // The bytes rebuild the same bitfield.
  const copy = new Bitfield(size, bits.bytes);
  strictEqual(copy.count, model.size);
  for (let i = 0; i < size; i++) strictEqual(copy.has(i), model.has(i), `copy piece ${i}`);
});

Deno.test("Bitfield.assign() replaces every bit from bytes, clearing spare bits", () => {
  const bits = new Bitfield(10);
  bits.set(5);
  bits.assign(new Uint8Array([0b1000_0001, 0b1111_1111]));
  deepStrictEqual(bits.bytes, new Uint8Array([0b1000_0001, 0b1100_0000]));
  strictEqual(bits.count, 4);
  for (let i = 0; i < 10; i++) strictEqual(bits.has(i), [0, 7, 8, 9].includes(i), `piece ${i}`);
  bits.assign(new Uint8Array(2));
  strictEqual(bits.count, 0);
  throws(() => bits.assign(new Uint8Array(3)), RangeError);
  throws(() => bits.assign(new Uint8Array(1)), RangeError);
  strictEqual(bits.count, 0, "a refused assign changes nothing");
});

Deno.test("Bitfield.assign(true) sets every piece and assign(false) clears every piece", () => {
  const bits = new Bitfield(13);
  bits.set(2);
  bits.assign(true);
  ok(bits.complete);
  strictEqual(bits.count, 13);
  deepStrictEqual(bits.bytes, new Uint8Array([0xff, 0xf8]));
  bits.assign(false);
  strictEqual(bits.count, 0);
  deepStrictEqual(bits.bytes, new Uint8Array(2));
  bits.set(12);
  strictEqual(bits.count, 1, "count stays right after assign");
});
