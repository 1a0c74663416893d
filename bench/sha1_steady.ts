// SHA-1 in a steady loop: the hand-written sha1() against node:crypto, best of 5 batches per
// size, as MB/s and the ratio. Complements bench/sha1_bench.ts, whose per-call means on this
// machine swing widely (380–950 µs for one 256 KiB call).
// Run: deno task bench:sha1

import { createHash } from "node:crypto";
import { sha1 } from "@shoal/shoal";

for (const size of [16 * 1024, 256 * 1024, 4 * 1024 * 1024]) {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const rate: Record<string, number> = {};
  const cases: [string, () => unknown][] = [
    ["shoal", () => sha1(data)],
    ["node:crypto", () => createHash("sha1").update(data).digest()],
  ];
  for (const [name, hash] of cases) {
    const calls = Math.max(20, Math.floor(400e6 / size));
    for (let i = 0; i < calls / 4; i++) hash(); // warm up
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      for (let i = 0; i < calls / 5; i++) hash();
      best = Math.min(best, (performance.now() - start) / (calls / 5));
    }
    rate[name] = size / best / 1e3;
  }
  console.log(
    `${String(size / 1024).padStart(5)} KiB  shoal ${rate.shoal.toFixed(0)} MB/s  ` +
      `node:crypto ${rate["node:crypto"].toFixed(0)} MB/s  ratio ${
        (rate.shoal / rate["node:crypto"]).toFixed(2)
      }x`,
  );
}
