import { ok, strictEqual, throws } from "node:assert/strict";
import { FloodGuard } from "../../src/dht/flood_guard.ts";
import { QueryPacer } from "../../src/dht/query_pacer.ts";
import { TokenBucket } from "../../src/dht/token_bucket.ts";

Deno.test("TokenBucket refills at its rate up to its burst", () => {
  const bucket = new TokenBucket(100, 5, 0);
  let taken = 0;
  while (bucket.take(0)) taken++;
  strictEqual(taken, 5);
  strictEqual(bucket.msUntilAvailable(0), 10);
  ok(!bucket.take(9));
  ok(bucket.take(10));
  // A long pause refills only up to the burst.
  taken = 0;
  while (bucket.take(60_000)) taken++;
  strictEqual(taken, 5);
  throws(() => new TokenBucket(0, 1, 0), RangeError);
});

Deno.test("FloodGuard blocks an address that floods, for the block time, and no other", () => {
  const guard = new FloodGuard({ maxPackets: 10, windowMs: 1000, blockMs: 5000 });
  for (let i = 0; i < 10; i++) ok(guard.allow("a", i));
  ok(!guard.allow("a", 11), "the 11th packet in the window");
  ok(guard.allow("b", 11));
  strictEqual(guard.blockedCount(11), 1);
  ok(!guard.allow("a", 2000), "still blocked after the window");
  ok(guard.allow("a", 5012), "free again after the block");
  strictEqual(guard.blockedCount(5012), 0);
  // A steady sender under the limit is never blocked.
  const steady = new FloodGuard({ maxPackets: 10, windowMs: 1000 });
  for (let t = 0; t < 100_000; t += 101) ok(steady.allow("s", t));
});

Deno.test("FloodGuard tracks a bounded number of addresses", () => {
  const guard = new FloodGuard({ maxTracked: 100, maxPackets: 1, windowMs: 1000 });
  for (let i = 0; i < 10_000; i++) guard.allow(`10.0.0.1:${i}`, i % 10);
  ok(guard.size <= 100, `tracked ${guard.size}`);
});

Deno.test("QueryPacer grants slots at its rate and refuses beyond its queue", async () => {
  const pacer = new QueryPacer(200, 5); // burst 20
  const start = performance.now();
  const grants = await Promise.all(Array.from({ length: 25 }, () => pacer.acquire()));
  strictEqual(grants.filter((g) => g).length, 25);
  // 20 from the burst, 5 queued at 200/s: about 25 ms.
  ok(performance.now() - start >= 15, `took ${performance.now() - start} ms`);
  const burst = Array.from({ length: 40 }, () => pacer.acquire());
  const results = await Promise.all(burst);
  ok(results.filter((g) => !g).length >= 15, "beyond the queue of 5 (plus the refill) is refused");
  const waiting = pacer.acquire();
  pacer.close();
  strictEqual(await waiting, false);
});
