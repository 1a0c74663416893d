import type { DhtNode } from "../dht/dht_node.ts";
import { sleep } from "../util/io_helpers.ts";
import type { PeerAddress } from "../wire/peer_address.ts";

/** A torrent is announced into the DHT this often (plus or minus `DHT_ANNOUNCE_JITTER_MS`). */
export const DHT_ANNOUNCE_INTERVAL_MS: number = 15 * 60_000;
/** Random spread of the announce interval, so torrents do not announce in step. */
export const DHT_ANNOUNCE_JITTER_MS: number = 3 * 60_000;
/** While a torrent needs peers, it is looked up this often between announces. */
export const DHT_LOOKUP_INTERVAL_MS = 60_000;
/**
 * An announce no node accepted (the routing table was still empty, the network was down) is
 * tried again after this long, doubling up to the regular interval.
 */
export const DHT_ANNOUNCE_RETRY_MS = 30_000;

/** The part of a {@linkcode DhtNode} the finder uses. */
export type DhtLookups = Pick<DhtNode, "announce" | "getPeers">;

/** What the finder needs to know about a torrent. */
export interface DhtTorrent {
  /** Its 20-byte info hash. */
  readonly infoHash: Uint8Array;
  /** `true` for a private torrent (BEP 27): it never touches the DHT. */
  isPrivate(): boolean;
  /** `true` while it would take more peers (downloading, or fetching a magnet's metadata). */
  needsPeers(): boolean;
  /** Where found peers go. */
  addPeer(address: PeerAddress): void;
}

/**
 * Finds peers for a client's torrents in the DHT (BEP 5): each non-private torrent is
 * announced when it starts and then every 15 minutes (with jitter), and looked up once a
 * minute while it needs peers. An announce that no node accepted is retried after 30 s,
 * then 60 s, and so on. Never throws: a failed lookup waits for the next round.
 */
export class DhtPeerFinder {
  readonly #dht: DhtLookups;
  readonly #port: () => number | "implied";
  readonly #retryMs: number;
  readonly #controller = new AbortController();
  readonly #loops = new Set<Promise<void>>();

  /**
   * Makes the finder.
   * @param dht The client's DHT node.
   * @param port The TCP port peers reach us on (`"implied"`: the DHT's UDP port, BEP 5).
   * @param options `announceRetryMs`: the first retry of an announce nobody accepted (default
   *   {@linkcode DHT_ANNOUNCE_RETRY_MS}).
   */
  constructor(
    dht: DhtLookups,
    port: () => number | "implied",
    options: { announceRetryMs?: number } = {},
  ) {
    this.#dht = dht;
    this.#port = port;
    this.#retryMs = options.announceRetryMs ?? DHT_ANNOUNCE_RETRY_MS;
  }

  /**
   * Starts finding peers for a torrent.
   * @param torrent The torrent.
   * @returns A function that stops it.
   */
  track(torrent: DhtTorrent): () => void {
    const stop = new AbortController();
    const signal = AbortSignal.any([this.#controller.signal, stop.signal]);
    const loop = this.#loop(torrent, signal).catch(() => {}).finally(() =>
      this.#loops.delete(loop)
    );
    this.#loops.add(loop);
    return () => stop.abort();
  }

  async #loop(torrent: DhtTorrent, signal: AbortSignal): Promise<void> {
    let nextAnnounceMs = 0;
    let retryMs = this.#retryMs;
    while (!signal.aborted) {
      const now = performance.now();
      if (torrent.isPrivate()) return;
      try {
        if (now >= nextAnnounceMs) {
          // Until a node accepts it (or if it throws), the announce is retried soon.
          nextAnnounceMs = now + Math.min(retryMs, DHT_ANNOUNCE_INTERVAL_MS);
          retryMs *= 2;
          // Peers go to the torrent as replies name them, not when the announce has ended.
          const result = await this.#dht.announce(torrent.infoHash, this.#port(), {
            signal,
            onPeer: (peer) => torrent.addPeer(peer),
          });
          if (result.nodes.length > 0) {
            retryMs = this.#retryMs;
            nextAnnounceMs = performance.now() + DHT_ANNOUNCE_INTERVAL_MS +
              (Math.random() * 2 - 1) * DHT_ANNOUNCE_JITTER_MS;
          }
        } else if (torrent.needsPeers()) {
          for await (const peer of this.#dht.getPeers(torrent.infoHash, { signal })) {
            torrent.addPeer(peer);
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      const wait = torrent.needsPeers()
        ? DHT_LOOKUP_INTERVAL_MS
        : Math.max(0, nextAnnounceMs - performance.now());
      await sleep(Math.min(wait, nextAnnounceMs - performance.now()), signal).catch(() => {});
    }
  }

  /**
   * Stops every torrent's lookups.
   * @returns When they have ended.
   */
  async close(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled([...this.#loops]);
  }
}
