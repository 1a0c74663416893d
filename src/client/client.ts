import { resolve } from "node:path";
import { parseTorrent } from "../metainfo/parse_torrent.ts";
import type { Metainfo } from "../metainfo/types.ts";
import { RateLimiter } from "../peer/rate_limiter.ts";
import { DEFAULT_MEMORY_BYTES, MemoryBudget } from "../scheduler/memory_budget.ts";
import { HashPool } from "../sha1/hash_pool.ts";
import { type DataLock, lockTorrentData } from "../storage/data_lock.ts";
import { generatePeerId } from "../wire/peer_id.ts";
import { PeerListener } from "./peer_listener.ts";
import { removeTorrentData } from "./remove_data.ts";
import { type AddOptions, Torrent } from "./torrent.ts";

/** Default for {@linkcode ClientOptions.maxPeers}: connections across all torrents. */
export const DEFAULT_CLIENT_MAX_PEERS = 200;

/** Options for {@linkcode Client}. */
export interface ClientOptions {
  /** Default download folder of added torrents (default: the working folder). */
  dir?: string;
  /** TCP port for incoming peers: 0 for any; default 6881, or the next free one up to 6889. */
  port?: number;
  /** Address to listen on (default `0.0.0.0`). */
  listenHost?: string;
  /** Do not listen for incoming peers at all. */
  listen?: boolean;
  /** Most connections across all torrents (default 200), shared fairly between them. */
  maxPeers?: number;
  /** Upload limit across all torrents, bytes per second (default unlimited). */
  maxUploadRate?: number;
  /** Download limit across all torrents, bytes per second (default unlimited). */
  maxDownloadRate?: number;
  /**
   * One memory budget in bytes for pieces in flight, the upload read cache and connection
   * buffers of every torrent (default 64 MiB).
   */
  maxMemoryBytes?: number;
  /** Where the client keeps its own state (default `$XDG_STATE_HOME/shoal` or `~/.local/state/shoal`). */
  stateDir?: string;
  /** Keep every torrent's resume data in this folder instead of `<download folder>/.shoal`. */
  resumeDir?: string;
  /** Our peer id (BEP 20); random by default. */
  peerId?: Uint8Array;
  /** Time limit of one announce to one tracker. */
  trackerTimeoutMs?: number;
  /** A request unanswered this long is asked of another peer. */
  requestTimeoutMs?: number;
  /** A peer that sends no block this long while holding requests is snubbed. */
  snubTimeoutMs?: number;
  /** Closes the client. */
  signal?: AbortSignal;
}

/** What {@linkcode Client.add} takes: a path to a .torrent file, its bytes, or parsed metadata. */
export type TorrentSource = string | Uint8Array | Metainfo;

/** Client-wide figures. */
export interface ClientStats {
  /** Payload bytes per second received, all torrents. */
  readonly downloadRate: number;
  /** Payload bytes per second sent, all torrents. */
  readonly uploadRate: number;
  /** Connected peers, all torrents. */
  readonly peers: number;
  /** Torrents in the client. */
  readonly torrents: number;
  /** The memory budget: bytes in use, the most ever in use, and the limit. */
  readonly memory: { readonly used: number; readonly peak: number; readonly limit: number };
  /** The TCP port peers reach us on, if listening. */
  readonly port: number | undefined;
}

/** Where the client keeps its state by default (XDG base directory rules). */
export function defaultStateDir(): string {
  const xdg = Deno.env.get("XDG_STATE_HOME");
  if (xdg) return resolve(xdg, "shoal");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return resolve(home, ".local", "state", "shoal");
}

/**
 * A BitTorrent client: many torrents behind one listening port, one hash pool, shared rate
 * limits, one peer cap and one memory budget. Add torrents with `add`; each is a
 * {@linkcode Torrent} with files, events, priorities, streams, pause and resume.
 * @example
 * ```ts ignore
 * import { Client } from "@shoal/shoal";
 * await using client = new Client({ dir: "downloads", port: 6881 });
 * const torrent = await client.add("ubuntu.torrent", { files: [0, 2] });
 * for await (const event of torrent.events()) {
 *   if (event.type === "progress") console.log(`${(torrent.progress * 100).toFixed(1)}%`);
 *   if (event.type === "complete") break;
 * }
 * await client.remove(torrent, { deleteData: false });
 * ```
 */
export class Client implements AsyncDisposable {
  /** Our peer id. */
  readonly peerId: Uint8Array;
  /** The default download folder. */
  readonly dir: string;
  /** Where the client keeps its own state. */
  readonly stateDir: string;
  /** The memory budget every torrent draws from. */
  readonly budget: MemoryBudget;
  readonly #options: ClientOptions;
  readonly #controller = new AbortController();
  readonly #torrents = new Map<string, Torrent>();
  readonly #locks = new Map<string, DataLock>();
  readonly #adding = new Map<string, Promise<Torrent>>();
  readonly #listener: PeerListener | undefined;
  readonly #pool: HashPool;
  readonly #uploadLimit: RateLimiter;
  readonly #downloadLimit: RateLimiter;
  #closing: Promise<void> | undefined;

  /**
   * Starts a client: it listens at once (unless `listen` is `false`).
   * @param options Folders, port, limits and budget.
   * @throws {Deno.errors.AddrInUse} When the given port is taken.
   */
  constructor(options: ClientOptions = {}) {
    this.#options = options;
    this.peerId = options.peerId ?? generatePeerId();
    this.dir = resolve(options.dir ?? ".");
    this.stateDir = options.stateDir ?? defaultStateDir();
    this.budget = new MemoryBudget(options.maxMemoryBytes ?? DEFAULT_MEMORY_BYTES);
    // One core stays free for the network and the disk; the pool hashes on the others.
    const cores = navigator.hardwareConcurrency || 1;
    this.#pool = new HashPool({ size: Math.max(1, Math.min(4, cores - 1)) });
    this.#uploadLimit = new RateLimiter(options.maxUploadRate);
    this.#downloadLimit = new RateLimiter(options.maxDownloadRate);
    this.#listener = options.listen === false ? undefined : PeerListener.listen({
      hostname: options.listenHost,
      port: options.port,
      peerId: this.peerId,
    });
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /** The TCP port peers reach us on, if listening. */
  get port(): number | undefined {
    return this.#listener?.port;
  }

  /** Every torrent in the client, in the order they were added. */
  get torrents(): readonly Torrent[] {
    return [...this.#torrents.values()];
  }

  /**
   * A torrent by info hash.
   * @param infoHash 40 hex digits (any case).
   * @returns The torrent, if the client has it.
   */
  get(infoHash: string): Torrent | undefined {
    return this.#torrents.get(infoHash.toLowerCase());
  }

  /**
   * Adds a torrent and starts it (its data is checked or resumed first). Adding an info hash
   * already present returns that torrent. A torrent that would write files another torrent or
   * another process is writing is refused.
   * @param source A path to a .torrent file, its bytes, or parsed metadata.
   * @param options Folder, file selection, sequential, paused, seeding, peers, trackers.
   * @returns The torrent.
   * @throws {TorrentError} If the .torrent file is malformed.
   * @throws {StorageError} `"ELOCKED"` if its files are in use.
   * @throws {Error} If the file cannot be read, or the client is closed.
   */
  async add(source: TorrentSource, options: AddOptions = {}): Promise<Torrent> {
    if (this.#closing) throw new Error("Cannot add a torrent: the client is closed");
    const metainfo = await readSource(source);
    const existing = this.#torrents.get(metainfo.infoHashHex) ??
      await this.#adding.get(metainfo.infoHashHex);
    if (existing) return existing;
    const adding = this.#addNew(metainfo, options);
    this.#adding.set(metainfo.infoHashHex, adding);
    try {
      return await adding;
    } finally {
      this.#adding.delete(metainfo.infoHashHex);
    }
  }

  async #addNew(metainfo: Metainfo, options: AddOptions): Promise<Torrent> {
    const dir = resolve(options.dir ?? this.dir);
    const lock = await lockTorrentData(dir, metainfo);
    const torrent = new Torrent(metainfo, dir, options, {
      peerId: this.peerId,
      listener: this.#listener,
      listen: this.#listener !== undefined,
      hashPool: this.#pool,
      budget: this.budget,
      uploadLimit: this.#uploadLimit,
      downloadLimit: this.#downloadLimit,
      maxPeers: () => this.#peerShare(),
      trackerTimeoutMs: this.#options.trackerTimeoutMs,
      resumeDir: this.#options.resumeDir,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      snubTimeoutMs: this.#options.snubTimeoutMs,
    }, () => ({ used: this.budget.used, limit: this.budget.limit }));
    this.#torrents.set(torrent.infoHash, torrent);
    this.#locks.set(torrent.infoHash, lock);
    torrent.start(this.#controller.signal);
    return torrent;
  }

  /**
   * Removes a torrent: it stops (resume data saved, trackers told) and leaves the client.
   * @param torrent The torrent, or its info hash.
   * @param options `deleteData: true` also deletes its files and resume data.
   * @returns When removed.
   * @throws {StorageError} If deleting the data fails.
   */
  async remove(torrent: Torrent | string, options: { deleteData?: boolean } = {}): Promise<void> {
    const found = typeof torrent === "string" ? this.get(torrent) : torrent;
    if (!found || this.#torrents.get(found.infoHash) !== found) return;
    this.#torrents.delete(found.infoHash);
    await found.stop();
    this.#locks.get(found.infoHash)?.release();
    this.#locks.delete(found.infoHash);
    if (options.deleteData) {
      await removeTorrentData(found.dir, found.metainfo, this.#options.resumeDir);
    }
  }

  /**
   * Client-wide figures now.
   * @returns Rates, peers, torrents, memory and port.
   */
  stats(): ClientStats {
    let downloadRate = 0, uploadRate = 0, peers = 0;
    for (const torrent of this.#torrents.values()) {
      const stats = torrent.stats();
      downloadRate += stats.downloadRate;
      uploadRate += stats.uploadRate;
      peers += stats.peers;
    }
    return {
      downloadRate,
      uploadRate,
      peers,
      torrents: this.#torrents.size,
      memory: { used: this.budget.used, peak: this.budget.peak, limit: this.budget.limit },
      port: this.port,
    };
  }

  /** Each running torrent's share of the client's connections. */
  #peerShare(): number {
    const max = this.#options.maxPeers ?? DEFAULT_CLIENT_MAX_PEERS;
    let running = 0;
    for (const torrent of this.#torrents.values()) {
      if (torrent.state !== "paused" && torrent.state !== "completed") running++;
    }
    return Math.max(1, Math.floor(max / Math.max(1, running)));
  }

  /**
   * Stops every torrent (resume data saved, trackers told) and the listener. Idempotent.
   * @returns When everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const torrents = [...this.#torrents.values()];
      this.#torrents.clear();
      await Promise.allSettled(torrents.map((t) => t.stop()));
      this.#controller.abort();
      for (const lock of this.#locks.values()) lock.release();
      this.#locks.clear();
      await this.#listener?.close();
      this.#pool.close();
      this.#uploadLimit.close();
      this.#downloadLimit.close();
    })();
    return this.#closing;
  }

  /**
   * Same as {@linkcode Client.close}, for `await using`.
   * @returns When closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function readSource(source: TorrentSource): Promise<Metainfo> {
  if (source instanceof Uint8Array) return parseTorrent(source);
  if (typeof source !== "string") return source;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(source);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot read ${source}: no such file`);
    }
    if (error instanceof Deno.errors.IsADirectory) {
      throw new Error(`Cannot read ${source}: it is a folder`);
    }
    throw new Error(`Cannot read ${source}: ${error instanceof Error ? error.message : error}`);
  }
  return parseTorrent(bytes);
}
