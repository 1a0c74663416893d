// One torrent: the parts below, wired together by session_parts.ts, with the tick loop,
// pause and resume, and shutdown.
//
//   storage/open_torrent_data   check or resume the data on disk          -> have (Bitfield)
//   session/announcer           trackers        -+
//   session/pex_exchange        peer exchange    +-> addresses -> PeerBook
//   client/peer_listener        incoming peers   |
//   session/connector           dials the book, takes incoming peers, refuses duplicates
//   session/peer_handler        one peer's messages -> peer state, blocks -> scheduler
//   scheduler/request_pipeline  keeps each peer's requests full (expiry, snubbing)
//   scheduler/piece_scheduler   which blocks of which pieces (priorities, memory budget)
//   session/piece_verifier      complete piece -> SHA-1 (hash pool) -> storage -> `have`s
//   storage/resume_writer       flushes the data and records what is on disk
//   upload/upload_server        requests from peers -> storage reads -> piece messages
//   upload/choke_driver         who we upload to (BEP 3 choker)
//   session/stats               counters -> progress events
//
// run() yields SessionEvents from one EventQueue that every part pushes to.

import type { Bitfield } from "../bytes/bitfield.ts";
import type { Metainfo } from "../metainfo/types.ts";
import { RateLimiter } from "../peer/rate_limiter.ts";
import type { PieceScheduler } from "../scheduler/piece_scheduler.ts";
import { HashPool } from "../sha1/hash_pool.ts";
import { openTorrentData } from "../storage/open_torrent_data.ts";
import { sleep } from "../util/io_helpers.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import { generatePeerId } from "../wire/peer_id.ts";
import { EventQueue } from "./event_queue.ts";
import type { SessionEvent } from "./events.ts";
import { Completion } from "./completion.ts";
import { NetworkActivity } from "./network_activity.ts";
import { ownListenAddress, PeerBook } from "./peer_book.ts";
import { buildParts, type Parts } from "./session_parts.ts";
import {
  DEFAULT_MAX_PEERS,
  IncompleteDataError,
  type SeedLimits,
  type TorrentSessionOptions,
} from "./session_options.ts";
import { SessionStats } from "./stats.ts";
import type { SwarmPeer } from "./swarm_peer.ts";
import { idleTrackers, type TrackerStatus } from "./announcer.ts";

export { IncompleteDataError, type SeedLimits, type TorrentSessionOptions };

/** How often progress is reported and timers are checked. */
export const TICK_MS = 500;

function isAbort(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "AbortError" || error.name === "TimeoutError");
}

/**
 * Downloads and seeds one torrent: checks or resumes the data on disk, finds peers through
 * trackers, peer exchange, direct addresses and incoming connections, requests blocks through
 * the piece scheduler (by file priority and stream boosts), verifies each piece with SHA-1 and
 * writes it at once, and uploads to peers under a BEP 3 choker. `run()` yields
 * {@linkcode SessionEvent}s; breaking out of it (or aborting `signal`) stops everything and
 * saves resume data.
 * @example
 * ```ts ignore
 * import { parseTorrent } from "@shoal/shoal";
 * import { TorrentSession } from "./torrent_session.ts";
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
  readonly #book = new PeerBook(ownListenAddress(() => this.port, () => this.#options.listenHost));
  readonly #stats = new SessionStats();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #uploadLimit: RateLimiter;
  readonly #downloadLimit: RateLimiter;
  #pool!: HashPool;
  readonly #activity: NetworkActivity;
  #parts: Parts | undefined;
  #filePriorities: Uint8Array;
  #sequential: boolean;
  readonly #completion: Completion;
  #fatal: unknown;
  #checked = { hashed: 0, trusted: 0 };

  /**
   * Prepares a session; nothing happens until `run()` is iterated.
   * @param metainfo The parsed torrent.
   * @param options Folder, peers, limits and switches.
   */
  constructor(metainfo: Metainfo, options: TorrentSessionOptions) {
    this.metainfo = metainfo;
    this.#options = options;
    this.peerId = options.peerId ?? generatePeerId();
    this.#uploadLimit = options.uploadLimit ?? new RateLimiter(options.maxUploadRate);
    this.#downloadLimit = options.downloadLimit ?? new RateLimiter(options.maxDownloadRate);
    this.#activity = new NetworkActivity({
      ...options,
      infoHash: metainfo.infoHash,
      pieceCount: metainfo.pieceCount,
      peerId: this.peerId,
      signal: this.#controller.signal,
      peers: this.#peers,
      paused: options.paused ?? false,
      spawn: (task) => this.#spawn(task),
    });
    this.#filePriorities = options.filePriorities?.slice() ??
      new Uint8Array(metainfo.files.length).fill(1);
    this.#sequential = options.sequential ?? false;
    this.#completion = new Completion({
      options,
      totalLength: metainfo.totalLength,
      stats: this.#stats,
      peers: this.#peers,
      emit: (event) => this.#events.push(event),
      progress: () => this.#progressEvent(this.#parts!.scheduler.have),
      spawn: (task) => this.#spawn(task),
    });
    this.#controller.signal.addEventListener("abort", () => this.#events.close(), { once: true });
  }

  /** The TCP port we accept peers on, once `run()` has started listening. */
  get port(): number | undefined {
    return this.#activity.port;
  }

  /** Pieces verified so far. */
  get have(): Bitfield | undefined {
    return this.#parts?.scheduler.have;
  }

  /** The piece scheduler, once the data is open (stream readers boost pieces through it). */
  get scheduler(): PieceScheduler<SwarmPeer> | undefined {
    return this.#parts?.scheduler;
  }

  /** `true` once every wanted piece (of the selected files) is verified. */
  get finished(): boolean {
    return this.#parts?.scheduler.finished ?? false;
  }

  /** What we last heard from each tracker (all `"idle"` before the data is open). */
  get trackers(): TrackerStatus[] {
    return this.#parts?.announcer?.trackers ?? idleTrackers(this.metainfo);
  }

  /** `true` once the session is stopping (it takes no more changes). */
  get closing(): boolean {
    return this.#controller.signal.aborted;
  }

  /** `true` while paused (no peers, no trackers). */
  get paused(): boolean {
    return this.#activity.paused;
  }

  /** The connected peers (read-only views for status displays). */
  get peers(): ReadonlyMap<string, SwarmPeer> {
    return this.#peers;
  }

  /**
   * Adds a peer address to dial.
   * @param address The peer's address.
   */
  addPeer(address: PeerAddress): void {
    if (this.#book.add(address, performance.now())) this.#parts?.connector.dial();
  }

  /** Stops all network activity (peers, trackers) but keeps the data open; see `resume`. */
  pause(): void {
    this.#activity.pause();
  }

  /** Starts network activity again after `pause` (or a start with `paused`). */
  resume(): void {
    this.#activity.resume();
  }

  /**
   * Changes which files are wanted and how much. Newly selected files get the bytes already
   * verified moved out of the parts file; pieces only in skipped files stop being fetched.
   * @param priorities One level per file (0 skip, 1 normal, 2 high).
   * @returns When applied (before the data is checked, they apply once it is).
   * @throws {RangeError} If there is not one level per file.
   * @throws {StorageError} If moving bytes out of the parts file fails.
   */
  async setFilePriorities(priorities: Uint8Array): Promise<void> {
    if (priorities.length !== this.metainfo.files.length) {
      throw new RangeError(
        `Cannot set ${priorities.length} priorities for ${this.metainfo.files.length} files`,
      );
    }
    this.#filePriorities = priorities.slice();
    const parts = this.#parts;
    if (!parts || this.closing) return; // the next session applies them when it opens
    try {
      await parts.storage.select(priorities, parts.scheduler.have);
    } catch (error) {
      if (this.closing) return; // stopped meanwhile: the next open moves the bytes
      throw error;
    }
    parts.filePriorities = priorities.slice();
    this.#completion.applySelection(parts, this.metainfo, this.#sequential, this.#activity.active);
  }

  /**
   * Switches sequential download on or off.
   * @param on `true` for piece order, first and last piece of each selected file first.
   */
  setSequential(on: boolean): void {
    this.#sequential = on;
    if (this.#parts) {
      this.#completion.applySelection(this.#parts, this.metainfo, on, this.#activity.active);
    }
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
      if (parts.scheduler.finished) await this.#completion.doneAtStart(parts);
      this.#activity.listen();
      yield {
        type: "ready",
        have: have.count,
        pieceCount: have.size,
        port: this.port,
        ...this.#checked,
      };
      if (parts.scheduler.finished && !this.#options.seed && !this.#options.requireComplete) {
        yield this.#stats.completeEvent();
        return;
      }
      for (const address of this.#options.peers ?? []) this.#book.add(address, performance.now());
      this.#activity.start(parts);
      this.#spawn(this.#tickLoop(parts));
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

  /** Opens the data (hashing only what the resume file cannot vouch for) and builds the parts. */
  async *#open(): AsyncGenerator<SessionEvent, Parts> {
    const { metainfo } = this;
    const options = this.#options;
    const signal = this.#controller.signal;
    // One core stays free for the network and the disk; the pool hashes on the others.
    const cores = navigator.hardwareConcurrency || 1;
    this.#pool = options.hashPool ?? new HashPool({ size: Math.max(1, Math.min(4, cores - 1)) });
    const opened = yield* openTorrentData(metainfo, options.dir, {
      pool: this.#pool,
      filePriorities: this.#filePriorities,
      recheck: options.recheck,
      resumeFolder: options.resumeDir,
      signal,
      progressIntervalMs: TICK_MS / 5,
    });
    this.#checked = { hashed: opened.hashed, trusted: opened.trusted };
    const maxPeers = options.maxPeers;
    this.#parts = buildParts({
      ...options,
      metainfo,
      peerId: this.peerId,
      storage: opened.storage,
      have: opened.have,
      filePriorities: this.#filePriorities,
      sequential: this.#sequential,
      pool: this.#pool,
      uploadLimit: this.#uploadLimit,
      downloadLimit: this.#downloadLimit,
      peers: this.#peers,
      book: this.#book,
      stats: this.#stats,
      signal,
      trackers: options.trackers !== false,
      port: () => this.port,
      maxPeers: typeof maxPeers === "function" ? maxPeers : () => maxPeers ?? DEFAULT_MAX_PEERS,
      wantsPeers: () =>
        this.#activity.active && (!this.finished || this.#completion.wantsSeeding()),
      emit: (event) => this.#events.push(event),
      spawn: (task) => this.#spawn(task),
      onVerified: (piece) => this.#completion.pieceVerified(this.#parts!, piece),
    });
    return this.#parts;
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
      if (this.#completion.reported && !this.#completion.wantsSeeding()) {
        this.#events.close();
        return;
      }
      if (this.#activity.active) parts.connector.dial();
    }
  }

  #progressEvent(have: Bitfield): SessionEvent {
    const scheduler = this.#parts?.scheduler;
    return this.#stats.progressEvent(
      this.metainfo,
      have,
      (i) => (scheduler ? scheduler.priorities.get(i) > 0 : true),
      scheduler?.finished ?? have.complete,
      this.#peers.size,
      this.#book.size,
    );
  }

  async #shutdown(): Promise<void> {
    this.#controller.abort();
    this.#events.close();
    for (const peer of this.#peers.values()) peer.conn.close();
    await Promise.allSettled([...this.#tasks]);
    if (!this.#options.uploadLimit) this.#uploadLimit.close();
    if (!this.#options.downloadLimit) this.#downloadLimit.close();
    const parts = this.#parts;
    if (parts) {
      parts.scheduler.dispose();
      parts.upload.dispose();
      try {
        await parts.resume.save();
      } catch {
        // The disk failed already; the error that stopped us is reported.
      }
      await parts.resume.close();
      await parts.storage.close();
    }
    await this.#activity.close();
    if (!this.#options.hashPool) this.#pool?.close();
  }
}
