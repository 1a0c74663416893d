import { encodeHex } from "../bytes/hex.ts";
import type { PeerListener } from "../client/peer_listener.ts";
import { connectPeer, type PeerConnection } from "../peer/connection.ts";
import { PeerError } from "../peer/peer_error.ts";
import { MetadataFetcher } from "../scheduler/metadata_fetcher.ts";
import { Notifier } from "../scheduler/notifier.ts";
import { sleep } from "../util/io_helpers.ts";
import { VERSION } from "../version.ts";
import {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  EXTENSION_HANDSHAKE_ID,
} from "../wire/extension.ts";
import { decodeMetadataMessage, encodeMetadataMessage } from "../wire/metadata.ts";
import { formatPeerAddress, type PeerAddress } from "../wire/peer_address.ts";
import { decodePex } from "../wire/pex.ts";
import { Announcer } from "./announcer.ts";
import { MAX_CONCURRENT_DIALS } from "./connector.ts";
import type { SessionEvent } from "./events.ts";
import { PeerBook } from "./peer_book.ts";
import { UT_METADATA_ID } from "./peer_handler.ts";
import { PEX_MAX_PEERS, UT_PEX_ID } from "./pex_exchange.ts";
import { SessionStats } from "./stats.ts";
import { DHT_RESERVED } from "./session_parts.ts";
import { errorMessage } from "../util/printable.ts";

/** Connections a magnet's metadata is fetched over at once. */
export const METADATA_MAX_PEERS = 30;
/** How often the fetch reports how far it got. */
const REPORT_MS = 500;
/** `left` for trackers while the size is unknown (non-zero: we are not a seed). */
const UNKNOWN_LEFT = 16384;

/** What the metadata phase of a magnet link is told. */
export interface FetchMetadataOptions {
  /** The torrent's info hash. */
  readonly infoHash: Uint8Array;
  /** Our peer id. */
  readonly peerId: Uint8Array;
  /** Peers to dial at once (`x.pe`, `--peer`). */
  readonly peers?: readonly PeerAddress[];
  /** Tracker tiers (`tr`). */
  readonly trackers?: readonly (readonly string[])[];
  /** Time limit of one announce to one tracker. */
  readonly trackerTimeoutMs?: number;
  /** A listener to take incoming peers from (a client's). */
  readonly listener?: PeerListener;
  /** The port peers reach us on (for trackers). */
  readonly port?: number;
  /** Our DHT port, when we run a DHT node (the DHT bit of our handshake; `port` messages). */
  readonly dhtPort?: number;
  /** A peer's `port` message named its DHT node. */
  readonly onDhtNode?: (address: PeerAddress) => void;
  /** Peer exchange is allowed (not for private torrents; unknown before the metadata). */
  readonly pex?: boolean;
  /** Events: `metadata` progress, `peer` changes, warnings. */
  readonly emit: (event: SessionEvent) => void;
  /** Stops the fetch (the promise rejects with the signal's reason). */
  readonly signal: AbortSignal;
}

/** The handle of a running fetch, for adding peers found elsewhere (DHT, a client's `addPeer`). */
export interface MetadataFetch {
  /** The verified info dictionary's bytes. */
  readonly done: Promise<Uint8Array>;
  /** Adds a peer address to dial. */
  addPeer(address: PeerAddress): void;
  /**
   * The peer addresses the fetch learnt (given, from trackers, PEX, the DHT, and the listen
   * ports peers that dialled us announced), for the download that follows: its connections
   * close when the metadata is in.
   */
  peers(): PeerAddress[];
}

/**
 * Fetches a magnet link's info dictionary (BEP 9, with BEP 10) from the swarm: dials the
 * addresses it has and is given (plain first, then MSE), takes incoming peers from a
 * listener, asks the trackers, takes PEX, and spreads `ut_metadata` requests over the peers
 * that advertise `metadata_size` with a {@linkcode MetadataFetcher} (at most 2 in flight per
 * peer, re-asked elsewhere after 3 s, rejects backed off, the whole dictionary checked against
 * the info hash, contributors of a bad one penalised). Hostile peers are dropped.
 * @param options The magnet's hash, peer sources, listener and callbacks.
 * @returns A handle: `done` resolves with the verified bytes.
 */
export function fetchMetadata(options: FetchMetadataOptions): MetadataFetch {
  const run = new MetadataRun(options);
  return {
    done: run.done,
    addPeer: (address) => run.addPeer(address),
    peers: () => run.peers(),
  };
}

class MetadataRun {
  readonly done: Promise<Uint8Array>;
  readonly #options: FetchMetadataOptions;
  readonly #fetcher: MetadataFetcher;
  readonly #book = new PeerBook();
  readonly #conns = new Map<string, PeerConnection>();
  readonly #wakes = new Map<string, Notifier>();
  /** Why a peer we closed from elsewhere was dropped. */
  readonly #dropReasons = new Map<string, string>();
  readonly #controller = new AbortController();
  readonly #signal: AbortSignal;
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #result = Promise.withResolvers<Uint8Array>();
  readonly #ourId: string;
  #dialing = 0;

  constructor(options: FetchMetadataOptions) {
    this.#options = options;
    this.#fetcher = new MetadataFetcher(options.infoHash);
    this.#ourId = encodeHex(options.peerId);
    this.#signal = AbortSignal.any([options.signal, this.#controller.signal]);
    this.done = this.#run();
    this.done.catch(() => {});
  }

  addPeer(address: PeerAddress): void {
    if (this.#book.add(address, performance.now())) this.#dial();
  }

  peers(): PeerAddress[] {
    return this.#book.addresses();
  }

  async #run(): Promise<Uint8Array> {
    const options = this.#options;
    const abort = () => this.#result.reject(options.signal.reason);
    options.signal.addEventListener("abort", abort, { once: true });
    const unregister = options.listener?.register({
      infoHash: options.infoHash,
      pieceCount: undefined,
      wantsPeers: () => !this.#signal.aborted && this.#conns.size < METADATA_MAX_PEERS,
      accept: (conn) => this.#spawn(this.#runPeer(conn)),
    });
    try {
      for (const address of options.peers ?? []) this.#book.add(address, performance.now());
      const tiers = options.trackers ?? [];
      if (tiers.length > 0) {
        const announcer = new Announcer({
          metainfo: { infoHash: options.infoHash, announce: tiers },
          peerId: options.peerId,
          port: () => options.port,
          left: () => UNKNOWN_LEFT,
          stats: new SessionStats(),
          timeoutMs: options.trackerTimeoutMs,
          onPeers: (peers) => {
            for (const address of peers) this.#book.add(address, performance.now());
            this.#dial();
          },
          onWarning: (message) => options.emit({ type: "warning", message }),
        });
        this.#spawn(announcer.run(this.#signal));
      }
      this.#spawn(this.#report());
      this.#dial();
      const info = await this.#result.promise;
      const { peers } = this.#fetcher.progress;
      options.emit({
        type: "metadata",
        peers,
        connected: this.#conns.size,
        received: info.length,
        total: info.length,
      });
      return info;
    } finally {
      options.signal.removeEventListener("abort", abort);
      this.#controller.abort();
      unregister?.();
      for (const conn of this.#conns.values()) conn.close();
      await Promise.allSettled([...this.#tasks]);
    }
  }

  #spawn(task: Promise<unknown>): void {
    const tracked = task.catch(() => {}).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  async #report(): Promise<void> {
    while (!this.#signal.aborted) {
      const { received, total, peers } = this.#fetcher.progress;
      this.#options.emit({ type: "metadata", peers, connected: this.#conns.size, received, total });
      await sleep(REPORT_MS, this.#signal);
    }
  }

  #dial(): void {
    while (
      !this.#signal.aborted && this.#dialing < MAX_CONCURRENT_DIALS &&
      this.#conns.size + this.#dialing < METADATA_MAX_PEERS
    ) {
      const address = this.#book.next(performance.now());
      if (!address) return;
      this.#dialing++;
      this.#spawn(
        this.#dialOne(address).finally(() => {
          this.#dialing--;
          this.#dial();
        }),
      );
    }
  }

  async #dialOne(address: PeerAddress): Promise<void> {
    const { infoHash, peerId } = this.#options;
    const signal = this.#signal;
    const reserved = this.#options.dhtPort === undefined ? undefined : DHT_RESERVED;
    const dial = (encryption: "none" | "mse") =>
      connectPeer(address, { infoHash, peerId, signal, encryption, reserved });
    let conn: PeerConnection;
    try {
      try {
        conn = await dial("none");
      } catch (error) {
        const hungUp = error instanceof Deno.errors.ConnectionReset ||
          (error instanceof PeerError && error.code === "hung-up");
        if (!hungUp || signal.aborted) throw error;
        conn = await dial("mse");
      }
    } catch {
      this.#book.mark(address, "failed", performance.now());
      return;
    }
    this.#book.mark(address, "connected", performance.now());
    await this.#runPeer(conn);
    this.#book.mark(address, "closed", performance.now());
  }

  /** Runs one peer until it leaves, is dropped, or the fetch ends. */
  async #runPeer(conn: PeerConnection): Promise<void> {
    const key = encodeHex(conn.peerId);
    if (key === this.#ourId || this.#conns.has(key) || !conn.extensions.extended) {
      conn.close(); // ourselves, a duplicate, or a peer that cannot speak ut_metadata
      return;
    }
    const address = formatPeerAddress(conn.remote);
    const wake = new Notifier();
    this.#conns.set(key, conn);
    this.#wakes.set(key, wake);
    this.#options.emit({ type: "peer", change: "connected", address });
    let reason = "connection closed";
    let metadataId: number | undefined;
    const requests = (async () => {
      while (!this.#signal.aborted && !conn.closed) {
        const now = performance.now();
        if (metadataId !== undefined) {
          const pieces = this.#fetcher.nextRequests(key, now);
          if (pieces.length > 0) {
            await conn.send(pieces.map((piece) => ({
              type: "extended" as const,
              id: metadataId!,
              payload: encodeMetadataMessage({ type: "request", piece }),
            })));
          }
        }
        const next = this.#fetcher.nextWakeMs(now);
        await wake.wait(this.#signal, next === undefined ? undefined : next - now);
      }
    })();
    requests.catch(() => conn.close());
    try {
      await conn.send({
        type: "extended",
        id: EXTENSION_HANDSHAKE_ID,
        payload: encodeExtensionHandshake({
          m: {
            ut_metadata: UT_METADATA_ID,
            ...(this.#options.pex !== false ? { ut_pex: UT_PEX_ID } : {}),
          },
          v: `shoal ${VERSION}`,
          p: this.#options.port,
        }),
      });
      const dhtPort = this.#options.dhtPort;
      if (dhtPort !== undefined && conn.extensions.dht) {
        await conn.send({ type: "port", port: dhtPort });
      }
      for await (const message of conn.messages()) {
        if (message.type === "port" && message.port > 0) {
          this.#options.onDhtNode?.({ host: conn.remote.host, port: message.port });
        }
        if (message.type !== "extended") continue; // pieces are unknown yet: nothing else matters
        const now = performance.now();
        let drop: string | undefined;
        if (message.id === EXTENSION_HANDSHAKE_ID) {
          const handshake = decodeExtensionHandshake(message.payload);
          // A peer that dialled us says where it listens: the download can dial it back.
          if (handshake.p !== undefined) {
            this.#book.add({ host: conn.remote.host, port: handshake.p }, now);
          }
          const id = handshake.m.ut_metadata;
          if (id !== undefined && id > 0 && handshake.metadata_size !== undefined) {
            metadataId = id;
            drop = this.#fetcher.addPeer(key, handshake.metadata_size, now).drop;
          }
        } else if (message.id === UT_METADATA_ID) {
          const metadata = decodeMetadataMessage(message.payload);
          if (metadata.type === "data") {
            const outcome = this.#fetcher.onData(
              key,
              metadata.piece,
              metadata.totalSize,
              metadata.data,
              now,
            );
            drop = outcome.drop;
            if (outcome.done) this.#result.resolve(outcome.done.slice());
            if (outcome.hashFailed) {
              const culprits = outcome.hashFailed;
              this.#options.emit({
                type: "warning",
                message:
                  `The metadata from ${culprits.length} peer(s) failed its SHA-1 check; fetching it again`,
              });
              // One contributor alone is proven to have lied; of several, the honest ones
              // stay, and the fetcher asks them one at a time once nobody else is left.
              if (culprits.length === 1) {
                this.#dropReasons.set(
                  culprits[0],
                  "sent an info dictionary that failed its SHA-1 check",
                );
                this.#conns.get(culprits[0])?.close();
              }
              for (const other of this.#wakes.values()) other.notify();
            }
          } else if (metadata.type === "reject") {
            drop = this.#fetcher.onReject(key, metadata.piece, now).drop;
          }
          // a request (we have nothing to give) or an unknown msg_type: ignored (BEP 9)
        } else if (message.id === UT_PEX_ID && this.#options.pex !== false) {
          const pex = decodePex(message.payload);
          for (const peer of [...pex.added, ...pex.added6].slice(0, PEX_MAX_PEERS)) {
            this.#book.add(peer, now);
          }
          this.#dial();
        }
        if (drop) {
          reason = drop;
          break;
        }
        wake.notify();
      }
    } catch (error) {
      reason = errorMessage(error);
    } finally {
      reason = this.#dropReasons.get(key) ?? reason;
      this.#dropReasons.delete(key);
      conn.close();
      wake.notify();
      await requests.catch(() => {});
      this.#fetcher.removePeer(key);
      this.#conns.delete(key);
      this.#wakes.delete(key);
      if (!this.#signal.aborted) {
        this.#options.emit({ type: "peer", change: "disconnected", address, reason });
        for (const other of this.#wakes.values()) other.notify(); // freed pieces go elsewhere
        this.#dial();
      }
    }
  }
}
