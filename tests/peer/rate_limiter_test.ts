import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { RateLimiter } from "../../src/peer/rate_limiter.ts";

/**
 * A fake clock. In "auto" mode every sleep advances the clock at once; in "manual" mode sleeps
 * wait for `advance()` (or their abort signal).
 */
class FakeClock {
  nowMs = 0;
  sleeps: { dueMs: number; resolve: () => void }[] = [];
  sleepCalls: number[] = [];
  constructor(readonly mode: "auto" | "manual") {}

  now = (): number => this.nowMs;

  sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    this.sleepCalls.push(ms);
    if (this.mode === "auto") {
      this.nowMs += ms;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const entry = { dueMs: this.nowMs + ms, resolve };
      this.sleeps.push(entry);
      signal.addEventListener("abort", () => {
        this.sleeps = this.sleeps.filter((s) => s !== entry);
        resolve();
      }, { once: true });
    });
  };

  async advance(ms: number): Promise<void> {
    this.nowMs += ms;
    const due = this.sleeps.filter((s) => s.dueMs <= this.nowMs);
    this.sleeps = this.sleeps.filter((s) => s.dueMs > this.nowMs);
    for (const s of due) s.resolve();
    await flush();
  }
}

/** Lets pending promise callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function limiterWith(clock: FakeClock, rate: number | undefined, burstBytes?: number) {
  return new RateLimiter(rate, { burstBytes, now: clock.now, sleep: clock.sleep });
}

Deno.test("RateLimiter without a rate grants everything at once", async () => {
  for (const rate of [undefined, 0]) {
    const clock = new FakeClock("auto");
    using limiter = limiterWith(clock, rate);
    strictEqual(limiter.bytesPerSecond, undefined);
    for (let i = 0; i < 100; i++) await limiter.take(1e9);
    deepStrictEqual(clock.sleepCalls, []);
    strictEqual(clock.nowMs, 0);
  }
});

Deno.test("RateLimiter spaces takes at the rate: 1 MB/s, 200 kB five times", async () => {
  const clock = new FakeClock("auto");
  using limiter = limiterWith(clock, 1_000_000, 200_000);
  strictEqual(limiter.bytesPerSecond, 1_000_000);
  const doneAt: number[] = [];
  for (let i = 0; i < 5; i++) {
    await limiter.take(200_000);
    doneAt.push(clock.nowMs);
  }
  deepStrictEqual(doneAt, [0, 200, 400, 600, 800]);
});

Deno.test("RateLimiter starts full with a quarter second of burst by default", async () => {
  const clock = new FakeClock("auto");
  using limiter = limiterWith(clock, 1_000_000);
  await limiter.take(250_000);
  strictEqual(clock.nowMs, 0);
  await limiter.take(1_000);
  strictEqual(clock.nowMs, 1);
});

Deno.test("RateLimiter refills while idle, but never beyond the burst", async () => {
  const clock = new FakeClock("auto");
  using limiter = limiterWith(clock, 10_000, 5_000);
  await limiter.take(5_000);
  clock.nowMs = 60_000; // a long idle spell
  await limiter.take(5_000);
  strictEqual(clock.nowMs, 60_000);
  await limiter.take(5_000);
  strictEqual(clock.nowMs, 60_500);
});

Deno.test("RateLimiter lets a request larger than the burst through into debt", async () => {
  const clock = new FakeClock("auto");
  using limiter = limiterWith(clock, 100_000, 16_384);
  await limiter.take(1_000_000);
  strictEqual(clock.nowMs, 0);
  await limiter.take(16_384); // waits until the debt is paid and the bucket full again
  strictEqual(clock.nowMs, 10_000);
});

Deno.test("RateLimiter serves waiters first come, first served", async () => {
  const clock = new FakeClock("manual");
  using limiter = limiterWith(clock, 1_000, 1_000);
  await limiter.take(1_000);
  const order: string[] = [];
  const big = limiter.take(1_000).then(() => order.push(`big@${clock.nowMs}`));
  const small = limiter.take(10).then(() => order.push(`small@${clock.nowMs}`));
  strictEqual(limiter.pending, 2);
  await clock.advance(500);
  deepStrictEqual(order, []); // the small one does not jump the queue
  await clock.advance(500);
  deepStrictEqual(order, ["big@1000"]);
  await clock.advance(10);
  await Promise.all([big, small]);
  deepStrictEqual(order, ["big@1000", "small@1010"]);
  strictEqual(limiter.pending, 0);
});

Deno.test("RateLimiter shares one rate among many takers", async () => {
  const clock = new FakeClock("auto");
  using limiter = limiterWith(clock, 50_000, 16_384);
  const takers = Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 10; i++) await limiter.take(16_384);
  });
  await Promise.all(takers);
  // 80 blocks of 16 KiB; the first came from the full bucket. Sleeps are whole milliseconds,
  // so the rate may undershoot a little, but never overshoot.
  const idealMs = (79 * 16_384 * 1000) / 50_000;
  ok(clock.nowMs >= idealMs, `${clock.nowMs} ms < ${idealMs} ms`);
  ok(clock.nowMs <= idealMs * 1.01, `${clock.nowMs} ms > ${idealMs} ms + 1%`);
});

Deno.test("RateLimiter drops an aborted waiter and serves the next one", async () => {
  const clock = new FakeClock("manual");
  using limiter = limiterWith(clock, 1_000, 1_000);
  await limiter.take(1_000);
  const controller = new AbortController();
  const aborted = limiter.take(1_000, controller.signal);
  const next = limiter.take(100);
  controller.abort(new Error("peer went away"));
  await rejects(aborted, /peer went away/);
  strictEqual(limiter.pending, 1);
  await clock.advance(100);
  await next;
  strictEqual(limiter.pending, 0);
  strictEqual(clock.sleeps.length, 0);
});

Deno.test("RateLimiter rejects an already aborted signal without taking tokens", async () => {
  const clock = new FakeClock("auto");
  using limiter = limiterWith(clock, 1_000, 1_000);
  await rejects(limiter.take(1_000, AbortSignal.abort(new Error("stop"))), /stop/);
  await limiter.take(1_000);
  strictEqual(clock.nowMs, 0);
});

Deno.test("RateLimiter.setRate() reschedules waiters at the new rate", async () => {
  const clock = new FakeClock("manual");
  using limiter = limiterWith(clock, 1_000, 1_000);
  await limiter.take(1_000);
  let done = false;
  const waiting = limiter.take(1_000).then(() => done = true);
  await flush();
  deepStrictEqual(clock.sleepCalls, [1_000]);
  limiter.setRate(1_000_000);
  await flush();
  deepStrictEqual(clock.sleepCalls, [1_000, 1]);
  await clock.advance(1);
  await waiting;
  ok(done);
  strictEqual(limiter.bytesPerSecond, 1_000_000);
});

Deno.test("RateLimiter.setRate(undefined) releases every waiter", async () => {
  const clock = new FakeClock("manual");
  using limiter = limiterWith(clock, 1_000, 1_000);
  await limiter.take(1_000);
  const waiting = [limiter.take(5_000), limiter.take(7_000)];
  await flush();
  limiter.setRate(undefined);
  await Promise.all(waiting);
  strictEqual(limiter.pending, 0);
  await flush();
  strictEqual(clock.sleeps.length, 0);
  strictEqual(clock.nowMs, 0);
});

Deno.test("RateLimiter.close() rejects waiters and later takes, and is idempotent", async () => {
  const clock = new FakeClock("manual");
  const limiter = limiterWith(clock, 1_000, 1_000);
  await limiter.take(1_000);
  const waiting = limiter.take(500);
  limiter.close();
  limiter.close();
  await rejects(waiting, /Cannot take 500 bytes: the rate limiter is closed/);
  await rejects(limiter.take(1), /closed/);
  await flush();
  strictEqual(clock.sleeps.length, 0);
  limiter[Symbol.dispose]();
  await limiter[Symbol.asyncDispose]();
});

Deno.test("RateLimiter fails its waiters when the injected sleep fails", async () => {
  const limiter = new RateLimiter(1_000, {
    burstBytes: 1_000,
    now: () => 0,
    sleep: () => Promise.reject(new Error("no sleep today")),
  });
  await limiter.take(1_000);
  await rejects(limiter.take(1_000), /no sleep today/);
  limiter.close();
});

Deno.test("RateLimiter rejects bad rates, bursts and byte counts", async () => {
  throws(() => new RateLimiter(-1), RangeError);
  throws(() => new RateLimiter(Number.NaN), RangeError);
  throws(() => new RateLimiter(1_000, { burstBytes: 0 }), RangeError);
  using limiter = new RateLimiter(1_000);
  await rejects(limiter.take(-5), RangeError);
  await rejects(limiter.take(Number.POSITIVE_INFINITY), RangeError);
  throws(() => limiter.setRate(Number.NEGATIVE_INFINITY), RangeError);
  await limiter.take(0);
});

Deno.test("RateLimiter with real timers waits about as long as the rate says", async () => {
  using limiter = new RateLimiter(200_000, { burstBytes: 20_000 });
  const start = performance.now();
  await limiter.take(20_000); // the initial burst
  await limiter.take(20_000); // about 100 ms
  const elapsedMs = performance.now() - start;
  ok(elapsedMs >= 50, `took only ${elapsedMs} ms`);
  ok(elapsedMs < 5_000, `took ${elapsedMs} ms`);
});

Deno.test("RateLimiter with real timers leaks no timer when a waiter aborts or it closes", async () => {
  const limiter = new RateLimiter(1_000, { burstBytes: 1_000 });
  await limiter.take(1_000);
  const controller = new AbortController();
  const aborted = limiter.take(1_000, controller.signal); // would wait one second
  setTimeout(() => controller.abort(new Error("gone")), 10);
  await rejects(aborted, /gone/);
  const closed = limiter.take(1_000);
  limiter.close();
  await rejects(closed, /closed/);
});
