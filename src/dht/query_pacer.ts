import { TokenBucket } from "./token_bucket.ts";

/** Default outgoing query rate, per second (rqbit uses 250). */
export const DEFAULT_MAX_QUERIES_PER_SECOND = 250;
/** Queries waiting for a slot at most; more are refused at once. */
export const MAX_QUEUED_QUERIES = 512;

/**
 * Paces outgoing queries: {@linkcode QueryPacer.acquire} resolves when the token bucket has a
 * slot, in order of arrival. At most {@linkcode MAX_QUEUED_QUERIES} wait; one timer drives them.
 * @example
 * ```ts
 * import { QueryPacer } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * const pacer = new QueryPacer(1000);
 * ok(await pacer.acquire());
 * pacer.close();
 * ok(!(await pacer.acquire()));
 * ```
 */
export class QueryPacer {
  #bucket: TokenBucket;
  #queue: ((granted: boolean) => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #maxQueued: number;

  /**
   * Makes a pacer.
   * @param ratePerSecond Queries per second (burst: a tenth of a second's worth, at least 1).
   * @param maxQueued Most waiting callers.
   * @throws {RangeError} If the rate is not positive.
   */
  constructor(ratePerSecond: number, maxQueued: number = MAX_QUEUED_QUERIES) {
    this.#bucket = new TokenBucket(
      ratePerSecond,
      Math.max(1, Math.ceil(ratePerSecond / 10)),
      Date.now(),
    );
    this.#maxQueued = maxQueued;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Waits for a slot.
   * @returns `true` when granted; `false` when the queue is full or the pacer closed.
   */
  acquire(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#queue.length === 0 && this.#bucket.take(Date.now())) return Promise.resolve(true);
    if (this.#queue.length >= this.#maxQueued) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      this.#schedule();
    });
  }

  /** Refuses every waiting and later caller, and stops the timer. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const resolve of this.#queue.splice(0)) resolve(false);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const wait = this.#bucket.msUntilAvailable(Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      while (this.#queue.length > 0 && this.#bucket.take(Date.now())) this.#queue.shift()!(true);
      this.#schedule();
    }, Math.max(1, wait));
  }
}
