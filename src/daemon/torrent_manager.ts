import type { Client } from "../client/client.ts";
import { EventHub } from "../client/event_hub.ts";
import type { AddOptions, Torrent } from "../client/torrent.ts";
import { type MagnetLink, parseMagnet } from "../metainfo/magnet.ts";
import { parseTorrent } from "../metainfo/parse_torrent.ts";
import { encodeTorrentFile } from "../metainfo/torrent_from_info.ts";
import type { Metainfo } from "../metainfo/types.ts";
import type { SeedLimits } from "../session/session_options.ts";
import type { FilePriority } from "../storage/file_selection.ts";
import { ApiError } from "./api_error.ts";
import type { DaemonEvent } from "./daemon_event.ts";
import type { DaemonLogEntry } from "./daemon_log.ts";
import type { StateStore, TorrentRecord } from "./state_store.ts";
import { torrentSummary } from "./torrent_json.ts";

/** Least time between two `progress` (or `checking`) events of one torrent: 2 per second. */
export const PROGRESS_INTERVAL_MS = 500;

/** A torrent to add, checked: its source, and where and how to fetch it. */
export interface AddRequest {
  /** The `.torrent` bytes with their parsed form, or a magnet link. */
  readonly source:
    | { readonly type: "torrent"; readonly bytes: Uint8Array; readonly metainfo: Metainfo }
    | { readonly type: "magnet"; readonly uri: string; readonly link: MagnetLink };
  /** Download folder, absolute and already checked against the allowed root. */
  readonly dir: string;
  /** Indices of the files to fetch (all by default). */
  readonly files?: readonly number[];
  /** Add it paused. */
  readonly paused?: boolean;
  /** Sequential download. */
  readonly sequential?: boolean;
  /** Keep seeding when complete (default `true`), or until a limit. */
  readonly seed?: boolean | SeedLimits;
}

/**
 * The daemon's torrents: every change goes through here, so the client, the state folder and
 * the event stream always agree. Adding stores the `.torrent` bytes before the client sees
 * the torrent; every change of the list or of a torrent's settings rewrites the list
 * (atomically); each torrent's events are turned into {@linkcode DaemonEvent}s (progress at
 * most twice a second) and log entries.
 * @example
 * ```ts
 * import { Daemon } from "@shoal/shoal/daemon";
 * import { createTorrent, parseTorrent } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hello, world");
 * const bytes = await createTorrent(`${dir}/hello.txt`);
 * const daemon = await Daemon.start({
 *   dir, stateDir: `${dir}/.state`, http: { hostname: "127.0.0.1", port: 0 },
 *   client: { listen: false, dht: false },
 * });
 * const source = { type: "torrent", bytes, metainfo: parseTorrent(bytes) } as const;
 * strictEqual((await daemon.manager.add({ source, dir })).created, true);
 * strictEqual((await daemon.manager.add({ source, dir })).created, false);
 * await daemon.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class TorrentManager {
  readonly #client: Client;
  readonly #store: StateStore;
  readonly #log: (entry: DaemonLogEntry) => void;
  readonly #records = new Map<string, TorrentRecord>();
  readonly #pending = new Map<string, Promise<{ torrent: Torrent; created: boolean }>>();
  readonly #hub = new EventHub<DaemonEvent>();
  readonly #followers = new Set<Promise<void>>();

  /**
   * Makes the manager (call `restore` next).
   * @param client The client the torrents run in.
   * @param store The state folder.
   * @param options `log` receives one entry per event.
   */
  constructor(
    client: Client,
    store: StateStore,
    options: { log: (entry: DaemonLogEntry) => void },
  ) {
    this.#client = client;
    this.#store = store;
    this.#log = options.log;
  }

  /**
   * The daemon's events from now on (any number of consumers).
   * @returns The events, until the manager closes.
   */
  events(): AsyncIterable<DaemonEvent> {
    return this.#hub.subscribe();
  }

  /** Every torrent, in the order added. */
  get torrents(): readonly Torrent[] {
    return this.#client.torrents;
  }

  /**
   * A torrent by info hash.
   * @param infoHash 40 hex digits (any case).
   * @returns The torrent.
   * @throws {ApiError} 404 if there is none.
   */
  get(infoHash: string): Torrent {
    const torrent = /^[0-9a-fA-F]{40}$/.test(infoHash) ? this.#client.get(infoHash) : undefined;
    if (!torrent) throw new ApiError(404, `Cannot find torrent ${infoHash}: no such info hash`);
    return torrent;
  }

  /**
   * When a torrent was added.
   * @param infoHash 40 lowercase hex digits.
   * @returns ISO 8601 time, if known.
   */
  addedAt(infoHash: string): string | undefined {
    return this.#records.get(infoHash)?.addedAt;
  }

  /**
   * Adds a torrent, or finds the one already there with that info hash (nothing changes then).
   * @param request The checked request.
   * @returns The torrent, and whether it is new.
   * @throws {ApiError} 409 if its files are in use.
   * @throws {Error} A disk error storing it, or another error from the client.
   */
  add(request: AddRequest): Promise<{ torrent: Torrent; created: boolean }> {
    const infoHash = request.source.type === "torrent"
      ? request.source.metainfo.infoHashHex
      : request.source.link.infoHashHex;
    const existing = this.#client.get(infoHash);
    if (existing) return Promise.resolve({ torrent: existing, created: false });
    const pending = this.#pending.get(infoHash);
    if (pending) return pending.then(({ torrent }) => ({ torrent, created: false }));
    const adding = this.#addNew(infoHash, request).finally(() => this.#pending.delete(infoHash));
    this.#pending.set(infoHash, adding);
    return adding;
  }

  async #addNew(
    infoHash: string,
    request: AddRequest,
  ): Promise<{ torrent: Torrent; created: boolean }> {
    const { source } = request;
    const record: TorrentRecord = {
      infoHash,
      name: source.type === "torrent" ? source.metainfo.name : source.link.name ?? infoHash,
      dir: request.dir,
      addedAt: new Date().toISOString(),
      source: source.type,
      magnet: source.type === "magnet" ? source.uri : undefined,
      files: source.type === "magnet" ? request.files : undefined,
      paused: request.paused ?? false,
      sequential: request.sequential ?? false,
      seed: request.seed ?? true,
    };
    if (source.type === "torrent") await this.#store.saveTorrentFile(infoHash, source.bytes);
    let torrent: Torrent;
    try {
      torrent = await this.#start(
        record,
        source.type === "torrent" ? source.metainfo : source.link,
      );
    } catch (error) {
      if (source.type === "torrent") await this.#store.removeTorrentFile(infoHash);
      throw toApiError(error);
    }
    this.#records.set(infoHash, this.#withPriorities(record, torrent));
    await this.#persist();
    const summary = torrentSummary(torrent, record.addedAt);
    this.#hub.publish({ type: "added", torrent: summary });
    this.#log({
      event: "added",
      level: "info",
      message: `added ${torrent.name} (${infoHash})`,
      infoHash,
      name: torrent.name,
      dir: torrent.dir,
    });
    return { torrent, created: true };
  }

  /** Adds a record's torrent to the client with its settings, and follows its events. */
  async #start(record: TorrentRecord, source: Metainfo | MagnetLink): Promise<Torrent> {
    const priorities = record.priorities;
    const options: AddOptions = {
      dir: record.dir,
      files: priorities
        ? priorities.flatMap((p, i) => (p === "skip" ? [] : [i]))
        : record.files?.slice(),
      paused: record.paused,
      sequential: record.sequential,
      seed: record.seed,
    };
    const torrent = await this.#client.add(source, options);
    if (priorities && priorities.includes("high") && priorities.length === torrent.files.length) {
      const high = new Map<number, FilePriority>();
      priorities.forEach((p, i) => p === "high" && high.set(i, "high"));
      await torrent.setFilePriorities(high);
    }
    const follower = this.#follow(torrent).finally(() => this.#followers.delete(follower));
    this.#followers.add(follower);
    return torrent;
  }

  /**
   * Brings back every torrent of the state folder, as it was (a torrent that cannot be
   * restored is logged and kept in the list for the next start).
   * @returns When every torrent has been handed to the client.
   */
  async restore(): Promise<void> {
    const { records, warnings } = await this.#store.load();
    for (const message of warnings) this.#log({ event: "error", level: "error", message });
    for (const record of records) {
      this.#records.set(record.infoHash, record);
      try {
        let source: Metainfo | MagnetLink;
        if (record.source === "torrent") {
          source = parseTorrent(await this.#store.readTorrentFile(record.infoHash));
          if (source.infoHashHex !== record.infoHash) throw new Error("its .torrent file differs");
        } else {
          source = parseMagnet(record.magnet!);
          if (source.infoHashHex !== record.infoHash) throw new Error("its magnet link differs");
        }
        const torrent = await this.#start(record, source);
        this.#records.set(record.infoHash, this.#withPriorities(record, torrent));
      } catch (error) {
        this.#log({
          event: "error",
          level: "error",
          message: `Cannot restore ${record.name} (${record.infoHash}): ${messageOf(error)}`,
          infoHash: record.infoHash,
        });
      }
    }
    this.#log({
      event: "restored",
      level: "info",
      message: `restored ${this.#client.torrents.length} of ${records.length} torrents`,
      count: this.#client.torrents.length,
    });
  }

  /**
   * Removes a torrent, and its data too if asked.
   * @param infoHash 40 hex digits.
   * @param deleteData Delete its files and resume data.
   * @returns When removed.
   * @throws {ApiError} 404 for an unknown info hash.
   * @throws {StorageError} If deleting the data fails.
   */
  async remove(infoHash: string, deleteData: boolean): Promise<void> {
    const torrent = this.get(infoHash);
    await this.#client.remove(torrent, { deleteData });
    this.#records.delete(torrent.infoHash);
    await this.#persist();
    await this.#store.removeTorrentFile(torrent.infoHash);
    this.#hub.publish({ type: "removed", infoHash: torrent.infoHash });
    this.#log({
      event: "removed",
      level: "info",
      message: `removed ${torrent.name} (${torrent.infoHash})${deleteData ? " and its data" : ""}`,
      infoHash: torrent.infoHash,
      deleteData,
    });
  }

  /**
   * Pauses a torrent (remembered across restarts).
   * @param infoHash 40 hex digits.
   * @returns The torrent.
   * @throws {ApiError} 404 for an unknown info hash.
   */
  async pause(infoHash: string): Promise<Torrent> {
    const torrent = this.get(infoHash);
    torrent.pause();
    await this.#update(torrent, { paused: true });
    return torrent;
  }

  /**
   * Resumes a paused torrent (remembered across restarts).
   * @param infoHash 40 hex digits.
   * @returns The torrent.
   * @throws {ApiError} 404 for an unknown info hash.
   */
  async resume(infoHash: string): Promise<Torrent> {
    const torrent = this.get(infoHash);
    torrent.resume();
    await this.#update(torrent, { paused: false });
    return torrent;
  }

  /**
   * Hashes a torrent's data again.
   * @param infoHash 40 hex digits.
   * @returns The torrent.
   * @throws {ApiError} 404 for an unknown info hash.
   */
  async recheck(infoHash: string): Promise<Torrent> {
    const torrent = this.get(infoHash);
    await torrent.recheck();
    return torrent;
  }

  /**
   * Sets file priorities (all or none: a bad index or priority changes nothing).
   * @param infoHash 40 hex digits.
   * @param priorities File index -> priority.
   * @returns The torrent.
   * @throws {ApiError} 404 for an unknown info hash, 400 for a bad index or priority.
   */
  async setPriorities(
    infoHash: string,
    priorities: ReadonlyMap<number, FilePriority>,
  ): Promise<Torrent> {
    const torrent = this.get(infoHash);
    try {
      await torrent.setFilePriorities(priorities);
    } catch (error) {
      if (error instanceof RangeError) throw new ApiError(400, error.message);
      throw error;
    }
    await this.#update(torrent, {});
    return torrent;
  }

  /**
   * Switches sequential download (remembered across restarts).
   * @param infoHash 40 hex digits.
   * @param on Piece order.
   * @returns The torrent.
   * @throws {ApiError} 404 for an unknown info hash.
   */
  async setSequential(infoHash: string, on: boolean): Promise<Torrent> {
    const torrent = this.get(infoHash);
    torrent.setSequential(on);
    await this.#update(torrent, { sequential: on });
    return torrent;
  }

  /** Ends every event stream now (the daemon is stopping). */
  closeEvents(): void {
    this.#hub.close();
  }

  /**
   * Ends the event stream and waits for the followers; the last list is saved.
   * @returns When done (the client is closed by its owner).
   */
  async close(): Promise<void> {
    this.#hub.close();
    await Promise.allSettled([...this.#followers]);
    await this.#persist();
  }

  async #update(torrent: Torrent, change: Partial<TorrentRecord>): Promise<void> {
    const record = this.#records.get(torrent.infoHash);
    if (!record) return;
    this.#records.set(torrent.infoHash, this.#withPriorities({ ...record, ...change }, torrent));
    await this.#persist();
  }

  #withPriorities(record: TorrentRecord, torrent: Torrent): TorrentRecord {
    if (torrent.files.length === 0) return record;
    return { ...record, name: torrent.name, priorities: torrent.files.map((f) => f.priority) };
  }

  async #persist(): Promise<void> {
    try {
      await this.#store.save([...this.#records.values()]);
    } catch (error) {
      this.#log({
        event: "error",
        level: "error",
        message: `Cannot save ${this.#store.listPath}: ${messageOf(error)}`,
      });
    }
  }

  /** Once a magnet's info is here, stores it as a `.torrent`, so a restart fetches nothing. */
  async #storeFetchedInfo(torrent: Torrent): Promise<void> {
    const record = this.#records.get(torrent.infoHash);
    const metainfo = torrent.metainfo as Metainfo | undefined;
    if (record?.source !== "magnet" || !metainfo?.infoBytes) return;
    const trackers = metainfo.announce.flat();
    await this.#store.saveTorrentFile(
      torrent.infoHash,
      encodeTorrentFile(metainfo.infoBytes, trackers),
    );
    await this.#update(torrent, { source: "torrent", magnet: undefined, files: undefined });
  }

  async #follow(torrent: Torrent): Promise<void> {
    const infoHash = torrent.infoHash;
    let lastProgress = -Infinity, lastChecking = -Infinity;
    const summary = () => torrentSummary(torrent, this.#records.get(infoHash)?.addedAt);
    for await (const event of torrent.events()) {
      const now = performance.now();
      switch (event.type) {
        case "metainfo":
          await this.#storeFetchedInfo(torrent).catch((error) =>
            this.#log({
              event: "error",
              level: "error",
              message: `Cannot store the info of ${torrent.name}: ${messageOf(error)}`,
              infoHash,
            })
          );
          this.#hub.publish({ type: "metainfo", infoHash, torrent: summary() });
          this.#log({
            event: "metainfo",
            level: "info",
            message:
              `${torrent.name}: info fetched (${event.files} files, ${event.totalBytes} bytes)`,
            infoHash,
          });
          break;
        case "ready":
          this.#log({
            event: "ready",
            level: "info",
            message:
              `${torrent.name}: ${event.have} of ${event.pieceCount} pieces here (${event.hashed} hashed, ${event.trusted} from resume data)`,
            infoHash,
            have: event.have,
            hashed: event.hashed,
            trusted: event.trusted,
          });
          break;
        case "progress":
          if (now - lastProgress < PROGRESS_INTERVAL_MS) break;
          lastProgress = now;
          this.#hub.publish({ type: "progress", torrent: summary() });
          break;
        case "checking":
          if (lastChecking === -Infinity) {
            this.#log({
              event: "checking",
              level: "info",
              message: `${torrent.name}: checking the data on disk`,
              infoHash,
            });
          }
          if (now - lastChecking < PROGRESS_INTERVAL_MS && event.checked < event.total) break;
          lastChecking = now;
          this.#hub.publish({
            type: "checking",
            infoHash,
            checked: event.checked,
            total: event.total,
          });
          break;
        case "state":
          if (event.state !== "checking") lastChecking = -Infinity;
          this.#hub.publish({ type: "state", infoHash, state: event.state, torrent: summary() });
          this.#log({
            event: "state",
            level: "info",
            message: `${torrent.name}: ${event.state}`,
            infoHash,
            state: event.state,
          });
          break;
        case "complete":
          this.#hub.publish({ type: "complete", infoHash, torrent: summary() });
          this.#log({
            event: "complete",
            level: "info",
            message: `${torrent.name}: complete`,
            infoHash,
          });
          break;
        case "error":
          this.#hub.publish({ type: "error", infoHash, message: event.message });
          this.#log({
            event: "error",
            level: "error",
            message: `${torrent.name}: ${event.message}`,
            infoHash,
          });
          break;
        case "warning":
          this.#log({
            event: "warning",
            level: "warn",
            message: `${torrent.name}: ${event.message}`,
            infoHash,
          });
          break;
      }
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Turns what the client throws at an add into the right answer. */
function toApiError(error: unknown): unknown {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ELOCKED") return new ApiError(409, messageOf(error), { cause: error });
  if ((error as Error | null)?.name === "TorrentError") {
    return new ApiError(400, messageOf(error), { cause: error });
  }
  return error;
}
