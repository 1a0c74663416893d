import { encodeHex } from "../bytes/hex.ts";
import { connectPeer, type PeerConnection, READ_BUFFER_BYTES } from "../peer/connection.ts";
import type { MemoryBudget } from "../scheduler/memory_budget.ts";
import { PeerError } from "../peer/peer_error.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import type { PeerBook } from "./peer_book.ts";
import { type PeerLink, SwarmPeer } from "./swarm_peer.ts";

/** Dials in progress at once, per torrent. */
export const MAX_CONCURRENT_DIALS = 10;

/**
 * A count of half-open dials shared by every torrent of a client, so that many torrents do
 * not open hundreds of connections at once.
 */
export class DialSlots {
  /** Most dials at once. */
  readonly max: number;
  #used = 0;

  /**
   * Makes the slots.
   * @param max Most dials at once.
   */
  constructor(max: number) {
    this.max = max;
  }

  /**
   * Takes a slot if one is free.
   * @returns `true` when taken (give it back with `release`).
   */
  tryTake(): boolean {
    if (this.#used >= this.max) return false;
    this.#used++;
    return true;
  }

  /** Gives a slot back (and nothing more than was taken). */
  release(): void {
    this.#used = Math.max(0, this.#used - 1);
  }
}

/** What the connector needs from the session. */
export interface ConnectorInit {
  /** The torrent's info hash. */
  readonly infoHash: Uint8Array;
  /** Its number of pieces. */
  readonly pieceCount: number;
  /** Our peer id. */
  readonly peerId: Uint8Array;
  /** Reserved bytes of our handshake; `OUR_RESERVED` by default. */
  readonly reserved?: Uint8Array;
  /** Stops dialling; aborts dials in progress. */
  readonly signal: AbortSignal;
  /** Addresses to dial, with their back-off state. */
  readonly book: PeerBook;
  /** The connected peers, by id (the connector adds and removes them). */
  readonly peers: Map<string, SwarmPeer>;
  /** Most connections (connected and being dialled) the torrent may hold now. */
  readonly maxPeers: () => number;
  /** `true` while we are a seed (seeds are not dialled then). */
  readonly seeding: () => boolean;
  /** `false` once a complete torrent stops seeding (nothing is dialled any more). */
  readonly wantsPeers: () => boolean;
  /** Runs a background task the session tracks. */
  readonly spawn: (task: Promise<unknown>) => void;
  /** Runs a connected peer until it leaves; never throws. */
  readonly runPeer: (peer: SwarmPeer) => Promise<void>;
  /** Half-open dial slots shared with the client's other torrents. */
  readonly dialSlots?: DialSlots;
  /** The client's memory budget: each connection's buffers draw from it. */
  readonly budget?: MemoryBudget;
}

/** What one connection's buffers take from the memory budget (read and send buffers). */
export const CONNECTION_MEMORY_BYTES: number = READ_BUFFER_BYTES + 64 * 1024;

/** The peer accepted the TCP connection, then closed it during the plain handshake. */
function hungUpOnHandshake(error: unknown): boolean {
  if (error instanceof Deno.errors.ConnectionReset) return true;
  return error instanceof PeerError && error.code === "hung-up";
}

/**
 * Makes and takes a torrent's connections: dials addresses from the peer book (plain first,
 * then Message Stream Encryption when a peer hangs up on a plain handshake), takes incoming
 * connections, refuses ourselves, banned peers and duplicates, and keeps the peer map and the
 * book's state right as peers come and go.
 */
export class Connector {
  readonly #init: ConnectorInit;
  readonly #bannedIds = new Set<string>();
  /** Banned by address: a banned peer that comes back with a new id is still refused. */
  readonly #bannedHosts = new Set<string>();
  readonly #ourId: string;
  #dialing = 0;

  /**
   * Makes the connector.
   * @param init The torrent, the peer book and map, limits and callbacks.
   */
  constructor(init: ConnectorInit) {
    this.#init = init;
    this.#ourId = encodeHex(init.peerId);
  }

  /** `true` while the torrent has room for another connection. */
  get hasRoom(): boolean {
    return this.#init.peers.size + this.#dialing < this.#init.maxPeers();
  }

  /** `true` while the torrent takes another incoming peer. */
  get canAccept(): boolean {
    return this.#init.peers.size < this.#init.maxPeers();
  }

  /**
   * Whether a peer id is banned.
   * @param id The peer id as hex.
   * @returns `true` when banned.
   */
  isBanned(id: string): boolean {
    return this.#bannedIds.has(id);
  }

  /**
   * Whether a host (an IP address) is banned.
   * @param host The address.
   * @returns `true` when banned.
   */
  isBannedHost(host: string): boolean {
    return this.#bannedHosts.has(host);
  }

  /**
   * Bans a peer by its IP address (its id is chosen by itself, so it proves nothing): it is
   * closed, its address is never dialled again, and any connection from it is refused.
   * @param peer The peer.
   */
  ban(peer: SwarmPeer): void {
    this.#bannedIds.add(peer.id);
    this.#bannedHosts.add(peer.conn.remote.host);
    this.#init.book.ban(peer.conn.remote);
    peer.conn.close();
  }

  /** Dials due addresses from the book while there is room. */
  dial(): void {
    const { signal, book } = this.#init;
    while (!signal.aborted && this.#dialing < MAX_CONCURRENT_DIALS && this.hasRoom) {
      if (!this.#init.wantsPeers()) return;
      const address = book.next(performance.now(), this.#init.seeding());
      if (!address) return;
      if (this.#bannedHosts.has(address.host)) {
        book.ban(address);
        continue;
      }
      const slots = this.#init.dialSlots;
      if (slots && !slots.tryTake()) {
        book.unclaim(address); // no slot now: due again at the next dial
        return;
      }
      this.#dialing++;
      this.#init.spawn(
        this.#dialOne(address).finally(() => {
          this.#dialing--;
          slots?.release();
          this.dial();
        }),
      );
    }
  }

  /**
   * Takes an incoming connection whose handshake is done.
   * @param conn The connection (owned by the torrent from now on).
   */
  accept(conn: PeerConnection): void {
    if (this.#init.signal.aborted || !this.canAccept || this.#bannedHosts.has(conn.remote.host)) {
      conn.close();
      return;
    }
    this.#init.spawn(this.#run(conn));
  }

  async #dialOne(address: PeerAddress): Promise<void> {
    const { infoHash, peerId, pieceCount, signal, reserved } = this.#init;
    const dial = (encryption: "none" | "mse") =>
      connectPeer(address, { infoHash, peerId, pieceCount, signal, encryption, reserved });
    let conn: PeerConnection;
    try {
      try {
        conn = await dial("none");
      } catch (error) {
        // A peer that hangs up on a plain handshake may insist on encryption: try MSE once.
        if (!hungUpOnHandshake(error) || signal.aborted) throw error;
        conn = await dial("mse");
      }
    } catch {
      this.#init.book.mark(address, "failed", performance.now());
      return;
    }
    await this.#run(conn, address);
  }

  async #run(conn: PeerLink, dialed?: PeerAddress): Promise<void> {
    const { peers, book } = this.#init;
    const peer = new SwarmPeer(conn, this.#init.pieceCount, dialed !== undefined);
    if (peer.id === this.#ourId || this.#bannedIds.has(peer.id) || !this.#replaceDuplicate(peer)) {
      // Ourselves, banned, or a second connection to a peer we keep the first one of.
      if (dialed && peer.id === this.#ourId) book.ban(dialed);
      else if (dialed) book.mark(dialed, "closed", performance.now());
      conn.close();
      return;
    }
    // Connections may take at most half the memory budget; the rest is for pieces.
    const budget = this.#init.budget;
    if (budget) {
      const inUse = budget.usage().connections;
      if (
        inUse + CONNECTION_MEMORY_BYTES > budget.limit / 2 ||
        !budget.tryReserve(CONNECTION_MEMORY_BYTES, "connections")
      ) {
        if (dialed) book.mark(dialed, "closed", performance.now());
        conn.close();
        return;
      }
    }
    if (dialed) book.mark(dialed, "connected", performance.now());
    peers.set(peer.id, peer);
    try {
      await this.#init.runPeer(peer);
    } finally {
      budget?.release(CONNECTION_MEMORY_BYTES, "connections");
      if (peers.get(peer.id) === peer) peers.delete(peer.id);
      if (dialed) {
        book.mark(dialed, "closed", performance.now());
        if (peer.has.complete) book.markSeed(dialed);
      }
      if (!this.#init.signal.aborted) this.dial();
    }
  }

  /**
   * Decides between two connections to the same peer, which happen when both sides dial each
   * other at once. Both ends must choose the same one, or each drops the one the other kept:
   * the connection opened by the side with the lower peer id survives.
   * @returns `false` to drop `peer`; `true` to keep it (any older connection is closed).
   */
  #replaceDuplicate(peer: SwarmPeer): boolean {
    const peers = this.#init.peers;
    const existing = peers.get(peer.id);
    if (!existing) return true;
    // Only the same host dialling us while we dial it explains two connections with one id;
    // a peer that claims another's id from elsewhere never replaces the live connection.
    if (existing.outgoing === peer.outgoing) return false;
    if (existing.conn.remote.host !== peer.conn.remote.host) return false;
    const opener = (p: SwarmPeer) => p.outgoing ? this.#ourId : p.id;
    if (opener(peer) > opener(existing)) return false;
    peers.delete(existing.id);
    existing.conn.close();
    return true;
  }
}
