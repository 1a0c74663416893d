// SHA-1 speed: the hand-written sha1() against node:crypto (the baseline, native code) and
// WebCrypto, per input size; then the HashPool on many BitTorrent-sized pieces.
// Target: sha1() at least 0.35x node:crypto for 256 KiB on one core.
// Run: deno bench -A bench/sha1_bench.ts

import { createHash } from "node:crypto";
import { HashPool, sha1 } from "@shoal/shoal";

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += 65536) {
    crypto.getRandomValues(out.subarray(off, off + 65536));
  }
  return out;
}

const SIZES: [string, number][] = [
  ["16 KiB", 16 * 1024],
  ["256 KiB", 256 * 1024],
  ["4 MiB", 4 * 1024 * 1024],
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

const PIECE_BYTES = 256 * 1024;
const PIECE_COUNT = 1024;
const pieces: Uint8Array[] = [];
for (let i = 0; i < PIECE_COUNT; i++) pieces.push(randomBytes(PIECE_BYTES));
const POOL_GROUP = "pool 256 MiB total";
const POOL_RUNS = { n: 5, warmup: 1 };

Deno.bench(
  "node:crypto, 1024 x 256 KiB",
  { group: POOL_GROUP, baseline: true, ...POOL_RUNS },
  () => {
    for (const piece of pieces) createHash("sha1").update(piece).digest();
  },
);

Deno.bench("shoal sha1() main thread, 1024 x 256 KiB", { group: POOL_GROUP, ...POOL_RUNS }, () => {
  for (const piece of pieces) sha1(piece);
});

Deno.bench("HashPool 2 workers, 1024 x 256 KiB", { group: POOL_GROUP, ...POOL_RUNS }, async (b) => {
  await using pool = new HashPool({ size: 2 });
  // Start both workers and let their JIT warm up (16 MiB) before timing.
  const warm = await Promise.all(pieces.slice(0, 64).map((piece) => pool.hash(piece.slice())));
  if (warm.length !== 64 || pool.size !== 2) throw new Error("HashPool did not start 2 workers");
  b.start();
  const results = await Promise.all(pieces.map((piece) => pool.hash(piece)));
  b.end();
  // The pieces were transferred; keep the bytes that came back for the next run.
  for (let i = 0; i < PIECE_COUNT; i++) pieces[i] = results[i].data;
});
