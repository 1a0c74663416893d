import { join } from "node:path";
import { Bitfield } from "../bytes/bitfield.ts";
import { pieceSize } from "../metainfo/geometry.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import type { HashPool } from "../sha1/hash_pool.ts";
import { checkPieces } from "./check_pieces.ts";
import { readJournal } from "./piece_journal.ts";
import { readResume, RESUME_FOLDER, saveResume } from "./resume.ts";
import { planResume } from "./resume_plan.ts";
import { TorrentStorage } from "./torrent_storage.ts";
import { checkNoEscapingLinks } from "./data_links.ts";

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
  /** Pieces hashed to find out (0 when the resume file was current). */
  readonly hashed: number;
  /** Pieces taken from the resume file without hashing. */
  readonly trusted: number;
}

/** Options for {@linkcode openTorrentData}. */
export interface OpenTorrentDataOptions {
  /** Hashes the pieces of a check. */
  readonly pool: HashPool;
  /** The file priorities (one level per file; 0 skips the file). All normal by default. */
  readonly filePriorities?: Uint8Array;
  /** Hash every piece on disk, whatever the resume file says. */
  readonly recheck?: boolean;
  /** The folder of resume files, instead of `<dir>/.shoal`. */
  readonly resumeFolder?: string;
  /** Stops the check. */
  readonly signal?: AbortSignal;
  /** Least time between two `checking` events but the last (default 100 ms). */
  readonly progressIntervalMs?: number;
}

/**
 * Where a torrent's journal of pieces written since the last resume save lives.
 * @param dir The download folder.
 * @param info The torrent.
 * @param folder The folder of resume files, instead of `<dir>/.shoal`.
 * @returns The path.
 */
export function journalPath(
  dir: string,
  info: Pick<TorrentInfo, "infoHashHex">,
  folder?: string,
): string {
  return join(folder ?? join(dir, RESUME_FOLDER), `${info.infoHashHex}.journal`);
}

/**
 * Opens a torrent's data under `dir` and finds out which pieces are there. With a resume file
 * it hashes only what the resume file cannot vouch for (see {@linkcode planResume}): nothing
 * after a clean stop, the pieces written since the last flush after a crash, and whole files
 * that changed behind our back. Without one it hashes what is on disk. Then it moves the bytes
 * of newly selected files out of the parts file, creates the folders and empty files, and
 * saves a fresh resume file. Yields `checking` events while it hashes.
 * @param info The torrent.
 * @param dir The download folder.
 * @param options The hash pool, the file priorities and a signal.
 * @returns Checking progress, then the opened data as the generator's return value.
 * @throws {StorageError} On a disk error, or a path that would leave `dir`.
 */
export async function* openTorrentData(
  info: TorrentInfo,
  dir: string,
  options: OpenTorrentDataOptions,
): AsyncGenerator<CheckingProgress, OpenedTorrentData> {
  const { pool, signal } = options;
  const intervalMs = options.progressIntervalMs ?? 100;
  const priorities = options.filePriorities ?? new Uint8Array(info.files.length).fill(1);
  const folder = options.resumeFolder;
  const record = await readResume(dir, info, folder);
  // A file skipped now or at the last save may have its shared bytes in the parts file.
  const openWith = priorities.slice();
  if (record?.priorities) {
    for (let i = 0; i < openWith.length; i++) if (record.priorities[i] === 0) openWith[i] = 0;
  }
  await removeStaleTemporaries(folder ?? join(dir, RESUME_FOLDER), info.infoHashHex);
  const storage = await TorrentStorage.open(info, dir, { filePriorities: openWith });
  try {
    await checkNoEscapingLinks(storage.dir, storage.paths);
    let have = new Bitfield(info.pieceCount);
    let check: Set<number> | undefined;
    if (record && !options.recheck) {
      const journal = await readJournal(journalPath(dir, info, folder), info.pieceCount);
      const plan = await planResume(info, dir, record, journal, storage.partsPath);
      have = plan.trusted;
      check = new Set(plan.check);
    }
    const trusted = have.count;
    let hashed = 0;
    if (!check || check.size > 0) {
      const only = check && ((index: number) => check.has(index));
      const found = yield* checkWithProgress(info, storage, pool, signal, intervalMs, only, () => {
        hashed++;
      });
      for (let i = 0; i < info.pieceCount; i++) if (found.has(i)) have.set(i);
    }
    await storage.select(priorities, have);
    await storage.prepare();
    await saveResume(dir, info, have, { priorities, partsPath: storage.partsPath, folder });
    await Deno.remove(journalPath(dir, info, folder)).catch(() => {});
    return { storage, have, hashed, trusted };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

/**
 * Removes the temporary files a crash can leave beside a torrent's resume data (a save is
 * written to `<name>.<random>.tmp`, then renamed).
 */
async function removeStaleTemporaries(folder: string, infoHashHex: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.isFile && entry.name.startsWith(`${infoHashHex}.`) && entry.name.endsWith(".tmp")) {
        await Deno.remove(join(folder, entry.name)).catch(() => {});
      }
    }
  } catch {
    // no folder yet
  }
}

/** Runs checkPieces (all pieces, or those `only` accepts), yielding throttled progress. */
async function* checkWithProgress(
  info: TorrentInfo,
  storage: TorrentStorage,
  pool: HashPool,
  signal: AbortSignal | undefined,
  intervalMs: number,
  only: ((index: number) => boolean) | undefined,
  onHashed: () => void,
): AsyncGenerator<CheckingProgress, Bitfield> {
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
      return storage.readBlock(index, 0, size, size === info.pieceLength ? spare.pop() : undefined);
    },
  }, {
    hash: async (data) => {
      onHashed();
      const hashed = await pool.hash(data);
      const buffer = hashed.data;
      if (buffer.length === info.pieceLength && buffer.byteOffset === 0) spare.push(buffer);
      return hashed.digest;
    },
    only,
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
  return await checking;
}
