/** Default for {@linkcode MemoryBudget}: 64 MiB for the whole client. */
export const DEFAULT_MEMORY_BYTES: number = 64 * 1024 * 1024;

/** What a budget's bytes are held for, as reported by {@linkcode MemoryBudget.usage}. */
export type MemoryUse = "pieces" | "cache" | "connections";

/**
 * One byte budget for a whole client: piece buffers in flight, the upload read cache and
 * connection buffers all draw from it. `tryReserve` refuses what does not fit (the caller
 * waits and tries again after a release: subscribe with `onRelease`), so the budget is never
 * overshot, except by one reservation when nothing at all is reserved (so a piece larger than
 * the whole budget can still be fetched, alone).
 * @example
 * ```ts
 * import { MemoryBudget } from "@shoal/shoal/scheduler";
 * import { strictEqual } from "node:assert/strict";
 * const budget = new MemoryBudget(1000);
 * strictEqual(budget.tryReserve(600, "pieces"), true);
 * strictEqual(budget.tryReserve(600, "pieces"), false); // would overshoot
 * budget.release(600, "pieces");
 * strictEqual(budget.used, 0);
 * ```
 */
export class MemoryBudget {
  /** The budget in bytes. */
  readonly limit: number;
  #used = 0;
  #peak = 0;
  readonly #byUse: Record<MemoryUse, number> = { pieces: 0, cache: 0, connections: 0 };
  readonly #listeners = new Set<() => void>();

  /**
   * Makes a budget.
   * @param limit Bytes (default {@linkcode DEFAULT_MEMORY_BYTES}).
   * @throws {RangeError} If `limit` is not a positive integer.
   */
  constructor(limit: number = DEFAULT_MEMORY_BYTES) {
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new RangeError(`Cannot make a memory budget of ${limit} bytes`);
    }
    this.limit = limit;
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  /** The most bytes ever reserved at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Bytes left. */
  get free(): number {
    return Math.max(0, this.limit - this.#used);
  }

  /**
   * Bytes reserved now, by use.
   * @returns A copy of the counters.
   */
  usage(): Record<MemoryUse, number> {
    return { ...this.#byUse };
  }

  /**
   * Reserves bytes if they fit.
   * @param bytes How many.
   * @param use What for.
   * @returns `true` when reserved; `false` when they would overshoot the budget.
   */
  tryReserve(bytes: number, use: MemoryUse): boolean {
    if (this.#used + bytes > this.limit && this.#used > 0) return false;
    this.#used += bytes;
    this.#byUse[use] += bytes;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return true;
  }

  /**
   * Gives bytes back and tells the `onRelease` listeners.
   * @param bytes How many (as reserved).
   * @param use What they were for.
   */
  release(bytes: number, use: MemoryUse): void {
    if (bytes <= 0) return;
    this.#used = Math.max(0, this.#used - bytes);
    this.#byUse[use] = Math.max(0, this.#byUse[use] - bytes);
    for (const listener of this.#listeners) listener();
  }

  /**
   * Calls `listener` after every release (e.g. to wake request loops that were refused).
   * @param listener The callback.
   * @returns A function that unsubscribes.
   */
  onRelease(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
