import type { Bitfield } from "../bytes/bitfield.ts";
import { BLOCK_SIZE, type PieceGeometry, pieceSize } from "../metainfo/geometry.ts";

export { ActivePiece, blockKey, blockOfKey, type BlockRequest } from "./active_piece.ts";
import {
  ActivePiece,
  blockKey,
  type BlockRequest,
  BLOCKS_PER_KEY,
  RECEIVED,
} from "./active_piece.ts";
import { ForgottenRequests } from "./forgotten_requests.ts";
import { MemoryBudget } from "./memory_budget.ts";
import { Notifier } from "./notifier.ts";
import { PiecePriorities, PRIORITY_HIGH } from "./piece_priorities.ts";
import { pickPiece } from "./piece_picker.ts";
import type { BlockOutcome, PieceSchedulerOptions, SchedulerPeer } from "./scheduler_types.ts";

export type { BlockOutcome, PieceSchedulerOptions, SchedulerPeer } from "./scheduler_types.ts";

/** Default budget for piece buffers in memory: 16 MiB (or four pieces when pieces are larger). */
export const DEFAULT_MAX_ACTIVE_BYTES: number = 16 * 1024 * 1024;

/** The send time {@linkcode PieceScheduler.expire} gives a request it has reopened. */
export const EXPIRED: number = Infinity;
/** In endgame, at most this many peers are asked for the same block. */
const ENDGAME_MAX_REQUESTERS = 3;

/** What the scheduler keeps per peer besides the peer's own fields. */
interface PeerBookkeeping {
  /** Requests cancelled or released: a late block for one is harmless. */
  readonly forgotten: ForgottenRequests;
  /** Woken when the peer's request pipeline may have work. */
  readonly wake: Notifier;
}

/**
 * Decides which blocks to request from which peer: finishes partial pieces first, starts new
 * pieces rarest-first ({@linkcode pickPiece}), keeps piece buffers under a byte budget, and in
 * endgame asks several peers for the last blocks. It holds no sockets and no timers.
 * @example
 * ```ts
 * import { Bitfield } from "@shoal/shoal/scheduler";
 * import { PieceScheduler } from "./piece_scheduler.ts";
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
  /** The priority of each piece (from file priorities and stream readers). */
  readonly priorities: PiecePriorities;
  /** The memory budget piece buffers draw from. */
  readonly budget: MemoryBudget;
  /** Download in piece order instead of rarest first. */
  sequential: boolean;
  /** Active pieces that still have blocks nobody was asked for. */
  readonly #open: Set<ActivePiece> = new Set();
  #activeBytes = 0;
  #spareBytes = 0;
  readonly #random: () => number;
  readonly #unsubscribe: () => void;
  readonly #peers: Map<P, PeerBookkeeping> = new Map();
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
    this.budget = options.budget ?? new MemoryBudget(
      options.maxActiveBytes ?? Math.max(DEFAULT_MAX_ACTIVE_BYTES, 4 * geometry.pieceLength),
    );
    this.priorities = new PiecePriorities(have);
    this.sequential = options.sequential ?? false;
    this.#random = options.random ?? Math.random;
    // Another torrent's piece freed memory: our peers may start pieces again.
    this.#unsubscribe = this.budget.onRelease(() => this.wakeAll());
  }

  /** `true` once every wanted piece (priority above 0) is verified. */
  get finished(): boolean {
    return this.priorities.missing === 0;
  }

  /**
   * Changes the piece priorities (the files' priorities); wakes every pipeline.
   * @param priorities One level per piece (0 skip, 1 normal, 2 high).
   */
  setPriorities(priorities: Uint8Array): void {
    this.priorities.setBase(priorities);
    this.wakeAll();
  }

  /**
   * Raises some pieces above the files' priorities for one owner (a stream reader), replacing
   * that owner's earlier boosts; wakes every pipeline.
   * @param owner Any object identifying the owner.
   * @param levels Piece index -> level (3 to 7).
   */
  boost(owner: object, levels: ReadonlyMap<number, number>): void {
    this.priorities.setBoost(owner, levels);
    this.wakeAll();
  }

  /**
   * Drops an owner's boosts.
   * @param owner The owner given to {@linkcode PieceScheduler.boost}.
   */
  clearBoost(owner: object): void {
    this.priorities.clearBoost(owner);
    this.wakeAll();
  }

  /**
   * Gives back every byte this scheduler holds in the memory budget (pieces in flight and spare
   * buffers) and stops listening to it. Call it when the torrent stops.
   */
  dispose(): void {
    this.#unsubscribe();
    this.#spare.length = 0;
    const held = this.#activeBytes + this.#spareBytes;
    this.#activeBytes = this.#spareBytes = 0;
    this.budget.release(held, "pieces");
  }

  /** Bytes held in piece buffers now. */
  get activeBytes(): number {
    return this.#activeBytes;
  }

  /** `true` when every missing wanted piece is already being downloaded: blocks may be asked twice. */
  get endgame(): boolean {
    const missing = this.priorities.missing;
    if (missing > this.active.size) return false;
    let activeWanted = 0;
    for (const index of this.active.keys()) if (this.priorities.get(index) > 0) activeWanted++;
    return activeWanted >= missing;
  }

  /**
   * Starts counting a peer's pieces in the availability map.
   * @param peer The peer (its `has` may grow later through {@linkcode peerHave}).
   */
  addPeer(peer: P): void {
    if (this.#peers.has(peer)) return;
    this.#peers.set(peer, { forgotten: new ForgottenRequests(), wake: new Notifier() });
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
    const needed = !this.have.has(index);
    if (needed) this.wake(peer);
    return needed;
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
    this.wake(peer);
  }

  /**
   * Forgets a peer: its pieces leave the availability map and its outstanding requests are
   * released for others.
   * @param peer The peer.
   */
  removePeer(peer: P): void {
    if (!this.#peers.has(peer)) return;
    this.releaseAll(peer);
    this.#peers.get(peer)?.wake.notify(); // a pipeline still waiting sees the peer is gone
    this.#peers.delete(peer);
    const { has } = peer;
    for (let i = 0; i < has.size; i++) if (has.has(i)) this.availability[i]--;
  }

  /**
   * Tells whether a peer is counted (between {@linkcode addPeer} and {@linkcode removePeer}).
   * @param peer The peer.
   * @returns `true` while it is.
   */
  hasPeer(peer: P): boolean {
    return this.#peers.has(peer);
  }

  /**
   * The peers being counted.
   * @returns Them, in the order they were added.
   */
  peers(): IterableIterator<P> {
    return this.#peers.keys();
  }

  /**
   * Releases every outstanding request to a peer (it choked us, was snubbed or left): its
   * blocks are open to others again, and a late answer from it is harmless.
   * @param peer The peer.
   */
  releaseAll(peer: P): void {
    if (peer.outstanding.size === 0) return;
    for (const [key, sentAtMs] of peer.outstanding) {
      this.#forget(peer, key);
      if (sentAtMs !== EXPIRED) this.#releaseKey(key);
    }
    peer.outstanding.clear();
    this.wakeAll();
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
    this.#forget(peer, key);
    if (sentAtMs !== EXPIRED) this.#releaseKey(key);
    this.wakeAll();
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
    this.wakeAll();
    return true;
  }

  /**
   * Wakes the request pipeline of one peer ({@linkcode PieceScheduler.wait}), e.g. after it
   * unchoked us or we became interested: the scheduler cannot see those changes itself.
   * @param peer The peer.
   */
  wake(peer: P): void {
    this.#peers.get(peer)?.wake.notify();
  }

  /** Wakes every peer's request pipeline (blocks were opened up or memory freed). */
  wakeAll(): void {
    for (const state of this.#peers.values()) state.wake.notify();
  }

  /**
   * Waits until the peer's pipeline may have work: a block was released or opened up, a piece
   * finished (freeing memory), the peer gained pieces, or {@linkcode PieceScheduler.wake}. A
   * wake-up before the wait is remembered.
   * @param peer The peer (added with {@linkcode addPeer}; a removed peer returns at once).
   * @param signal Aborts the wait.
   * @param timeoutMs Return after this long even if nothing happened.
   * @returns When woken or timed out.
   * @throws The signal's reason when aborted.
   */
  wait(peer: P, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    return this.#peers.get(peer)?.wake.wait(signal, timeoutMs) ?? Promise.resolve();
  }

  #forget(peer: P, key: number): void {
    this.#peers.get(peer)?.forgotten.forget(key);
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
    if (this.finished || has.count === 0) return false;
    const priorities = this.priorities;
    for (let i = 0; i < has.size; i++) {
      if (has.has(i) && !this.have.has(i) && priorities.get(i) > 0) return true;
    }
    return false;
  }

  /**
   * Chooses up to `max` new blocks to request from a peer and records them as outstanding.
   * A piece the peer suggested (BEP 6) is started first when it is among the most wanted.
   * @param peer The peer (it must have unchoked us, or allowed `only` while choking us).
   * @param max How many requests the peer's pipeline has room for.
   * @param nowMs The time to record for each request.
   * @param only Ask only for these pieces (the peer's allowed-fast set while it chokes us).
   * @returns The blocks to request, possibly none.
   */
  fillRequests(
    peer: P,
    max: number,
    nowMs: number = performance.now(),
    only?: ReadonlySet<number>,
  ): BlockRequest[] {
    const out: BlockRequest[] = [];
    if (max <= 0) return out;
    // 1. Blocks nobody was asked for, in pieces already started.
    for (const piece of this.#open) {
      if (!peer.has.has(piece.index) || (only && !only.has(piece.index))) continue;
      this.#takeBlocks(peer, piece, out, max, nowMs, 0);
      if (out.length >= max) return out;
    }
    // 2. New pieces (suggested, else rarest first) while the memory budget allows.
    while (out.length < max) {
      const index = only
        ? this.#pickFrom(peer, only, 1)
        : (this.#pickFrom(peer, peer.suggested, this.priorities.top) ?? this.#pickNew(peer));
      if (index === undefined) break;
      const piece = this.#startPiece(index);
      if (!piece) break; // the memory budget is full: wait for a piece to finish
      this.#takeBlocks(peer, piece, out, max, nowMs, 0);
    }
    // 3. Endgame: blocks already asked of others, not yet of this peer.
    if (out.length < max && this.endgame) {
      for (const piece of this.active.values()) {
        if (piece.complete || !peer.has.has(piece.index)) continue;
        if (only && !only.has(piece.index)) continue;
        this.#takeBlocks(peer, piece, out, max, nowMs, ENDGAME_MAX_REQUESTERS);
        if (out.length >= max) break;
      }
    }
    return out;
  }

  /** The first of `candidates` the peer has, not started, and wanted at `level` or above. */
  #pickFrom(peer: P, candidates: Iterable<number> | undefined, level: number): number | undefined {
    if (!candidates) return undefined;
    for (const i of candidates) {
      if (i < this.geometry.pieceCount && peer.has.has(i) && !this.have.has(i)) {
        if (!this.active.has(i) && this.priorities.get(i) >= level) return i;
      }
    }
    return undefined;
  }

  #pickNew(peer: P): number | undefined {
    const priorities = this.priorities;
    return pickPiece({
      pieceCount: this.geometry.pieceCount,
      haveCount: this.have.count,
      have: (i) => this.have.has(i),
      inProgress: (i) => this.active.has(i),
      peerHas: (i) => peer.has.has(i),
      availability: this.availability,
      random: this.#random,
      priority: (i) => priorities.get(i),
      topPriority: priorities.top > PRIORITY_HIGH ? PRIORITY_HIGH : priorities.top,
      boosted: priorities.boosted,
      sequential: this.sequential,
    });
  }

  /** Starts a piece if the memory budget has room for it (a spare buffer is already paid for). */
  #startPiece(index: number): ActivePiece | undefined {
    const size = pieceSize(this.geometry, index);
    let buffer: Uint8Array | undefined;
    if (size === this.geometry.pieceLength && this.#spare.length > 0) {
      buffer = this.#spare.pop()!;
      this.#spareBytes -= buffer.length;
    } else if (!this.budget.tryReserve(size, "pieces")) {
      return undefined;
    }
    const piece = new ActivePiece(index, size, buffer);
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
    if (sentAtMs === undefined) {
      const late = this.#peers.get(peer)?.forgotten.take(key) || this.have.has(index);
      return late ? { cancel: [], late: true } : undefined;
    }
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
      for (const other of this.#peers.keys()) {
        if (other !== peer && other.outstanding.delete(key)) {
          this.#forget(other, key);
          cancel.push(other);
        }
      }
    }
    if (piece.missing === 0) this.#open.delete(piece);
    // Its pipeline has room again (woken only once it has enough room to refill).
    if (!(peer.outstanding.size > (peer.wakeBelow ?? Infinity))) this.wake(peer);
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
    this.wakeAll();
  }

  /**
   * Hands back a finished piece's buffer for a later piece to reuse, which keeps memory flat
   * instead of allocating (and leaving the allocator to return) one buffer per piece. The
   * caller must not touch `buffer` afterwards.
   * @param buffer A piece buffer from {@linkcode ActivePiece.data}.
   */
  recycle(buffer: Uint8Array): void {
    // Spares stay paid for in the budget, so they are few: at most a quarter of it (an eighth
    // dropped 28% of the buffers of a 1 GiB download, to be collected later: RSS spikes).
    if (
      buffer.length === this.geometry.pieceLength && buffer.byteOffset === 0 &&
      buffer.buffer.byteLength === buffer.length &&
      this.#spareBytes + buffer.length <= this.budget.limit / 4 &&
      this.budget.tryReserve(buffer.length, "pieces")
    ) {
      this.#spare.push(buffer);
      this.#spareBytes += buffer.length;
    }
  }

  /**
   * Marks a complete piece as verified and written: frees its buffer, sets it in `have`.
   * @param index Piece index.
   */
  pieceVerified(index: number): void {
    if (!this.have.has(index)) this.priorities.pieceVerified(index);
    this.#finish(index, false);
    this.have.set(index);
  }

  /**
   * Throws away a piece that failed its hash check, so it is downloaded again. Requests still
   * out for it (expired ones included) are forgotten, so their late blocks are harmless.
   * @param index Piece index.
   */
  pieceFailed(index: number): void {
    this.#finish(index, true);
  }

  #finish(index: number, failed: boolean): void {
    const piece = this.active.get(index);
    if (!piece) return;
    this.active.delete(index);
    this.#open.delete(piece);
    this.#activeBytes -= piece.size;
    for (let b = 0; b < piece.blocks.length; b++) {
      const key = index * BLOCKS_PER_KEY + b;
      this.#expiredKeys.delete(key);
      for (const peer of this.#peers.keys()) {
        if (peer.outstanding.delete(key) && failed) this.#forget(peer, key);
      }
    }
    // The piece's bytes leave the memory budget, which wakes every pipeline (ours included).
    this.budget.release(piece.size, "pieces");
  }
}
