import type { Metainfo } from "../metainfo/types.ts";
import type { ActivePiece, PieceScheduler } from "../scheduler/piece_scheduler.ts";
import type { HashPool } from "../sha1/hash_pool.ts";
import type { TorrentStorage } from "../storage/torrent_storage.ts";
import { formatPeerAddress } from "../wire/peer_address.ts";
import type { SwarmPeer } from "./swarm_peer.ts";

/** Pieces a peer may contribute to that fail their hash before it is banned. */
export const MAX_HASH_FAILURES = 2;
/** `have`s waiting for a peer that does not read before it is dropped. */
export const MAX_PENDING_HAVES = 4096;

/** What the verifier needs from the session. */
export interface PieceVerifierInit {
  /** The torrent. */
  readonly metainfo: Metainfo;
  /** Its scheduler (told whether each piece verified). */
  readonly scheduler: PieceScheduler<SwarmPeer>;
  /** Hashes the pieces. */
  readonly pool: HashPool;
  /** Where verified pieces are written. */
  readonly storage: TorrentStorage;
  /** The connected peers, by id. */
  readonly peers: ReadonlyMap<string, SwarmPeer>;
  /** `true` once the session is stopping (results are then dropped). */
  readonly stopped: () => boolean;
  /** Whether a peer id is banned already. */
  readonly isBanned: (id: string) => boolean;
  /** Bans a peer. */
  readonly ban: (peer: SwarmPeer) => void;
  /** A verified piece was written to disk. */
  readonly onVerified: (piece: ActivePiece) => void | Promise<void>;
  /** Warnings for the session's events. */
  readonly onWarning: (message: string) => void;
  /** `have`s waiting for one peer before it is dropped (default {@linkcode MAX_PENDING_HAVES}). */
  readonly maxPendingHaves?: number;
}

/**
 * Checks each completed piece with SHA-1 in the hash pool (BEP 3). A good piece is written to
 * disk at once and announced with `have` to the peers that lack it; a bad one is fetched again,
 * and the peers that sent it are charged: a lone contributor is banned at once, others after
 * {@linkcode MAX_HASH_FAILURES} bad pieces (their blocks in unfinished pieces are thrown away,
 * so honest peers are never blamed for them).
 */
export class PieceVerifier {
  readonly #init: PieceVerifierInit;

  /**
   * Makes the verifier.
   * @param init The torrent, its scheduler, pool, storage, peers and callbacks.
   */
  constructor(init: PieceVerifierInit) {
    this.#init = init;
  }

  /**
   * Verifies a complete piece and writes it, or throws it away and charges its senders.
   * @param piece The piece, every block received.
   * @returns When done.
   * @throws {StorageError} When writing fails.
   */
  async verify(piece: ActivePiece): Promise<void> {
    const { metainfo, scheduler, pool, storage, peers } = this.#init;
    const { index } = piece;
    const expected = metainfo.pieceHashes.subarray(index * 20, index * 20 + 20);
    const { ok, data } = await pool.verify(piece.data, expected);
    piece.data = data;
    if (this.#init.stopped()) return;
    if (!ok) {
      scheduler.pieceFailed(index);
      scheduler.recycle(data);
      this.#charge(piece);
      this.#init.onWarning(`Piece ${index} failed its SHA-1 check; fetching it again`);
      return;
    }
    await storage.writePiece(index, data);
    scheduler.pieceVerified(index);
    scheduler.recycle(data);
    for (const peer of peers.values()) if (!peer.has.has(index)) this.#announce(peer, index);
    await this.#init.onVerified(piece);
  }

  /**
   * Tells a peer we have a piece (BEP 3 `have`). At most one batch of `have`s is in a peer's
   * send queue at a time: the pieces that verify meanwhile wait here and go as one write, so a
   * peer that reads slowly costs one small list, and one that stops reading altogether (more
   * than {@linkcode MAX_PENDING_HAVES} waiting) is dropped.
   */
  #announce(peer: SwarmPeer, index: number): void {
    peer.pendingHaves.push(index);
    if (peer.pendingHaves.length > (this.#init.maxPendingHaves ?? MAX_PENDING_HAVES)) {
      peer.conn.close();
      return;
    }
    if (!peer.havesInFlight) this.#flushHaves(peer);
  }

  #flushHaves(peer: SwarmPeer): void {
    const batch = peer.pendingHaves.splice(0);
    if (batch.length === 0 || peer.conn.closed) return;
    peer.havesInFlight = true;
    peer.conn.send(batch.map((index) => ({ type: "have" as const, index })))
      .then(() => {
        peer.havesInFlight = false;
        this.#flushHaves(peer);
      }, () => {
        peer.havesInFlight = false;
      });
  }

  /** Charges the contributors of a piece that failed, unless a banned one explains it. */
  #charge(piece: ActivePiece): void {
    const explained = [...piece.contributors].some((id) => this.#init.isBanned(id));
    if (explained) return;
    for (const id of piece.contributors) {
      const peer = this.#init.peers.get(id);
      if (!peer) continue;
      peer.hashFailures++;
      if (piece.contributors.size === 1 || peer.hashFailures > MAX_HASH_FAILURES) {
        this.#banPeer(peer);
      }
    }
  }

  #banPeer(peer: SwarmPeer): void {
    this.#init.ban(peer);
    this.#init.scheduler.discardFrom(peer.id);
    this.#init.onWarning(
      `Banned peer ${formatPeerAddress(peer.conn.remote)}: it sent data that failed SHA-1 checks`,
    );
  }
}
