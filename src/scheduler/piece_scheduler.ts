import type { Bitfield } from "../bytes/bitfield.ts";
import { BLOCK_SIZE, type PieceGeometry, pieceSize } from "../metainfo/geometry.ts";
import { pickPiece } from "./piece_picker.ts";

/** One block to ask a peer for (BEP 3 `request`). */
export interface BlockRequest {
  /** Piece index. */
  readonly index: number;
  /** Byte offset inside the piece. */
  readonly begin: number;
  /** Block length (at most 16 KiB). */
  readonly length: number;
}

/** What the scheduler keeps about each peer: its pieces and our requests to it. */
export interface SchedulerPeer {
  /** The pieces the peer has. */
  readonly has: Bitfield;
  /** Our outstanding requests to the peer: block key -> time sent (ms). */
  readonly outstanding: Map<number, number>;
}

/** Most blocks a piece may have (a 1 GiB piece); block keys are `index * BLOCKS_PER_KEY + block`. */
/** Default budget for piece buffers in memory: 16 MiB (or four pieces when pieces are larger). */
export const DEFAULT_MAX_ACTIVE_BYTES: number = 16 * 1024 * 1024;

const BLOCKS_PER_KEY = 65536;

/** The send time {@linkcode PieceScheduler.expire} gives a request it has reopened. */
export const EXPIRED: number = Infinity;
/** Block state value meaning "received"; lower values count outstanding requests. */
const RECEIVED = 255;
/** In endgame, at most this many peers are asked for the same block. */
const ENDGAME_MAX_REQUESTERS = 3;

/**
 * The key of a block: `index * 65536 + begin / 16384`.
 * @param index Piece index.
 * @param begin Offset inside the piece (a multiple of 16 KiB).
 * @returns The key.
 * @example
 * ```ts
 * import { blockKey } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(blockKey(2, 32768), 2 * 65536 + 2);
 * ```
 */
export function blockKey(index: number, begin: number): number {
  return index * BLOCKS_PER_KEY + begin / BLOCK_SIZE;
}

/**
 * The piece index and offset a {@linkcode blockKey} stands for.
 * @param key A block key.
 * @returns The piece index and the block's offset in it.
 * @example
 * ```ts
 * import { blockKey, blockOfKey } from "@shoal/shoal";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(blockOfKey(blockKey(2, 32768)), { index: 2, begin: 32768 });
 * ```
 */
export function blockOfKey(key: number): { index: number; begin: number } {
  const index = Math.floor(key / BLOCKS_PER_KEY);
  return { index, begin: (key - index * BLOCKS_PER_KEY) * BLOCK_SIZE };
}

/** A piece being downloaded: its buffer and the state of each block. */
export class ActivePiece {
  /** Piece index. */
  readonly index: number;
  /** Piece length in bytes. */
  readonly size: number;
  /** The piece's bytes, filled block by block (handed to a hash worker once complete). */
  data: Uint8Array;
  /** Per block: outstanding request count, or 255 once received. */
  readonly blocks: Uint8Array;
  /** Blocks received so far. */
  received = 0;
  /** Blocks with no request out and not received. */
  missing: number;
  /** Ids of the peers that sent blocks of this piece (to blame on a hash failure). */
  readonly contributors: Set<string> = new Set();

  /**
   * Makes an empty piece buffer.
   * @param index Piece index.
   * @param size Piece length in bytes.
   * @param buffer Memory to reuse, exactly `size` bytes (its old contents are overwritten
   *   block by block before the piece completes).
   */
  constructor(index: number, size: number, buffer?: Uint8Array) {
    this.index = index;
    this.size = size;
    this.data = buffer?.length === size ? buffer : new Uint8Array(size);
    this.blocks = new Uint8Array(Math.ceil(size / BLOCK_SIZE));
    this.missing = this.blocks.length;
  }

  /** `true` once every block has arrived. */
  get complete(): boolean {
    return this.received === this.blocks.length;
  }
}

/** Options for {@linkcode PieceScheduler}. */
export interface PieceSchedulerOptions {
  /** Bytes of piece buffers that may be in memory at once (default 16 MiB, or 4 pieces if more). */
  maxActiveBytes?: number;
  /** Source of randomness for the picker. */
  random?: () => number;
}

/** What a received block did. */
export interface BlockOutcome<P extends SchedulerPeer = SchedulerPeer> {
  /** The piece, when this block completed it. */
  completed?: ActivePiece;
  /** Other peers that were asked for the same block (endgame): send them `cancel`. */
  cancel: P[];
}

/**
 * Decides which blocks to request from which peer: finishes partial pieces first, starts new
 * pieces rarest-first ({@linkcode pickPiece}), keeps piece buffers under a byte budget, and in
 * endgame asks several peers for the last blocks. It holds no sockets and no timers.
 * @example
 * ```ts
 * import { Bitfield, PieceScheduler } from "@shoal/shoal";
 * import { deepStrictEqual } from "node:assert/strict";
 * const geometry = { pieceLength: 32768, pieceCount: 1, totalLength: 20000 };
 * const scheduler = new PieceScheduler(geometry, new Bitfield(1));
 * const peer = { has: new Bitfield(1, new Uint8Array([0x80])), outstanding: new Map() };
 * scheduler.addPeer(peer);
 * deepStrictEqual(scheduler.fillRequests(peer, 10), [
 *   { index: 0, begin: 0, length: 16384 },
 *   { index: 0, begin: 16384, length: 3616 },
 * ]);
 * ```
 */
export class PieceScheduler<P extends SchedulerPeer = SchedulerPeer> {
  /** The torrent's piece layout. */
  readonly geometry: PieceGeometry;
  /** Pieces we have verified. */
  readonly have: Bitfield;
  /** How many connected peers have each piece. */
  readonly availability: Uint16Array;
  /** Pieces being downloaded (including those waiting to be verified). */
  readonly active: Map<number, ActivePiece> = new Map();
  /** Active pieces that still have blocks nobody was asked for. */
  readonly #open: Set<ActivePiece> = new Set();
  #activeBytes = 0;
  readonly #maxActiveBytes: number;
  readonly #random: () => number;
  readonly #peers: Set<P> = new Set();
  readonly #spare: Uint8Array[] = [];
  /** Block keys some peer holds as an expired request. */
  readonly #expiredKeys: Set<number> = new Set();

  /**
   * Makes a scheduler for one torrent.
   * @param geometry The torrent's piece layout.
   * @param have Pieces already verified (shared: the scheduler sets bits as pieces verify).
   * @param options Memory budget and randomness.
   */
  constructor(geometry: PieceGeometry, have: Bitfield, options: PieceSchedulerOptions = {}) {
    this.geometry = geometry;
    this.have = have;
    this.availability = new Uint16Array(geometry.pieceCount);
    this.#maxActiveBytes = options.maxActiveBytes ??
      Math.max(DEFAULT_MAX_ACTIVE_BYTES, 4 * geometry.pieceLength);
    this.#random = options.random ?? Math.random;
  }

  /** Bytes held in piece buffers now. */
  get activeBytes(): number {
    return this.#activeBytes;
  }

  /** `true` when every missing piece is already being downloaded: blocks may be asked twice. */
  get endgame(): boolean {
    return this.have.count + this.active.size >= this.geometry.pieceCount;
  }

  /**
   * Starts counting a peer's pieces in the availability map.
   * @param peer The peer (its `has` may grow later through {@linkcode peerHave}).
   */
  addPeer(peer: P): void {
    if (this.#peers.has(peer)) return;
    this.#peers.add(peer);
    const { has } = peer;
    for (let i = 0; i < has.size; i++) if (has.has(i)) this.availability[i]++;
  }

  /**
   * Records that a peer gained a piece (after `have`); sets the bit in its `has`.
   * @param peer The peer.
   * @param index The piece.
   * @returns `true` if the piece is one we still need.
   */
  peerHave(peer: P, index: number): boolean {
    if (peer.has.set(index) && this.#peers.has(peer)) this.availability[index]++;
    return !this.have.has(index);
  }

  /**
   * Replaces a peer's pieces (after `bitfield`, `have all` or `have none`), keeping the
   * availability map right.
   * @param peer The peer.
   * @param pieces Bitfield bytes (already checked for length), or `true`/`false` for all/none.
   */
  setPeerPieces(peer: P, pieces: Uint8Array | boolean): void {
    const { has } = peer;
    const counted = this.#peers.has(peer);
    if (counted) { for (let i = 0; i < has.size; i++) if (has.has(i)) this.availability[i]--; }
    has.assign(pieces);
    if (counted) { for (let i = 0; i < has.size; i++) if (has.has(i)) this.availability[i]++; }
  }

  /**
   * Forgets a peer: its pieces leave the availability map and its outstanding requests are
   * released for others.
   * @param peer The peer.
   */
  removePeer(peer: P): void {
    if (!this.#peers.delete(peer)) return;
    const { has } = peer;
    for (let i = 0; i < has.size; i++) if (has.has(i)) this.availability[i]--;
    this.releaseAll(peer);
  }

  /**
   * Releases every outstanding request to a peer (it choked us, timed out or left).
   * @param peer The peer.
   */
  releaseAll(peer: P): void {
    for (const [key, sentAtMs] of peer.outstanding) {
      if (sentAtMs !== EXPIRED) this.#releaseKey(key);
    }
    peer.outstanding.clear();
  }

  /**
   * Releases one outstanding request (the peer rejected it, or it timed out).
   * @param peer The peer.
   * @param request The block.
   * @returns `true` if it was outstanding to that peer.
   */
  release(peer: P, request: BlockRequest): boolean {
    const key = blockKey(request.index, request.begin);
    const sentAtMs = peer.outstanding.get(key);
    if (sentAtMs === undefined) return false;
    peer.outstanding.delete(key);
    if (sentAtMs !== EXPIRED) this.#releaseKey(key);
    return true;
  }

  /**
   * Gives a request a peer has sat on too long to the other peers as well, without taking it
   * from this one: its block is open again for anyone to request, and this peer's answer is
   * still accepted if it comes. The entry stays in `peer.outstanding`, marked with
   * {@linkcode EXPIRED} as its send time, so the peer cannot take the same block again.
   * @param peer The slow peer.
   * @param key The request's block key.
   * @returns `true` if the request was outstanding and not yet expired.
   */
  expire(peer: P, key: number): boolean {
    const sentAtMs = peer.outstanding.get(key);
    if (sentAtMs === undefined || sentAtMs === EXPIRED) return false;
    peer.outstanding.set(key, EXPIRED);
    this.#expiredKeys.add(key);
    this.#releaseKey(key);
    return true;
  }

  #releaseKey(key: number): void {
    const piece = this.active.get(Math.floor(key / BLOCKS_PER_KEY));
    if (!piece) return;
    const block = key % BLOCKS_PER_KEY;
    const state = piece.blocks[block];
    if (state === RECEIVED || state === 0) return;
    piece.blocks[block] = state - 1;
    if (state === 1) {
      piece.missing++;
      this.#open.add(piece);
    }
  }

  /**
   * Tells whether the peer has any piece we still need.
   * @param peer The peer.
   * @returns `true` if we should be interested in it.
   */
  isInteresting(peer: P): boolean {
    const { has } = peer;
    if (this.have.count === 0) return has.count > 0;
    for (let i = 0; i < has.size; i++) if (has.has(i) && !this.have.has(i)) return true;
    return false;
  }

  /**
   * Chooses up to `max` new blocks to request from a peer and records them as outstanding.
   * @param peer The peer (it must have unchoked us).
   * @param max How many requests the peer's pipeline has room for.
   * @param nowMs The time to record for each request.
   * @returns The blocks to request, possibly none.
   */
  fillRequests(peer: P, max: number, nowMs: number = performance.now()): BlockRequest[] {
    const out: BlockRequest[] = [];
    if (max <= 0) return out;
    // 1. Blocks nobody was asked for, in pieces already started.
    for (const piece of this.#open) {
      if (!peer.has.has(piece.index)) continue;
      this.#takeBlocks(peer, piece, out, max, nowMs, 0);
      if (out.length >= max) return out;
    }
    // 2. New pieces, rarest first, while the memory budget allows.
    while (out.length < max) {
      const index = this.#pickNew(peer);
      if (index === undefined) break;
      const piece = this.#startPiece(index);
      this.#takeBlocks(peer, piece, out, max, nowMs, 0);
    }
    // 3. Endgame: blocks already asked of others, not yet of this peer.
    if (out.length < max && this.endgame) {
      for (const piece of this.active.values()) {
        if (piece.complete || !peer.has.has(piece.index)) continue;
        this.#takeBlocks(peer, piece, out, max, nowMs, ENDGAME_MAX_REQUESTERS);
        if (out.length >= max) break;
      }
    }
    return out;
  }

  #pickNew(peer: P): number | undefined {
    const size = this.geometry.pieceLength;
    if (this.active.size > 0 && this.#activeBytes + size > this.#maxActiveBytes) return undefined;
    return pickPiece({
      pieceCount: this.geometry.pieceCount,
      haveCount: this.have.count,
      have: (i) => this.have.has(i),
      inProgress: (i) => this.active.has(i),
      peerHas: (i) => peer.has.has(i),
      availability: this.availability,
      random: this.#random,
    });
  }

  #startPiece(index: number): ActivePiece {
    const size = pieceSize(this.geometry, index);
    const piece = new ActivePiece(
      index,
      size,
      size === this.geometry.pieceLength ? this.#spare.pop() : undefined,
    );
    this.active.set(index, piece);
    this.#open.add(piece);
    this.#activeBytes += piece.size;
    return piece;
  }

  /** Takes blocks of `piece` whose request count is at most `maxShared` (0: unrequested only). */
  #takeBlocks(
    peer: P,
    piece: ActivePiece,
    out: BlockRequest[],
    max: number,
    nowMs: number,
    maxShared: number,
  ): void {
    const { blocks } = piece;
    const base = piece.index * BLOCKS_PER_KEY;
    for (let b = 0; b < blocks.length && out.length < max; b++) {
      const state = blocks[b];
      if (state === RECEIVED) continue;
      if (maxShared === 0 ? state !== 0 : state >= maxShared) continue;
      const key = base + b;
      if (peer.outstanding.has(key)) continue;
      if (state === 0) piece.missing--;
      blocks[b] = state + 1;
      peer.outstanding.set(key, nowMs);
      const begin = b * BLOCK_SIZE;
      out.push({ index: piece.index, begin, length: Math.min(BLOCK_SIZE, piece.size - begin) });
    }
    if (piece.missing === 0) this.#open.delete(piece);
  }

  /**
   * Stores a block a peer sent. The caller has already checked the frame's bounds.
   * @param peer The peer that sent it.
   * @param peerId The peer's id (recorded as a contributor of the piece).
   * @param index Piece index.
   * @param begin Offset in the piece.
   * @param block The bytes (copied into the piece buffer; may be a view of a read buffer).
   * @returns `undefined` if we never asked this peer for the block (or it was cancelled),
   *   otherwise what happened.
   */
  receiveBlock(
    peer: P,
    peerId: string,
    index: number,
    begin: number,
    block: Uint8Array,
  ): BlockOutcome<P> | undefined {
    const key = blockKey(index, begin);
    const sentAtMs = peer.outstanding.get(key);
    if (sentAtMs === undefined) return undefined;
    const piece = this.active.get(index);
    if (piece && block.length !== Math.min(BLOCK_SIZE, piece.size - begin)) return undefined;
    peer.outstanding.delete(key);
    const cancel: P[] = [];
    if (!piece) return { cancel };
    const b = begin / BLOCK_SIZE;
    const state = piece.blocks[b];
    if (state === RECEIVED) return { cancel };
    if (state === 0) piece.missing--; // reopened (expired or discarded), and nobody asked again
    piece.data.set(block, begin);
    piece.blocks[b] = RECEIVED;
    piece.received++;
    piece.contributors.add(peerId);
    // Anyone else still waiting for this block is told to stop. `state` counts the requests
    // that are not expired; an expired one is remembered in #expiredKeys.
    const othersAsked = state > (sentAtMs === EXPIRED ? 0 : 1);
    if (this.#expiredKeys.delete(key) || othersAsked) {
      for (const other of this.#peers) {
        if (other !== peer && other.outstanding.delete(key)) cancel.push(other);
      }
    }
    if (piece.missing === 0) this.#open.delete(piece);
    return piece.complete ? { completed: piece, cancel } : { cancel };
  }

  /**
   * Throws away the blocks a peer delivered to pieces still being assembled (call it when the
   * peer is banned for bad data): those pieces are fetched again from others, so an honest
   * peer that completes them is never blamed for the bad peer's bytes. Requests outstanding
   * with other peers stay as they are.
   * @param peerId The banned peer's id, as passed to {@linkcode PieceScheduler.receiveBlock}.
   */
  discardFrom(peerId: string): void {
    for (const piece of this.active.values()) {
      if (piece.complete || !piece.contributors.has(peerId)) continue;
      for (let b = 0; b < piece.blocks.length; b++) {
        if (piece.blocks[b] !== RECEIVED) continue;
        piece.blocks[b] = 0;
        piece.missing++;
      }
      piece.received = 0;
      piece.contributors.clear();
      this.#open.add(piece);
    }
  }

  /**
   * Hands back a finished piece's buffer for a later piece to reuse, which keeps memory flat
   * instead of allocating (and leaving the allocator to return) one buffer per piece. The
   * caller must not touch `buffer` afterwards.
   * @param buffer A piece buffer from {@linkcode ActivePiece.data}.
   */
  recycle(buffer: Uint8Array): void {
    const limit = Math.floor(this.#maxActiveBytes / this.geometry.pieceLength);
    if (
      buffer.length === this.geometry.pieceLength && buffer.byteOffset === 0 &&
      buffer.buffer.byteLength === buffer.length && this.#spare.length < limit
    ) this.#spare.push(buffer);
  }

  /**
   * Marks a complete piece as verified and written: frees its buffer, sets it in `have`.
   * @param index Piece index.
   */
  pieceVerified(index: number): void {
    this.#finish(index);
    this.have.set(index);
  }

  /**
   * Throws away a piece that failed its hash check, so it is downloaded again.
   * @param index Piece index.
   */
  pieceFailed(index: number): void {
    this.#finish(index);
  }

  #finish(index: number): void {
    const piece = this.active.get(index);
    if (!piece) return;
    this.active.delete(index);
    this.#open.delete(piece);
    this.#activeBytes -= piece.size;
    for (let b = 0; b < piece.blocks.length; b++) {
      const key = index * BLOCKS_PER_KEY + b;
      this.#expiredKeys.delete(key);
      for (const peer of this.#peers) peer.outstanding.delete(key);
    }
  }
}
