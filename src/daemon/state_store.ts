import { join } from "node:path";
import type { SeedLimits } from "../session/session_options.ts";
import type { FilePriority } from "../storage/file_selection.ts";
import { DaemonError } from "./daemon_error.ts";
import { writeFileAtomic } from "./write_file_atomic.ts";

/** Version written in `torrents.json`. */
export const STATE_VERSION = 1;

/** What the daemon remembers of one torrent across restarts. */
export interface TorrentRecord {
  /** 40 lowercase hex digits. */
  readonly infoHash: string;
  /** Its name (the magnet's display name, or the hash, until the info is fetched). */
  readonly name: string;
  /** Its download folder (absolute). */
  readonly dir: string;
  /** When it was added (ISO 8601). */
  readonly addedAt: string;
  /** Where its info lives: `torrents/<hash>.torrent`, or still only the magnet link. */
  readonly source: "torrent" | "magnet";
  /** The magnet link, while `source` is `"magnet"`. */
  readonly magnet?: string;
  /** One priority per listed file, once the info is known. */
  readonly priorities?: readonly FilePriority[];
  /** The file indices asked for at add time, before the info is known (magnets). */
  readonly files?: readonly number[];
  /** Paused by the user. */
  readonly paused: boolean;
  /** Sequential download. */
  readonly sequential: boolean;
  /** Keep seeding when complete, or until a limit. */
  readonly seed: boolean | SeedLimits;
}

const HEX40 = /^[0-9a-f]{40}$/;
const PRIORITIES = new Set(["skip", "normal", "high"]);

function isSeed(value: unknown): value is boolean | SeedLimits {
  if (typeof value === "boolean") return true;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { ratio, seconds } = value as Record<string, unknown>;
  return (ratio === undefined || (typeof ratio === "number" && ratio >= 0)) &&
    (seconds === undefined || (typeof seconds === "number" && seconds >= 0));
}

/**
 * Checks one entry of `torrents.json`.
 * @param value The parsed entry.
 * @returns The record, or a reason it is unusable.
 */
function checkRecord(value: unknown): TorrentRecord | string {
  if (typeof value !== "object" || value === null) return "not an object";
  const r = value as Record<string, unknown>;
  if (typeof r.infoHash !== "string" || !HEX40.test(r.infoHash)) return "bad infoHash";
  if (typeof r.name !== "string" || typeof r.dir !== "string" || r.dir === "") {
    return "bad name or dir";
  }
  if (r.source !== "torrent" && r.source !== "magnet") return "bad source";
  if (r.source === "magnet" && typeof r.magnet !== "string") return "magnet missing";
  if (
    r.priorities !== undefined &&
    (!Array.isArray(r.priorities) || !r.priorities.every((p) => PRIORITIES.has(p)))
  ) return "bad priorities";
  if (
    r.files !== undefined &&
    (!Array.isArray(r.files) || !r.files.every((i) => Number.isSafeInteger(i) && i >= 0))
  ) return "bad files";
  if (typeof r.paused !== "boolean" || typeof r.sequential !== "boolean" || !isSeed(r.seed)) {
    return "bad paused, sequential or seed";
  }
  return {
    infoHash: r.infoHash,
    name: r.name,
    dir: r.dir,
    addedAt: typeof r.addedAt === "string" ? r.addedAt : new Date(0).toISOString(),
    source: r.source,
    magnet: r.source === "magnet" ? r.magnet as string : undefined,
    priorities: r.priorities as FilePriority[] | undefined,
    files: r.files as number[] | undefined,
    paused: r.paused,
    sequential: r.sequential,
    seed: r.seed,
  };
}

/**
 * The daemon's state folder: the list of torrents with their settings (`torrents.json`,
 * replaced atomically), each torrent's `.torrent` bytes (`torrents/<hash>.torrent`) and the
 * client's resume data (`resume/`). A lock (`daemon.lock`) keeps a second daemon out.
 * @example
 * ```ts
 * import { StateStore } from "@shoal/shoal/daemon";
 * import { deepStrictEqual, rejects } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const store = await StateStore.open(dir);
 * await rejects(StateStore.open(dir), /another shoal daemon/);
 * await store.save([]);
 * deepStrictEqual((await store.load()).records, []);
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class StateStore {
  /** The state folder. */
  readonly dir: string;
  /** Where the client keeps resume data. */
  readonly resumeDir: string;
  readonly #lock: Deno.FsFile;
  #saving: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(dir: string, lock: Deno.FsFile) {
    this.dir = dir;
    this.resumeDir = join(dir, "resume");
    this.#lock = lock;
  }

  /**
   * Opens (creating it if needed) and locks a state folder.
   * @param dir The state folder.
   * @returns The store.
   * @throws {DaemonError} If another daemon holds it, or it cannot be created.
   */
  static async open(dir: string): Promise<StateStore> {
    let lock: Deno.FsFile;
    try {
      await Deno.mkdir(join(dir, "torrents"), { recursive: true });
      await Deno.mkdir(join(dir, "resume"), { recursive: true });
      lock = await Deno.open(join(dir, "daemon.lock"), { read: true, write: true, create: true });
    } catch (error) {
      throw new DaemonError(
        `Cannot use state folder ${dir}: ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
    if (!(await lock.tryLock(true).catch(() => false))) {
      lock.close();
      throw new DaemonError(`Cannot use state folder ${dir}: another shoal daemon is using it`);
    }
    return new StateStore(dir, lock);
  }

  /** The list's path. */
  get listPath(): string {
    return join(this.dir, "torrents.json");
  }

  /**
   * The path of a torrent's stored `.torrent` file.
   * @param infoHash 40 hex digits.
   * @returns The path.
   */
  torrentPath(infoHash: string): string {
    return join(this.dir, "torrents", `${infoHash}.torrent`);
  }

  /**
   * Reads the list of torrents. A missing list is an empty one; an entry that does not check
   * out is left out, with a warning.
   * @returns The records and a warning per entry left out.
   * @throws {DaemonError} If the list exists but is not JSON of the expected shape.
   */
  async load(): Promise<{ records: TorrentRecord[]; warnings: string[] }> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.listPath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { records: [], warnings: [] };
      throw new DaemonError(`Cannot read ${this.listPath}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new DaemonError(`Cannot read ${this.listPath}: ${(error as Error).message}`);
    }
    const list = (parsed as { torrents?: unknown } | null)?.torrents;
    if (!Array.isArray(list)) {
      throw new DaemonError(`Cannot read ${this.listPath}: no "torrents" list`);
    }
    const records: TorrentRecord[] = [];
    const warnings: string[] = [];
    const seen = new Set<string>();
    list.forEach((entry, i) => {
      const checked = checkRecord(entry);
      if (typeof checked === "string") {
        warnings.push(`Cannot restore entry ${i} of ${this.listPath}: ${checked}`);
      } else if (!seen.has(checked.infoHash)) {
        seen.add(checked.infoHash);
        records.push(checked);
      }
    });
    return { records, warnings };
  }

  /**
   * Replaces the list (atomically). Saves run one after another, in call order.
   * @param records Every torrent.
   * @returns When this list is on disk.
   * @throws {Deno.errors} On a disk error.
   */
  save(records: readonly TorrentRecord[]): Promise<void> {
    const text = JSON.stringify({ version: STATE_VERSION, torrents: records }, null, 1) + "\n";
    const run = () => writeFileAtomic(this.listPath, text);
    const saving = this.#saving.then(run, run);
    this.#saving = saving.catch(() => {});
    return saving;
  }

  /**
   * Stores a torrent's `.torrent` bytes (atomically).
   * @param infoHash 40 hex digits.
   * @param bytes The file.
   * @returns When stored.
   * @throws {Deno.errors} On a disk error.
   */
  async saveTorrentFile(infoHash: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.torrentPath(infoHash), bytes);
  }

  /**
   * Reads a stored `.torrent` file.
   * @param infoHash 40 hex digits.
   * @returns Its bytes.
   * @throws {Deno.errors.NotFound} If it is not stored.
   */
  readTorrentFile(infoHash: string): Promise<Uint8Array> {
    return Deno.readFile(this.torrentPath(infoHash));
  }

  /**
   * Deletes a stored `.torrent` file (a missing one is fine).
   * @param infoHash 40 hex digits.
   * @returns When deleted.
   */
  async removeTorrentFile(infoHash: string): Promise<void> {
    await Deno.remove(this.torrentPath(infoHash)).catch(() => {});
  }

  /**
   * Waits for pending saves, then frees the lock. Idempotent.
   * @returns When closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#saving;
    this.#lock.close();
  }
}
