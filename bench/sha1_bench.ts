// SHA-1 speed against node:crypto (the baseline, native code):
// - "4 x 1 MiB": the 4-lane SIMD kernel (Sha1Batch, in place and copied in) and the JS sha1()
//   on four 1 MiB pieces. Target: SIMD in place at least 1.0x node:crypto on one core.
// - one input of 16 KiB, 256 KiB, 4 MiB: the JS sha1() and WebCrypto.
// - "pool 256 MiB": HashPool on 256 x 1 MiB pieces, batched (hashMany) and one by one (hash).
// This machine is shared and noisy: per-call means swing widely; bench/sha1_steady.ts
// (deno task bench:sha1) gives steadier best-of-N figures.
// Run: deno bench -A bench/sha1_bench.ts

import { createHash } from "node:crypto";
import { HashPool, sha1, Sha1Batch, sha1Many } from "@shoal/shoal/sha1";

const MIB = 1024 * 1024;

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += 65536) {
    crypto.getRandomValues(out.subarray(off, off + 65536));
  }
  return out;
}

const pieces = [0, 1, 2, 3].map(() => randomBytes(MIB));
const batch = new Sha1Batch({ slotBytes: MIB });
pieces.forEach((piece, lane) => batch.slot(lane).set(piece));
const FOUR = "4 x 1 MiB";

Deno.bench("node:crypto, 4 x 1 MiB one by one", { group: FOUR, baseline: true }, () => {
  for (const piece of pieces) createHash("sha1").update(piece).digest();
});
Deno.bench("SIMD Sha1Batch.hashSlots, 4 x 1 MiB in place", { group: FOUR }, () => {
  batch.hashSlots([MIB, MIB, MIB, MIB]);
});
Deno.bench("SIMD Sha1Batch.hashMany, 4 x 1 MiB copied in", { group: FOUR }, () => {
  batch.hashMany(pieces);
});
Deno.bench("JS sha1(), 4 x 1 MiB one by one", { group: FOUR }, () => {
  for (const piece of pieces) sha1(piece);
});

const SIZES: [string, number][] = [
  ["16 KiB", 16 * 1024],
  ["256 KiB", 256 * 1024],
  ["4 MiB", 4 * MIB],
];

for (const [label, size] of SIZES) {
  const data = randomBytes(size);
  const group = `sha1 ${label}`;
  Deno.bench(`node:crypto createHash("sha1") ${label}`, { group, baseline: true }, () => {
    createHash("sha1").update(data).digest();
  });
  Deno.bench(`shoal sha1() ${label}`, { group }, () => {
    sha1(data);
  });
  Deno.bench(`crypto.subtle.digest("SHA-1") ${label}`, { group }, async () => {
    await crypto.subtle.digest("SHA-1", data);
  });
}

const PIECE_COUNT = 256;
let poolPieces: Uint8Array[] = [];
for (let i = 0; i < PIECE_COUNT; i++) poolPieces.push(randomBytes(MIB));
const POOL_GROUP = "pool 256 MiB of 1 MiB pieces";
const POOL_RUNS = { n: 5, warmup: 1 };

Deno.bench(
  "node:crypto, main thread, 256 x 1 MiB",
  { group: POOL_GROUP, baseline: true, ...POOL_RUNS },
  () => {
    for (const piece of poolPieces) createHash("sha1").update(piece).digest();
  },
);

Deno.bench("sha1Many() main thread, 256 x 1 MiB", { group: POOL_GROUP, ...POOL_RUNS }, () => {
  sha1Many(poolPieces);
});

for (const mode of ["hashMany", "hash"] as const) {
  Deno.bench(
    `HashPool 2 workers ${mode}(), 256 x 1 MiB`,
    { group: POOL_GROUP, ...POOL_RUNS },
    async (b) => {
      await using pool = new HashPool({ size: 2 });
      // Start both workers and let their kernels reach V8's optimised tier before timing.
      const warm = await pool.hashMany(poolPieces.slice(0, 32).map((piece) => piece.slice()));
      if (warm.length !== 32 || pool.size !== 2) {
        throw new Error("HashPool did not start 2 workers");
      }
      b.start();
      const results = mode === "hashMany"
        ? await pool.hashMany(poolPieces)
        : await Promise.all(poolPieces.map((piece) => pool.hash(piece)));
      b.end();
      // The pieces were transferred; keep the bytes that came back for the next run.
      poolPieces = results.map((result) => result.data);
    },
  );
}
