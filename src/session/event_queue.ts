/**
 * An unbounded first-in, first-out queue read as an async iterator: producers `push`, one
 * consumer `for await`s. `close` ends the iteration after the queued items; `fail` ends it
 * with an error.
 * @example
 * ```ts
 * import { EventQueue } from "./event_queue.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const queue = new EventQueue<number>();
 * queue.push(1);
 * queue.push(2);
 * queue.close();
 * const seen: number[] = [];
 * for await (const n of queue) seen.push(n);
 * deepStrictEqual(seen, [1, 2]);
 * ```
 */
export class EventQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #closed = false;
  #error: unknown;
  #failed = false;
  #wake: (() => void) | undefined;

  /**
   * Adds an item (ignored after `close`).
   * @param item The item.
   */
  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    this.#notify();
  }

  /** Ends the iteration once the queued items are read. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  /**
   * Ends the iteration with an error once the queued items are read.
   * @param error What the consumer's loop throws.
   */
  fail(error: unknown): void {
    if (this.#closed) return;
    this.#error = error;
    this.#failed = true;
    this.close();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Reads items until the queue is closed.
   * @returns An iterator over the items.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.#head < this.#items.length) {
        const item = this.#items[this.#head++];
        if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        yield item;
        continue;
      }
      if (this.#closed) {
        if (this.#failed) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}
