/** Smallest default burst: one 16 KiB block (BEP 3's usual request size). */
const MIN_DEFAULT_BURST_BYTES = 16_384;

/** Options for {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /**
   * Most tokens the bucket holds, i.e. the largest burst after an idle spell. Default: a
   * quarter second of traffic, and at least 16 KiB. Recomputed by `setRate()` unless given.
   */
  burstBytes?: number;
  /** Clock in milliseconds (default `performance.now`); tests inject a fake one. */
  now?: () => number;
  /**
   * Waits `ms` milliseconds, or less if `signal` aborts (then it may resolve or reject).
   * Default: `setTimeout`, cleared on abort. Tests inject one that advances a fake clock.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal?: AbortSignal;
  readonly onAbort: () => void;
}

/**
 * A token bucket shared by many connections, capping their total rate (upload or download).
 *
 * `take(bytes)` resolves once the bytes may be sent. Waiters are served first come, first
 * served, so one busy connection cannot starve the others. A request larger than the burst is
 * let through as soon as the bucket is full and leaves it in debt, so the average rate still
 * holds. The bucket starts full. A rate of `undefined` or `0` means unlimited.
 *
 * At most one timer is pending at a time; `close()` (or `using`) clears it and rejects every
 * waiter.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "@shoal/shoal/peer";
 * import { deepStrictEqual } from "node:assert/strict";
 * let clock = 0;
 * using limiter = new RateLimiter(1_000_000, {
 *   burstBytes: 200_000,
 *   now: () => clock,
 *   sleep: (ms) => { clock += ms; return Promise.resolve(); }, // a fake clock
 * });
 * const doneAt: number[] = [];
 * for (let i = 0; i < 5; i++) {
 *   await limiter.take(200_000);
 *   doneAt.push(clock);
 * }
 * // The first 200 kB is the initial burst; then 200 kB every 200 ms.
 * deepStrictEqual(doneAt, [0, 200, 400, 600, 800]);
 * ```
 */
export class RateLimiter implements Disposable, AsyncDisposable {
  #rate: number;
  #burst: number;
  #burstGiven: boolean;
  #tokens: number;
  #lastMs: number;
  #now: () => number;
  #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #queue: Waiter[] = [];
  #pumping = false;
  #wake: AbortController | undefined;
  #closed = false;

  /**
   * Makes a limiter.
   * @param bytesPerSecond The rate cap; `undefined` or `0` for unlimited.
   * @param options Burst size, and a clock and sleep function for tests.
   * @throws {RangeError} If the rate or burst is negative or not finite.
   */
  constructor(bytesPerSecond: number | undefined, options: RateLimiterOptions = {}) {
    this.#rate = checkRate(bytesPerSecond);
    this.#burstGiven = options.burstBytes !== undefined;
    if (options.burstBytes !== undefined) {
      if (!(options.burstBytes > 0 && Number.isFinite(options.burstBytes))) {
        throw new RangeError(`Cannot make a rate limiter: burst of ${options.burstBytes} bytes`);
      }
      this.#burst = options.burstBytes;
    } else {
      this.#burst = defaultBurst(this.#rate);
    }
    this.#tokens = this.#burst;
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? sleepWithTimer;
    this.#lastMs = this.#now();
  }

  /** The rate cap in bytes per second, or `undefined` when unlimited. */
  get bytesPerSecond(): number | undefined {
    return this.#rate === 0 ? undefined : this.#rate;
  }

  /** Number of `take()` calls still waiting. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Waits until `bytes` may be transferred, then uses them up.
   * @param bytes Number of bytes, finite and not negative.
   * @param signal Aborts the wait; the bytes are then not taken.
   * @returns A promise that resolves when the bytes are granted.
   * @throws {RangeError} If `bytes` is negative or not finite.
   * @throws {Error} If the limiter is or gets closed, or `signal`'s reason if it aborts.
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    try {
      signal?.throwIfAborted();
      if (!(bytes >= 0 && Number.isFinite(bytes))) {
        throw new RangeError(`Cannot take ${bytes} bytes from a rate limiter`);
      }
      if (this.#closed) throw closedError(bytes);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#rate === 0 || bytes === 0) return Promise.resolve();
    if (this.#queue.length === 0) {
      this.#refill();
      if (this.#tokens >= Math.min(bytes, this.#burst)) {
        this.#tokens -= bytes;
        return Promise.resolve();
      }
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#queue.indexOf(waiter);
        if (index < 0) return;
        this.#queue.splice(index, 1);
        reject(signal?.reason);
        if (index === 0) this.#kick(); // the next waiter may fit now, or nobody waits
      };
      const waiter: Waiter = { bytes, resolve, reject, signal, onAbort };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /**
   * Changes the rate cap; waiting `take()` calls are rescheduled at once.
   * @param bytesPerSecond The new cap; `undefined` or `0` for unlimited (releases all waiters).
   * @throws {RangeError} If the rate is negative or not finite.
   */
  setRate(bytesPerSecond: number | undefined): void {
    const rate = checkRate(bytesPerSecond);
    this.#refill();
    this.#rate = rate;
    if (!this.#burstGiven) this.#burst = defaultBurst(rate);
    this.#tokens = Math.min(this.#tokens, this.#burst);
    if (rate === 0) {
      for (const waiter of this.#queue.splice(0)) this.#settle(waiter).resolve();
    }
    this.#kick();
  }

  /** Clears the timer and rejects every waiting `take()`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#queue.splice(0)) {
      this.#settle(waiter).reject(closedError(waiter.bytes));
    }
    this.#kick();
  }

  /** Same as {@linkcode RateLimiter.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Same as {@linkcode RateLimiter.close}, for `await using`.
   * @returns A resolved promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Adds the tokens earned since the last refill, up to the burst. */
  #refill(): void {
    const now = this.#now();
    const elapsedMs = Math.max(0, now - this.#lastMs);
    this.#lastMs = Math.max(now, this.#lastMs);
    if (this.#rate === 0) return;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsedMs * this.#rate) / 1000);
  }

  /** Detaches a waiter from its abort signal and returns it. */
  #settle(waiter: Waiter): Waiter {
    waiter.signal?.removeEventListener("abort", waiter.onAbort);
    return waiter;
  }

  /** Cuts the current sleep short so the pump looks at the queue again. */
  #kick(): void {
    this.#wake?.abort();
  }

  /** Serves the queue in order, sleeping until the head's tokens are there. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        const head = this.#queue[0];
        if (this.#rate === 0) {
          this.#queue.shift();
          this.#settle(head).resolve();
          continue;
        }
        this.#refill();
        const need = Math.min(head.bytes, this.#burst);
        if (this.#tokens >= need) {
          this.#tokens -= head.bytes;
          this.#queue.shift();
          this.#settle(head).resolve();
          continue;
        }
        const waitMs = Math.max(1, Math.ceil(((need - this.#tokens) * 1000) / this.#rate));
        const wake = new AbortController();
        this.#wake = wake;
        try {
          await this.#sleep(waitMs, wake.signal);
        } catch (error) {
          // Woken early: look at the queue again. A sleep that fails by itself fails the waiters.
          if (!wake.signal.aborted) {
            for (const waiter of this.#queue.splice(0)) this.#settle(waiter).reject(error);
          }
        } finally {
          if (this.#wake === wake) this.#wake = undefined;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}

function checkRate(bytesPerSecond: number | undefined): number {
  const rate = bytesPerSecond ?? 0;
  if (!(rate >= 0 && Number.isFinite(rate))) {
    throw new RangeError(`Cannot limit to ${bytesPerSecond} bytes per second`);
  }
  return rate;
}

function defaultBurst(rate: number): number {
  return Math.max(MIN_DEFAULT_BURST_BYTES, Math.ceil(rate / 4));
}

function closedError(bytes: number): Error {
  return new Error(`Cannot take ${bytes} bytes: the rate limiter is closed`);
}

function sleepWithTimer(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
