/** Events one slow consumer may fall behind by before the oldest it has not read are dropped. */
export const MAX_PENDING_EVENTS = 10_000;

/**
 * Fans events out to any number of consumers: each `subscribe()` sees every event published
 * from the moment it subscribed, in order, until the hub closes or the consumer stops (a
 * `break` in its `for await`). A consumer that stops reading cannot grow memory without bound:
 * past {@linkcode MAX_PENDING_EVENTS} queued for it, its oldest `progress` events are dropped
 * first, then the oldest of any kind.
 * @example
 * ```ts
 * import { EventHub } from "./event_hub.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const hub = new EventHub<number>();
 * const a = hub.subscribe(), b = hub.subscribe();
 * hub.publish(1);
 * hub.publish(2);
 * hub.close();
 * const seen: number[][] = [[], []];
 * for await (const n of a) seen[0].push(n);
 * for await (const n of b) seen[1].push(n);
 * deepStrictEqual(seen, [[1, 2], [1, 2]]);
 * ```
 */
export class EventHub<T> {
  readonly #consumers = new Set<Consumer<T>>();
  #closed = false;

  /** `true` once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends an event to every current consumer (ignored after `close`).
   * @param event The event.
   */
  publish(event: T): void {
    if (this.#closed) return;
    for (const consumer of this.#consumers) consumer.push(event);
  }

  /** Ends every consumer's iteration after the events already queued for it. */
  close(): void {
    this.#closed = true;
    for (const consumer of this.#consumers) consumer.end();
  }

  /**
   * A new consumer: it sees every event published from now on.
   * @returns The events, as an async iterable (iterate it once).
   */
  subscribe(): AsyncIterable<T> {
    const consumer = new Consumer<T>(() => this.#consumers.delete(consumer));
    if (this.#closed) consumer.end();
    else this.#consumers.add(consumer);
    return consumer;
  }
}

class Consumer<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #onDone: () => void;

  constructor(onDone: () => void) {
    this.#onDone = onDone;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > MAX_PENDING_EVENTS) {
      const progress = this.#items.findIndex((e) =>
        (e as { type?: string } | null)?.type === "progress"
      );
      this.#items.splice(progress >= 0 ? progress : 0, 1);
    }
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      while (true) {
        if (this.#items.length > 0) {
          yield this.#items.shift()!;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
      }
    } finally {
      this.#onDone();
    }
  }
}
