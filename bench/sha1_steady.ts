// SHA-1 in a steady loop, best of several rounds (the machine is shared and noisy: the best
// round is the one least disturbed), as MB/s and as a ratio to node:crypto (native code):
// 1. one core: the 4-lane SIMD kernel hashing 4 x 1 MiB (in place in its lane slots, and
//    copied in from ordinary arrays) and the JS sha1() hashing the same 4 MiB, against
//    node:crypto hashing the same four 1 MiB pieces. Target: SIMD in place >= 1.0x.
// 2. the JS sha1() on single inputs of 16 KiB, 256 KiB and 4 MiB.
// 3. HashPool (default size, and one worker) hashing 256 MiB of 1 MiB pieces against
//    node:crypto hashing them one by one on the main thread.
// Cases are measured round-robin, so a noisy moment hurts one round of every case alike.
// Complements bench/sha1_bench.ts, whose per-call means on this machine swing widely.
// Run: deno task bench:sha1

import { createHash } from "node:crypto";
import { HashPool, sha1, Sha1Batch } from "@shoal/shoal/sha1";

const ROUNDS = 7;
const MIB = 1024 * 1024;

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += 65536) {
    crypto.getRandomValues(out.subarray(off, off + 65536));
  }
  return out;
}

function nodeSha1(data: Uint8Array): Uint8Array {
  return createHash("sha1").update(data).digest();
}

/** Best MB/s of each case over ROUNDS rounds of `calls` calls each, after a warm-up. */
function steady(bytesPerCall: number, cases: Record<string, () => unknown>): Map<string, number> {
  const calls = Math.max(4, Math.floor(40 * MIB / bytesPerCall));
  const best = new Map<string, number>();
  for (const run of Object.values(cases)) for (let i = 0; i < calls; i++) run();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const start = performance.now();
      for (let i = 0; i < calls; i++) run();
      const ms = (performance.now() - start) / calls;
      best.set(name, Math.min(best.get(name) ?? Infinity, ms));
    }
  }
  return new Map([...best].map(([name, ms]) => [name, bytesPerCall / ms / 1e3]));
}

function report(title: string, rates: Map<string, number>, baseline: string): void {
  console.log(title);
  const base = rates.get(baseline)!;
  for (const [name, rate] of rates) {
    const ratio = name === baseline ? "baseline" : `${(rate / base).toFixed(2)}x`;
    console.log(`  ${name.padEnd(44)} ${rate.toFixed(0).padStart(6)} MB/s  ${ratio}`);
  }
}

console.log(`best of ${ROUNDS} rounds per case; MB/s = 1e6 bytes per second`);

const pieces = [0, 1, 2, 3].map(() => randomBytes(MIB));
const batch = new Sha1Batch({ slotBytes: MIB });
if (!batch.simd) console.log("  (no WebAssembly SIMD here: the batch runs the JS SHA-1)");
pieces.forEach((piece, lane) => batch.slot(lane).set(piece));
const lengths = [MIB, MIB, MIB, MIB];
report(
  "one core, 4 x 1 MiB pieces",
  steady(4 * MIB, {
    "node:crypto, one piece after another": () => pieces.forEach(nodeSha1),
    "SIMD Sha1Batch.hashSlots (in place)": () => batch.hashSlots(lengths),
    "SIMD Sha1Batch.hashMany (copied in)": () => batch.hashMany(pieces),
    "JS sha1(), one piece after another": () => pieces.forEach((piece) => sha1(piece)),
  }),
  "node:crypto, one piece after another",
);

for (const size of [16 * 1024, 256 * 1024, 4 * MIB]) {
  const data = randomBytes(size);
  report(
    `one core, one ${size / 1024} KiB input`,
    steady(size, { "node:crypto": () => nodeSha1(data), "JS sha1()": () => sha1(data) }),
    "node:crypto",
  );
}

const POOL_PIECES = 256;
let poolPieces = Array.from({ length: POOL_PIECES }, () => randomBytes(MIB));
const poolRates = new Map<string, number>();
const pools: [string, HashPool][] = [
  [`HashPool ${new HashPool().size} workers, hashMany`, new HashPool()],
  ["HashPool 1 worker, hashMany", new HashPool({ size: 1 })],
];
for (const [, pool] of pools) {
  // Start the workers and let their kernels reach V8's optimised tier.
  const warm = await pool.hashMany(poolPieces.slice(0, 32).map((piece) => piece.slice()));
  if (pool.startError !== undefined || warm.length !== 32) throw new Error(pool.startError);
}
for (let round = 0; round < 3; round++) {
  const start = performance.now();
  for (const piece of poolPieces) nodeSha1(piece);
  const rate = POOL_PIECES * MIB / (performance.now() - start) / 1e3;
  const name = "node:crypto, main thread, one by one";
  poolRates.set(name, Math.max(poolRates.get(name) ?? 0, rate));
  for (const [name, pool] of pools) {
    const start = performance.now();
    const results = await pool.hashMany(poolPieces);
    const rate = POOL_PIECES * MIB / (performance.now() - start) / 1e3;
    poolRates.set(name, Math.max(poolRates.get(name) ?? 0, rate));
    poolPieces = results.map((result) => result.data as Uint8Array<ArrayBuffer>);
  }
}
for (const [, pool] of pools) pool.close();
report(
  `${POOL_PIECES} MiB of 1 MiB pieces (best of 3), ${navigator.hardwareConcurrency} cores`,
  poolRates,
  "node:crypto, main thread, one by one",
);
