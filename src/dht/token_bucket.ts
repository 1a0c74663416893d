/**
 * A token bucket (pure: methods take the time in ms): `ratePerSecond` tokens a second, holding at
 * most `burst`. The DHT node spends one per outgoing query.
 * @example
 * ```ts
 * import { TokenBucket } from "@shoal/shoal/dht";
 * import { ok, strictEqual } from "node:assert/strict";
 * const bucket = new TokenBucket(10, 2, 0);
 * ok(bucket.take(0) && bucket.take(0) && !bucket.take(0));
 * strictEqual(bucket.msUntilAvailable(0), 100);
 * ok(bucket.take(100));
 * ```
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #at: number;

  /**
   * Makes a full bucket.
   * @param ratePerSecond Tokens added per second (> 0).
   * @param burst Most tokens held (>= 1).
   * @param now The current time in ms.
   * @throws {RangeError} If the rate or burst is not positive.
   */
  constructor(ratePerSecond: number, burst: number, now: number) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new RangeError(
        `Cannot make a token bucket: rate ${ratePerSecond}/s and burst ${burst} must be positive`,
      );
    }
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /**
   * Takes one token if there is one.
   * @param now The current time in ms.
   * @returns `true` when a token was taken.
   */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * How long until a token is available.
   * @param now The current time in ms.
   * @returns Milliseconds (0 when one is available now).
   */
  msUntilAvailable(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
      this.#at = now;
    }
  }
}
