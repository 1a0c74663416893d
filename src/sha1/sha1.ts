// Placeholder straightforward SHA-1 (FIPS 180-4); to be replaced by an optimised version.

/**
 * Incremental SHA-1: call `update` any number of times, then `digest` once.
 * @example
 * ```ts
 * import { Sha1, encodeHex } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const h = new Sha1().update(new TextEncoder().encode("ab")).update(new TextEncoder().encode("c"));
 * strictEqual(encodeHex(h.digest()), "a9993e364706816aba3e25717850c26c9cd0d89d");
 * ```
 */
export class Sha1 {
  #h = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]);
  #block = new Uint8Array(64);
  #blockLength = 0;
  #total = 0;
  #w = new Int32Array(80);
  #done = false;

  /**
   * Adds bytes to the hash.
   * @param data More input.
   * @returns This hash, for chaining.
   * @throws {Error} If `digest` was already called.
   */
  update(data: Uint8Array): this {
    if (this.#done) throw new Error("Cannot update SHA-1: digest() was already called");
    this.#total += data.length;
    let i = 0;
    while (i < data.length) {
      const take = Math.min(64 - this.#blockLength, data.length - i);
      this.#block.set(data.subarray(i, i + take), this.#blockLength);
      this.#blockLength += take;
      i += take;
      if (this.#blockLength === 64) {
        this.#compress(this.#block);
        this.#blockLength = 0;
      }
    }
    return this;
  }

  /**
   * Finishes the hash.
   * @returns The 20-byte digest.
   * @throws {Error} If called twice.
   */
  digest(): Uint8Array {
    if (this.#done) throw new Error("Cannot digest SHA-1 twice");
    const bits = this.#total * 8;
    const pad = new Uint8Array(((this.#blockLength + 8) >> 6 << 6) + 64 - this.#blockLength);
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    view.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(pad.length - 4, bits >>> 0);
    this.update(pad);
    this.#done = true;
    const out = new Uint8Array(20);
    const outView = new DataView(out.buffer);
    for (let k = 0; k < 5; k++) outView.setInt32(k * 4, this.#h[k]);
    return out;
  }

  #compress(block: Uint8Array): void {
    const w = this.#w;
    for (let t = 0; t < 16; t++) {
      w[t] = (block[t * 4] << 24) | (block[t * 4 + 1] << 16) | (block[t * 4 + 2] << 8) |
        block[t * 4 + 3];
    }
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
      w[t] = (x << 1) | (x >>> 31);
    }
    const h = this.#h;
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (let t = 0; t < 80; t++) {
      let f: number, k: number;
      if (t < 20) (f = (b & c) | (~b & d)), (k = 0x5a827999);
      else if (t < 40) (f = b ^ c ^ d), (k = 0x6ed9eba1);
      else if (t < 60) (f = (b & c) | (b & d) | (c & d)), (k = 0x8f1bbcdc | 0);
      else (f = b ^ c ^ d), (k = 0xca62c1d6 | 0);
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
  }
}

/**
 * One-shot SHA-1 of some bytes.
 * @param data The input.
 * @returns The 20-byte digest.
 * @example
 * ```ts
 * import { sha1, encodeHex } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(encodeHex(sha1(new Uint8Array(0))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
 * ```
 */
export function sha1(data: Uint8Array): Uint8Array {
  return new Sha1().update(data).digest();
}
