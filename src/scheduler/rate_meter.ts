/** Default length of the sliding window a {@linkcode RateMeter} averages over. */
export const RATE_WINDOW_MS = 5_000;

/** Default width of one bucket of a {@linkcode RateMeter}'s window. */
export const RATE_BUCKET_MS = 250;

/** Shortest span a rate is averaged over, so one early block does not read as a huge rate. */
const MIN_RATE_SPAN_MS = 1_000;

/** Options for {@linkcode RateMeter}. */
export interface RateMeterOptions {
  /** Length of the sliding window in milliseconds (default {@linkcode RATE_WINDOW_MS}). */
  windowMs?: number;
  /** Width of one bucket in milliseconds (default {@linkcode RATE_BUCKET_MS}). */
  bucketMs?: number;
}

/**
 * Measures a transfer rate in bytes per second over a sliding window made of fixed buckets
 * (5 s of 250 ms buckets by default). It holds no timer: time is read when bytes are added or
 * the rate is asked for, from the `nowMs` argument or else `performance.now()`.
 *
 * The rate is the bytes in the window divided by the time the window has covered so far,
 * measured from the first `add()`, and never less than 1 s (or, for windows under about a
 * second, the window less one bucket), so a single block just received does not read as an
 * enormous rate. A clock that goes back is
 * treated as standing still.
 *
 * @example
 * ```ts
 * import { RateMeter } from "@shoal/shoal/scheduler";
 * import { ok, strictEqual } from "node:assert/strict";
 * const meter = new RateMeter();
 * for (let t = 0; t <= 5_000; t += 100) meter.add(1_000, t); // 10 kB/s
 * ok(Math.abs(meter.rate(5_000) - 10_000) < 500);
 * strictEqual(meter.rate(20_000), 0); // nothing in the last 5 s
 * strictEqual(meter.total, 51_000);
 * ```
 */
export class RateMeter {
  /** Length of the sliding window in milliseconds. */
  readonly windowMs: number;
  /** Width of one bucket in milliseconds. */
  readonly bucketMs: number;
  #buckets: Float64Array;
  /** Absolute index (`floor(time / bucketMs)`) of the newest bucket. */
  #head = Number.NEGATIVE_INFINITY;
  #startMs: number | undefined;
  #lastMs = Number.NEGATIVE_INFINITY;
  #total = 0;

  /**
   * Makes a meter with an empty window.
   * @param options Window and bucket sizes.
   * @throws {RangeError} If a size is not a positive finite number, or the bucket is wider than
   * the window.
   */
  constructor(options: RateMeterOptions = {}) {
    const windowMs = options.windowMs ?? RATE_WINDOW_MS;
    const bucketMs = options.bucketMs ?? RATE_BUCKET_MS;
    if (!(windowMs > 0 && Number.isFinite(windowMs))) {
      throw new RangeError(`Cannot make a rate meter: window of ${windowMs} ms is not positive`);
    }
    if (!(bucketMs > 0 && bucketMs <= windowMs)) {
      throw new RangeError(
        `Cannot make a rate meter: bucket of ${bucketMs} ms is not within 0..${windowMs} ms`,
      );
    }
    this.windowMs = windowMs;
    this.bucketMs = bucketMs;
    this.#buckets = new Float64Array(Math.ceil(windowMs / bucketMs));
  }

  /** Bytes added since the meter was made (not only those in the window). */
  get total(): number {
    return this.#total;
  }

  /**
   * Records `bytes` transferred at time `nowMs`.
   * @param bytes Number of bytes, finite and not negative.
   * @param nowMs Current time in milliseconds (default `performance.now()`).
   * @throws {RangeError} If `bytes` is negative or not finite.
   */
  add(bytes: number, nowMs: number = performance.now()): void {
    if (!(bytes >= 0 && Number.isFinite(bytes))) {
      throw new RangeError(`Cannot add ${bytes} bytes to a rate meter`);
    }
    const now = this.#advance(nowMs);
    this.#startMs ??= now;
    const n = this.#buckets.length;
    this.#buckets[((this.#head % n) + n) % n] += bytes;
    this.#total += bytes;
  }

  /**
   * Gives the average rate over the window ending at `nowMs`.
   * @param nowMs Current time in milliseconds (default `performance.now()`).
   * @returns Bytes per second, `0` before anything was added.
   */
  rate(nowMs: number = performance.now()): number {
    const now = this.#advance(nowMs);
    if (this.#startMs === undefined) return 0;
    let sum = 0;
    for (const bytes of this.#buckets) sum += bytes;
    if (sum === 0) return 0;
    const oldestStartMs = (this.#head - this.#buckets.length + 1) * this.bucketMs;
    const spanMs = now - Math.max(oldestStartMs, this.#startMs);
    const fullSpanMs = Math.max(this.bucketMs, this.windowMs - this.bucketMs); // always covered
    return (sum * 1000) / Math.max(spanMs, Math.min(MIN_RATE_SPAN_MS, fullSpanMs));
  }

  /** Moves the window so its newest bucket holds `nowMs`; returns the time used. */
  #advance(nowMs: number): number {
    const now = Math.max(nowMs, this.#lastMs);
    this.#lastMs = now;
    const index = Math.floor(now / this.bucketMs);
    if (index <= this.#head) return now;
    const n = this.#buckets.length;
    if (index - this.#head >= n) {
      this.#buckets.fill(0);
    } else {
      for (let i = this.#head + 1; i <= index; i++) this.#buckets[((i % n) + n) % n] = 0;
    }
    this.#head = index;
    return now;
  }
}
