import type { Bitfield } from "../bytes/bitfield.ts";
import { pieceSize } from "../metainfo/geometry.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import type { HashPool } from "../sha1/hash_pool.ts";
import { checkPieces } from "./check_pieces.ts";
import { loadResume, saveResume } from "./resume.ts";
import { TorrentStorage } from "./torrent_storage.ts";

/** Progress of the check, as {@linkcode openTorrentData} yields it. */
export interface CheckingProgress {
  /** Always `"checking"`. */
  readonly type: "checking";
  /** Pieces checked so far. */
  readonly checked: number;
  /** Pieces in the torrent. */
  readonly total: number;
}

/** What {@linkcode openTorrentData} returns once the data is known. */
export interface OpenedTorrentData {
  /** The storage, open (the caller closes it). */
  readonly storage: TorrentStorage;
  /** The pieces verified on disk. */
  readonly have: Bitfield;
}

/** Options for {@linkcode openTorrentData}. */
export interface OpenTorrentDataOptions {
  /** Hashes the pieces of a check. */
  readonly pool: HashPool;
  /** Stops the check. */
  readonly signal?: AbortSignal;
  /** Least time between two `checking` events but the last (default 100 ms). */
  readonly progressIntervalMs?: number;
}

/**
 * Opens a torrent's data under `dir` and finds out which pieces are there: from the resume
 * file when it is current, otherwise by hashing what is on disk (then the folders and empty
 * files are created and a fresh resume file is written). Yields `checking` events while it
 * hashes; returns the storage and the verified pieces.
 * @param info The torrent.
 * @param dir The download folder.
 * @param options The hash pool and a signal.
 * @returns Checking progress, then the opened data as the generator's return value.
 * @throws {StorageError} On a disk error, or a path that would leave `dir`.
 * @example
 * ```ts ignore
 * const opening = openTorrentData(metainfo, "downloads", { pool });
 * let step = await opening.next();
 * while (!step.done) step = await opening.next();
 * const { storage, have } = step.value;
 * ```
 */
export async function* openTorrentData(
  info: TorrentInfo,
  dir: string,
  options: OpenTorrentDataOptions,
): AsyncGenerator<CheckingProgress, OpenedTorrentData> {
  const { pool, signal } = options;
  const intervalMs = options.progressIntervalMs ?? 100;
  const storage = await TorrentStorage.open(info, dir);
  try {
    const resumed = await loadResume(dir, info);
    if (resumed) return { storage, have: resumed };
    const progress: CheckingProgress[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let lastReportMs = -Infinity;
    // Piece buffers go round between the disk and the hash workers instead of one new
    // allocation per piece, which keeps memory flat while a large torrent is checked.
    const spare: Uint8Array[] = [];
    const checking = checkPieces(info, {
      fileSizes: () => storage.fileSizes(),
      readPiece: (index: number) => {
        const size = pieceSize(info, index);
        return storage.readBlock(
          index,
          0,
          size,
          size === info.pieceLength ? spare.pop() : undefined,
        );
      },
    }, {
      hash: async (data) => {
        const hashed = await pool.hash(data);
        const buffer = hashed.data;
        if (buffer.length === info.pieceLength && buffer.byteOffset === 0) spare.push(buffer);
        return hashed.digest;
      },
      signal,
      onProgress: (checked, total) => {
        const now = performance.now();
        if (checked < total && now - lastReportMs < intervalMs) return;
        lastReportMs = now;
        progress.push({ type: "checking", checked, total });
        wake?.();
      },
    }).finally(() => {
      finished = true;
      wake?.();
    });
    checking.catch(() => {}); // awaited below; never left unhandled while we yield
    while (true) {
      while (progress.length > 0) yield progress.shift()!;
      if (finished) break;
      await new Promise<void>((resolve) => wake = resolve);
      wake = undefined;
    }
    const have = await checking;
    await storage.prepare();
    await saveResume(dir, info, have);
    return { storage, have };
  } catch (error) {
    await storage.close();
    throw error;
  }
}
