import { resolve } from "node:path";
import { decodeHex } from "../bytes/hex.ts";
import { DhtNode } from "../dht/dht_node.ts";
import { type MagnetLink, parseMagnet } from "../metainfo/magnet.ts";
import { parseTorrent } from "../metainfo/parse_torrent.ts";
import { metainfoFromInfo } from "../metainfo/torrent_from_info.ts";
import type { Metainfo } from "../metainfo/types.ts";
import { RateLimiter } from "../peer/rate_limiter.ts";
import { DEFAULT_MEMORY_BYTES, MemoryBudget } from "../scheduler/memory_budget.ts";
import { HashPool } from "../sha1/hash_pool.ts";
import { lockTorrentData } from "../storage/data_lock.ts";
import { DHT_RESERVED } from "../session/session_parts.ts";
import { generatePeerId } from "../wire/peer_id.ts";
import { fetchMetadata } from "../session/metadata_session.ts";
import { DialSlots } from "../session/connector.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import { DhtPeerFinder } from "./dht_peer_finder.ts";
import { PeerListener } from "./peer_listener.ts";
import { removeTorrentData } from "./remove_data.ts";
import { loadStoredTorrent, storedTorrentPath } from "./stored_torrent.ts";
import { type AddOptions, Torrent } from "./torrent.ts";

/** Default for {@linkcode ClientOptions.maxPeers}: connections across all torrents. */
export const DEFAULT_CLIENT_MAX_PEERS = 200;
/** Dials in progress at once across all torrents (half-open connections). */
export const MAX_HALF_OPEN_DIALS = 40;

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
  /** Run a DHT node (BEP 5) on the client's port, UDP (default `true`). */
  dht?: boolean;
  /**
   * DHT nodes to bootstrap from, instead of the public routers (tests use these). Saved nodes
   * from an earlier run (in `stateDir`) come first either way.
   */
  dhtNodes?: readonly PeerAddress[];
  /** Take part in the DHT without answering queries (BEP 43). */
  dhtReadOnly?: boolean;
  /** Closes the client. */
  signal?: AbortSignal;
}

/**
 * What {@linkcode Client.add} takes: a path to a .torrent file, a `magnet:` link, the bytes of
 * a .torrent file, parsed metadata, or a parsed magnet link.
 */
export type TorrentSource = string | Uint8Array | Metainfo | MagnetLink;

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
  /** The DHT node's table sizes (good nodes, IPv4 and IPv6), when it runs. */
  readonly dht?: { readonly nodes: number; readonly nodes6: number; readonly torrents: number };
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
  readonly #adding = new Map<string, Promise<Torrent>>();
  readonly #listener: PeerListener | undefined;
  readonly #pool: HashPool;
  readonly #uploadLimit: RateLimiter;
  readonly #downloadLimit: RateLimiter;
  readonly #dht: Promise<DhtNode | undefined>;
  #dhtNode: DhtNode | undefined;
  #finder: DhtPeerFinder | undefined;
  readonly #untrack = new Map<string, () => void>();
  readonly #dialSlots = new DialSlots(MAX_HALF_OPEN_DIALS);
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
      reserved: options.dht === false ? undefined : DHT_RESERVED,
    });
    this.#dht = options.dht === false ? Promise.resolve(undefined) : this.#openDht();
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  async #openDht(): Promise<DhtNode | undefined> {
    const options = this.#options;
    try {
      const node = await DhtNode.open({
        port: this.#listener?.port ?? 0,
        host: options.listenHost,
        bootstrap: options.dhtNodes,
        readOnly: options.dhtReadOnly,
        stateFile: resolve(this.stateDir, "dht.dat"),
        signal: this.#controller.signal,
      });
      this.#dhtNode = node;
      this.#finder = new DhtPeerFinder(node, () => this.#listener?.port ?? "implied");
      for (const torrent of this.#torrents.values()) this.#trackDht(torrent);
      return node;
    } catch {
      return undefined; // no DHT (the UDP port is taken): trackers and PEX still work
    }
  }

  /**
   * Tells the DHT node of a node to ping (as a peer's BEP 5 `port` message does).
   * @param address The node's address.
   */
  addDhtNode(address: PeerAddress): void {
    this.#dht.then((node) => node?.addNode(address));
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
    const read = await readSource(source);
    const hash = read.infoHashHex;
    const existing = this.#torrents.get(hash) ?? await this.#adding.get(hash);
    if (existing) return existing;
    const adding = this.#addNew(read, options);
    this.#adding.set(hash, adding);
    try {
      return await adding;
    } finally {
      this.#adding.delete(hash);
    }
  }

  async #addNew(read: Metainfo | MagnetLink, options: AddOptions): Promise<Torrent> {
    const dir = resolve(options.dir ?? this.dir);
    const stored = storedTorrentPath(dir, read.infoHashHex, this.#options.resumeDir);
    // A magnet whose metadata an earlier run fetched goes on at once from the kept .torrent.
    const metainfo = "pieceHashes" in read
      ? read
      : await loadStoredTorrent(stored, read.infoHashHex);
    const lock = metainfo && await lockTorrentData(dir, metainfo);
    await this.#dht; // the DHT port goes in every handshake from the start
    const dhtPort = this.#dhtNode?.port;
    const source = metainfo ? { metainfo } : { magnet: read as MagnetLink };
    const torrent = new Torrent(source, dir, options, {
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
      dhtPort,
      dialSlots: this.#dialSlots,
      onDhtNode: (address) => this.#dhtNode?.addNode(address),
      onExternalAddress: (ip, source) => this.#dhtNode?.setExternalAddress(ip, source),
    }, {
      memory: () => ({ used: this.budget.used, limit: this.budget.limit }),
      lock: (fetched) => lockTorrentData(dir, fetched),
      storedTorrentPath: stored,
    }, lock);
    this.#torrents.set(torrent.infoHash, torrent);
    this.#pool.warm(); // its first piece then finds a hash worker loaded
    if (!metainfo?.private) {
      for (const node of metainfo?.nodes ?? []) this.addDhtNode(node); // BEP 5 `nodes`
    }
    torrent.start(this.#controller.signal);
    this.#trackDht(torrent);
    return torrent;
  }

  #trackDht(torrent: Torrent): void {
    if (!this.#finder || this.#untrack.has(torrent.infoHash)) return;
    const infoHash = decodeHex(torrent.infoHash);
    this.#untrack.set(
      torrent.infoHash,
      this.#finder.track({
        infoHash,
        isPrivate: () => torrent.metainfo?.private ?? false,
        needsPeers: () =>
          torrent.state === "fetching-metadata" ||
          (torrent.state === "downloading" && torrent.stats().peers < 10),
        addPeer: (address) => torrent.addPeer(address),
      }),
    );
  }

  /**
   * Fetches a magnet link's metadata from the swarm (its `x.pe` peers and trackers, the DHT,
   * and `peers`) without adding a torrent: for `shoal info --fetch`.
   * @param magnet The magnet link (text or parsed).
   * @param options More peers, and a signal.
   * @returns The torrent's metadata (trackers from the link).
   * @throws {MagnetError} If the link is malformed.
   * @throws The signal's reason when aborted.
   */
  async fetchMetainfo(
    magnet: string | MagnetLink,
    options: { peers?: readonly PeerAddress[]; signal?: AbortSignal } = {},
  ): Promise<Metainfo> {
    const link = typeof magnet === "string" ? parseMagnet(magnet) : magnet;
    const dht = await this.#dht;
    const stop = new AbortController();
    const signal = AbortSignal.any([
      this.#controller.signal,
      stop.signal,
      ...(options.signal ? [options.signal] : []),
    ]);
    const fetch = fetchMetadata({
      infoHash: link.infoHash,
      peerId: this.peerId,
      peers: [...(options.peers ?? []), ...link.peers],
      trackers: link.trackers.map((url) => [url]),
      trackerTimeoutMs: this.#options.trackerTimeoutMs,
      listener: this.#listener,
      port: this.#listener?.port,
      dhtPort: dht?.port,
      onDhtNode: (address) => dht?.addNode(address),
      emit: () => {},
      signal,
    });
    const untrack = this.#finder?.track({
      infoHash: link.infoHash,
      isPrivate: () => false,
      needsPeers: () => true,
      addPeer: (address) => fetch.addPeer(address),
    });
    try {
      const info = await fetch.done;
      return metainfoFromInfo(info, { trackers: link.trackers, name: link.name });
    } finally {
      untrack?.();
      stop.abort();
    }
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
    this.#untrack.get(found.infoHash)?.();
    this.#untrack.delete(found.infoHash);
    await found.stop();
    const metainfo = found.metainfo;
    if (options.deleteData && metainfo) {
      await removeTorrentData(found.dir, metainfo, this.#options.resumeDir);
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
      dht: dhtSummary(this.#dhtNode),
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
      await this.#finder?.close();
      await Promise.allSettled(torrents.map((t) => t.stop()));
      this.#controller.abort();
      await (await this.#dht)?.close();
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

function dhtSummary(
  node: DhtNode | undefined,
): { nodes: number; nodes6: number; torrents: number } | undefined {
  if (!node) return undefined;
  const stats = node.stats();
  return {
    nodes: stats.ipv4?.good ?? 0,
    nodes6: stats.ipv6?.good ?? 0,
    torrents: stats.torrents,
  };
}

async function readSource(source: TorrentSource): Promise<Metainfo | MagnetLink> {
  if (source instanceof Uint8Array) return parseTorrent(source);
  if (typeof source !== "string") return source;
  if (source.startsWith("magnet:")) return parseMagnet(source);
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
