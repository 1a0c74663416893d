import { addressKey, canonicalHost, type DhtAddress, isUsableAddress } from "./dht_address.ts";

/** Distinct peers one feed accepts at most. */
export const MAX_FEED_PEERS = 10_000;

/**
 * The peers of one lookup, as replies bring them: each address once, unusable ones (bogus,
 * or loopback from a remote node) dropped, at most {@linkcode MAX_FEED_PEERS}; read them with
 * {@linkcode PeerFeed.next} until it returns `undefined` after {@linkcode PeerFeed.end}.
 * @example
 * ```ts
 * import { PeerFeed } from "@shoal/shoal/dht";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const feed = new PeerFeed();
 * const from = { host: "10.0.0.9", port: 6881 };
 * feed.add([{ host: "10.0.0.1", port: 1 }, { host: "10.0.0.1", port: 1 }, { host: "0.0.0.0", port: 2 }], from);
 * feed.end();
 * deepStrictEqual(await feed.next(), { host: "10.0.0.1", port: 1 });
 * strictEqual(await feed.next(), undefined);
 * ```
 */
export class PeerFeed {
  #seen = new Set<string>();
  #queue: DhtAddress[] = [];
  #found: DhtAddress[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  /** Every peer accepted so far. */
  get found(): readonly DhtAddress[] {
    return this.#found;
  }

  /**
   * Offers peers.
   * @param peers Peers from a reply (or our own store).
   * @param from The node that sent them, `undefined` for our own store.
   */
  add(peers: readonly DhtAddress[], from?: DhtAddress): void {
    if (this.#ended) return;
    for (const peer of peers) {
      const key = addressKey(peer);
      if (this.#seen.has(key) || this.#seen.size >= MAX_FEED_PEERS) continue;
      if (!isUsableAddress(peer, from)) continue;
      this.#seen.add(key);
      const clean = { host: canonicalHost(peer.host), port: peer.port };
      this.#queue.push(clean);
      this.#found.push(clean);
    }
    this.#notify();
  }

  /** No more peers will come; {@linkcode PeerFeed.next} drains the queue, then ends. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /**
   * The next peer.
   * @returns It, or `undefined` once ended and drained.
   */
  async next(): Promise<DhtAddress | undefined> {
    while (true) {
      const peer = this.#queue.shift();
      if (peer || this.#ended) return peer;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
