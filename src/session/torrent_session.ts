import { Bitfield } from "../bytes/bitfield.ts";
import { equalBytes } from "../bytes/bytes.ts";
import { encodeHex } from "../bytes/hex.ts";
import { mseReq2Hash } from "../wire/mse_crypto.ts";
import { BLOCK_SIZE, pieceSize } from "../metainfo/geometry.ts";
import type { Metainfo } from "../metainfo/types.ts";
import { acceptPeer, connectPeer, type PeerConnection } from "../peer/connection.ts";
import { PeerError } from "../peer/peer_error.ts";
import { RateLimiter } from "../peer/rate_limiter.ts";
import { blockKey, PieceScheduler } from "../scheduler/piece_scheduler.ts";
import type { ActivePiece, BlockRequest } from "../scheduler/piece_scheduler.ts";
import { RateMeter } from "../scheduler/rate_meter.ts";
import { HashPool } from "../sha1/hash_pool.ts";
import { checkPieces } from "../storage/check_pieces.ts";
import { loadResume, saveResume } from "../storage/resume.ts";
import { TorrentStorage } from "../storage/torrent_storage.ts";
import { announceEvent, announcePeers } from "../tracker/announce_peers.ts";
import { TrackerTiers } from "../tracker/tracker_tiers.ts";
import type { AnnounceRequest } from "../tracker/types.ts";
import { checkRequest } from "../upload/check_request.ts";
import { chooseUnchoked, type OptimisticUnchoke, RECHOKE_INTERVAL_MS } from "../upload/choker.ts";
import {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  EXTENSION_HANDSHAKE_ID,
} from "../wire/extension.ts";
import { decodePex, encodePex } from "../wire/pex.ts";
import type { PeerMessage } from "../wire/message.ts";
import { encodeIpAddress, formatPeerAddress, type PeerAddress } from "../wire/peer_address.ts";
import { generatePeerId } from "../wire/peer_id.ts";
import { VERSION } from "../version.ts";
import { sleep } from "../util/io_helpers.ts";
import { EventQueue } from "./event_queue.ts";
import type { SessionEvent } from "./events.ts";
import { PeerBook } from "./peer_book.ts";
import { SwarmPeer } from "./swarm_peer.ts";

/** How often progress is reported and timers are checked. */
export const TICK_MS = 500;
/** A peer holding our requests this long without sending a block is snubbed. */
export const SNUB_TIMEOUT_MS = 30_000;
/** A single request unanswered this long (while the peer answers others) is asked elsewhere. */
export const REQUEST_TIMEOUT_MS = 20_000;
/** Resume data is saved this often while downloading. */
export const RESUME_SAVE_INTERVAL_MS = 30_000;
/** Data is flushed to disk (and resume data saved) after about this many bytes are written. */
export const SYNC_EVERY_BYTES: number = 64 * 1024 * 1024;
/** Requests one peer may have queued with us; we advertise it as `reqq` (BEP 10). */
export const MAX_QUEUED_UPLOADS = 2000;
/** Requests refused for a full queue after which the peer counts as flooding and is dropped. */
export const MAX_OVERFLOW_REQUESTS = 4 * MAX_QUEUED_UPLOADS;
/** Most bytes of blocks sent to one peer in one write. */
export const UPLOAD_BATCH_BYTES = 256 * 1024;
/** Dials in progress at once. */
export const MAX_CONCURRENT_DIALS = 10;
/** Our message id for ut_pex (BEP 11) in the extension handshake. */
export const UT_PEX_ID = 1;
/** How often each peer is told which peers joined and left (BEP 11: about once a minute). */
export const PEX_INTERVAL_MS = 60_000;
/** Most addresses one PEX message adds (and drops), as BEP 11 asks. */
export const PEX_MAX_PEERS = 50;
/** Pieces a peer may contribute to that fail their hash before it is banned. */
export const MAX_HASH_FAILURES = 2;

/** When to stop seeding after a download completes. */
export interface SeedLimits {
  /** Stop once uploaded / torrent size reaches this ratio. */
  ratio?: number;
  /** Stop after seeding this many seconds. */
  seconds?: number;
}

/** Options for {@linkcode TorrentSession}. */
export interface TorrentSessionOptions {
  /** Folder the torrent's data lives in. */
  dir: string;
  /** Our peer id (BEP 20); random by default. */
  peerId?: Uint8Array;
  /** Listen for incoming peers (default `true`). */
  listen?: boolean;
  /** TCP port to listen on: 0 for any free port; default 6881 or the next free one. */
  port?: number;
  /** Address to listen on (default `0.0.0.0`). */
  listenHost?: string;
  /** Peers to dial directly. */
  peers?: readonly PeerAddress[];
  /** Announce to the torrent's trackers (default `true`). */
  trackers?: boolean;
  /** Most connected peers (default 50). */
  maxPeers?: number;
  /** Keep seeding after the download completes; `true` seeds until aborted. */
  seed?: boolean | SeedLimits;
  /** Upload limit in bytes per second (default unlimited). */
  maxUploadRate?: number;
  /** Download limit in bytes per second (default unlimited). */
  maxDownloadRate?: number;
  /** A hash pool to share between sessions; one is made (and closed) otherwise. */
  hashPool?: HashPool;
  /** Bytes of piece buffers in memory at once (default 16 MiB, or 4 pieces if more). */
  maxActiveBytes?: number;
  /** Time limit of one announce to one tracker (default: the tracker module's, 30 s). */
  trackerTimeoutMs?: number;
  /** A single request unanswered this long is asked of another peer (default 20 s). */
  requestTimeoutMs?: number;
  /** A peer that sends no block for this long while holding requests is snubbed (default 30 s). */
  snubTimeoutMs?: number;
  /** Refuse to start unless every piece is already here (for `shoal seed`). */
  requireComplete?: boolean;
  /** Stops the session. */
  signal?: AbortSignal;
}

/** The torrent's data is incomplete where the caller asked for a complete copy. */
export class IncompleteDataError extends Error {
  /**
   * Makes the error.
   * @param have Pieces present.
   * @param total Pieces in the torrent.
   */
  constructor(readonly have: number, readonly total: number) {
    super(`Cannot seed: only ${have} of ${total} pieces are present and valid`);
    this.name = "IncompleteDataError";
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "AbortError" || error.name === "TimeoutError");
}

/** The peer accepted the TCP connection, then closed it during the plain handshake. */
function hungUpOnHandshake(error: unknown): boolean {
  if (error instanceof Deno.errors.ConnectionReset) return true;
  return error instanceof PeerError && error.code === "hung-up";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Downloads and seeds one torrent: checks or resumes the data on disk, finds peers through
 * trackers, direct addresses and incoming connections, requests blocks through the
 * {@linkcode PieceScheduler}, verifies each piece with SHA-1 and writes it at once, and
 * uploads to peers under a BEP 3 choker. `run()` yields {@linkcode SessionEvent}s; breaking
 * out of it (or aborting `signal`) stops everything and saves resume data.
 * @example
 * ```ts ignore
 * import { parseTorrent, TorrentSession } from "@shoal/shoal";
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
  readonly #bannedIds = new Set<string>();
  /** BEP 3 `key`: lets a tracker know us across address changes. */
  readonly #trackerKey = crypto.getRandomValues(new Uint32Array(1))[0];
  /** HASH('req2', info hash): how an encrypted (MSE) incoming peer names our torrent. */
  readonly #mseReq2: Uint8Array;
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #downRate = new RateMeter();
  readonly #upRate = new RateMeter();
  readonly #uploadLimit: RateLimiter;
  readonly #downloadLimit: RateLimiter;
  readonly #pieceCache = new Map<number, Promise<Uint8Array>>();
  #have!: Bitfield;
  #scheduler!: PieceScheduler<SwarmPeer>;
  #storage!: TorrentStorage;
  #pool!: HashPool;
  #ownsPool = false;
  #listener: Deno.Listener | undefined;
  #tiers: TrackerTiers | undefined;
  #dialing = 0;
  #downloaded = 0;
  #uploaded = 0;
  #startedAtMs = 0;
  #completedAtMs: number | undefined;
  #optimistic: OptimisticUnchoke | undefined;
  #lastRechokeMs = 0;
  #lastPexMs = 0;
  #lastResumeSaveMs = 0;
  #resumeDirty = false;
  /** Bytes written since the last flush began; past {@linkcode SYNC_EVERY_BYTES} we flush. */
  #unsyncedBytes = 0;
  #saving: Promise<void> = Promise.resolve();
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
    this.#mseReq2 = mseReq2Hash(metainfo.infoHash);
    this.#uploadLimit = new RateLimiter(options.maxUploadRate);
    this.#downloadLimit = new RateLimiter(options.maxDownloadRate);
    this.#controller.signal.addEventListener("abort", () => this.#events.close(), { once: true });
  }

  /** The TCP port we listen on, once `run()` has started listening. */
  get port(): number | undefined {
    const addr = this.#listener?.addr;
    return addr && "port" in addr ? addr.port : undefined;
  }

  /** Pieces verified so far. */
  get have(): Bitfield | undefined {
    return this.#have;
  }

  /**
   * Adds a peer address to dial.
   * @param address The peer's address.
   */
  addPeer(address: PeerAddress): void {
    if (this.#book.add(address, performance.now())) this.#dial();
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
      yield* this.#prepare();
      if (this.#options.requireComplete && !this.#have.complete) {
        throw new IncompleteDataError(this.#have.count, this.#have.size);
      }
      this.#startedAtMs = performance.now();
      if (this.#have.complete) {
        this.#completedAtMs = this.#startedAtMs;
        this.#completeReported = true;
      }
      if (this.#options.listen !== false) this.#listener = this.#listen();
      yield { type: "ready", have: this.#have.count, pieceCount: this.#have.size, port: this.port };
      if (this.#have.complete && !this.#options.seed && !this.#options.requireComplete) {
        yield this.#completeEvent();
        return;
      }
      if (this.#listener) this.#spawn(this.#acceptLoop(this.#listener));
      for (const address of this.#options.peers ?? []) this.#book.add(address, performance.now());
      if (this.#options.trackers !== false && this.metainfo.announce.length > 0) {
        this.#tiers = new TrackerTiers(this.metainfo.announce);
        this.#spawn(this.#trackerLoop(this.#tiers));
      }
      this.#spawn(this.#tickLoop());
      this.#dial();
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
    if (outer?.aborted && this.#have) {
      yield this.#progressEvent(); // final totals, as counted up to the last byte
      yield { type: "stopped", have: this.#have.count, pieceCount: this.#have.size };
    }
  }

  /** Opens storage and finds out which pieces are already on disk. */
  async *#prepare(): AsyncGenerator<SessionEvent> {
    const { metainfo } = this;
    const dir = this.#options.dir;
    // One core stays free for the network and the disk; the pool hashes on the others.
    const cores = navigator.hardwareConcurrency || 1;
    this.#pool = this.#options.hashPool ??
      new HashPool({ size: Math.max(1, Math.min(4, cores - 1)) });
    this.#ownsPool = !this.#options.hashPool;
    this.#storage = await TorrentStorage.open(metainfo, dir);
    let have = await loadResume(dir, metainfo);
    if (!have) {
      const progress = new EventQueue<SessionEvent>();
      let lastReportMs = -Infinity;
      // Piece buffers go round between the disk and the hash workers instead of one new
      // allocation per piece, which keeps memory flat while a large torrent is checked.
      const spare: Uint8Array[] = [];
      const storage = this.#storage;
      const source = {
        fileSizes: () => storage.fileSizes(),
        readPiece: (index: number) => {
          const size = pieceSize(metainfo, index);
          return storage.readBlock(
            index,
            0,
            size,
            size === metainfo.pieceLength ? spare.pop() : undefined,
          );
        },
      };
      const checking = checkPieces(metainfo, source, {
        hash: async (data) => {
          const hashed = await this.#pool.hash(data);
          const buffer = hashed.data;
          if (buffer.length === metainfo.pieceLength && buffer.byteOffset === 0) spare.push(buffer);
          return hashed.digest;
        },
        signal: this.#controller.signal,
        onProgress: (checked, total) => {
          const now = performance.now();
          if (checked < total && now - lastReportMs < TICK_MS / 5) return;
          lastReportMs = now;
          progress.push({ type: "checking", checked, total });
        },
      }).finally(() => progress.close());
      yield* progress;
      have = await checking;
      await this.#storage.prepare();
      await saveResume(dir, metainfo, have);
    }
    this.#have = have;
    this.#scheduler = new PieceScheduler<SwarmPeer>(metainfo, have, {
      maxActiveBytes: this.#options.maxActiveBytes,
    });
  }

  #listen(): Deno.Listener {
    const hostname = this.#options.listenHost ?? "0.0.0.0";
    const port = this.#options.port;
    if (port !== undefined) return Deno.listen({ hostname, port });
    for (let candidate = 6881; candidate <= 6889; candidate++) {
      try {
        return Deno.listen({ hostname, port: candidate });
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      }
    }
    return Deno.listen({ hostname, port: 0 });
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

  async #shutdown(): Promise<void> {
    this.#controller.abort();
    this.#events.close();
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    for (const peer of this.#peers.values()) peer.conn.close();
    await Promise.allSettled([...this.#tasks]);
    this.#uploadLimit.close();
    this.#downloadLimit.close();
    if (this.#storage) {
      try {
        await this.#saveResume();
      } catch {
        // The disk failed already; the error that stopped us is reported.
      }
      await this.#storage.close();
    }
    if (this.#tiers) {
      await announceEvent(this.#tiers, this.#announceState("stopped"), { timeoutMs: 3_000 }).catch(
        () => {},
      );
    }
    if (this.#ownsPool) await this.#pool?.close();
  }

  /**
   * Flushes the data to disk, then records the pieces that were written before the flush
   * began (never one still in the page cache only). Calls run one after another.
   */
  #saveResume(): Promise<void> {
    const run = this.#saving.catch(() => {}).then(async () => {
      if (!this.#have) return;
      const written = new Bitfield(this.#have.size);
      written.assign(this.#have.bytes.slice());
      this.#resumeDirty = false;
      try {
        await this.#storage.sync();
        await saveResume(this.#options.dir, this.metainfo, written);
      } catch (error) {
        this.#resumeDirty = true;
        throw error;
      }
      this.#lastResumeSaveMs = performance.now();
    });
    this.#saving = run;
    return run;
  }

  #completeEvent(): SessionEvent {
    const seconds = ((this.#completedAtMs ?? performance.now()) - this.#startedAtMs) / 1000;
    return { type: "complete", downloaded: this.#downloaded, seconds };
  }

  #left(): number {
    let left = 0;
    for (let i = 0; i < this.#have.size; i++) {
      if (!this.#have.has(i)) left += pieceSize(this.metainfo, i);
    }
    return left;
  }

  #announceState(event?: AnnounceRequest["event"]): AnnounceRequest {
    return {
      infoHash: this.metainfo.infoHash,
      peerId: this.peerId,
      port: this.port ?? 6881,
      uploaded: this.#uploaded,
      downloaded: this.#downloaded,
      left: this.#left(),
      event,
      numWant: 80,
      key: this.#trackerKey,
    };
  }

  async #trackerLoop(tiers: TrackerTiers): Promise<void> {
    const timeoutMs = this.#options.trackerTimeoutMs;
    const batches = announcePeers(tiers, () => this.#announceState(), {
      signal: this.#controller.signal,
      announce: timeoutMs === undefined ? undefined : { timeoutMs },
      onWarning: (message) => this.#events.push({ type: "warning", message }),
    });
    for await (const batch of batches) {
      const now = performance.now();
      for (const address of batch) this.#book.add(address, now);
      this.#dial();
    }
  }

  // ---- connections -------------------------------------------------------------------

  #dial(): void {
    if (!this.#have) return; // not started yet: run() dials once the data is checked
    const signal = this.#controller.signal;
    const maxPeers = this.#options.maxPeers ?? 50;
    while (
      !signal.aborted && this.#dialing < MAX_CONCURRENT_DIALS &&
      this.#peers.size + this.#dialing < maxPeers
    ) {
      if (this.#have.complete && !this.#wantsSeeding()) return;
      const address = this.#book.next(performance.now(), this.#have.complete);
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
    const dial = (encryption: "none" | "mse") =>
      connectPeer(address, {
        infoHash: this.metainfo.infoHash,
        peerId: this.peerId,
        pieceCount: this.metainfo.pieceCount,
        signal: this.#controller.signal,
        encryption,
      });
    let conn: PeerConnection;
    try {
      try {
        conn = await dial("none");
      } catch (error) {
        // A peer that hangs up on a plain handshake may insist on encryption: try MSE once.
        if (!hungUpOnHandshake(error) || this.#controller.signal.aborted) throw error;
        conn = await dial("mse");
      }
    } catch {
      this.#book.mark(address, "failed", performance.now());
      return;
    }
    await this.#runPeer(conn, address);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    const signal = this.#controller.signal;
    try {
      for await (const tcp of listener) {
        if (signal.aborted) {
          tcp.close();
          break;
        }
        if (this.#peers.size >= (this.#options.maxPeers ?? 50)) {
          tcp.close();
          continue;
        }
        this.#spawn(this.#acceptOne(tcp));
      }
    } catch (error) {
      if (!signal.aborted && !(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  async #acceptOne(tcp: Deno.Conn): Promise<void> {
    let conn: PeerConnection;
    try {
      conn = await acceptPeer(tcp, {
        peerId: this.peerId,
        lookup: (hash) =>
          encodeHex(hash) === this.metainfo.infoHashHex
            ? { pieceCount: this.metainfo.pieceCount }
            : undefined,
        mseLookup: (req2) => equalBytes(req2, this.#mseReq2) ? this.metainfo.infoHash : undefined,
        signal: this.#controller.signal,
      });
    } catch {
      return; // acceptPeer closes the socket on failure
    }
    await this.#runPeer(conn);
  }

  /** Runs one connected peer until it leaves; never throws. */
  async #runPeer(conn: PeerConnection, dialed?: PeerAddress): Promise<void> {
    const peer = new SwarmPeer(conn, this.metainfo.pieceCount, dialed !== undefined);
    const address = formatPeerAddress(conn.remote);
    const now = performance.now();
    const ourId = encodeHex(this.peerId);
    if (peer.id === ourId || this.#bannedIds.has(peer.id) || !this.#replaceDuplicate(peer)) {
      // Ourselves, banned, or a second connection to a peer we keep the first one of.
      if (dialed && peer.id === ourId) this.#book.ban(dialed);
      else if (dialed) this.#book.mark(dialed, "closed", now);
      conn.close();
      return;
    }
    if (dialed) this.#book.mark(dialed, "connected", now);
    this.#peers.set(peer.id, peer);
    this.#scheduler.addPeer(peer);
    this.#events.push({ type: "peer", change: "connected", address });
    let reason: string | undefined;
    const peerAbort = new AbortController();
    const signal = AbortSignal.any([this.#controller.signal, peerAbort.signal]);
    const loops: Promise<void>[] = [];
    try {
      await this.#sendOpening(peer);
      loops.push(this.#requestLoop(peer, signal), this.#uploadLoop(peer, signal));
      for (const loop of loops) {
        loop.catch((error) => {
          reason ??= describe(error);
          peerAbort.abort();
          conn.close();
        });
      }
      for await (const message of conn.messages()) {
        const problem = await this.#handleMessage(peer, message);
        if (problem) {
          reason = problem;
          break;
        }
      }
      reason ??= "connection closed";
    } catch (error) {
      reason ??= describe(error);
    } finally {
      peerAbort.abort();
      conn.close();
      await Promise.allSettled(loops);
      if (this.#peers.get(peer.id) === peer) this.#peers.delete(peer.id);
      this.#scheduler.removePeer(peer);
      if (dialed) {
        this.#book.mark(dialed, "closed", performance.now());
        if (peer.has.complete) this.#book.markSeed(dialed);
      }
      if (!this.#controller.signal.aborted) {
        this.#events.push({ type: "peer", change: "disconnected", address, reason });
        for (const other of this.#peers.values()) other.wake.notify();
        this.#dial();
      }
    }
  }

  /**
   * Decides between two connections to the same peer, which happen when both sides dial each
   * other at once. Both ends must choose the same one, or each drops the one the other kept:
   * the connection opened by the side with the lower peer id survives.
   * @returns `false` to drop `peer`; `true` to keep it (any older connection is closed).
   */
  #replaceDuplicate(peer: SwarmPeer): boolean {
    const existing = this.#peers.get(peer.id);
    if (!existing) return true;
    if (existing.outgoing === peer.outgoing) return false;
    const ourId = encodeHex(this.peerId);
    const opener = (p: SwarmPeer) => p.outgoing ? ourId : p.id;
    if (opener(peer) > opener(existing)) return false;
    this.#peers.delete(existing.id);
    existing.conn.close();
    return true;
  }

  get #pexEnabled(): boolean {
    return !this.metainfo.private;
  }

  /** BEP 10 messages: the extension handshake and ut_pex. Returns a reason to drop the peer. */
  #onExtended(peer: SwarmPeer, id: number, payload: Uint8Array): string | undefined {
    if (id === EXTENSION_HANDSHAKE_ID) {
      let handshake;
      try {
        handshake = decodeExtensionHandshake(payload);
      } catch (error) {
        return describe(error);
      }
      const pexId = handshake.m.ut_pex;
      peer.pexId = this.#pexEnabled && pexId !== undefined && pexId > 0 ? pexId : undefined;
      peer.listenPort = handshake.p;
      if (handshake.reqq !== undefined) {
        peer.maxRequests = Math.max(1, handshake.reqq);
        peer.queueDepth = Math.min(peer.queueDepth, peer.maxRequests);
      }
      if (peer.pexId !== undefined) this.#trySendPex(peer);
      return undefined;
    }
    if (id === UT_PEX_ID && this.#pexEnabled) {
      const now = performance.now();
      if (now - peer.lastPexAtMs < PEX_INTERVAL_MS / 4) return undefined; // too often: ignored
      peer.lastPexAtMs = now;
      let pex;
      try {
        pex = decodePex(payload);
      } catch (error) {
        return describe(error);
      }
      for (const address of [...pex.added, ...pex.added6].slice(0, PEX_MAX_PEERS)) {
        this.#book.add(address, now);
      }
      this.#dial();
    }
    return undefined; // extensions we did not offer are ignored
  }

  /** Where a connected peer accepts connections, if we know it. */
  #listenAddressOf(peer: SwarmPeer): PeerAddress | undefined {
    if (!peer.outgoing && peer.listenPort === undefined) return undefined;
    const address = peer.outgoing
      ? peer.conn.remote
      : { host: peer.conn.remote.host, port: peer.listenPort! };
    try {
      encodeIpAddress(address.host); // PEX carries IP literals only (not names, not zones)
    } catch {
      return undefined;
    }
    return address;
  }

  /** Tells a peer which peers joined and left since the last time (BEP 11). */
  #sendPex(peer: SwarmPeer): void {
    if (peer.pexId === undefined) return;
    const current = new Map<string, PeerAddress>();
    for (const other of this.#peers.values()) {
      if (other === peer) continue;
      const address = this.#listenAddressOf(other);
      if (address) current.set(formatPeerAddress(address), address);
    }
    const added: PeerAddress[] = [];
    for (const [key, address] of current) {
      if (added.length >= PEX_MAX_PEERS) break;
      if (!peer.pexSent.has(key)) added.push(address);
    }
    const dropped: PeerAddress[] = [];
    for (const [key, address] of peer.pexSent) {
      if (dropped.length >= PEX_MAX_PEERS) break;
      if (!current.has(key)) dropped.push(address);
    }
    if (added.length === 0 && dropped.length === 0) return;
    for (const address of added) peer.pexSent.set(formatPeerAddress(address), address);
    for (const address of dropped) peer.pexSent.delete(formatPeerAddress(address));
    const v6 = (a: PeerAddress) => a.host.includes(":");
    const payload = encodePex({
      added: added.filter((a) => !v6(a)),
      added6: added.filter(v6),
      dropped: dropped.filter((a) => !v6(a)),
      dropped6: dropped.filter(v6),
    });
    peer.conn.send({ type: "extended", id: peer.pexId, payload }).catch(() => {});
  }

  /** {@linkcode TorrentSession.#sendPex} that never throws (PEX is best effort). */
  #trySendPex(peer: SwarmPeer): void {
    try {
      this.#sendPex(peer);
    } catch {
      // an address we could not encode: skip this round for this peer
    }
  }

  async #sendOpening(peer: SwarmPeer): Promise<void> {
    const messages: PeerMessage[] = [];
    if (peer.conn.extensions.extended) {
      // BEP 10: peer exchange unless the torrent is private (BEP 27), and `reqq` to tell the
      // peer how deep it may pipeline.
      const payload = encodeExtensionHandshake({
        m: this.#pexEnabled ? { ut_pex: UT_PEX_ID } : {},
        v: `shoal ${VERSION}`,
        reqq: MAX_QUEUED_UPLOADS,
        p: this.port,
      });
      messages.push({ type: "extended", id: EXTENSION_HANDSHAKE_ID, payload });
    }
    const have = this.#have;
    if (peer.conn.extensions.fast && have.count === 0) messages.push({ type: "have-none" });
    else if (peer.conn.extensions.fast && have.complete) messages.push({ type: "have-all" });
    else if (have.count > 0) messages.push({ type: "bitfield", bytes: have.bytes.slice() });
    if (messages.length > 0) await peer.conn.send(messages);
  }

  /** Handles one message; returns a reason to drop the peer, if any. */
  async #handleMessage(peer: SwarmPeer, message: PeerMessage): Promise<string | undefined> {
    switch (message.type) {
      case "keep-alive":
      case "port":
      case "suggest":
      case "allowed-fast":
        return undefined;
      case "extended":
        return this.#onExtended(peer, message.id, message.payload);
      case "choke":
        peer.peerChoking = true;
        for (const key of peer.outstanding.keys()) peer.forget(key);
        this.#scheduler.releaseAll(peer);
        this.#wakeAll();
        return undefined;
      case "unchoke":
        peer.peerChoking = false;
        peer.lastProgressAtMs = performance.now();
        peer.wake.notify();
        return undefined;
      case "interested":
        peer.peerInterested = true;
        this.#rechokeSoon();
        return undefined;
      case "not-interested":
        peer.peerInterested = false;
        return undefined;
      case "have":
        if (this.#scheduler.peerHave(peer, message.index)) {
          await this.#updateInterest(peer);
          peer.wake.notify();
        }
        return this.#dropIfBothSeeds(peer);
      case "bitfield":
      case "have-all":
      case "have-none": {
        const pieces = message.type === "bitfield" ? message.bytes : message.type === "have-all";
        this.#scheduler.setPeerPieces(peer, pieces);
        await this.#updateInterest(peer);
        peer.wake.notify();
        return this.#dropIfBothSeeds(peer);
      }
      case "request":
        return this.#onRequest(peer, message);
      case "cancel": {
        const at = peer.uploadQueue.findIndex((r) =>
          r.index === message.index && r.begin === message.begin && r.length === message.length
        );
        if (at >= 0) peer.uploadQueue.splice(at, 1);
        return undefined;
      }
      case "reject":
        if (this.#scheduler.release(peer, message)) {
          peer.forget(blockKey(message.index, message.begin));
          this.#wakeAll();
        }
        return undefined;
      case "piece":
        return this.#onBlock(peer, message.index, message.begin, message.block);
    }
  }

  #dropIfBothSeeds(peer: SwarmPeer): string | undefined {
    return this.#have.complete && peer.has.complete ? "both of us are seeds" : undefined;
  }

  async #updateInterest(peer: SwarmPeer): Promise<void> {
    const interesting = this.#scheduler.isInteresting(peer);
    if (interesting === peer.amInterested) return;
    peer.amInterested = interesting;
    await peer.conn.send({ type: interesting ? "interested" : "not-interested" });
    if (interesting) peer.wake.notify();
  }

  #wakeAll(): void {
    for (const peer of this.#peers.values()) peer.wake.notify();
  }

  #onBlock(peer: SwarmPeer, index: number, begin: number, block: Uint8Array): string | undefined {
    const outcome = this.#scheduler.receiveBlock(peer, peer.id, index, begin, block);
    if (!outcome) {
      const key = blockKey(index, begin);
      if (peer.cancelled.delete(key) || this.#have.has(index)) return undefined;
      return `sent a block we never asked for (piece ${index}, offset ${begin}, ${block.length} bytes)`;
    }
    const now = performance.now();
    peer.lastProgressAtMs = now;
    peer.snubbed = false;
    peer.downRate.add(block.length, now);
    this.#downRate.add(block.length, now);
    this.#downloaded += block.length;
    for (const other of outcome.cancel) {
      other.forget(blockKey(index, begin));
      other.conn.send({ type: "cancel", index, begin, length: block.length }).catch(() => {});
    }
    if (outcome.completed) this.#spawn(this.#verify(outcome.completed));
    peer.wake.notify();
    return undefined;
  }

  /** Bans a peer that sent data failing SHA-1 checks and forgets the blocks it gave us. */
  #ban(peer: SwarmPeer): void {
    this.#bannedIds.add(peer.id);
    this.#book.ban(peer.conn.remote);
    this.#scheduler.discardFrom(peer.id);
    this.#events.push({
      type: "warning",
      message: `Banned peer ${
        formatPeerAddress(peer.conn.remote)
      }: it sent data that failed SHA-1 checks`,
    });
    peer.conn.close();
  }

  async #verify(piece: ActivePiece): Promise<void> {
    const { index } = piece;
    const expected = this.metainfo.pieceHashes.subarray(index * 20, index * 20 + 20);
    const { ok, data } = await this.#pool.verify(piece.data, expected);
    piece.data = data;
    if (this.#controller.signal.aborted) return;
    if (!ok) {
      // Requests still out for this piece (expired ones included) are forgotten, so their late
      // blocks are not taken for blocks nobody asked for.
      for (const peer of this.#peers.values()) {
        for (let begin = 0; begin < piece.size; begin += BLOCK_SIZE) {
          const key = blockKey(index, begin);
          if (peer.outstanding.has(key)) peer.forget(key);
        }
      }
      this.#scheduler.pieceFailed(index);
      this.#scheduler.recycle(data);
      // A peer already banned for bad data explains the failure: the others go uncharged.
      const explained = [...piece.contributors].some((id) => this.#bannedIds.has(id));
      for (const id of explained ? [] : piece.contributors) {
        const peer = this.#peers.get(id);
        if (!peer) continue;
        peer.hashFailures++;
        if (piece.contributors.size === 1 || peer.hashFailures > MAX_HASH_FAILURES) {
          this.#ban(peer);
        }
      }
      this.#events.push({
        type: "warning",
        message: `Piece ${index} failed its SHA-1 check; fetching it again`,
      });
      this.#wakeAll();
      return;
    }
    await this.#storage.writePiece(index, data);
    this.#scheduler.pieceVerified(index);
    this.#scheduler.recycle(data);
    this.#wakeAll(); // the piece's bytes left the memory budget: peers may request again
    this.#pieceCache.delete(index);
    this.#resumeDirty = true;
    this.#unsyncedBytes += data.length;
    if (this.#unsyncedBytes >= SYNC_EVERY_BYTES && !this.#have.complete) {
      // Flush as we go, beside the download, so the flush at the end is short. (Counted from
      // here, so a flush still running does not get more queued behind it.)
      this.#unsyncedBytes = 0;
      this.#spawn(this.#saveResume());
    }
    this.#events.push({ type: "piece", index, from: [...piece.contributors] });
    for (const peer of this.#peers.values()) {
      peer.conn.send({ type: "have", index }).catch(() => {});
    }
    if (this.#have.complete) await this.#onComplete();
  }

  async #onComplete(): Promise<void> {
    this.#completedAtMs = performance.now();
    await this.#saveResume();
    if (this.#tiers) {
      announceEvent(this.#tiers, this.#announceState("completed"), { timeoutMs: 5_000 }).catch(
        () => {},
      );
    }
    this.#events.push(this.#progressEvent());
    this.#events.push(this.#completeEvent());
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
    const seed = this.#options.seed;
    if (!seed) return !!this.#options.requireComplete;
    if (seed === true || this.#completedAtMs === undefined) return true;
    if (seed.ratio !== undefined && this.#uploaded >= seed.ratio * this.metainfo.totalLength) {
      return false;
    }
    if (
      seed.seconds !== undefined && performance.now() - this.#completedAtMs >= seed.seconds * 1000
    ) return false;
    return true;
  }

  /** Keeps the peer's request pipeline full: an async iterator of request batches. */
  async *#requestBatches(peer: SwarmPeer, signal: AbortSignal): AsyncGenerator<BlockRequest[]> {
    while (!signal.aborted) {
      if (!peer.peerChoking && peer.amInterested && !this.#have.complete) {
        const room = (peer.snubbed ? 1 : peer.queueDepth) - peer.outstanding.size;
        if (room >= Math.max(1, peer.queueDepth >> 3) || peer.outstanding.size === 0) {
          const wasIdle = peer.outstanding.size === 0;
          const batch = this.#scheduler.fillRequests(peer, room);
          if (batch.length > 0) {
            if (wasIdle) peer.lastProgressAtMs = performance.now();
            yield batch;
            continue;
          }
        }
      }
      await peer.wake.wait(signal);
    }
  }

  async #requestLoop(peer: SwarmPeer, signal: AbortSignal): Promise<void> {
    try {
      for await (const batch of this.#requestBatches(peer, signal)) {
        await this.#downloadLimit.take(batch.length * BLOCK_SIZE, signal);
        await peer.conn.send(batch.map((r) => ({ type: "request", ...r })));
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  #onRequest(peer: SwarmPeer, request: BlockRequest): string | undefined {
    const verdict = checkRequest(request, {
      geometry: this.metainfo,
      have: (i) => this.#have.has(i),
      amChoking: peer.amChoking,
      queued: peer.uploadQueue.length,
      maxQueued: MAX_QUEUED_UPLOADS,
    });
    if (verdict.action === "drop") return verdict.reason;
    if (verdict.action === "reject") {
      if (peer.amChoking && ++peer.chokedRequests > MAX_QUEUED_UPLOADS) {
        return `kept sending requests while choked (over ${MAX_QUEUED_UPLOADS})`;
      }
      if (
        peer.uploadQueue.length >= MAX_QUEUED_UPLOADS &&
        ++peer.overflowRequests > MAX_OVERFLOW_REQUESTS
      ) {
        return `flooded us with requests beyond the ${MAX_QUEUED_UPLOADS} we allow`;
      }
      if (peer.conn.extensions.fast) peer.conn.send({ type: "reject", ...request }).catch(() => {});
      return undefined;
    }
    peer.uploadQueue.push({ index: request.index, begin: request.begin, length: request.length });
    peer.uploadWake.notify();
    return undefined;
  }

  async #uploadLoop(peer: SwarmPeer, signal: AbortSignal): Promise<void> {
    // One batch is written while the next one is read from disk.
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
        await this.#uploadLimit.take(bytes, signal);
        const blocks = await Promise.all(batch.map((request) => this.#readBlock(request)));
        await writing;
        if (peer.amChoking) {
          // Choked while the batch was read: the rest of the queue was rejected; this too.
          if (peer.conn.extensions.fast) {
            peer.conn.send(batch.map((r): PeerMessage => ({ type: "reject", ...r }))).catch(
              () => {},
            );
          }
          continue;
        }
        writing = peer.conn.send(
          batch.map((r, i): PeerMessage => ({ type: "piece", ...r, block: blocks[i] })),
        ).then(() => {
          const now = performance.now();
          peer.upRate.add(bytes, now);
          this.#upRate.add(bytes, now);
          this.#uploaded += bytes;
        });
        writing.catch(() => {}); // awaited on the next turn; never left unhandled
      }
      await writing;
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /** Reads a block for upload, through a small cache of whole pieces. */
  async #readBlock(request: BlockRequest): Promise<Uint8Array> {
    const size = pieceSize(this.metainfo, request.index);
    if (size > 4 * 1024 * 1024) {
      return this.#storage.readBlock(request.index, request.begin, request.length);
    }
    let piece = this.#pieceCache.get(request.index);
    if (!piece) {
      piece = this.#storage.readPiece(request.index);
      this.#pieceCache.set(request.index, piece);
      piece.catch(() => this.#pieceCache.delete(request.index));
      if (this.#pieceCache.size > 16) {
        const oldest = this.#pieceCache.keys().next().value;
        if (oldest !== undefined) this.#pieceCache.delete(oldest);
      }
    }
    const data = await piece;
    return data.subarray(request.begin, request.begin + request.length);
  }

  // ---- timers ------------------------------------------------------------------------

  async #tickLoop(): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      await sleep(TICK_MS, signal);
      const now = performance.now();
      for (const peer of this.#peers.values()) {
        peer.adaptQueueDepth(now);
        if (
          peer.outstanding.size > 0 &&
          now - peer.lastProgressAtMs > (this.#options.snubTimeoutMs ?? SNUB_TIMEOUT_MS)
        ) {
          peer.snubbed = true; // until it sends a block; meanwhile it gets one request at a time
          for (const key of peer.outstanding.keys()) peer.forget(key);
          this.#scheduler.releaseAll(peer);
          this.#wakeAll();
        } else this.#expireRequests(peer, now);
        if (peer.amInterested && !this.#scheduler.isInteresting(peer)) {
          this.#updateInterest(peer).catch(() => {}); // not awaited: a stuck peer must not stall us
        }
      }
      if (now - this.#lastRechokeMs >= RECHOKE_INTERVAL_MS) this.#rechoke(now);
      if (now - this.#lastPexMs >= PEX_INTERVAL_MS) {
        this.#lastPexMs = now;
        for (const peer of this.#peers.values()) this.#trySendPex(peer);
      }
      if (this.#resumeDirty && now - this.#lastResumeSaveMs >= RESUME_SAVE_INTERVAL_MS) {
        await this.#saveResume();
      }
      this.#events.push(this.#progressEvent());
      if (this.#completeReported && !this.#wantsSeeding()) {
        this.#events.close();
        return;
      }
      this.#dial();
    }
  }

  /**
   * Reopens single requests a peer has sat on for {@linkcode REQUEST_TIMEOUT_MS} while it
   * answers others, so another peer can fetch those blocks (the slow peer's answer still
   * counts if it comes first).
   */
  #expireRequests(peer: SwarmPeer, now: number): void {
    const timeoutMs = this.#options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    let expired = false;
    for (const [key, sentAtMs] of peer.outstanding) {
      if (now - sentAtMs >= timeoutMs && this.#scheduler.expire(peer, key)) expired = true;
    }
    if (expired) this.#wakeAll();
  }

  /** Re-chokes at once when a slot is free, so new interested peers need not wait 10 s. */
  #rechokeSoon(): void {
    let unchoked = 0;
    for (const peer of this.#peers.values()) if (!peer.amChoking) unchoked++;
    if (unchoked < 5) this.#rechoke(performance.now(), true);
  }

  /** Chooses who to unchoke and sends the changes, without waiting for them to go out. */
  #rechoke(now: number, keepOptimistic = false): void {
    if (!keepOptimistic) this.#lastRechokeMs = now;
    const seeding = this.#have.complete;
    const decision = chooseUnchoked({
      seeding,
      nowMs: now,
      slots: 4,
      optimistic: this.#optimistic,
      peers: [...this.#peers.values()].map((peer) => ({
        id: peer.id,
        interested: peer.peerInterested,
        isSeed: peer.has.complete,
        downloadRate: peer.downRate.rate(now),
        uploadRate: peer.upRate.rate(now),
        connectedAtMs: peer.connectedAtMs,
        lastUnchokedAtMs: peer.lastUnchokedAtMs,
        snubbed: peer.snubbed,
      })),
    });
    this.#optimistic = decision.optimistic;
    for (const peer of this.#peers.values()) {
      const unchoke = decision.unchoke.has(peer.id);
      if (unchoke === !peer.amChoking) continue;
      peer.amChoking = !unchoke;
      if (unchoke) {
        peer.lastUnchokedAtMs = now;
        peer.chokedRequests = 0;
      } else {
        if (peer.conn.extensions.fast) {
          const rejects = peer.uploadQueue.map((r): PeerMessage => ({ type: "reject", ...r }));
          if (rejects.length > 0) peer.conn.send(rejects).catch(() => {});
        }
        peer.uploadQueue.length = 0;
      }
      peer.conn.send({ type: unchoke ? "unchoke" : "choke" }).catch(() => {});
    }
  }

  #progressEvent(): SessionEvent {
    const now = performance.now();
    const have = this.#have;
    let haveBytes = 0;
    if (have.complete) haveBytes = this.metainfo.totalLength;
    else {
      haveBytes = have.count * this.metainfo.pieceLength;
      const last = have.size - 1;
      if (have.has(last)) haveBytes += pieceSize(this.metainfo, last) - this.metainfo.pieceLength;
    }
    return {
      type: "progress",
      have: have.count,
      pieceCount: have.size,
      haveBytes,
      totalBytes: this.metainfo.totalLength,
      downloaded: this.#downloaded,
      uploaded: this.#uploaded,
      downRate: this.#downRate.rate(now),
      upRate: this.#upRate.rate(now),
      peers: this.#peers.size,
      knownPeers: Math.max(this.#book.size, this.#peers.size),
      seeding: have.complete,
    };
  }
}
