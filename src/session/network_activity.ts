import { PeerListener } from "../client/peer_listener.ts";
import type { PeerConnection } from "../peer/connection.ts";
import { DHT_RESERVED, type Parts } from "./session_parts.ts";
import type { SwarmPeer } from "./swarm_peer.ts";

/** What {@linkcode NetworkActivity} needs from the session. */
export interface NetworkActivityInit {
  /** The torrent's info hash and piece count (for the listener's routing). */
  readonly infoHash: Uint8Array;
  /** Its number of pieces. */
  readonly pieceCount: number;
  /** Our peer id (for a listener of our own). */
  readonly peerId: Uint8Array;
  /** A shared listener (a client's), or none to open one when `listen` is not `false`. */
  readonly listener?: PeerListener;
  /** Listen for incoming peers at all (default `true`). */
  readonly listen?: boolean;
  /** Address and port of a listener of our own. */
  readonly listenHost?: string;
  /** Port of a listener of our own. */
  readonly port?: number;
  /** Our DHT port, when we run a DHT node (the DHT bit of our handshake). */
  readonly dhtPort?: number;
  /** The session's signal. */
  readonly signal: AbortSignal;
  /** The connected peers (closed on pause). */
  readonly peers: ReadonlyMap<string, SwarmPeer>;
  /** Start paused. */
  readonly paused: boolean;
  /** Runs a background task the session tracks. */
  readonly spawn: (task: Promise<unknown>) => void;
}

/**
 * A torrent's network activity: the listener registration, and the trackers' announce loop and
 * dialling, which pause and resume together. Paused, a torrent keeps its data open and its
 * state, but has no peers and no trackers.
 */
export class NetworkActivity {
  readonly #init: NetworkActivityInit;
  #listener: PeerListener | undefined;
  #unregister: (() => void) | undefined;
  #parts: Parts | undefined;
  #period: AbortController | undefined;
  #paused: boolean;

  /**
   * Makes the activity (nothing starts before {@linkcode NetworkActivity.start}).
   * @param init The torrent, the listener options and the session's hooks.
   */
  constructor(init: NetworkActivityInit) {
    this.#init = init;
    this.#paused = init.paused;
  }

  /** `true` while paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** `true` between `start` and shutdown, while not paused. */
  get active(): boolean {
    return this.#parts !== undefined && !this.#paused && !this.#init.signal.aborted;
  }

  /** The TCP port we accept peers on, once listening. */
  get port(): number | undefined {
    return this.#listener?.port;
  }

  /** Starts taking incoming peers (before `start`; they are refused until then). */
  listen(): void {
    const init = this.#init;
    if (!init.listener && init.listen === false) return;
    this.#listener = init.listener ?? PeerListener.listen({
      hostname: init.listenHost,
      port: init.port,
      peerId: init.peerId,
      reserved: init.dhtPort === undefined ? undefined : DHT_RESERVED,
    });
    this.#unregister = this.#listener.register({
      infoHash: init.infoHash,
      pieceCount: init.pieceCount,
      wantsPeers: () => this.active && !!this.#parts?.connector.canAccept,
      accept: (conn: PeerConnection) => this.#parts!.connector.accept(conn),
    });
  }

  /**
   * Starts the activity with the torrent's parts (unless paused).
   * @param parts The parts.
   */
  start(parts: Parts): void {
    this.#parts = parts;
    if (!this.#paused) this.#begin(parts);
  }

  /** Closes every peer and tells the trackers we stopped. */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#period?.abort();
    this.#period = undefined;
    for (const peer of this.#init.peers.values()) peer.conn.close();
    const announcer = this.#parts?.announcer;
    if (announcer) this.#init.spawn(announcer.stopped());
  }

  /** Starts again after `pause`. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#parts) this.#begin(this.#parts);
  }

  #begin(parts: Parts): void {
    this.#period = new AbortController();
    const signal = AbortSignal.any([this.#init.signal, this.#period.signal]);
    if (parts.announcer) {
      this.#init.spawn(
        parts.announcer.run(signal).catch((error) => {
          if (!signal.aborted) throw error;
        }),
      );
    }
    parts.connector.dial();
  }

  /**
   * Stops listening (closing a listener of our own) and, unless paused, says `stopped` to the
   * trackers.
   * @returns When done.
   */
  async close(): Promise<void> {
    this.#unregister?.();
    if (this.#listener && !this.#init.listener) await this.#listener.close();
    if (this.#parts && !this.#paused) await this.#parts.announcer?.stopped();
  }
}
