import { BLOCK_SIZE } from "../metainfo/geometry.ts";
import type { HandshakeExtensions } from "../wire/handshake.ts";
import {
  decodeMessage,
  encodedMessageLength,
  encodeMessageInto,
  encodePieceHeader,
  MAX_FRAME_BYTES,
  type PeerMessage,
  PIECE_HEADER_BYTES,
} from "../wire/message.ts";
import { formatPeerAddress, type PeerAddress } from "../wire/peer_address.ts";
import { ProtocolError } from "../wire/protocol_error.ts";
import { PeerError } from "./peer_error.ts";
import { closeQuietly, writeAll } from "../util/io_helpers.ts";

// Connecting and the handshakes live in connect_peer.ts; re-exported for existing importers.
export {
  acceptPeer,
  type AcceptPeerOptions,
  CONNECT_TIMEOUT_MS,
  connectPeer,
  type ConnectPeerOptions,
} from "./connect_peer.ts";

/** Default size of a connection's read buffer (grown once for a larger frame). */
export const READ_BUFFER_BYTES: number = 256 * 1024;
/** A keep-alive is sent after this long without sending anything (BEP 3 suggests 2 minutes). */
export const KEEP_ALIVE_INTERVAL_MS = 60_000;
/**
 * `messages()` fails after this long waiting without receiving a single byte: longer than the
 * two-minute keep-alive interval common among clients, so a quiet peer is not cut off.
 */
export const IDLE_TIMEOUT_MS = 180_000;

/** The largest send buffer kept between writes; bigger batches use a one-off buffer. */
const MAX_KEPT_SEND_BUFFER_BYTES = 512 * 1024;
/** Read room below which a partial frame is moved to the front of the read buffer. */
const MIN_READ_ROOM_BYTES = 64 * 1024;
/**
 * A read buffer that a read fills to the brim (the peer sends faster than we read) doubles,
 * up to this size: a fast peer then costs a quarter of the reads (each one an op, a promise
 * and a wake-up of the event loop) while a slow one keeps the small buffer.
 */
const MAX_READ_BUFFER_BYTES = 1024 * 1024;

/** Tuning shared by {@linkcode connectPeer}, {@linkcode acceptPeer} and the constructor. */
export interface PeerConnectionOptions {
  /** Fail `messages()` after this long without a byte; {@linkcode IDLE_TIMEOUT_MS} by default. */
  idleTimeoutMs?: number;
  /** Send a keep-alive after this much send-idleness; {@linkcode KEEP_ALIVE_INTERVAL_MS} by default. */
  keepAliveIntervalMs?: number;
  /** Initial read buffer size; {@linkcode READ_BUFFER_BYTES} by default. */
  readBufferBytes?: number;
  /** Largest accepted frame length prefix; {@linkcode MAX_FRAME_BYTES} by default. */
  maxFrameBytes?: number;
}

/** What the {@linkcode PeerConnection} constructor needs about a connection whose handshake is done. */
export interface PeerConnectionInit extends PeerConnectionOptions {
  /** The peer's address. */
  remote: PeerAddress;
  /** The torrent's info hash. */
  infoHash: Uint8Array;
  /** The peer's 20-byte id, from its handshake. */
  peerId: Uint8Array;
  /** The extensions its handshake announced. */
  extensions: HandshakeExtensions;
  /** Our 20-byte peer id. */
  ourPeerId: Uint8Array;
  /** Number of pieces, when known; enables index and bitfield checks. */
  pieceCount?: number;
}

/**
 * One BitTorrent peer connection after the handshake: a framed reader
 * (`messages()`), serialised writes (`send()`, `sendPiece()`), keep-alives,
 * an idle timeout and byte counters. It keeps no choke/interest state: that
 * belongs to the caller.
 *
 * Reading uses one reused buffer ({@linkcode READ_BUFFER_BYTES}); frames are parsed in
 * place, so a yielded `piece.block` is a view that is valid only until the next
 * iteration of `messages()`. Copy it (`slice`) to keep it.
 * @example
 * ```ts
 * import { acceptPeer, connectPeer } from "@shoal/shoal/peer";
 * import { generatePeerId } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepting = listener.accept().then((conn) =>
 *   acceptPeer(conn, { peerId: generatePeerId(), lookup: () => ({ pieceCount: 2 }) })
 * );
 * await using client = await connectPeer(
 *   { host: "127.0.0.1", port: listener.addr.port },
 *   { infoHash: new Uint8Array(20), peerId: generatePeerId() },
 * );
 * await using server = await accepting;
 * await client.sendPiece(1, 0, new Uint8Array([5, 6]));
 * await client.close();
 * const got = [];
 * for await (const message of server.messages()) got.push(message);
 * deepStrictEqual(got, [{ type: "piece", index: 1, begin: 0, block: new Uint8Array([5, 6]) }]);
 * ```
 */
export class PeerConnection {
  /** The peer's address. */
  readonly remote: PeerAddress;
  /** The torrent's 20-byte info hash. */
  readonly infoHash: Uint8Array;
  /** The peer's 20-byte id (equal to {@linkcode PeerConnection.ourPeerId} on a self-connection). */
  readonly peerId: Uint8Array;
  /** Our 20-byte id, as sent in our handshake. */
  readonly ourPeerId: Uint8Array;
  /** The extensions the peer's handshake announced. */
  readonly extensions: HandshakeExtensions;
  /**
   * Number of pieces, when known. While set, `messages()` checks piece indexes and
   * bitfield length; a magnet download sets it once the metadata arrives.
   */
  pieceCount: number | undefined;
  /** Piece payload bytes received (`piece` block bytes). */
  downloadedBytes = 0;
  /** Piece payload bytes sent. */
  uploadedBytes = 0;
  /**
   * Bytes accepted by `send()` and `sendPiece()` and not yet handed to the socket (frames
   * included), so a caller can cap what it queues for one peer.
   */
  queuedBytes = 0;

  readonly #conn: Deno.Conn;
  readonly #peer: string;
  readonly #idleTimeoutMs: number;
  readonly #keepAliveIntervalMs: number;
  readonly #maxFrameBytes: number;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  #reading = false;
  /** A read filled the buffer: make it larger before the next read. */
  #grow = false;
  #closed = false;
  #idleExpired = false;
  #readPendingSince: number | undefined;
  #writePendingSince: number | undefined;
  #lastSendAt = Date.now();
  #idleTimer: ReturnType<typeof setTimeout>;
  #keepAliveTimer: ReturnType<typeof setTimeout>;
  #writeChain: Promise<void> = Promise.resolve();
  #sendBuffer = new Uint8Array(PIECE_HEADER_BYTES + BLOCK_SIZE + 256);

  /**
   * Wraps a TCP connection whose handshakes are already exchanged. Most callers use
   * {@linkcode connectPeer} or {@linkcode acceptPeer} instead. Starts the keep-alive and
   * idle timers, so the connection must be closed.
   * @param conn The socket.
   * @param init The peer's address, id and extensions, our id, the info hash, piece count
   *   and tuning.
   */
  constructor(conn: Deno.Conn, init: PeerConnectionInit) {
    this.#conn = conn;
    this.remote = init.remote;
    this.infoHash = init.infoHash;
    this.peerId = init.peerId;
    this.ourPeerId = init.ourPeerId;
    this.extensions = init.extensions;
    this.pieceCount = init.pieceCount;
    this.#peer = formatPeerAddress(init.remote);
    this.#idleTimeoutMs = init.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.#keepAliveIntervalMs = init.keepAliveIntervalMs ?? KEEP_ALIVE_INTERVAL_MS;
    this.#maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#buffer = new Uint8Array(init.readBufferBytes ?? READ_BUFFER_BYTES);
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // not a TCP socket, or already closed: nothing to tune
    }
    this.#idleTimer = setTimeout(() => this.#checkIdle(), this.#idleTimeoutMs);
    Deno.unrefTimer(this.#idleTimer);
    this.#keepAliveTimer = setTimeout(() => this.#checkKeepAlive(), this.#keepAliveIntervalMs);
    Deno.unrefTimer(this.#keepAliveTimer);
  }

  /** `true` once {@linkcode PeerConnection.close} ran (or the connection failed). */
  get closed(): boolean {
    return this.#closed;
  }

  #checkIdle(): void {
    if (this.#closed) return;
    const since = this.#readPendingSince;
    const waited = since === undefined ? 0 : Date.now() - since;
    const writing = this.#writePendingSince === undefined
      ? 0
      : Date.now() - this.#writePendingSince;
    if (waited >= this.#idleTimeoutMs || writing >= this.#idleTimeoutMs) {
      // Nothing received, or a write that has not moved (the peer stopped reading), for the
      // whole idle limit: the connection is dead or hostile.
      this.#idleExpired = true;
      this.#shutdown();
      return;
    }
    this.#idleTimer = setTimeout(() => this.#checkIdle(), this.#idleTimeoutMs - waited);
    Deno.unrefTimer(this.#idleTimer);
  }

  #checkKeepAlive(): void {
    if (this.#closed) return;
    const quiet = Date.now() - this.#lastSendAt;
    if (quiet >= this.#keepAliveIntervalMs) {
      this.send({ type: "keep-alive" }).catch(() => {});
      this.#lastSendAt = Date.now();
    }
    const wait = this.#keepAliveIntervalMs - Math.min(quiet, this.#keepAliveIntervalMs);
    this.#keepAliveTimer = setTimeout(
      () => this.#checkKeepAlive(),
      wait || this.#keepAliveIntervalMs,
    );
    Deno.unrefTimer(this.#keepAliveTimer);
  }

  #check(message: PeerMessage): void {
    const count = this.pieceCount;
    if (count === undefined) return;
    if (message.type === "bitfield") {
      const expected = Math.ceil(count / 8);
      if (message.bytes.length !== expected) {
        throw new ProtocolError(
          `Bad bitfield: ${message.bytes.length} bytes, expected ${expected}`,
          { peer: this.#peer },
        );
      }
      const spare = expected * 8 - count;
      if (spare > 0 && (message.bytes[expected - 1] & ((1 << spare) - 1)) !== 0) {
        throw new ProtocolError("Bad bitfield: spare bits set past the last piece", {
          peer: this.#peer,
        });
      }
    } else if ("index" in message && message.index >= count) {
      throw new ProtocolError(
        `Bad ${message.type}: piece index ${message.index} is out of range 0..${count - 1}`,
        { peer: this.#peer },
      );
    }
  }

  /**
   * Reads, frames and checks the peer's messages until it hangs up. Only one
   * iteration may run at a time; after a `break`, a later call resumes where it stopped.
   * A yielded `piece.block` is a view into the read buffer, valid only until the
   * next iteration. Ends normally on EOF or after {@linkcode PeerConnection.close};
   * any failure closes the connection.
   * @returns The messages, in order.
   * @throws {ProtocolError} For a malformed or oversized frame, an out-of-range piece index,
   *   or a bitfield of the wrong size or with spare bits set.
   * @throws {PeerError} When idle for longer than the idle timeout, or on a socket error.
   */
  async *messages(): AsyncGenerator<PeerMessage> {
    if (this.#reading) throw new Error("PeerConnection.messages() is already being iterated");
    this.#reading = true;
    try {
      while (!this.#closed) {
        while (true) {
          const decoded = decodeMessage(this.#buffer.subarray(this.#start, this.#end), {
            maxLength: this.#maxFrameBytes,
          });
          if (!decoded) break;
          this.#start += decoded.size;
          const { message } = decoded;
          this.#check(message);
          if (message.type === "piece") this.downloadedBytes += message.block.length;
          yield message;
          if (this.#closed) return;
        }
        this.#makeRoom();
        const room = this.#buffer.length - this.#end;
        const n = await this.#read();
        if (n === null) {
          await this.close();
          return;
        }
        this.#end += n;
        if (n === room && this.#buffer.length < MAX_READ_BUFFER_BYTES) this.#grow = true;
      }
    } catch (error) {
      const closedByUs = this.#closed && !this.#idleExpired;
      await this.close();
      if (error instanceof ProtocolError) {
        throw error.peer === undefined
          ? new ProtocolError(error.message, { peer: this.#peer, cause: error })
          : error;
      }
      if (this.#idleExpired) {
        throw new PeerError(`Cannot read from peer: idle for ${this.#idleTimeoutMs} ms`, {
          peer: this.#peer,
          cause: error,
        });
      }
      if (closedByUs) return;
      throw new PeerError(`Cannot read from peer: ${(error as Error)?.message ?? error}`, {
        peer: this.#peer,
        cause: error,
      });
    } finally {
      this.#reading = false;
    }
  }

  async #read(): Promise<number | null> {
    this.#readPendingSince = Date.now();
    try {
      return await this.#conn.read(this.#buffer.subarray(this.#end));
    } finally {
      this.#readPendingSince = undefined;
    }
  }

  /**
   * Moves a partial frame to the front when the tail room is short, or grows the buffer (for a
   * frame larger than it, or after a read filled it).
   */
  #makeRoom(): void {
    const buffer = this.#buffer;
    const pending = this.#end - this.#start;
    let need = 0;
    if (pending >= 4) {
      const at = this.#start;
      need = 4 + (((buffer[at] << 24) | (buffer[at + 1] << 16) | (buffer[at + 2] << 8) |
        buffer[at + 3]) >>> 0);
    }
    if (this.#grow || need > buffer.length) {
      this.#grow = false;
      const grown = new Uint8Array(
        Math.max(need, Math.min(MAX_READ_BUFFER_BYTES, buffer.length * 2)),
      );
      grown.set(buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    } else if (pending === 0) {
      this.#start = this.#end = 0;
      return;
    } else if (
      buffer.length - this.#start < need || buffer.length - this.#end < MIN_READ_ROOM_BYTES
    ) {
      buffer.copyWithin(0, this.#start, this.#end);
    } else {
      return;
    }
    this.#start = 0;
    this.#end = pending;
  }

  #enqueue(bytes: number, task: () => Promise<void>): Promise<void> {
    this.queuedBytes += bytes;
    const run = this.#writeChain.then(async () => {
      if (this.#closed) {
        throw new PeerError("Cannot send to peer: connection closed", { peer: this.#peer });
      }
      this.#writePendingSince = Date.now();
      try {
        await task();
        this.#lastSendAt = Date.now();
      } catch (error) {
        if (error instanceof RangeError) throw error;
        const closedByUs = this.#closed;
        this.#shutdown();
        throw new PeerError(
          closedByUs
            ? "Cannot send to peer: connection closed"
            : `Cannot send to peer: ${(error as Error)?.message ?? error}`,
          { peer: this.#peer, cause: error },
        );
      } finally {
        this.#writePendingSince = undefined;
      }
    }).finally(() => {
      this.queuedBytes -= bytes;
    });
    this.#writeChain = run.catch(() => {});
    return run;
  }

  #sendBufferOf(size: number): Uint8Array {
    if (size <= this.#sendBuffer.length) return this.#sendBuffer;
    const buffer = new Uint8Array(size);
    if (size <= MAX_KEPT_SEND_BUFFER_BYTES) this.#sendBuffer = buffer;
    return buffer;
  }

  /**
   * Sends one message or several in a single write. Sends are serialised, so
   * concurrent callers never interleave frames.
   * @param messages The message(s); `piece` blocks are counted in `uploadedBytes`.
   * @returns When every byte is handed to the socket.
   * @throws {PeerError} If the connection is closed or the write fails (the connection closes).
   * @throws {RangeError} If a message field is out of range.
   */
  send(messages: PeerMessage | readonly PeerMessage[]): Promise<void> {
    const list: readonly PeerMessage[] = Array.isArray(messages)
      ? messages
      : [messages as PeerMessage];
    let size = 0;
    for (const message of list) size += encodedMessageLength(message);
    return this.#enqueue(size, async () => {
      const buffer = this.#sendBufferOf(size);
      let offset = 0;
      let payload = 0;
      for (const message of list) {
        offset = encodeMessageInto(buffer, offset, message);
        if (message.type === "piece") payload += message.block.length;
      }
      await writeAll(this.#conn, buffer.subarray(0, size));
      this.uploadedBytes += payload;
    });
  }

  /**
   * Sends a `piece` message, copying the block once into a reused send buffer
   * (one write, measured faster than two small writes).
   * @param index Piece index.
   * @param begin Byte offset of the block in the piece.
   * @param block The block bytes; may be reused once the promise settles.
   * @returns When every byte is handed to the socket.
   * @throws {PeerError} If the connection is closed or the write fails.
   */
  sendPiece(index: number, begin: number, block: Uint8Array): Promise<void> {
    const size = PIECE_HEADER_BYTES + block.length;
    return this.#enqueue(size, async () => {
      const buffer = this.#sendBufferOf(size);
      buffer.set(encodePieceHeader(index, begin, block.length));
      buffer.set(block, PIECE_HEADER_BYTES);
      await writeAll(this.#conn, buffer.subarray(0, size));
      this.uploadedBytes += block.length;
    });
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#keepAliveTimer);
    closeQuietly(this.#conn);
  }

  /**
   * Closes the socket and stops the timers. Idempotent; pending sends fail with
   * {@linkcode PeerError} and a running `messages()` ends normally.
   * @returns When closed.
   */
  close(): Promise<void> {
    this.#shutdown();
    return Promise.resolve();
  }

  /**
   * Same as {@linkcode PeerConnection.close}, for `await using`.
   * @returns When closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
