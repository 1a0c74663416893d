import { createHash } from "node:crypto";
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { encodeHex, Sha1, sha1 } from "@shoal/shoal";

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
