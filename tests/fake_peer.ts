/**
 * A scripted BitTorrent peer on 127.0.0.1 for tests of magnet links (BEP 9). It speaks the BEP 3
 * handshake with the BEP 10 bit, sends a BEP 10 extension handshake offering `ut_metadata` and
 * `metadata_size`, and answers `ut_metadata` requests from the info bytes it is given, honestly
 * or in one of the hostile {@link FakePeerMode}s. It never sends piece data.
 *
 * It can listen ({@link FakePeer.listen}: the client under test dials it, possibly more than
 * once) or dial out ({@link FakePeer.dial}). It records everything it receives and sends, with
 * the time, so tests can assert e.g. "no piece was asked twice within 3 s"; {@link FakePeer.until}
 * waits for a condition on those records without polling or sleeping.
 *
 * ```ts ignore
 * await using peer = await FakePeer.listen({ infoBytes, mode: "honest" });
 * // ... point the client at 127.0.0.1:${peer.port} ...
 * await peer.until((p) => p.requests().length > 0, 5_000, "a ut_metadata request");
 * ```
 * @module
 */

import { sha1 } from "../src/sha1/sha1.ts";
import {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  type ExtensionHandshake,
} from "../src/wire/extension.ts";
import { decodeHandshake, encodeHandshake, encodeReserved } from "../src/wire/handshake.ts";
import { decodeMessage, encodeMessage, type PeerMessage } from "../src/wire/message.ts";
import {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  type MetadataMessage,
} from "../src/wire/metadata.ts";

/**
 * How a fake peer answers `ut_metadata` requests.
 * - `honest`: the right piece, the right `total_size`.
 * - `wrong-bytes`: the right lengths, one byte flipped, so the SHA-1 fails.
 * - `oversize`: `total_size` is `oversizeBytes` (64 MiB + 1 by default), over every cap.
 * - `size-change`: the first data message is honest, later ones claim `total_size` + 1.
 * - `past-end`: every answer names the piece just past the end.
 * - `short-piece`: every piece one byte short.
 * - `reject-all`: rejects every request, and answers the first with a storm of rejects.
 * - `unrequested`: pushes every piece, last first, as soon as the extension handshakes are
 *   done, then answers requests honestly.
 */
export type FakePeerMode =
  | "honest"
  | "wrong-bytes"
  | "oversize"
  | "size-change"
  | "past-end"
  | "short-piece"
  | "reject-all"
  | "unrequested";

/** What a fake peer serves and how. */
export interface FakePeerOptions {
  /** The info dictionary's bytes. */
  readonly infoBytes: Uint8Array;
  /** The info hash to use in handshakes; SHA-1 of `infoBytes` by default. */
  readonly infoHash?: Uint8Array;
  /** How to answer; `honest` by default. */
  readonly mode?: FakePeerMode;
  /** The `metadata_size` to advertise; `infoBytes.length` by default. */
  readonly metadataSize?: number;
  /** Our `ut_metadata` extended message id; 3 by default. */
  readonly utMetadataId?: number;
  /** `total_size` sent in `oversize` mode; 64 MiB + 1 by default. */
  readonly oversizeBytes?: number;
  /** How many rejects the first answer of `reject-all` mode sends; 20 by default. */
  readonly rejectStorm?: number;
}

/** Something a fake peer received, with its connection number and time (`performance.now()`). */
export type FakePeerReceived =
  & { readonly conn: number; readonly atMs: number }
  & (
    | { readonly kind: "handshake"; readonly infoHash: Uint8Array; readonly extended: boolean }
    | { readonly kind: "extension-handshake"; readonly handshake: ExtensionHandshake }
    | { readonly kind: "metadata"; readonly message: MetadataMessage }
    | { readonly kind: "message"; readonly type: PeerMessage["type"] }
    | { readonly kind: "error"; readonly message: string }
  );

/** Something a fake peer sent. */
export interface FakePeerSent {
  /** Connection number (0 for the first). */
  readonly conn: number;
  /** `performance.now()` when it was sent. */
  readonly atMs: number;
  /** What: a handshake, the extension handshake, or a `ut_metadata` data or reject. */
  readonly type: "handshake" | "extension-handshake" | "data" | "reject";
  /** The piece of a data or reject. */
  readonly piece?: number;
  /** The `total_size` of a data message. */
  readonly totalSize?: number;
}

const DEFAULT_UT_METADATA_ID = 3;
const DEFAULT_OVERSIZE_BYTES = 64 * 1024 * 1024 + 1;
const RESERVED = encodeReserved({ extended: true, fast: false, dht: false });

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

function randomPeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode("-FK0001-"));
  crypto.getRandomValues(id.subarray(8));
  return id;
}

/** A scripted peer; dispose it (`await using`) to close its listener and connections. */
export class FakePeer implements AsyncDisposable {
  /** The port it listens on (0 when it dialled out). */
  readonly port: number;
  /** Everything received, in order. */
  readonly received: FakePeerReceived[] = [];
  /** Everything sent, in order. */
  readonly sent: FakePeerSent[] = [];
  readonly #options: FakePeerOptions;
  readonly #infoHash: Uint8Array;
  readonly #served: Uint8Array;
  readonly #listener: Deno.Listener | undefined;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #waiters = new Set<() => void>();
  #connections = 0;
  #closing: Promise<void> | undefined;

  private constructor(options: FakePeerOptions, listener: Deno.Listener | undefined) {
    this.#options = options;
    this.#infoHash = options.infoHash ?? sha1(options.infoBytes);
    this.#served = options.infoBytes.slice();
    if (options.mode === "wrong-bytes") this.#served[this.#served.length >> 1] ^= 0xff;
    this.#listener = listener;
    this.port = listener ? (listener.addr as Deno.NetAddr).port : 0;
    if (listener) this.#track(this.#accept(listener));
  }

  /**
   * Listens on 127.0.0.1 (a free port) and serves every connection that arrives.
   * @param options What to serve and how.
   * @returns The peer; its `port` is where to dial it.
   */
  static listen(options: FakePeerOptions): Promise<FakePeer> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
    return Promise.resolve(new FakePeer(options, listener));
  }

  /**
   * Dials a peer on 127.0.0.1 and serves that one connection (we send our handshake first).
   * @param port The port to dial.
   * @param options What to serve and how.
   * @returns The peer, once connected.
   */
  static async dial(port: number, options: FakePeerOptions): Promise<FakePeer> {
    const peer = new FakePeer(options, undefined);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port, transport: "tcp" });
    peer.#track(peer.#serve(conn, true));
    return peer;
  }

  /** The `ut_metadata` requests received, in order. */
  requests(): { conn: number; piece: number; atMs: number }[] {
    const out: { conn: number; piece: number; atMs: number }[] = [];
    for (const r of this.received) {
      if (r.kind === "metadata" && r.message.type === "request") {
        out.push({ conn: r.conn, piece: r.message.piece, atMs: r.atMs });
      }
    }
    return out;
  }

  /**
   * Resolves once `predicate` holds for this peer (checked now and after every record), or
   * rejects after `timeoutMs`.
   * @param predicate The condition.
   * @param timeoutMs How long to wait.
   * @param what Names the condition in the timeout error.
   */
  until(predicate: (peer: FakePeer) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Fake peer: ${what} did not happen within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  /** Closes the listener and every connection, and waits for them. Idempotent. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#closing ??= (async () => {
      try {
        this.#listener?.close();
      } catch {
        // already closed
      }
      for (const conn of this.#conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    })();
    return this.#closing;
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  #record(entry: FakePeerReceived): void {
    this.received.push(entry);
    for (const waiter of [...this.#waiters]) waiter();
  }

  async #send(conn: Deno.Conn, bytes: Uint8Array, sent: FakePeerSent): Promise<void> {
    await writeAll(conn, bytes);
    this.sent.push(sent);
    for (const waiter of [...this.#waiters]) waiter();
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) this.#track(this.#serve(conn, false));
    } catch {
      // listener closed
    }
  }

  async #serve(conn: Deno.Conn, dialled: boolean): Promise<void> {
    const id = this.#connections++;
    this.#conns.add(conn);
    const now = (): number => performance.now();
    let pending: Uint8Array = new Uint8Array(0);
    const read = async (): Promise<boolean> => {
      const chunk = new Uint8Array(64 * 1024);
      const n = await conn.read(chunk);
      if (n === null) return false;
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(chunk.subarray(0, n), pending.length);
      pending = joined;
      return true;
    };
    const handshake = encodeHandshake({
      infoHash: this.#infoHash,
      peerId: randomPeerId(),
      reserved: RESERVED,
    });
    const sendHandshake = () =>
      this.#send(conn, handshake, { conn: id, atMs: now(), type: "handshake" });
    try {
      if (dialled) await sendHandshake();
      let theirs;
      while (!(theirs = decodeHandshake(pending))) if (!(await read())) return;
      pending = pending.slice(68);
      this.#record({
        conn: id,
        atMs: now(),
        kind: "handshake",
        infoHash: theirs.infoHash,
        extended: theirs.extensions.extended,
      });
      if (!theirs.infoHash.every((b, i) => b === this.#infoHash[i])) return;
      if (!dialled) await sendHandshake();
      const ours = this.#options.utMetadataId ?? DEFAULT_UT_METADATA_ID;
      const ext = encodeExtensionHandshake({
        m: { ut_metadata: ours },
        metadata_size: this.#options.metadataSize ?? this.#options.infoBytes.length,
        v: "shoal fake peer",
      });
      await this.#send(
        conn,
        encodeMessage({ type: "extended", id: 0, payload: ext }),
        { conn: id, atMs: now(), type: "extension-handshake" },
      );
      const state = { theirId: 0, answered: 0 };
      while (true) {
        let decoded;
        while ((decoded = decodeMessage(pending))) {
          pending = pending.slice(decoded.size);
          await this.#onMessage(conn, id, decoded.message, ours, state);
        }
        if (!(await read())) return;
      }
    } catch (error) {
      if (
        !(error instanceof Deno.errors.BadResource) && !(error instanceof Deno.errors.Interrupted)
      ) {
        this.#record({ conn: id, atMs: now(), kind: "error", message: String(error) });
      }
    } finally {
      this.#conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async #onMessage(
    conn: Deno.Conn,
    id: number,
    message: PeerMessage,
    ours: number,
    state: { theirId: number; answered: number },
  ): Promise<void> {
    const atMs = performance.now();
    if (message.type !== "extended" || (message.id !== 0 && message.id !== ours)) {
      this.#record({ conn: id, atMs, kind: "message", type: message.type });
      return;
    }
    if (message.id === 0) {
      const handshake = decodeExtensionHandshake(message.payload);
      this.#record({ conn: id, atMs, kind: "extension-handshake", handshake });
      state.theirId = handshake.m.ut_metadata ?? 0;
      if (this.#options.mode === "unrequested" && state.theirId !== 0) {
        for (let piece = this.#pieceCount() - 1; piece >= 0; piece--) {
          await this.#reply(conn, id, state, this.#honest(piece));
        }
      }
      return;
    }
    const metadata = decodeMetadataMessage(message.payload);
    this.#record({ conn: id, atMs, kind: "metadata", message: metadata });
    if (metadata.type !== "request" || state.theirId === 0) return;
    for (const reply of this.#answer(metadata.piece, state)) {
      await this.#reply(conn, id, state, reply);
    }
  }

  #pieceCount(): number {
    return Math.ceil(this.#options.infoBytes.length / METADATA_PIECE_SIZE);
  }

  #honest(piece: number): MetadataMessage {
    const start = piece * METADATA_PIECE_SIZE;
    const data = this.#served.subarray(start, start + METADATA_PIECE_SIZE);
    return { type: "data", piece, totalSize: this.#served.length, data };
  }

  #answer(piece: number, state: { answered: number }): MetadataMessage[] {
    const count = this.#pieceCount();
    const size = this.#served.length;
    const mode = this.#options.mode ?? "honest";
    if (mode === "reject-all") {
      const storm = state.answered++ === 0 ? (this.#options.rejectStorm ?? 20) : 1;
      return Array.from({ length: storm }, () => ({ type: "reject", piece }));
    }
    if (piece >= count) return [{ type: "reject", piece }];
    const honest = this.#honest(piece) as Extract<MetadataMessage, { type: "data" }>;
    const first = state.answered++ === 0;
    switch (mode) {
      case "oversize":
        return [{ ...honest, totalSize: this.#options.oversizeBytes ?? DEFAULT_OVERSIZE_BYTES }];
      case "size-change":
        return [first ? honest : { ...honest, totalSize: size + 1 }];
      case "past-end":
        return [{ ...honest, piece: count, data: new Uint8Array(METADATA_PIECE_SIZE) }];
      case "short-piece":
        return [{ ...honest, data: honest.data.subarray(0, honest.data.length - 1) }];
      default: // honest, wrong-bytes (its #served is corrupt), unrequested
        return [honest];
    }
  }

  async #reply(
    conn: Deno.Conn,
    id: number,
    state: { theirId: number },
    reply: MetadataMessage,
  ): Promise<void> {
    const payload = encodeMetadataMessage(reply);
    await this.#send(
      conn,
      encodeMessage({ type: "extended", id: state.theirId, payload }),
      {
        conn: id,
        atMs: performance.now(),
        type: reply.type === "data" ? "data" : "reject",
        piece: reply.piece,
        ...(reply.type === "data" ? { totalSize: reply.totalSize } : {}),
      },
    );
  }
}
