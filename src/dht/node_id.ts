/** Bytes in a DHT node id or info hash (BEP 5: 160 bits). */
export const NODE_ID_BYTES = 20;

/** Bits in a DHT node id (BEP 5). */
export const NODE_ID_BITS = 160;

/**
 * The XOR distance between two 160-bit ids (BEP 5 "distance metric").
 * @param a One 20-byte id.
 * @param b The other 20-byte id.
 * @returns A fresh 20-byte array `a XOR b`; compare two of them with {@linkcode compareBytes}.
 * @throws {RangeError} If either id is not 20 bytes.
 * @example
 * ```ts
 * import { xorDistance } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const a = new Uint8Array(20), b = new Uint8Array(20);
 * b[19] = 5;
 * strictEqual(xorDistance(a, b)[19], 5);
 * ```
 */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  checkId(a);
  checkId(b);
  const out = new Uint8Array(NODE_ID_BYTES);
  for (let i = 0; i < NODE_ID_BYTES; i++) out[i] = a[i] ^ b[i];
  return out;
}

/**
 * Orders two byte arrays of equal length as big-endian unsigned numbers.
 * @param a First bytes.
 * @param b Second bytes (same length).
 * @returns A negative number when `a < b`, 0 when equal, positive when `a > b`.
 * @example
 * ```ts
 * import { compareBytes } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * ok(compareBytes(new Uint8Array([0, 9]), new Uint8Array([1, 0])) < 0);
 * ```
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Says which of two ids is closer to a target by XOR distance, without allocating.
 * @param a One id.
 * @param b Another id.
 * @param target The id distances are measured from.
 * @returns Negative when `a` is closer, positive when `b` is closer, 0 when `a` equals `b`.
 * @example
 * ```ts
 * import { compareDistance } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * const target = new Uint8Array(20), near = new Uint8Array(20), far = new Uint8Array(20);
 * near[19] = 1;
 * far[0] = 1;
 * ok(compareDistance(near, far, target) < 0);
 * ```
 */
export function compareDistance(a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const da = a[i] ^ target[i];
    const db = b[i] ^ target[i];
    if (da !== db) return da - db;
  }
  return 0;
}

/**
 * Counts the leading bits two ids share (160 when they are equal).
 * @param a One 20-byte id.
 * @param b The other 20-byte id.
 * @returns 0..160.
 * @example
 * ```ts
 * import { commonPrefixBits } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const a = new Uint8Array(20), b = new Uint8Array(20);
 * b[1] = 0x20; // first difference at bit 8 + 2
 * strictEqual(commonPrefixBits(a, b), 10);
 * ```
 */
export function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return NODE_ID_BITS;
}

/**
 * Makes a random id that shares its first `bits` bits with `prefix` and, when `flipNext`,
 * differs at the bit after them (an id inside one routing-table bucket, BEP 5 "refresh").
 * @param prefix The id whose leading bits are kept.
 * @param bits How many leading bits to keep, 0..160.
 * @param flipNext Whether bit `bits` is the opposite of `prefix`'s (ignored when `bits` is 160).
 * @param random Source of random bytes (default `crypto.getRandomValues`).
 * @returns A fresh 20-byte id.
 * @throws {RangeError} If `bits` is outside 0..160 or `prefix` is not 20 bytes.
 * @example
 * ```ts
 * import { commonPrefixBits, randomIdWithPrefix } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const own = new Uint8Array(20).fill(0xaa);
 * strictEqual(commonPrefixBits(own, randomIdWithPrefix(own, 12, true)), 12);
 * ```
 */
export function randomIdWithPrefix(
  prefix: Uint8Array,
  bits: number,
  flipNext: boolean,
  random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
): Uint8Array {
  checkId(prefix);
  if (!Number.isInteger(bits) || bits < 0 || bits > NODE_ID_BITS) {
    throw new RangeError(`Cannot make an id: prefix length ${bits} is outside 0..160`);
  }
  const out = random(new Uint8Array(NODE_ID_BYTES));
  const whole = bits >> 3;
  out.set(prefix.subarray(0, whole));
  const rest = bits & 7;
  if (whole < NODE_ID_BYTES) {
    const keep = (0xff00 >> rest) & 0xff;
    out[whole] = (prefix[whole] & keep) | (out[whole] & ~keep & 0xff);
  }
  if (flipNext && bits < NODE_ID_BITS) {
    const mask = 0x80 >> (bits & 7);
    out[bits >> 3] = (out[bits >> 3] & ~mask) | (~prefix[bits >> 3] & mask);
  }
  return out;
}

/**
 * Makes a random 20-byte node id.
 * @returns A fresh id from `crypto.getRandomValues`.
 * @example
 * ```ts
 * import { randomNodeId } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(randomNodeId().length, 20);
 * ```
 */
export function randomNodeId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(NODE_ID_BYTES));
}

function checkId(id: Uint8Array): void {
  if (id.length !== NODE_ID_BYTES) {
    throw new RangeError(`Cannot use node id: ${id.length} bytes, expected 20`);
  }
}
