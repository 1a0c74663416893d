import { ok, strictEqual, throws } from "node:assert/strict";
import { RATE_BUCKET_MS, RATE_WINDOW_MS, RateMeter } from "../../src/scheduler/rate_meter.ts";

function near(actual: number, expected: number, tolerance: number): void {
  ok(
    Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );
}

/** Adds `bytesPerSecond` in 50 ms steps over (fromMs, toMs]. */
function feed(meter: RateMeter, bytesPerSecond: number, fromMs: number, toMs: number): void {
  for (let t = fromMs + 50; t <= toMs; t += 50) meter.add(bytesPerSecond / 20, t);
}

Deno.test("RateMeter reads 0 before anything is added", () => {
  const meter = new RateMeter();
  strictEqual(meter.rate(0), 0);
  strictEqual(meter.rate(10_000), 0);
  strictEqual(meter.total, 0);
});

Deno.test("RateMeter has 5 s windows of 250 ms buckets by default", () => {
  const meter = new RateMeter();
  strictEqual(meter.windowMs, RATE_WINDOW_MS);
  strictEqual(meter.bucketMs, RATE_BUCKET_MS);
  strictEqual(RATE_WINDOW_MS, 5_000);
  strictEqual(RATE_BUCKET_MS, 250);
});

Deno.test("RateMeter measures a steady rate over a full window", () => {
  const meter = new RateMeter();
  feed(meter, 100_000, 0, 20_000);
  // A sample on a bucket edge may count once too often: 1 in 95 samples here.
  near(meter.rate(20_000), 100_000, 1_100);
  near(meter.rate(20_010), 100_000, 1_100);
  strictEqual(meter.total, 2_000_000);
});

Deno.test("RateMeter measures a steady rate before the window is full", () => {
  const meter = new RateMeter();
  feed(meter, 40_000, 1_000, 3_000); // first add at 1 050 ms
  near(meter.rate(3_000), 40_000, 1_500);
});

Deno.test("RateMeter follows a rate change within one window", () => {
  const meter = new RateMeter();
  feed(meter, 100_000, 0, 10_000);
  feed(meter, 20_000, 10_000, 20_000);
  near(meter.rate(20_000), 20_000, 500);
});

Deno.test("RateMeter decays when traffic stops and reaches 0 after the window", () => {
  const meter = new RateMeter();
  feed(meter, 100_000, 0, 10_000);
  near(meter.rate(12_500), 50_000, 3_000);
  strictEqual(meter.rate(15_300), 0);
  strictEqual(meter.total, 1_000_000);
});

Deno.test("RateMeter averages one early block over at least one second", () => {
  const meter = new RateMeter();
  meter.add(16_384, 500);
  strictEqual(meter.rate(500), 16_384);
  strictEqual(meter.rate(1_000), 16_384);
  strictEqual(meter.rate(2_500), 8_192);
});

Deno.test("RateMeter treats a clock that goes back as standing still", () => {
  const meter = new RateMeter();
  meter.add(1_000, 10_000);
  meter.add(1_000, 9_000);
  strictEqual(meter.rate(8_000), 2_000);
  strictEqual(meter.total, 2_000);
});

Deno.test("RateMeter honours a custom window and bucket", () => {
  const meter = new RateMeter({ windowMs: 1_000, bucketMs: 100 });
  feed(meter, 10_000, 0, 3_000);
  near(meter.rate(3_000), 10_000, 600); // one sample in 18 may be on a bucket edge
  strictEqual(meter.rate(4_200), 0);
});

Deno.test("RateMeter uses performance.now() when no time is given", () => {
  const meter = new RateMeter();
  meter.add(5_000);
  ok(meter.rate() > 0);
  ok(meter.rate() <= 5_000);
});

Deno.test("RateMeter rejects bad byte counts and sizes", () => {
  const meter = new RateMeter();
  throws(() => meter.add(-1, 0), RangeError);
  throws(() => meter.add(Number.NaN, 0), RangeError);
  throws(() => meter.add(Number.POSITIVE_INFINITY, 0), RangeError);
  throws(() => new RateMeter({ windowMs: 0 }), RangeError);
  throws(() => new RateMeter({ bucketMs: -5 }), RangeError);
  throws(() => new RateMeter({ windowMs: 100, bucketMs: 200 }), RangeError);
  strictEqual(meter.total, 0);
});
