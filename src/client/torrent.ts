import type { Bitfield } from "../bytes/bitfield.ts";
import type { Metainfo } from "../metainfo/types.ts";
import type { ProgressEvent, SessionEvent } from "../session/events.ts";
import type { SeedLimits, TorrentSessionOptions } from "../session/session_options.ts";
import { TorrentSession } from "../session/torrent_session.ts";
import {
  FILE_PRIORITY_LEVEL,
  fileBytesDone,
  type FilePriority,
  piecePrioritiesFor,
} from "../storage/file_selection.ts";
import { TorrentStorage } from "../storage/torrent_storage.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import { idleTrackers, type TrackerStatus } from "../session/announcer.ts";
import { EventHub } from "./event_hub.ts";
import { TorrentFile } from "./torrent_file.ts";

/** Where a torrent is in its life. */
export type TorrentState =
  | "checking"
  | "downloading"
  | "seeding"
  | "paused"
  | "completed"
  | "stopped"
  | "error";

/** What a torrent's `events()` yields: its session's events, plus state changes and errors. */
export type TorrentEvent =
  | Exclude<SessionEvent, ProgressEvent>
  | (ProgressEvent & {
    /** Bytes of the client's memory budget in use. */
    readonly memoryBytes: number;
    /** The client's memory budget. */
    readonly memoryLimit: number;
  })
  | { readonly type: "state"; readonly state: TorrentState }
  | { readonly type: "error"; readonly message: string };

/** Options for `client.add()`. */
export interface AddOptions {
  /** Download folder (default: the client's `dir`). */
  dir?: string;
  /**
   * Which files to fetch: indices into `torrent.files` (as `shoal info` numbers them), or a
   * predicate; every file by default. The others are skipped (priority `"skip"`).
   */
  files?: readonly number[] | ((file: { index: number; path: string; length: number }) => boolean);
  /** Download in order, first and last piece of each selected file first. */
  sequential?: boolean;
  /** Add it paused (the data is checked; nothing is sent or fetched until `resume()`). */
  paused?: boolean;
  /** Keep seeding once the selection is complete (default `true`), or until a limit. */
  seed?: boolean | SeedLimits;
  /** Peers to connect to directly. */
  peers?: readonly PeerAddress[];
  /** Use the torrent's trackers (default `true`). */
  trackers?: boolean;
}

/** The parts of the client a torrent shares, as the client hands them over. */
export type SharedSessionOptions = Omit<
  TorrentSessionOptions,
  "dir" | "filePriorities" | "sequential" | "paused" | "seed" | "peers" | "trackers" | "signal"
>;

/** A torrent's figures now. */
export interface TorrentStats {
  /** Payload bytes per second, down and up. */
  readonly downloadRate: number;
  /** Payload bytes per second up. */
  readonly uploadRate: number;
  /** Payload bytes received since it was added (this run). */
  readonly downloaded: number;
  /** Payload bytes sent since it was added (this run). */
  readonly uploaded: number;
  /** Connected peers. */
  readonly peers: number;
  /** Known peers (connected or not). */
  readonly knownPeers: number;
  /** Bytes of the selected files. */
  readonly selectedBytes: number;
  /** Of those, verified. */
  readonly selectedDoneBytes: number;
  /** Seconds left at the current rate (Infinity when unknown). */
  readonly etaSeconds: number;
  /** Uploaded / torrent size. */
  readonly ratio: number;
}

/**
 * One torrent in a {@linkcode Client}: its files, state and figures, a stream of events any
 * number of consumers can read, file priorities, pause and resume, and `done`.
 */
export class Torrent {
  /** The info hash, 40 lowercase hex digits. */
  readonly infoHash: string;
  /** The download folder. */
  readonly dir: string;
  /** The files (padding files are not listed), indexed as `shoal info` prints them. */
  readonly files: readonly TorrentFile[];
  /** Resolves once the selected files are complete; rejects on an error or removal first. */
  readonly done: Promise<void>;
  readonly #metainfo: Metainfo;
  readonly #shared: SharedSessionOptions;
  readonly #options: AddOptions;
  readonly #hub = new EventHub<TorrentEvent>();
  /** Per entry of `metainfo.files` (padding included): 0 skip, 1 normal, 2 high. */
  readonly #levels: Uint8Array;
  /** `files[i]` is `metainfo.files[#entryOf[i]]`. */
  readonly #entryOf: number[];
  readonly #boosts = new Map<object, ReadonlyMap<number, number>>();
  readonly #waiters = new Map<number, Set<() => void>>();
  readonly #memory: () => { used: number; limit: number };
  readonly #done = Promise.withResolvers<void>();
  #sequential: boolean;
  #paused: boolean;
  #state: TorrentState = "checking";
  #error: string | undefined;
  #session: TorrentSession | undefined;
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
   * @param metainfo The torrent.
   * @param dir Its download folder.
   * @param options How it was added.
   * @param shared What the client shares with it (listener, pool, limits, budget).
   * @param memory The client's memory budget now.
   */
  constructor(
    metainfo: Metainfo,
    dir: string,
    options: AddOptions,
    shared: SharedSessionOptions,
    memory: () => { used: number; limit: number },
  ) {
    this.#metainfo = metainfo;
    this.infoHash = metainfo.infoHashHex;
    this.dir = dir;
    this.#options = options;
    this.#shared = shared;
    this.#memory = memory;
    this.#sequential = options.sequential ?? false;
    this.#paused = options.paused ?? false;
    this.#entryOf = metainfo.files.flatMap((file, i) => (file.padding ? [] : [i]));
    this.files = this.#entryOf.map((entry, index) =>
      new TorrentFile(index, metainfo.files[entry], {
        pieceLength: metainfo.pieceLength,
        priorityOf: (i) => this.#levels[this.#entryOf[i]],
        bytesDoneOf: (i) => this.#fileBytesDone()[this.#entryOf[i]],
        waitForPiece: (index, signal) => this.#waitForPiece(index, signal),
        hasPiece: (index) => this.#have?.has(index) ?? false,
        read: (offset, into) => this.#read(offset, into),
        boost: (owner, levels) => this.#boost(owner, levels),
        clearBoost: (owner) => this.#clearBoost(owner),
      })
    );
    this.#levels = new Uint8Array(metainfo.files.length).fill(FILE_PRIORITY_LEVEL.normal);
    const wanted = options.files;
    if (wanted !== undefined) {
      const selected = typeof wanted === "function"
        ? (file: TorrentFile) => wanted({ index: file.index, path: file.path, length: file.length })
        : (file: TorrentFile) => wanted.includes(file.index);
      for (const file of this.files) {
        if (!selected(file)) this.#levels[this.#entryOf[file.index]] = FILE_PRIORITY_LEVEL.skip;
      }
    }
    this.done = this.#done.promise;
    this.done.catch(() => {}); // nobody has to await it
  }

  /** The torrent's metadata. */
  get metainfo(): Metainfo {
    return this.#metainfo;
  }

  /** The torrent's name. */
  get name(): string {
    return this.#metainfo.name;
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
    return selectedBytes === 0 ? 1 : selectedDoneBytes / selectedBytes;
  }

  /** The peers connected now (for status displays). */
  get peers(): readonly {
    address: string;
    client: string;
    downloadRate: number;
    uploadRate: number;
    flags: string;
  }[] {
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
    return this.#session?.trackers ?? idleTrackers(this.#metainfo);
  }

  /**
   * The verified pieces, as BEP 3 bitfield bytes (the first piece is the high bit of byte 0).
   * @returns A copy (all zero before the data was checked).
   */
  pieces(): Uint8Array {
    return this.#have?.bytes.slice() ?? new Uint8Array(Math.ceil(this.#metainfo.pieceCount / 8));
  }

  /**
   * Hashes every piece on disk again, whatever the resume data says (peers are dropped for the
   * check and come back after).
   * @returns When the check has started.
   */
  recheck(): Promise<void> {
    this.#recheck = true;
    if (this.#session) this.#controller?.abort(); // the loop starts a checking session
    else this.#restart.resolve();
    return Promise.resolve();
  }

  /**
   * The torrent's figures now.
   * @returns Rates, totals, peers, selection, ETA and ratio.
   */
  stats(): TorrentStats {
    const p = this.#lastProgress;
    let selectedBytes = 0, selectedDoneBytes = 0;
    const done = this.#fileBytesDone();
    this.#metainfo.files.forEach((file, i) => {
      if (file.padding || this.#levels[i] === 0) return;
      selectedBytes += file.length;
      selectedDoneBytes += done[i];
    });
    const running = this.#session !== undefined && !this.#paused;
    const downloadRate = running ? p?.downRate ?? 0 : 0;
    const left = selectedBytes - selectedDoneBytes;
    return {
      downloadRate,
      uploadRate: running ? p?.upRate ?? 0 : 0,
      downloaded: p?.downloaded ?? 0,
      uploaded: p?.uploaded ?? 0,
      peers: running ? p?.peers ?? 0 : 0,
      knownPeers: p?.knownPeers ?? 0,
      selectedBytes,
      selectedDoneBytes,
      etaSeconds: left === 0 ? 0 : downloadRate > 0 ? left / downloadRate : Infinity,
      ratio: (p?.uploaded ?? 0) / Math.max(1, this.#metainfo.totalLength),
    };
  }

  /**
   * The torrent's events from now on: session events (`checking`, `ready`, `progress`,
   * `piece`, `peer`, `warning`, `complete`, `stopped`), `state` changes and `error`s. Any
   * number of consumers may read at once; each sees every event from the moment it starts.
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
   * @throws {RangeError} For an index out of range or an unknown priority.
   */
  async setFilePriorities(priorities: ReadonlyMap<number, FilePriority>): Promise<void> {
    for (const [index, priority] of priorities) {
      if (!Number.isInteger(index) || index < 0 || index >= this.files.length) {
        throw new RangeError(
          `Cannot set a priority: no file ${index} (${this.files.length} files)`,
        );
      }
      if (!(priority in FILE_PRIORITY_LEVEL)) {
        throw new RangeError(`Cannot set a priority: unknown priority ${JSON.stringify(priority)}`);
      }
    }
    for (const [index, priority] of priorities) {
      this.#levels[this.#entryOf[index]] = FILE_PRIORITY_LEVEL[priority];
    }
    this.#bytesDone = undefined;
    this.#reopenReads();
    const session = this.#session;
    if (session && !session.closing) {
      await session.setFilePriorities(this.#levels);
    } else {
      this.#restart.resolve(); // a completed torrent may have work again
    }
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
    if (this.#session) this.#setState(this.#session.finished ? "seeding" : "downloading");
    else this.#restart.resolve();
  }

  /**
   * Adds a peer address to dial.
   * @param address The peer.
   */
  addPeer(address: PeerAddress): void {
    this.#session?.addPeer(address);
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
    if (this.#state !== "error") this.#setState("stopped");
    this.#done.reject(
      new DOMException(`${this.name} was stopped before it completed`, "AbortError"),
    );
    for (const waiters of this.#waiters.values()) for (const wake of waiters) wake();
    this.#hub.close();
  }

  async #run(clientSignal: AbortSignal): Promise<void> {
    while (!this.#stopping && !clientSignal.aborted) {
      this.#controller = new AbortController();
      const session = new TorrentSession(this.#metainfo, {
        ...this.#shared,
        dir: this.dir,
        filePriorities: this.#levels,
        sequential: this.#sequential,
        paused: this.#paused,
        recheck: this.#recheck,
        seed: this.#options.seed ?? true,
        peers: this.#options.peers,
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
      if (!this.#wantsMore()) {
        this.#setState("completed");
        this.#restart = Promise.withResolvers<void>();
        if (!this.#wantsMore()) await this.#restart.promise;
      }
    }
  }

  /** Some selected piece is missing (so a finished session should run again). */
  #wantsMore(): boolean {
    const have = this.#have;
    if (!have) return true;
    const wanted = piecePrioritiesFor(this.#metainfo, this.#levels, false);
    for (let i = 0; i < wanted.length; i++) if (wanted[i] > 0 && !have.has(i)) return true;
    return false;
  }

  #onEvent(session: TorrentSession, event: SessionEvent): void {
    switch (event.type) {
      case "checking":
        this.#setState("checking");
        break;
      case "ready":
        this.#have = session.have;
        this.#bytesDone = undefined;
        for (const [owner, levels] of this.#boosts) session.boost(owner, levels);
        for (const index of [...this.#waiters.keys()]) {
          if (this.#have?.has(index)) this.#wake(index);
        }
        this.#setState(this.#paused ? "paused" : session.finished ? "seeding" : "downloading");
        if (session.finished) this.#done.resolve();
        break;
      case "piece":
        this.#bytesDone = undefined;
        this.#wake(event.index);
        break;
      case "progress":
        this.#lastProgress = event;
        if (!this.#paused) this.#setState(event.seeding ? "seeding" : "downloading");
        this.#hub.publish({
          ...event,
          memoryBytes: this.#memory().used,
          memoryLimit: this.#memory().limit,
        });
        return;
      case "complete":
        this.#done.resolve();
        break;
    }
    this.#hub.publish(event);
  }

  #fail(error: unknown): void {
    this.#error = error instanceof Error ? error.message : String(error);
    this.#setState("error");
    this.#hub.publish({ type: "error", message: this.#error });
    this.#done.reject(error);
  }

  #setState(state: TorrentState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#hub.publish({ type: "state", state });
  }

  #fileBytesDone(): number[] {
    if (!this.#have) return new Array(this.#metainfo.files.length).fill(0);
    return this.#bytesDone ??= fileBytesDone(this.#metainfo, this.#have);
  }

  #waitForPiece(index: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#have?.has(index)) return Promise.resolve();
    if (this.#stopping) {
      return Promise.reject(new DOMException("The torrent was stopped", "AbortError"));
    }
    return new Promise((resolve, reject) => {
      let waiters = this.#waiters.get(index);
      if (!waiters) this.#waiters.set(index, waiters = new Set());
      const onAbort = () => {
        waiters!.delete(wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        if (this.#have?.has(index)) resolve();
        else reject(new DOMException("The torrent was stopped", "AbortError"));
      };
      waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #wake(index: number): void {
    const waiters = this.#waiters.get(index);
    if (!waiters) return;
    this.#waiters.delete(index);
    for (const wake of waiters) wake();
  }

  #boost(owner: object, levels: ReadonlyMap<number, number>): void {
    this.#boosts.set(owner, levels);
    this.#session?.boost(owner, levels);
  }

  #clearBoost(owner: object): void {
    this.#boosts.delete(owner);
    this.#session?.clearBoost(owner);
  }

  /** Reads verified bytes through a storage of our own (it outlives sessions). */
  async #read(offset: number, into: Uint8Array): Promise<Uint8Array> {
    this.#readStorage ??= TorrentStorage.open(this.#metainfo, this.dir, {
      filePriorities: this.#levels.slice(),
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
