import type { Bitfield } from "../bytes/bitfield.ts";
import { pieceSize } from "../metainfo/geometry.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import type { RateLimiter } from "../peer/rate_limiter.ts";
import type { BlockRequest } from "../scheduler/piece_scheduler.ts";
import type { MemoryBudget } from "../scheduler/memory_budget.ts";
import type { Notifier } from "../scheduler/notifier.ts";
import type { TorrentStorage } from "../storage/torrent_storage.ts";
import type { HandshakeExtensions } from "../wire/handshake.ts";
import type { PeerMessage } from "../wire/message.ts";
import { checkRequest } from "./check_request.ts";
import { StorageError } from "../storage/storage_error.ts";

/** Requests one peer may have queued with us; we advertise it as `reqq` (BEP 10). */
export const MAX_QUEUED_UPLOADS = 2000;
/** Requests refused for a full queue after which the peer counts as flooding and is dropped. */
export const MAX_OVERFLOW_REQUESTS: number = 4 * MAX_QUEUED_UPLOADS;
/** Most bytes of blocks sent to one peer in one write. */
export const UPLOAD_BATCH_BYTES: number = 256 * 1024;
/** Whole pieces kept in the upload read cache (pieces over 4 MiB are read block by block). */
export const UPLOAD_CACHE_PIECES = 16;
const MAX_CACHED_PIECE_BYTES = 4 * 1024 * 1024;
/**
 * Queued requests looked at past the batch being sent: their pieces are read ahead (whole), so
 * the next batch finds them in the cache instead of waiting for the disk.
 */
const READ_AHEAD_REQUESTS = 256;
/** Most pieces read ahead for one peer at once. */
const READ_AHEAD_PIECES = 2;
/** Recycled piece buffers kept (each eviction frees one and the next read takes it). */
const MAX_FREE_BUFFERS = 4;

/** A whole piece in the read cache. */
interface CachedPiece {
  /** Settles with the piece's bytes. */
  readonly data: Promise<Uint8Array>;
  /** Bytes reserved in the memory budget for it (0 without a budget). */
  readonly bytes: number;
  /** The buffer it is read into, recycled once it leaves the cache and is not pinned. */
  readonly buffer: Uint8Array;
  /** Batches holding views of it that are not written yet. */
  pins: number;
  /** `true` once it left the cache (its buffer is recycled when the last pin goes). */
  evicted: boolean;
}

/** What the upload server reads and updates about a peer. */
export interface UploadPeer {
  /** Where replies go. */
  readonly conn: {
    readonly extensions: HandshakeExtensions;
    send(messages: PeerMessage | readonly PeerMessage[]): Promise<void>;
  };
  /** BEP 3: we choke the peer. */
  readonly amChoking: boolean;
  /** BEP 6: pieces we allowed it to request while we choke it. */
  readonly grantedFast?: ReadonlySet<number>;
  /** Its requests to us, waiting to be served. */
  readonly uploadQueue: BlockRequest[];
  /** Woken when the upload queue gains requests. */
  readonly uploadWake: Notifier;
  /** Requests received while we choke it, since the last unchoke. */
  chokedRequests: number;
  /** Requests refused because its queue with us was full. */
  overflowRequests: number;
}

/** What the upload server needs from the session. */
export interface UploadServerInit {
  /** The torrent. */
  readonly info: TorrentInfo;
  /** Where blocks are read from. */
  readonly storage: TorrentStorage;
  /** The pieces we have (only those are served). */
  readonly have: Bitfield;
  /** The upload rate limit. */
  readonly limit: RateLimiter;
  /** The client's memory budget: cached pieces draw from it (none are cached when it is full). */
  readonly budget?: MemoryBudget;
  /** A piece's data is gone from disk (reported once per piece; the piece is not served). */
  readonly onMissing?: (index: number, error: StorageError) => void;
  /** Called with the bytes of each batch once it is handed to the socket. */
  readonly onSent: (peer: UploadPeer, bytes: number) => void;
}

/**
 * Serves blocks to peers (BEP 3): checks each request, queues it per peer, and per peer runs
 * a loop that reads batches of blocks (through a small cache of whole pieces) and writes one
 * batch while it reads the next. Requests while we choke the peer, or beyond its queue, are
 * rejected (BEP 6); a peer that keeps flooding is dropped.
 */
export class UploadServer {
  readonly #init: UploadServerInit;
  readonly #cache = new Map<number, CachedPiece>();
  /** Piece buffers of full-length pieces that left the cache, ready for the next read. */
  readonly #free: Uint8Array[] = [];
  /** Pieces whose data went missing from disk: no longer served. */
  readonly #lost = new Set<number>();

  /**
   * Makes the server.
   * @param init The torrent, its storage and pieces, the rate limit and a sent-bytes callback.
   */
  constructor(init: UploadServerInit) {
    this.#init = init;
  }

  /**
   * Handles a `request` from a peer.
   * @param peer The peer.
   * @param request The block it asks for.
   * @returns A reason to drop the peer, or `undefined`.
   */
  onRequest(peer: UploadPeer, request: BlockRequest): string | undefined {
    const verdict = checkRequest(request, {
      geometry: this.#init.info,
      have: (i) => this.#init.have.has(i),
      amChoking: isChoked(peer, request.index),
      queued: peer.uploadQueue.length,
      maxQueued: MAX_QUEUED_UPLOADS,
    });
    if (verdict.action === "drop") return verdict.reason;
    if (verdict.action === "reject" || this.#lost.has(request.index)) {
      if (peer.amChoking && ++peer.chokedRequests > MAX_QUEUED_UPLOADS) {
        return `kept sending requests while choked (over ${MAX_QUEUED_UPLOADS})`;
      }
      if (
        peer.uploadQueue.length >= MAX_QUEUED_UPLOADS &&
        ++peer.overflowRequests > MAX_OVERFLOW_REQUESTS
      ) {
        return `flooded us with requests beyond the ${MAX_QUEUED_UPLOADS} we allow`;
      }
      if (peer.conn.extensions.fast) {
        // Fields copied one by one: `request` may be the decoded message itself.
        const { index, begin, length } = request;
        peer.conn.send({ type: "reject", index, begin, length }).catch(() => {});
      }
      return undefined;
    }
    peer.uploadQueue.push({ index: request.index, begin: request.begin, length: request.length });
    peer.uploadWake.notify();
    return undefined;
  }

  /**
   * Handles a `cancel`: drops the request from the peer's queue if it is still there.
   * @param peer The peer.
   * @param request The block it no longer wants.
   */
  onCancel(peer: UploadPeer, request: BlockRequest): void {
    const at = peer.uploadQueue.findIndex((r) =>
      r.index === request.index && r.begin === request.begin && r.length === request.length
    );
    if (at >= 0) peer.uploadQueue.splice(at, 1);
  }

  /**
   * Empties a peer's queue because we choked it, rejecting the requests (BEP 6).
   * @param peer The peer.
   */
  onChoked(peer: UploadPeer): void {
    const refused = peer.uploadQueue.filter((r) => isChoked(peer, r.index));
    if (peer.conn.extensions.fast && refused.length > 0) {
      const rejects = refused.map((r): PeerMessage => ({ type: "reject", ...r }));
      peer.conn.send(rejects).catch(() => {});
    }
    const kept = peer.uploadQueue.filter((r) => !isChoked(peer, r.index)); // allowed fast
    peer.uploadQueue.splice(0, peer.uploadQueue.length, ...kept);
  }

  /**
   * Drops a piece from the read cache (it was just written, or rewritten).
   * @param index The piece.
   */
  forgetPiece(index: number): void {
    const cached = this.#cache.get(index);
    if (!cached) return;
    this.#cache.delete(index);
    cached.evicted = true;
    this.#init.budget?.release(cached.bytes, "cache");
    if (cached.pins === 0) this.#recycle(cached);
  }

  /** Empties the read cache (its bytes go back to the memory budget). */
  dispose(): void {
    for (const index of [...this.#cache.keys()]) this.forgetPiece(index);
    this.#free.length = 0;
  }

  /** Keeps the buffer of a piece that left the cache for the next read (a few at most). */
  #recycle(cached: CachedPiece): void {
    const { buffer } = cached;
    if (buffer.length !== this.#init.info.pieceLength) return;
    if (this.#free.length >= MAX_FREE_BUFFERS) return;
    // Only once its read is over: a read still running would write into the next piece.
    cached.data.then(() => this.#free.push(buffer), () => {});
  }

  /**
   * Serves one peer's queue until `signal` aborts: reads a batch, waits for the previous write,
   * sends the batch, and reads the next while it is written.
   * @param peer The peer.
   * @param signal Ends the loop.
   * @returns When stopped.
   * @throws A send or storage error (the caller drops the peer).
   */
  async run(peer: UploadPeer, signal: AbortSignal): Promise<void> {
    let writing: Promise<void> = Promise.resolve();
    try {
      while (!signal.aborted) {
        if (peer.uploadQueue.length === 0) {
          await writing;
          if (peer.uploadQueue.length === 0) await peer.uploadWake.wait(signal);
          continue;
        }
        const batch: BlockRequest[] = [];
        let bytes = 0;
        while (peer.uploadQueue.length > 0 && bytes < UPLOAD_BATCH_BYTES) {
          const request = peer.uploadQueue.shift()!;
          batch.push(request);
          bytes += request.length;
        }
        const pinned = this.#pin(batch);
        this.#readAhead(peer.uploadQueue);
        let read: (Uint8Array | undefined)[];
        try {
          await this.#init.limit.take(bytes, signal);
          read = await Promise.all(batch.map((request) => this.#readOrLose(request, pinned)));
          await writing;
        } catch (error) {
          this.#unpin(pinned);
          throw error;
        }
        const lost = batch.filter((_, i) => read[i] === undefined);
        // Choked while the batch was read: the rest of the queue was rejected, and so is this
        // batch, but for the pieces it may have while choked (BEP 6 allowed fast).
        const refused = batch.filter((r, i) => read[i] !== undefined && isChoked(peer, r.index));
        if (peer.conn.extensions.fast && lost.length + refused.length > 0) {
          const rejects = [...lost, ...refused].map((r): PeerMessage => ({ type: "reject", ...r }));
          peer.conn.send(rejects).catch(() => {});
        }
        const pieces: PeerMessage[] = [];
        let sent = 0;
        batch.forEach((r, i) => {
          const block = read[i];
          if (block === undefined || isChoked(peer, r.index)) return;
          pieces.push({ type: "piece", ...r, block });
          sent += r.length;
        });
        if (pieces.length === 0) {
          this.#unpin(pinned);
          continue;
        }
        const sending = peer.conn.send(pieces);
        // The views stay pinned until the bytes are copied out and written.
        sending.finally(() => this.#unpin(pinned)).catch(() => {});
        writing = sending.then(() => this.#init.onSent(peer, sent));
        writing.catch(() => {}); // awaited on the next turn; never left unhandled
      }
      await writing;
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /**
   * Reads a block, or (when its data went missing from disk: a file deleted under a seed)
   * reports the piece lost once and returns `undefined`; the rest goes on being served.
   */
  async #readOrLose(
    request: BlockRequest,
    pinned: ReadonlyMap<number, CachedPiece>,
  ): Promise<Uint8Array | undefined> {
    if (this.#lost.has(request.index)) return undefined;
    try {
      return await this.#readBlock(request, pinned);
    } catch (error) {
      if (!(error instanceof StorageError) || error.code !== "EMISSING") throw error;
      if (!this.#lost.has(request.index)) {
        this.#lost.add(request.index);
        this.#init.onMissing?.(request.index, error);
      }
      return undefined;
    }
  }

  /** Pins the cached pieces a batch's blocks come from (reading those not cached yet). */
  #pin(batch: readonly BlockRequest[]): Map<number, CachedPiece> {
    const pinned = new Map<number, CachedPiece>();
    for (const { index } of batch) {
      if (pinned.has(index)) continue;
      const cached = this.#cached(index);
      if (!cached) continue;
      cached.pins++;
      pinned.set(index, cached);
    }
    return pinned;
  }

  #unpin(pinned: ReadonlyMap<number, CachedPiece>): void {
    for (const cached of pinned.values()) {
      cached.pins--;
      if (cached.pins === 0 && cached.evicted) this.#recycle(cached);
    }
  }

  /** Starts reading the pieces of the next queued requests, a few pieces ahead. */
  #readAhead(queue: readonly BlockRequest[]): void {
    let started = 0;
    let last = -1;
    for (let i = 0; i < queue.length && i < READ_AHEAD_REQUESTS; i++) {
      const { index } = queue[i];
      if (index === last) continue;
      last = index;
      if (this.#cache.has(index) || this.#lost.has(index)) continue;
      if (this.#cached(index) === undefined || ++started >= READ_AHEAD_PIECES) return;
    }
  }

  /**
   * The cache entry of a piece, reading the whole piece into a recycled buffer when it is not
   * cached; `undefined` for a piece too large to cache, a lost piece, or when the memory budget
   * is full.
   */
  #cached(index: number): CachedPiece | undefined {
    const cached = this.#cache.get(index);
    if (cached) {
      // Most recently used goes last, so eviction takes the oldest.
      this.#cache.delete(index);
      this.#cache.set(index, cached);
      return cached;
    }
    const { info, storage, budget } = this.#init;
    const size = pieceSize(info, index);
    if (size > MAX_CACHED_PIECE_BYTES || this.#lost.has(index)) return undefined;
    if (this.#cache.size >= UPLOAD_CACHE_PIECES) {
      for (const [oldest, entry] of this.#cache) {
        if (entry.pins === 0) {
          this.forgetPiece(oldest);
          break;
        }
      }
      if (this.#cache.size >= UPLOAD_CACHE_PIECES) return undefined; // all in use
    }
    if (budget && !budget.tryReserve(size, "cache")) return undefined;
    const buffer = (size === info.pieceLength ? this.#free.pop() : undefined) ??
      new Uint8Array(size);
    const data = storage.readBlock(index, 0, size, buffer);
    const entry: CachedPiece = { data, bytes: budget ? size : 0, buffer, pins: 0, evicted: false };
    this.#cache.set(index, entry);
    data.catch(() => {
      if (this.#cache.get(index) === entry) this.forgetPiece(index);
    });
    return entry;
  }

  /** Reads a block for upload, from its pinned cached piece or else from the disk. */
  async #readBlock(
    request: BlockRequest,
    pinned: ReadonlyMap<number, CachedPiece>,
  ): Promise<Uint8Array> {
    const cached = pinned.get(request.index);
    if (!cached) {
      return this.#init.storage.readBlock(request.index, request.begin, request.length);
    }
    const data = await cached.data;
    return data.subarray(request.begin, request.begin + request.length);
  }
}

/** We choke the peer and it may not have this piece meanwhile. */
function isChoked(peer: UploadPeer, index: number): boolean {
  return peer.amChoking && !peer.grantedFast?.has(index);
}
