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
  readonly #cache = new Map<number, { data: Promise<Uint8Array>; bytes: number }>();
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
    this.#init.budget?.release(cached.bytes, "cache");
  }

  /** Empties the read cache (its bytes go back to the memory budget). */
  dispose(): void {
    for (const index of [...this.#cache.keys()]) this.forgetPiece(index);
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
        await this.#init.limit.take(bytes, signal);
        const read = await Promise.all(batch.map((request) => this.#readOrLose(request)));
        const lost = batch.filter((_, i) => read[i] === undefined);
        await writing;
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
        if (pieces.length === 0) continue;
        writing = peer.conn.send(pieces).then(() => this.#init.onSent(peer, sent));
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
  async #readOrLose(request: BlockRequest): Promise<Uint8Array | undefined> {
    if (this.#lost.has(request.index)) return undefined;
    try {
      return await this.#readBlock(request);
    } catch (error) {
      if (!(error instanceof StorageError) || error.code !== "EMISSING") throw error;
      if (!this.#lost.has(request.index)) {
        this.#lost.add(request.index);
        this.#init.onMissing?.(request.index, error);
      }
      return undefined;
    }
  }

  /** Reads a block for upload, through a small cache of whole pieces. */
  async #readBlock(request: BlockRequest): Promise<Uint8Array> {
    const { info, storage, budget } = this.#init;
    const size = pieceSize(info, request.index);
    let cached = this.#cache.get(request.index);
    if (!cached) {
      if (size > MAX_CACHED_PIECE_BYTES) {
        return storage.readBlock(request.index, request.begin, request.length);
      }
      if (this.#cache.size >= UPLOAD_CACHE_PIECES) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.forgetPiece(oldest);
      }
      if (budget && !budget.tryReserve(size, "cache")) {
        return storage.readBlock(request.index, request.begin, request.length);
      }
      const data = storage.readPiece(request.index);
      cached = { data, bytes: budget ? size : 0 };
      this.#cache.set(request.index, cached);
      data.catch(() => this.forgetPiece(request.index));
    }
    const data = await cached.data;
    return data.subarray(request.begin, request.begin + request.length);
  }
}

/** We choke the peer and it may not have this piece meanwhile. */
function isChoked(peer: UploadPeer, index: number): boolean {
  return peer.amChoking && !peer.grantedFast?.has(index);
}
