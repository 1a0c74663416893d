import { bytesToBinary } from "../bytes/bytes.ts";
import { addressFamily, addressKey, canonicalHost, type DhtAddress } from "./dht_address.ts";

/** An announced peer is forgotten after this long without a new announce (BEP 5 practice). */
export const PEER_TTL_MS = 30 * 60_000;
/** The most torrents held; the least recently announced one makes room. */
export const MAX_STORED_TORRENTS = 2000;
/** The most peers held per torrent; its oldest announce makes room. */
export const MAX_PEERS_PER_TORRENT = 500;
/** The most peers held over all torrents. */
export const MAX_STORED_PEERS = 20_000;
/** The most peers a `get_peers` reply carries. */
export const MAX_PEERS_PER_REPLY = 100;

/** Caps of a {@linkcode PeerStore} (defaults: the exported constants). */
export interface PeerStoreOptions {
  /** Most torrents held. */
  maxTorrents?: number;
  /** Most peers per torrent. */
  maxPeersPerTorrent?: number;
  /** Most peers in all. */
  maxPeers?: number;
  /** How long an announce lasts, in ms. */
  ttlMs?: number;
}

interface StoredPeer {
  host: string;
  port: number;
  at: number;
}

/**
 * The peers other nodes announced to us (`announce_peer`), bounded in torrents, peers per torrent
 * and peers in all, each expiring 30 minutes after its last announce. Pure: methods take the
 * time.
 * @example
 * ```ts
 * import { PeerStore } from "@shoal/shoal/dht";
 * import { deepStrictEqual } from "node:assert/strict";
 * const store = new PeerStore();
 * const infoHash = new Uint8Array(20).fill(3);
 * store.add(infoHash, { host: "10.0.0.1", port: 6881 }, 0);
 * deepStrictEqual(store.get(infoHash, 4, 1_000), [{ host: "10.0.0.1", port: 6881 }]);
 * deepStrictEqual(store.get(infoHash, 4, 31 * 60_000), []);
 * ```
 */
export class PeerStore {
  #torrents = new Map<string, Map<string, StoredPeer>>();
  #peers = 0;
  #maxTorrents: number;
  #maxPeersPerTorrent: number;
  #maxPeers: number;
  #ttlMs: number;

  /**
   * Makes an empty store.
   * @param options Caps and lifetime.
   */
  constructor(options: PeerStoreOptions = {}) {
    this.#maxTorrents = options.maxTorrents ?? MAX_STORED_TORRENTS;
    this.#maxPeersPerTorrent = options.maxPeersPerTorrent ?? MAX_PEERS_PER_TORRENT;
    this.#maxPeers = options.maxPeers ?? MAX_STORED_PEERS;
    this.#ttlMs = options.ttlMs ?? PEER_TTL_MS;
  }

  /** Torrents with at least one peer. */
  get torrentCount(): number {
    return this.#torrents.size;
  }

  /** Peers over all torrents. */
  get peerCount(): number {
    return this.#peers;
  }

  /**
   * Records (or refreshes) an announce.
   * @param infoHash The 20-byte info hash.
   * @param peer The announced address (TCP port).
   * @param now The current time in ms.
   */
  add(infoHash: Uint8Array, peer: DhtAddress, now: number): void {
    const key = bytesToBinary(infoHash);
    let peers = this.#torrents.get(key);
    if (peers) {
      this.#torrents.delete(key); // re-inserted below: most recently announced last
    } else {
      if (this.#torrents.size >= this.#maxTorrents) this.#dropOldestTorrent();
      peers = new Map();
    }
    this.#torrents.set(key, peers);
    const host = canonicalHost(peer.host);
    const peerKey = addressKey({ host, port: peer.port });
    if (peers.delete(peerKey)) this.#peers--;
    if (peers.size >= this.#maxPeersPerTorrent) this.#dropOldestPeer(peers);
    while (this.#peers >= this.#maxPeers && this.#dropOldestPeerAnywhere(key)) {
      // made room
    }
    peers.set(peerKey, { host, port: peer.port, at: now });
    this.#peers++;
  }

  /**
   * Up to `max` live peers of one address family for a torrent, in random order.
   * @param infoHash The 20-byte info hash.
   * @param family 4 or 6 (BEP 32: the family of the request).
   * @param now The current time in ms.
   * @param max How many at most (default 100).
   * @returns The peers.
   */
  get(
    infoHash: Uint8Array,
    family: 4 | 6,
    now: number,
    max: number = MAX_PEERS_PER_REPLY,
  ): DhtAddress[] {
    const peers = this.#torrents.get(bytesToBinary(infoHash));
    if (!peers) return [];
    const live: DhtAddress[] = [];
    for (const peer of peers.values()) {
      if (now - peer.at < this.#ttlMs && addressFamily(peer.host) === family) {
        live.push({ host: peer.host, port: peer.port });
      }
    }
    for (let i = 0; i < Math.min(max, live.length); i++) {
      const j = i + Math.floor(Math.random() * (live.length - i));
      [live[i], live[j]] = [live[j], live[i]];
    }
    return live.slice(0, max);
  }

  /**
   * Forgets announces older than the lifetime.
   * @param now The current time in ms.
   */
  expire(now: number): void {
    for (const [key, peers] of this.#torrents) {
      for (const [peerKey, peer] of peers) {
        if (now - peer.at >= this.#ttlMs) {
          peers.delete(peerKey);
          this.#peers--;
        }
      }
      if (peers.size === 0) this.#torrents.delete(key);
    }
  }

  #dropOldestTorrent(): void {
    const [key, peers] = this.#torrents.entries().next().value!;
    this.#torrents.delete(key);
    this.#peers -= peers.size;
  }

  #dropOldestPeer(peers: Map<string, StoredPeer>): void {
    // Insertion order is announce order: a refresh deletes and re-inserts.
    const oldest = peers.keys().next();
    if (!oldest.done) {
      peers.delete(oldest.value);
      this.#peers--;
    }
  }

  #dropOldestPeerAnywhere(except: string): boolean {
    for (const [key, peers] of this.#torrents) {
      if (peers.size === 0) continue;
      if (key === except && this.#torrents.size > 1) continue;
      this.#dropOldestPeer(peers);
      if (peers.size === 0 && key !== except) this.#torrents.delete(key);
      return true;
    }
    return false;
  }
}
