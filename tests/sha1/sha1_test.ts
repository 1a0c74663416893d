import { createHash } from "node:crypto";
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { Sha1, sha1 } from "@shoal/shoal";
import { encodeHex } from "@shoal/shoal/bytes";

function nodeSha1(data: Uint8Array): string {
  return createHash("sha1").update(data).digest("hex");
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

Deno.test("sha1() matches the FIPS 180-4 test vectors", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  strictEqual(encodeHex(sha1(text(""))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  strictEqual(encodeHex(sha1(text("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  strictEqual(
    encodeHex(sha1(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  );
  strictEqual(
    encodeHex(sha1(new Uint8Array(1_000_000).fill(0x61))),
    "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
  );
});

Deno.test("sha1() matches node:crypto on every length 0..1024", () => {
  const data = pseudoRandomBytes(1024, 7);
  for (let length = 0; length <= 1024; length++) {
    const part = data.subarray(0, length);
    strictEqual(encodeHex(sha1(part)), nodeSha1(part), `length ${length}`);
  }
});

Deno.test("Sha1 fed byte by byte matches node:crypto on every length 0..300", () => {
  const data = pseudoRandomBytes(300, 11);
  for (let length = 0; length <= 300; length++) {
    const h = new Sha1();
    for (let i = 0; i < length; i++) h.update(data.subarray(i, i + 1));
    strictEqual(encodeHex(h.digest()), nodeSha1(data.subarray(0, length)), `length ${length}`);
  }
});

Deno.test("Sha1 matches node:crypto on random data up to 16 MiB in random chunks", () => {
  const data = new Uint8Array(16 * 1024 * 1024);
  // getRandomValues fills at most 64 KiB per call.
  for (let off = 0; off < data.length; off += 65536) {
    crypto.getRandomValues(data.subarray(off, off + 65536));
  }
  const lengths = [0, 1, 63, 64, 65, 1000, 65536, 1 << 20, data.length];
  for (let round = 0; round < 12; round++) {
    lengths.push(Math.floor(Math.random() * data.length));
  }
  for (const length of lengths) {
    const whole = data.subarray(0, length);
    const h = new Sha1();
    let pos = 0;
    while (pos < length) {
      const chunk = Math.random() < 0.5
        ? Math.floor(Math.random() * 130)
        : Math.floor(Math.random() * 300_000);
      h.update(whole.subarray(pos, pos + chunk));
      pos += chunk;
    }
    strictEqual(encodeHex(h.digest()), nodeSha1(whole), `length ${length}`);
  }
});

Deno.test("Sha1 reads subarrays with odd byteOffset correctly", () => {
  const backing = pseudoRandomBytes(5000, 3);
  for (const offset of [1, 3, 5, 63, 65, 127]) {
    for (const length of [0, 1, 55, 56, 64, 119, 120, 1000, 4000]) {
      const view = backing.subarray(offset, offset + length);
      strictEqual(view.byteOffset, offset);
      const copy = view.slice();
      strictEqual(encodeHex(sha1(view)), nodeSha1(copy), `offset ${offset} length ${length}`);
      // Split at an odd point too: the tail buffer plus a misaligned whole-block run.
      const h = new Sha1().update(view.subarray(0, 7)).update(view.subarray(7));
      strictEqual(encodeHex(h.digest()), nodeSha1(copy), `split, offset ${offset}`);
    }
  }
});

Deno.test("Sha1 hashes bytes on a SharedArrayBuffer", () => {
  const shared = new Uint8Array(new SharedArrayBuffer(3000));
  shared.set(pseudoRandomBytes(3000, 5));
  const view = shared.subarray(9, 2999);
  strictEqual(encodeHex(sha1(view)), nodeSha1(view.slice()));
});

Deno.test("Sha1.digest() twice throws", () => {
  const h = new Sha1().update(new Uint8Array([1, 2, 3]));
  const first = h.digest();
  throws(() => h.digest(), { name: "Error", message: /digest SHA-1 twice/ });
  deepStrictEqual(first, sha1(new Uint8Array([1, 2, 3])));
});

Deno.test("Sha1.update() after digest() throws, even for empty input", () => {
  const h = new Sha1();
  h.digest();
  throws(() => h.update(new Uint8Array(0)), /digest\(\) was already called/);
  throws(() => h.update(new Uint8Array(100)), /digest\(\) was already called/);
});

Deno.test("Sha1 does not modify its input", () => {
  const data = pseudoRandomBytes(1000, 9);
  const copy = data.slice();
  new Sha1().update(data).digest();
  deepStrictEqual(data, copy);
});

/** Textbook SHA-1 compression (FIPS 180-4 6.1.2), independent of sha1.ts: the state after `data`. */
function referenceState(data: Uint8Array): number[] {
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const w = new Array<number>(80);
  const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  for (let p = 0; p < data.length; p += 64) {
    for (let t = 0; t < 80; t++) {
      w[t] = t < 16
        ? view.getInt32(p + 4 * t)
        : rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    }
    let [a, b, c, d, e] = h;
    for (let t = 0; t < 80; t++) {
      const f = t < 20
        ? (b & c) | (~b & d)
        : t < 40 || t >= 60
        ? b ^ c ^ d
        : (b & c) | (b & d) | (c & d);
      const k = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6][Math.floor(t / 20)];
      const next = (rotl(a, 5) + f + e + k + w[t]) | 0;
      [e, d, c, b, a] = [d, c, rotl(b, 30), a, next];
    }
    [a, b, c, d, e].forEach((v, i) => h[i] = (h[i] + v) >>> 0);
  }
  return h;
}

Deno.test("Sha1.fromState() continues a hash from the state after whole blocks", () => {
  const data = pseudoRandomBytes(5000, 13);
  for (const blocks of [0, 1, 2, 7, 77]) {
    const state = referenceState(data.subarray(0, blocks * 64));
    for (const length of [blocks * 64, blocks * 64 + 1, blocks * 64 + 55, blocks * 64 + 64, 5000]) {
      const whole = data.subarray(0, length);
      const h = Sha1.fromState(state, blocks * 64).update(whole.subarray(blocks * 64));
      strictEqual(encodeHex(h.digest()), nodeSha1(whole), `blocks ${blocks} length ${length}`);
    }
  }
  // Signed words work as well as unsigned ones.
  const signed = Int32Array.from(referenceState(data.subarray(0, 128)));
  strictEqual(
    encodeHex(Sha1.fromState(signed, 128).update(data.subarray(128, 300)).digest()),
    nodeSha1(data.subarray(0, 300)),
  );
});

Deno.test("Sha1.fromState() rejects a bad state or a partial block count with RangeError", () => {
  const state = [1, 2, 3, 4, 5];
  throws(() => Sha1.fromState([1, 2, 3, 4], 0), { name: "RangeError", message: /4 words/ });
  throws(() => Sha1.fromState(new Int32Array(6), 0), RangeError);
  for (const bytes of [-64, 1, 63, 65, 0.5, NaN, 2 ** 60]) {
    throws(() => Sha1.fromState(state, bytes), { name: "RangeError", message: /whole number/ });
  }
});
