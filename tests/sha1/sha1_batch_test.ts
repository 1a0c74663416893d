import { createHash } from "node:crypto";
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { encodeHex } from "@shoal/shoal/bytes";
import {
  hasSha1Simd,
  MIN_SHA1_SLOT_BYTES,
  SHA1_LANES,
  Sha1Batch,
  sha1Many,
} from "@shoal/shoal/sha1";

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

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += 65536) {
    crypto.getRandomValues(out.subarray(off, off + 65536));
  }
  return out;
}

/** The SIMD batch and the JS fallback must agree with node:crypto alike. */
const batches: [string, Sha1Batch][] = [
  ["simd", new Sha1Batch()],
  ["js", new Sha1Batch({ simd: false })],
];

function checkMany(batch: Sha1Batch, messages: Uint8Array[], what: string): void {
  const digests = batch.hashMany(messages);
  strictEqual(digests.length, messages.length, what);
  for (let i = 0; i < messages.length; i++) {
    strictEqual(digests[i].length, 20);
    strictEqual(encodeHex(digests[i]), nodeSha1(messages[i]), `${what}, message ${i}`);
  }
}

Deno.test("the SIMD kernel is what runs here (Deno has WebAssembly SIMD)", () => {
  strictEqual(hasSha1Simd(), true, "a kernel module failed to validate");
  strictEqual(new Sha1Batch().simd, true);
  strictEqual(new Sha1Batch({ simd: false }).simd, false);
  strictEqual(SHA1_LANES, 4);
});

Deno.test("Sha1Batch.hashMany() matches node:crypto on every length 0..1024, alone and four abreast", () => {
  const data = pseudoRandomBytes(1024 + 3 * 97, 7);
  for (const [name, batch] of batches) {
    for (let length = 0; length <= 1024; length++) {
      checkMany(batch, [data.subarray(0, length)], `${name} single ${length}`);
      const four = [0, 1, 2, 3].map((k) => data.subarray(97 * k, 97 * k + length));
      checkMany(batch, four, `${name} four of ${length}`);
      const three = [0, 1, 2].map((k) => data.subarray(97 * k, 97 * k + length));
      checkMany(batch, three, `${name} three of ${length}`);
    }
  }
});

Deno.test("Sha1Batch.hashMany() matches node:crypto on random data up to 16 MiB", () => {
  const data = randomBytes(16 * 1024 * 1024);
  const [, batch] = batches[0];
  const full = data.length;
  checkMany(batch, [0, 1, 2, 3].map(() => data), "four of 16 MiB");
  checkMany(batch, [
    data,
    data.subarray(1),
    data.subarray(0, full - 64),
    data.subarray(5, full - 5),
  ], "near 16 MiB");
  for (let round = 0; round < 3; round++) {
    const messages = [0, 1, 2, 3].map(() => {
      const start = Math.floor(Math.random() * full);
      return data.subarray(start, start + Math.floor(Math.random() * (full - start)));
    });
    checkMany(batch, messages, `random round ${round}`);
  }
});

Deno.test("Sha1Batch.hashMany() handles batches of 1-4 messages of unequal lengths", () => {
  const data = pseudoRandomBytes(300_000, 5);
  const lengthSets = [
    [1000, 200],
    [300_000, 299_999, 64],
    [300_000, 65 * 1024, 64 * 1024 + 1, 0],
    [64, 128, 192, 256],
    [255, 63, 100_000, 100_001],
    [200_000, 200_000, 200_000, 70_000],
    [70_000, 200_000, 200_000, 200_000],
    [0, 0, 0, 300_000],
  ];
  for (let round = 0; round < 40; round++) {
    const count = 1 + (round % 4);
    lengthSets.push(Array.from({ length: count }, () => Math.floor(Math.random() * 300_000)));
  }
  for (const [name, batch] of batches) {
    for (const lengths of lengthSets) {
      const messages = lengths.map((length, k) =>
        data.subarray(k, k + Math.min(length, 300_000 - k))
      );
      checkMany(batch, messages, `${name} lengths ${lengths}`);
    }
  }
});

Deno.test("Sha1Batch.hashMany() hashes any count in groups of four, in order", () => {
  const data = pseudoRandomBytes(20_000, 9);
  for (const [name, batch] of batches) {
    deepStrictEqual(batch.hashMany([]), []);
    for (const count of [5, 8, 9, 13]) {
      const messages = Array.from(
        { length: count },
        (_, i) => data.subarray(i, i + 5000 + (i % 3)),
      );
      checkMany(batch, messages, `${name} count ${count}`);
    }
  }
  const messages = [1, 2, 3, 4, 5, 6].map((n) => data.subarray(n, n + 4096));
  deepStrictEqual(sha1Many(messages).map(encodeHex), messages.map(nodeSha1));
});

Deno.test("Sha1Batch reads views with odd byteOffsets and SharedArrayBuffers", () => {
  const backing = pseudoRandomBytes(200_000, 3);
  const shared = new Uint8Array(new SharedArrayBuffer(200_000));
  shared.set(backing);
  for (const [name, batch] of batches) {
    for (const offset of [1, 3, 5, 63, 65, 127]) {
      for (const length of [0, 55, 64, 119, 4000, 150_000]) {
        const views = [0, 1, 2, 3].map((k) => backing.subarray(offset + k, offset + k + length));
        strictEqual(views[1].byteOffset, offset + 1);
        checkMany(batch, views, `${name} offset ${offset} length ${length}`);
        const sharedViews = [0, 1, 2, 3].map((k) =>
          shared.subarray(offset + k, offset + k + length)
        );
        checkMany(batch, sharedViews, `${name} shared, offset ${offset} length ${length}`);
      }
    }
  }
});

Deno.test("Sha1Batch.hashMany() does not modify its input", () => {
  const data = pseudoRandomBytes(100_000, 4);
  const copy = data.slice();
  new Sha1Batch().hashMany([data, data.subarray(1), data.subarray(2), data.subarray(3)]);
  deepStrictEqual(data, copy);
});

Deno.test("Sha1Batch.hashSlots() hashes bytes written straight into the lane slots", () => {
  for (
    const [name, batch] of [["simd", new Sha1Batch({ slotBytes: 1 << 20 })], [
      "js",
      new Sha1Batch({ slotBytes: 1 << 20, simd: false }),
    ]] as const
  ) {
    strictEqual(batch.slotBytes, 1 << 20);
    const sources = [0, 1, 2, 3].map((k) => pseudoRandomBytes(1 << 20, 20 + k));
    sources.forEach((source, lane) => batch.slot(lane).set(source));
    for (
      const lengths of [
        [1 << 20, 1 << 20, 1 << 20, 1 << 20],
        [1 << 20, 1000, 70_000, 1 << 19],
        [
          5,
        ],
        [0, 64, 1 << 20],
        [1 << 20, 1 << 20],
      ]
    ) {
      const digests = batch.hashSlots(lengths);
      deepStrictEqual(
        digests.map(encodeHex),
        lengths.map((length, lane) => nodeSha1(sources[lane].subarray(0, length))),
        `${name} lengths ${lengths}`,
      );
    }
    // Hashing leaves the slots as they were, so they can be hashed again.
    sources.forEach((source, lane) => deepStrictEqual(batch.slot(lane), source));
  }
});

Deno.test("Sha1Batch slots are stable views of slotBytes, rounded up to 64 and at least 64 KiB", () => {
  const small = new Sha1Batch({ slotBytes: 1 });
  strictEqual(small.slotBytes, MIN_SHA1_SLOT_BYTES);
  const odd = new Sha1Batch({ slotBytes: 100_001 });
  strictEqual(odd.slotBytes, 100_032);
  const lanes = [0, 1, 2, 3].map((lane) => odd.slot(lane));
  lanes.forEach((slot, lane) => {
    strictEqual(slot.length, 100_032);
    strictEqual(odd.slot(lane), slot);
    slot.fill(lane + 1);
  });
  // Slots do not overlap.
  lanes.forEach((slot, lane) => ok(slot.every((byte) => byte === lane + 1)));
  odd.hashSlots([100_032, 100_032, 100_032, 100_032]);
  strictEqual(odd.slot(3).length, 100_032, "still attached after hashing");
});

Deno.test("Sha1Batch rejects bad slot sizes, lanes and lengths with RangeError", () => {
  throws(() => new Sha1Batch({ slotBytes: 0 }), RangeError);
  throws(() => new Sha1Batch({ slotBytes: 1.5 }), RangeError);
  throws(() => new Sha1Batch({ slotBytes: 2 ** 40 }), RangeError);
  const batch = new Sha1Batch();
  for (const lane of [-1, 4, 1.5, NaN]) {
    throws(() => batch.slot(lane), { name: "RangeError", message: /lane/ });
  }
  throws(() => batch.hashSlots([]), RangeError);
  throws(() => batch.hashSlots([1, 2, 3, 4, 5]), RangeError);
  throws(() => batch.hashSlots([batch.slotBytes + 1]), { name: "RangeError", message: /lane 0/ });
  throws(() => batch.hashSlots([1, -1]), { name: "RangeError", message: /lane 1/ });
  throws(() => batch.hashSlots([0.5]), RangeError);
});
