import { encodeHex } from "../bytes/hex.ts";
import { acceptPeer, type PeerConnection } from "../peer/connection.ts";
import { closeQuietly, sleep } from "../util/io_helpers.ts";
import { mseReq2Hash } from "../wire/mse_crypto.ts";

/** Incoming connections still in their handshake at once; more wait in the kernel's backlog. */
export const MAX_PENDING_HANDSHAKES = 32;
/**
 * With every handshake slot taken, the oldest handshake is closed once it has run this long,
 * so that sockets which never send a byte cannot keep every other peer out for the whole
 * handshake timeout. A real peer's handshake (plain, or MSE with its modPow) takes far less.
 */
export const HANDSHAKE_GRACE_MS = 1_000;
/** Pause after an accept error that is not "listener closed" (e.g. out of file descriptors). */
const ACCEPT_RETRY_MS = 250;

/** A torrent that takes incoming peers from a {@linkcode PeerListener}. */
export interface ListeningTorrent {
  /** Its 20-byte info hash. */
  readonly infoHash: Uint8Array;
  /** Its number of pieces, when known (not yet for a magnet link). */
  readonly pieceCount: number | undefined;
  /** `false` while it takes no more peers (its peer cap is reached). */
  wantsPeers(): boolean;
  /** Takes a connection whose handshake is done; it owns the connection from now on. */
  accept(conn: PeerConnection): void;
}

/** Options for {@linkcode PeerListener.listen}. */
export interface PeerListenerOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** TCP port: 0 for any free port; default 6881, or the next free one up to 6889. */
  port?: number;
  /** Our 20-byte peer id, sent in our handshake. */
  peerId: Uint8Array;
  /** Reserved bytes of our handshake (to announce the DHT bit); `OUR_RESERVED` by default. */
  reserved?: Uint8Array;
}

/**
 * One TCP listener for every torrent of a client: it completes each incoming handshake (plain
 * or Message Stream Encryption), finds the torrent by info hash, and hands the connection over.
 * At most {@linkcode MAX_PENDING_HANDSHAKES} handshakes run at once; when all are taken, the
 * oldest one is closed once it is {@linkcode HANDSHAKE_GRACE_MS} old. An accept error other
 * than "closed" (such as running out of file descriptors under a flood) pauses accepting
 * briefly instead of ending it.
 */
export class PeerListener implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #peerId: Uint8Array;
  readonly #reserved: Uint8Array | undefined;
  readonly #torrents = new Map<string, ListeningTorrent>();
  readonly #byReq2 = new Map<string, ListeningTorrent>();
  readonly #controller = new AbortController();
  /** Handshakes in progress, oldest first, with when they started and how to end them. */
  readonly #handshakes = new Map<Promise<void>, { startedMs: number; stop: AbortController }>();
  #slotFreed: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  private constructor(listener: Deno.Listener, peerId: Uint8Array, reserved?: Uint8Array) {
    this.#listener = listener;
    this.#peerId = peerId;
    this.#reserved = reserved;
  }

  /**
   * Starts listening and accepting.
   * @param options Address, port and our peer id.
   * @returns The listener.
   * @throws {Deno.errors.AddrInUse} When the given port is taken.
   */
  static listen(options: PeerListenerOptions): PeerListener {
    const hostname = options.hostname ?? "0.0.0.0";
    let listener: Deno.Listener | undefined;
    if (options.port !== undefined) listener = Deno.listen({ hostname, port: options.port });
    for (let candidate = 6881; !listener && candidate <= 6889; candidate++) {
      try {
        listener = Deno.listen({ hostname, port: candidate });
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      }
    }
    listener ??= Deno.listen({ hostname, port: 0 });
    const peerListener = new PeerListener(listener, options.peerId, options.reserved);
    peerListener.#loop = peerListener.#acceptLoop();
    return peerListener;
  }

  /** The TCP port we listen on. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Incoming connections still in their handshake. */
  get pendingHandshakes(): number {
    return this.#handshakes.size;
  }

  /** The address we listen on. */
  get hostname(): string {
    return (this.#listener.addr as Deno.NetAddr).hostname;
  }

  /**
   * Routes peers that name `torrent`'s info hash to it.
   * @param torrent The torrent.
   * @returns A function that stops the routing.
   */
  register(torrent: ListeningTorrent): () => void {
    const hex = encodeHex(torrent.infoHash);
    const req2 = encodeHex(mseReq2Hash(torrent.infoHash));
    this.#torrents.set(hex, torrent);
    this.#byReq2.set(req2, torrent);
    return () => {
      if (this.#torrents.get(hex) === torrent) this.#torrents.delete(hex);
      if (this.#byReq2.get(req2) === torrent) this.#byReq2.delete(req2);
    };
  }

  async #acceptLoop(): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      let tcp: Deno.Conn;
      try {
        tcp = await this.#listener.accept();
      } catch (error) {
        if (signal.aborted || error instanceof Deno.errors.BadResource) return;
        await sleep(ACCEPT_RETRY_MS, signal).catch(() => {});
        continue;
      }
      if (![...this.#torrents.values()].some((t) => t.wantsPeers())) {
        closeQuietly(tcp);
        continue;
      }
      const stop = new AbortController();
      const handshake = this.#handshake(tcp, AbortSignal.any([signal, stop.signal])).finally(
        () => {
          this.#handshakes.delete(handshake);
          this.#slotFreed?.();
        },
      );
      this.#handshakes.set(handshake, { startedMs: performance.now(), stop });
      while (this.#handshakes.size >= MAX_PENDING_HANDSHAKES && !signal.aborted) {
        const oldest = this.#handshakes.values().next().value!;
        const age = performance.now() - oldest.startedMs;
        if (age >= HANDSHAKE_GRACE_MS) oldest.stop.abort(); // its slot frees as it ends
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          this.#slotFreed = resolve;
          if (age < HANDSHAKE_GRACE_MS) timer = setTimeout(resolve, HANDSHAKE_GRACE_MS - age);
        });
        clearTimeout(timer);
        this.#slotFreed = undefined;
      }
    }
  }

  async #handshake(tcp: Deno.Conn, signal: AbortSignal): Promise<void> {
    let conn: PeerConnection;
    let torrent: ListeningTorrent | undefined;
    try {
      conn = await acceptPeer(tcp, {
        peerId: this.#peerId,
        reserved: this.#reserved,
        lookup: (hash) => {
          torrent = this.#torrents.get(encodeHex(hash));
          return torrent && { pieceCount: torrent.pieceCount };
        },
        mseLookup: (req2) => this.#byReq2.get(encodeHex(req2))?.infoHash,
        signal,
      });
    } catch {
      return; // acceptPeer closes the socket on failure
    }
    if (!torrent || this.#controller.signal.aborted || !torrent.wantsPeers()) {
      await conn.close();
      return;
    }
    torrent.accept(conn);
  }

  /**
   * Stops listening; handshakes in progress end. Idempotent.
   * @returns When the accept loop has ended.
   */
  async close(): Promise<void> {
    this.#controller.abort();
    closeQuietly(this.#listener);
    this.#slotFreed?.();
    await this.#loop;
    await Promise.allSettled([...this.#handshakes.keys()]);
  }

  /**
   * Same as {@linkcode PeerListener.close}, for `await using`.
   * @returns When closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
