import type { Bitfield } from "../bytes/bitfield.ts";
import type { MagnetLink } from "../metainfo/magnet.ts";
import { encodeTorrentFile, metainfoFromInfo } from "../metainfo/torrent_from_info.ts";
import type { Metainfo } from "../metainfo/types.ts";
import { idleTrackers, type TrackerStatus } from "../session/announcer.ts";
import type { ProgressEvent, SessionEvent } from "../session/events.ts";
import { fetchMetadata, type MetadataFetch } from "../session/metadata_session.ts";
import { TorrentSession } from "../session/torrent_session.ts";
import type { DataLock } from "../storage/data_lock.ts";
import { fileBytesDone, type FilePriority } from "../storage/file_selection.ts";
import { TorrentStorage } from "../storage/torrent_storage.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import { EventHub } from "./event_hub.ts";
import { FileSelectionState } from "./file_selection_state.ts";
import { PieceWaiters } from "./piece_waiters.ts";
import { saveStoredTorrent } from "./stored_torrent.ts";
import { TorrentFile } from "./torrent_file.ts";
import type {
  AddOptions,
  PeerInfo,
  SharedSessionOptions,
  TorrentEvent,
  TorrentState,
  TorrentStats,
} from "./torrent_types.ts";
import { errorMessage } from "../util/printable.ts";

export type { AddOptions, PeerInfo, TorrentEvent, TorrentState, TorrentStats };

/** Peers kept for the next session while none runs (between the metadata and the download). */
const MAX_WAITING_PEERS = 200;

/** What a torrent gets from its client besides the shared session options. */
export interface TorrentHooks {
  /** The client's memory budget now. */
  readonly memory: () => { used: number; limit: number };
  /** Locks the torrent's files in its folder (refused when another torrent writes them). */
  readonly lock: (metainfo: Metainfo) => Promise<DataLock>;
  /** Where a magnet's .torrent is kept once fetched. */
  readonly storedTorrentPath: string;
}

/**
 * One torrent in a `Client`: its files, state and figures, events any number of consumers can
 * read, file priorities, pause and resume, and `done`. A torrent added from a magnet link first
 * fetches its metadata from the swarm (state `"fetching-metadata"`), then goes on as any other.
 */
export class Torrent {
  /** The info hash, 40 lowercase hex digits. */
  readonly infoHash: string;
  /** The download folder. */
  readonly dir: string;
  /** Resolves once the selected files are complete; rejects on an error or removal first. */
  readonly done: Promise<void>;
  readonly #magnet: MagnetLink | undefined;
  readonly #shared: SharedSessionOptions;
  readonly #options: AddOptions;
  readonly #hooks: TorrentHooks;
  readonly #hub = new EventHub<TorrentEvent>();
  readonly #boosts = new Map<object, ReadonlyMap<number, number>>();
  readonly #waiters = new PieceWaiters();
  readonly #done = Promise.withResolvers<void>();
  #metainfo: Metainfo | undefined;
  #selection: FileSelectionState | undefined;
  #files: readonly TorrentFile[] = [];
  #lock: DataLock | undefined;
  #sequential: boolean;
  #paused: boolean;
  #state: TorrentState;
  #error: string | undefined;
  #session: TorrentSession | undefined;
  #fetch: MetadataFetch | undefined;
  /** Peers a magnet's metadata phase learnt, for the download that follows. */
  /** Peers found while no session runs (the metadata phase, the gap before the download). */
  #found: PeerAddress[] = [];
  #controller: AbortController | undefined;
  #have: Bitfield | undefined;
  #lastProgress: ProgressEvent | undefined;
  #restart = Promise.withResolvers<void>();
  #stopping = false;
  #recheck = false;
  #loop: Promise<void> | undefined;
  #readStorage: Promise<TorrentStorage> | undefined;
  #bytesDone: number[] | undefined;

  /**
   * Made by `client.add()`.
   * @param source The torrent's metadata (its files locked already), or a magnet link.
   * @param dir Its download folder.
   * @param options How it was added.
   * @param shared What the client shares with it (listener, pool, limits, budget).
   * @param hooks The memory budget, the file lock and where a magnet's .torrent goes.
   * @param lock The lock on its files, when `source` is metadata.
   */
  constructor(
    source: { metainfo: Metainfo } | { magnet: MagnetLink },
    dir: string,
    options: AddOptions,
    shared: SharedSessionOptions,
    hooks: TorrentHooks,
    lock?: DataLock,
  ) {
    this.#magnet = "magnet" in source ? source.magnet : undefined;
    this.infoHash = "magnet" in source ? source.magnet.infoHashHex : source.metainfo.infoHashHex;
    this.dir = dir;
    this.#options = options;
    this.#shared = shared;
    this.#hooks = hooks;
    this.#lock = lock;
    this.#sequential = options.sequential ?? false;
    this.#paused = options.paused ?? false;
    this.#state = "metainfo" in source ? "checking" : "fetching-metadata";
    if ("metainfo" in source) this.#setMetainfo(source.metainfo);
    this.done = this.#done.promise;
    this.done.catch(() => {}); // nobody has to await it
  }

  /** The torrent's metadata; `undefined` while a magnet link's is being fetched. */
  get metainfo(): Metainfo | undefined {
    return this.#metainfo;
  }

  /** The files (padding files are not listed), indexed as `shoal info` prints them. */
  get files(): readonly TorrentFile[] {
    return this.#files;
  }

  /** The torrent's name (a magnet's `dn`, or the info hash, until its metadata arrives). */
  get name(): string {
    return this.#metainfo?.name ?? this.#magnet?.name ?? this.infoHash;
  }

  /** Where it is in its life. */
  get state(): TorrentState {
    return this.#state;
  }

  /** Why it stopped, when `state` is `"error"`. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Sequential download. */
  get sequential(): boolean {
    return this.#sequential;
  }

  /** The fraction of the selected files verified, 0 to 1. */
  get progress(): number {
    const { selectedBytes, selectedDoneBytes } = this.stats();
    if (!this.#metainfo) return 0;
    return selectedBytes === 0 ? 1 : selectedDoneBytes / selectedBytes;
  }

  /** The peers connected now (while it downloads or seeds). */
  get peers(): readonly PeerInfo[] {
    const now = performance.now();
    return [...(this.#session?.peers.values() ?? [])].map((peer) => ({
      address: `${peer.conn.remote.host}:${peer.conn.remote.port}`,
      client: peer.clientName ?? "",
      downloadRate: peer.downRate.rate(now),
      uploadRate: peer.upRate.rate(now),
      flags: (peer.amInterested ? "d" : "") + (peer.peerInterested ? "u" : "") +
        (peer.peerChoking ? "C" : "") + (peer.amChoking ? "c" : "") + (peer.outgoing ? "o" : "i"),
    }));
  }

  /** What we last heard from each tracker. */
  get trackers(): readonly TrackerStatus[] {
    if (this.#session) return this.#session.trackers;
    if (this.#metainfo) return idleTrackers(this.#metainfo);
    return (this.#magnet?.trackers ?? []).map((url, tier) => ({ url, tier, status: "idle" }));
  }

  /**
   * The verified pieces, as BEP 3 bitfield bytes (the first piece is the high bit of byte 0).
   * @returns A copy (empty while a magnet's metadata is fetched).
   */
  pieces(): Uint8Array {
    const count = this.#metainfo?.pieceCount ?? 0;
    return this.#have?.bytes.slice() ?? new Uint8Array(Math.ceil(count / 8));
  }

  /**
   * The torrent's figures now.
   * @returns Rates, totals, peers, selection, ETA and ratio.
   */
  stats(): TorrentStats {
    const p = this.#lastProgress;
    let selectedBytes = 0, selectedDoneBytes = 0;
    const metainfo = this.#metainfo;
    if (metainfo && this.#selection) {
      const done = this.#fileBytesDone();
      const levels = this.#selection.levels;
      metainfo.files.forEach((file, i) => {
        if (file.padding || levels[i] === 0) return;
        selectedBytes += file.length;
        selectedDoneBytes += done[i];
      });
    }
    const running = this.#session !== undefined && !this.#paused;
    const downloadRate = running ? p?.downRate ?? 0 : 0;
    const left = selectedBytes - selectedDoneBytes;
    return {
      downloadRate,
      uploadRate: running ? p?.upRate ?? 0 : 0,
      downloaded: p?.downloaded ?? 0,
      uploaded: p?.uploaded ?? 0,
      peers: running ? this.#session!.peers.size : 0, // live, not as of the last progress
      knownPeers: Math.max(p?.knownPeers ?? 0, running ? this.#session!.peers.size : 0),
      totalBytes: metainfo?.totalLength ?? 0,
      selectedBytes,
      selectedDoneBytes,
      etaSeconds: metainfo && left === 0 ? 0 : downloadRate > 0 ? left / downloadRate : Infinity,
      ratio: (p?.uploaded ?? 0) / Math.max(1, metainfo?.totalLength ?? 1),
    };
  }

  /**
   * The torrent's events from now on: session events (`metadata`, `checking`, `ready`,
   * `progress`, `piece`, `peer`, `warning`, `complete`, `stopped`), `metainfo` once a magnet's
   * metadata verified, `state` changes and `error`s. Any number of consumers may read at once;
   * each sees every event from the moment it starts.
   * @returns The events; the iteration ends when the torrent is removed or the client closes.
   */
  events(): AsyncIterable<TorrentEvent> {
    return this.#hub.subscribe();
  }

  /**
   * Sets how much a file is wanted. Skipping a file that is not on disk yet means it is never
   * created; selecting one later fetches only what is missing.
   * @param index The file's index in `files`.
   * @param priority `"skip"`, `"normal"` or `"high"`.
   * @returns When applied.
   * @throws {RangeError} For an index out of range or an unknown priority.
   */
  async setFilePriority(index: number, priority: FilePriority): Promise<void> {
    await this.setFilePriorities(new Map([[index, priority]]));
  }

  /**
   * Sets the priorities of several files at once.
   * @param priorities File index -> priority.
   * @returns When applied.
   * @throws {RangeError} For an index out of range or an unknown priority, or before a magnet's
   *   metadata is known.
   */
  async setFilePriorities(priorities: ReadonlyMap<number, FilePriority>): Promise<void> {
    const selection = this.#selection;
    if (!selection) throw new RangeError("Cannot set a priority: the files are not known yet");
    selection.set(priorities);
    this.#bytesDone = undefined;
    this.#reopenReads();
    const session = this.#session;
    if (session && !session.closing) await session.setFilePriorities(selection.levels);
    else this.#restart.resolve(); // a completed torrent may have work again
  }

  /**
   * Switches sequential download on or off.
   * @param on `true` for piece order.
   */
  setSequential(on: boolean): void {
    this.#sequential = on;
    this.#session?.setSequential(on);
  }

  /** Stops all network activity; the data stays checked and open. */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#session?.pause();
    if (this.#session) this.#setState("paused");
  }

  /** Starts again after `pause` (or an add with `paused`). */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#session?.resume();
    if (this.#session) this.#setState(this.#finishedState(this.#session.finished));
    else this.#restart.resolve();
  }

  /**
   * Hashes every piece on disk again, whatever the resume data says.
   * @returns When the check has started.
   */
  recheck(): Promise<void> {
    this.#recheck = true;
    if (this.#session) this.#controller?.abort(); // the loop starts a checking session
    else this.#restart.resolve();
    return Promise.resolve();
  }

  /**
   * Adds a peer address to dial.
   * @param address The peer.
   */
  addPeer(address: PeerAddress): void {
    if (this.#session) this.#session.addPeer(address);
    else if (this.#fetch) this.#fetch.addPeer(address);
    else if (this.#found.length < MAX_WAITING_PEERS) this.#found.push(address); // for the session
  }

  /**
   * Starts the torrent (called by the client).
   * @param signal The client's signal.
   */
  start(signal: AbortSignal): void {
    this.#loop ??= this.#run(signal);
  }

  /**
   * Stops the torrent: resume data saved, trackers told (called by the client).
   * @returns When stopped.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#controller?.abort();
    this.#restart.resolve();
    await this.#loop;
    const storage = this.#readStorage;
    this.#readStorage = undefined;
    await storage?.then((s) => s.close(), () => {});
    this.#lock?.release();
    if (this.#state !== "error") this.#setState("stopped");
    this.#done.reject(
      new DOMException(`${this.name} was stopped before it completed`, "AbortError"),
    );
    this.#waiters.stop();
    this.#hub.close();
  }

  #setMetainfo(metainfo: Metainfo): void {
    this.#metainfo = metainfo;
    const selection = new FileSelectionState(
      metainfo,
      this.#options.files,
      this.#magnet?.selectOnly,
    );
    this.#selection = selection;
    this.#files = selection.entryOf.map((entry, index) =>
      new TorrentFile(index, metainfo.files[entry], {
        pieceLength: metainfo.pieceLength,
        priorityOf: (i) => selection.levels[selection.entryOf[i]],
        bytesDoneOf: (i) => this.#fileBytesDone()[selection.entryOf[i]],
        waitForPiece: (piece, signal) => this.#waiters.wait(piece, signal),
        hasPiece: (piece) => this.#waiters.has(piece),
        read: (offset, into) => this.#read(offset, into),
        boost: (owner, levels) => {
          this.#boosts.set(owner, levels);
          this.#session?.scheduler?.boost(owner, levels);
        },
        clearBoost: (owner) => {
          this.#boosts.delete(owner);
          this.#session?.scheduler?.clearBoost(owner);
        },
      })
    );
  }

  async #run(clientSignal: AbortSignal): Promise<void> {
    try {
      if (!this.#metainfo) await this.#fetchMetainfo(clientSignal);
    } catch (error) {
      if (!this.#stopping && !clientSignal.aborted) this.#fail(error);
      return;
    }
    while (!this.#stopping && !clientSignal.aborted) {
      const metainfo = this.#metainfo!;
      this.#controller = new AbortController();
      const session = new TorrentSession(metainfo, {
        ...this.#shared,
        dir: this.dir,
        filePriorities: this.#selection!.levels,
        sequential: this.#sequential,
        paused: this.#paused,
        recheck: this.#recheck,
        seed: this.#options.seed ?? true,
        requireComplete: this.#options.requireComplete,
        peers: [...(this.#options.peers ?? []), ...(this.#magnet?.peers ?? []), ...this.#found],
        trackers: this.#options.trackers,
        signal: AbortSignal.any([clientSignal, this.#controller.signal]),
      });
      this.#session = session;
      this.#recheck = false;
      try {
        for await (const event of session.run()) this.#onEvent(session, event);
      } catch (error) {
        this.#fail(error);
        return;
      } finally {
        this.#session = undefined;
      }
      if (this.#stopping || clientSignal.aborted) return;
      if (this.#recheck) continue;
      // It ended because the selection completed and it does not seed: wait for more work
      // (a file selected since, or a resume after a pause).
      const more = () => !this.#have || this.#selection!.wantsMore(this.#have);
      if (!more()) {
        this.#setState("completed");
        this.#restart = Promise.withResolvers<void>();
        if (!more()) await this.#restart.promise;
      }
    }
  }

  /** A magnet link: fetches the info dictionary from the swarm, keeps its .torrent, locks. */
  async #fetchMetainfo(clientSignal: AbortSignal): Promise<void> {
    const magnet = this.#magnet!;
    this.#controller = new AbortController();
    const fetch = fetchMetadata({
      infoHash: magnet.infoHash,
      peerId: this.#shared.peerId ?? new Uint8Array(20),
      peers: [...(this.#options.peers ?? []), ...magnet.peers],
      trackers: this.#options.trackers === false ? [] : magnet.trackers.map((url) => [url]),
      trackerTimeoutMs: this.#shared.trackerTimeoutMs,
      listener: this.#shared.listener,
      port: this.#shared.listener?.port,
      dhtPort: this.#shared.dhtPort,
      onDhtNode: this.#shared.onDhtNode,
      emit: (event) => {
        if (event.type !== "progress") this.#hub.publish(event);
      },
      signal: AbortSignal.any([clientSignal, this.#controller.signal]),
    });
    this.#fetch = fetch;
    let info: Uint8Array;
    try {
      info = await fetch.done;
      this.#found = [...fetch.peers()];
    } finally {
      this.#fetch = undefined;
    }
    const metainfo = metainfoFromInfo(info, { trackers: magnet.trackers, name: magnet.name });
    await saveStoredTorrent(
      this.#hooks.storedTorrentPath,
      encodeTorrentFile(info, magnet.trackers),
    );
    this.#lock = await this.#hooks.lock(metainfo);
    this.#setMetainfo(metainfo);
    this.#hub.publish({
      type: "metainfo",
      name: metainfo.name,
      files: this.#files.length,
      totalBytes: metainfo.totalLength,
    });
    this.#setState("checking");
  }

  #onEvent(session: TorrentSession, event: SessionEvent): void {
    switch (event.type) {
      case "checking":
        this.#setState("checking");
        break;
      case "ready":
        this.#have = session.have;
        this.#bytesDone = undefined;
        this.#waiters.setHave(session.have);
        for (const [owner, levels] of this.#boosts) session.scheduler?.boost(owner, levels);
        this.#setState(this.#paused ? "paused" : this.#finishedState(session.finished));
        if (session.finished) this.#done.resolve();
        break;
      case "piece":
        this.#bytesDone = undefined;
        this.#waiters.pieceVerified(event.index);
        break;
      case "progress": {
        this.#lastProgress = event;
        if (!this.#paused) this.#setState(this.#finishedState(event.seeding));
        const memory = this.#hooks.memory();
        this.#hub.publish({ ...event, memoryBytes: memory.used, memoryLimit: memory.limit });
        return;
      }
      case "complete":
        this.#done.resolve();
        break;
      case "stopped":
        if (this.#stopping) this.#setState("stopped"); // the state first, this event last
        break;
    }
    this.#hub.publish(event);
  }

  #fail(error: unknown): void {
    this.#error = errorMessage(error);
    this.#setState("error");
    this.#hub.publish({ type: "error", message: this.#error });
    this.#done.reject(error);
  }

  /** "downloading" until the wanted pieces are in; then "seeding", or "completed" if it does not seed. */
  #finishedState(finished: boolean): TorrentState {
    if (!finished) return "downloading";
    return (this.#options.seed ?? true) ? "seeding" : "completed";
  }

  #setState(state: TorrentState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#hub.publish({ type: "state", state });
  }

  #fileBytesDone(): number[] {
    const metainfo = this.#metainfo;
    if (!metainfo) return [];
    if (!this.#have) return new Array(metainfo.files.length).fill(0);
    return this.#bytesDone ??= fileBytesDone(metainfo, this.#have);
  }

  /** Reads verified bytes through a storage of our own (it outlives sessions). */
  async #read(offset: number, into: Uint8Array): Promise<Uint8Array> {
    this.#readStorage ??= TorrentStorage.open(this.#metainfo!, this.dir, {
      filePriorities: this.#selection!.levels.slice(),
    });
    return (await this.#readStorage).readRange(offset, into);
  }

  /** Selection changed: where a skipped file's bytes live may have changed too. */
  #reopenReads(): void {
    const old = this.#readStorage;
    this.#readStorage = undefined;
    old?.then((s) => s.close(), () => {});
  }
}
