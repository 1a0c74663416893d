// One torrent: the parts below, wired together, with the tick loop and shutdown.
//
//   storage/open_torrent_data   check or resume the data on disk          -> have (Bitfield)
//   session/announcer           trackers        -+
//   session/pex_exchange        peer exchange    +-> addresses -> PeerBook
//   (client) peer listener      incoming peers   |
//   session/connector           dials the book, takes incoming peers, refuses duplicates
//   session/peer_handler        one peer's messages -> peer state, blocks -> scheduler
//   scheduler/request_pipeline  keeps each peer's requests full (expiry, snubbing)
//   session/piece_verifier      complete piece -> SHA-1 (hash pool) -> storage -> `have`s
//   storage/resume_writer       flushes the data and records what is on disk
//   upload/upload_server        requests from peers -> storage reads -> piece messages
//   upload/choke_driver         who we upload to (BEP 3 choker)
//   session/stats               counters -> progress events
//
// run() yields SessionEvents from one EventQueue that every part pushes to.

import type { Bitfield } from "../bytes/bitfield.ts";
import type { Metainfo } from "../metainfo/types.ts";
import type { PeerConnection } from "../peer/connection.ts";
import { RateLimiter } from "../peer/rate_limiter.ts";
import { type ActivePiece, PieceScheduler } from "../scheduler/piece_scheduler.ts";
import { HashPool } from "../sha1/hash_pool.ts";
import { openTorrentData } from "../storage/open_torrent_data.ts";
import { ResumeWriter } from "../storage/resume_writer.ts";
import type { TorrentStorage } from "../storage/torrent_storage.ts";
import { ChokeDriver } from "../upload/choke_driver.ts";
import { UploadServer } from "../upload/upload_server.ts";
import { sleep } from "../util/io_helpers.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import { generatePeerId } from "../wire/peer_id.ts";
import { PeerListener } from "../client/peer_listener.ts";
import { Announcer } from "./announcer.ts";
import { Connector } from "./connector.ts";
import { EventQueue } from "./event_queue.ts";
import type { SessionEvent } from "./events.ts";
import { PeerBook } from "./peer_book.ts";
import { PeerHandler } from "./peer_handler.ts";
import { PexExchange } from "./pex_exchange.ts";
import { PieceVerifier } from "./piece_verifier.ts";
import { SessionStats } from "./stats.ts";
import {
  DEFAULT_MAX_PEERS,
  IncompleteDataError,
  type SeedLimits,
  type TorrentSessionOptions,
  wantsSeeding,
} from "./session_options.ts";
import type { SwarmPeer } from "./swarm_peer.ts";

export { IncompleteDataError, type SeedLimits, type TorrentSessionOptions };

/** How often progress is reported and timers are checked. */
export const TICK_MS = 500;

function isAbort(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "AbortError" || error.name === "TimeoutError");
}

/** The parts that exist once the data on disk is known. */
interface Parts {
  readonly storage: TorrentStorage;
  readonly scheduler: PieceScheduler<SwarmPeer>;
  readonly resume: ResumeWriter;
  readonly choker: ChokeDriver<SwarmPeer>;
  readonly pex: PexExchange;
  readonly handler: PeerHandler;
  readonly connector: Connector;
  readonly announcer: Announcer | undefined;
}

/**
 * Downloads and seeds one torrent: checks or resumes the data on disk, finds peers through
 * trackers, peer exchange, direct addresses and incoming connections, requests blocks through
 * the {@linkcode PieceScheduler}, verifies each piece with SHA-1 and writes it at once, and
 * uploads to peers under a BEP 3 choker. `run()` yields {@linkcode SessionEvent}s; breaking
 * out of it (or aborting `signal`) stops everything and saves resume data.
 * @example
 * ```ts ignore
 * import { parseTorrent, TorrentSession } from "@shoal/shoal/session";
 * const metainfo = parseTorrent(await Deno.readFile("file.torrent"));
 * for await (const event of new TorrentSession(metainfo, { dir: "downloads" }).run()) {
 *   if (event.type === "progress") console.log(event.have, "/", event.pieceCount);
 * }
 * ```
 */
export class TorrentSession {
  /** The torrent. */
  readonly metainfo: Metainfo;
  /** Our peer id. */
  readonly peerId: Uint8Array;
  readonly #options: TorrentSessionOptions;
  readonly #controller = new AbortController();
  readonly #events = new EventQueue<SessionEvent>();
  readonly #peers = new Map<string, SwarmPeer>();
  readonly #book = new PeerBook();
  readonly #stats = new SessionStats();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #uploadLimit: RateLimiter;
  readonly #downloadLimit: RateLimiter;
  #pool!: HashPool;
  #listener: PeerListener | undefined;
  #unregister: (() => void) | undefined;
  #parts: Parts | undefined;
  /** Peers are taken and dialled (after the check, unless there is nothing to do). */
  #running = false;
  /** The `complete` event is queued (resume data saved first); seeding may end after it. */
  #completeReported = false;
  #fatal: unknown;

  /**
   * Prepares a session; nothing happens until `run()` is iterated.
   * @param metainfo The parsed torrent.
   * @param options Folder, peers, limits and switches.
   */
  constructor(metainfo: Metainfo, options: TorrentSessionOptions) {
    this.metainfo = metainfo;
    this.#options = options;
    this.peerId = options.peerId ?? generatePeerId();
    this.#uploadLimit = new RateLimiter(options.maxUploadRate);
    this.#downloadLimit = new RateLimiter(options.maxDownloadRate);
    this.#controller.signal.addEventListener("abort", () => this.#events.close(), { once: true });
  }

  /** The TCP port we accept peers on, once `run()` has started listening. */
  get port(): number | undefined {
    return this.#listener?.port;
  }

  /** Pieces verified so far. */
  get have(): Bitfield | undefined {
    return this.#parts?.scheduler.have;
  }

  /**
   * Adds a peer address to dial.
   * @param address The peer's address.
   */
  addPeer(address: PeerAddress): void {
    if (this.#book.add(address, performance.now())) this.#parts?.connector.dial();
  }

  /**
   * Runs the session, yielding events until the download completes (and seeding ends) or the
   * session is stopped.
   * @returns The events.
   * @throws {StorageError} When the disk fails (state is saved first).
   * @throws {IncompleteDataError} With `requireComplete` and missing pieces.
   */
  async *run(): AsyncGenerator<SessionEvent> {
    const outer = this.#options.signal;
    const onOuterAbort = () => this.#controller.abort(outer?.reason);
    outer?.throwIfAborted();
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    try {
      const parts = yield* this.#open();
      const have = parts.scheduler.have;
      if (this.#options.requireComplete && !have.complete) {
        throw new IncompleteDataError(have.count, have.size);
      }
      this.#stats.startedAtMs = performance.now();
      if (have.complete) {
        this.#stats.completedAtMs = this.#stats.startedAtMs;
        this.#completeReported = true;
      }
      this.#listen();
      yield { type: "ready", have: have.count, pieceCount: have.size, port: this.port };
      if (have.complete && !this.#options.seed && !this.#options.requireComplete) {
        yield this.#stats.completeEvent();
        return;
      }
      this.#running = true;
      for (const address of this.#options.peers ?? []) this.#book.add(address, performance.now());
      if (parts.announcer) this.#spawn(parts.announcer.run());
      this.#spawn(this.#tickLoop(parts));
      parts.connector.dial();
      for await (const event of this.#events) {
        yield event;
        if (event.type === "complete" && !this.#options.seed) break;
      }
      if (this.#fatal !== undefined) throw this.#fatal;
    } catch (error) {
      // Stopped by the caller (even mid-check): end quietly, as after `ready`.
      if (!(outer?.aborted && (isAbort(error) || error === outer.reason))) throw error;
    } finally {
      outer?.removeEventListener("abort", onOuterAbort);
      await this.#shutdown();
    }
    const have = this.have;
    if (outer?.aborted && have) {
      yield this.#progressEvent(have); // final totals, as counted up to the last byte
      yield { type: "stopped", have: have.count, pieceCount: have.size };
    }
  }

  /** Opens the data (checking it when there is no current resume file) and builds the parts. */
  async *#open(): AsyncGenerator<SessionEvent, Parts> {
    const { metainfo } = this;
    const options = this.#options;
    const signal = this.#controller.signal;
    // One core stays free for the network and the disk; the pool hashes on the others.
    const cores = navigator.hardwareConcurrency || 1;
    this.#pool = options.hashPool ?? new HashPool({ size: Math.max(1, Math.min(4, cores - 1)) });
    const { storage, have } = yield* openTorrentData(metainfo, options.dir, {
      pool: this.#pool,
      signal,
      progressIntervalMs: TICK_MS / 5,
    });
    const scheduler = new PieceScheduler<SwarmPeer>(metainfo, have, {
      maxActiveBytes: options.maxActiveBytes,
    });
    const warn = (message: string) => this.#events.push({ type: "warning", message });
    const upload = new UploadServer({
      info: metainfo,
      storage,
      have,
      limit: this.#uploadLimit,
      onSent: (peer, bytes) => {
        const now = performance.now();
        (peer as SwarmPeer).upRate.add(bytes, now);
        this.#stats.addUploaded(bytes, now);
      },
    });
    const choker = new ChokeDriver<SwarmPeer>(
      this.#peers,
      () => have.complete,
      (peer) => upload.onChoked(peer),
    );
    const pex = new PexExchange(!metainfo.private, this.#peers, (addresses) => {
      for (const address of addresses) this.#book.add(address, performance.now());
      connector.dial();
    });
    const verifier: PieceVerifier = new PieceVerifier({
      metainfo,
      scheduler,
      pool: this.#pool,
      storage,
      peers: this.#peers,
      stopped: () => signal.aborted,
      isBanned: (id) => connector.isBanned(id),
      ban: (peer) => connector.ban(peer),
      onVerified: (piece) => this.#onVerified(piece),
      onWarning: warn,
    });
    const handler = new PeerHandler({
      scheduler,
      upload,
      choker,
      pex,
      stats: this.#stats,
      downloadLimit: this.#downloadLimit,
      signal,
      port: () => this.port,
      requestTimeoutMs: options.requestTimeoutMs,
      snubTimeoutMs: options.snubTimeoutMs,
      emit: (event) => this.#events.push(event),
      onPieceComplete: (piece) => this.#spawn(verifier.verify(piece)),
    });
    const connector: Connector = new Connector({
      infoHash: metainfo.infoHash,
      pieceCount: metainfo.pieceCount,
      peerId: this.peerId,
      signal,
      book: this.#book,
      peers: this.#peers,
      maxPeers: () => options.maxPeers ?? DEFAULT_MAX_PEERS,
      seeding: () => have.complete,
      wantsPeers: () => !have.complete || this.#wantsSeeding(),
      spawn: (task) => this.#spawn(task),
      runPeer: (peer) => handler.run(peer),
    });
    const announcer = options.trackers !== false && metainfo.announce.length > 0
      ? new Announcer({
        metainfo,
        peerId: this.peerId,
        port: () => this.port,
        have,
        stats: this.#stats,
        timeoutMs: options.trackerTimeoutMs,
        signal,
        onPeers: (peers) => {
          for (const address of peers) this.#book.add(address, performance.now());
          connector.dial();
        },
        onWarning: warn,
      })
      : undefined;
    const resume = new ResumeWriter(options.dir, metainfo, storage, have);
    this.#parts = { storage, scheduler, resume, choker, pex, handler, connector, announcer };
    return this.#parts;
  }

  /** Starts taking incoming peers, from our own listener or a shared one. */
  #listen(): void {
    const options = this.#options;
    if (!options.listener && options.listen === false) return;
    this.#listener = options.listener ?? PeerListener.listen({
      hostname: options.listenHost,
      port: options.port,
      peerId: this.peerId,
    });
    this.#unregister = this.#listener.register({
      infoHash: this.metainfo.infoHash,
      pieceCount: this.metainfo.pieceCount,
      wantsPeers: () => this.#running && !!this.#parts?.connector.canAccept,
      accept: (conn: PeerConnection) => this.#parts!.connector.accept(conn),
    });
  }

  #spawn(task: Promise<unknown>): void {
    const tracked = task.catch((error) => {
      if (!isAbort(error) && !this.#controller.signal.aborted) this.#fail(error);
    }).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  #fail(error: unknown): void {
    if (this.#fatal === undefined) this.#fatal = error;
    this.#events.close();
    this.#controller.abort(error);
  }

  async #onVerified(piece: ActivePiece): Promise<void> {
    const parts = this.#parts!;
    const have = parts.scheduler.have;
    if (parts.resume.pieceWritten(piece.size) && !have.complete) this.#spawn(parts.resume.save());
    this.#events.push({ type: "piece", index: piece.index, from: [...piece.contributors] });
    if (have.complete) await this.#onComplete(parts);
  }

  async #onComplete(parts: Parts): Promise<void> {
    this.#stats.completedAtMs = performance.now();
    await parts.resume.save();
    parts.announcer?.completed();
    this.#events.push(this.#progressEvent(parts.scheduler.have));
    this.#events.push(this.#stats.completeEvent());
    this.#completeReported = true;
    for (const peer of this.#peers.values()) {
      if (peer.has.complete) peer.conn.close();
      else if (peer.amInterested) {
        peer.amInterested = false;
        peer.conn.send({ type: "not-interested" }).catch(() => {});
      }
    }
  }

  #wantsSeeding(): boolean {
    return wantsSeeding(this.#options, this.#stats, this.metainfo.totalLength);
  }

  async #tickLoop(parts: Parts): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      await sleep(TICK_MS, signal);
      const now = performance.now();
      parts.handler.updateInterests();
      parts.choker.tick(now);
      parts.pex.tick(now);
      if (parts.resume.due(now)) await parts.resume.save();
      this.#events.push(this.#progressEvent(parts.scheduler.have));
      if (this.#completeReported && !this.#wantsSeeding()) {
        this.#events.close();
        return;
      }
      parts.connector.dial();
    }
  }

  #progressEvent(have: Bitfield): SessionEvent {
    return this.#stats.progressEvent(this.metainfo, have, this.#peers.size, this.#book.size);
  }

  async #shutdown(): Promise<void> {
    this.#controller.abort();
    this.#events.close();
    this.#unregister?.();
    if (this.#listener && !this.#options.listener) await this.#listener.close();
    for (const peer of this.#peers.values()) peer.conn.close();
    await Promise.allSettled([...this.#tasks]);
    this.#uploadLimit.close();
    this.#downloadLimit.close();
    const parts = this.#parts;
    if (parts) {
      try {
        await parts.resume.save();
      } catch {
        // The disk failed already; the error that stopped us is reported.
      }
      await parts.storage.close();
      await parts.announcer?.stopped();
    }
    if (!this.#options.hashPool) this.#pool?.close();
  }
}
