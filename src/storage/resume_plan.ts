import { Bitfield } from "../bytes/bitfield.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import { dataFiles, type FileStamp, type ResumeRecord, statFile } from "./resume.ts";
import { toStorageError } from "./storage_error.ts";

/** What {@linkcode planResume} decides. */
export interface ResumePlan {
  /** Pieces taken as verified without hashing. */
  readonly trusted: Bitfield;
  /** Pieces to hash: written after the last save (the journal), or in files that changed. */
  readonly check: readonly number[];
  /** The files (indices into `info.files`) that changed behind our back and are checked whole. */
  readonly staleFiles: readonly number[];
}

/** The pieces that hold bytes of a file. */
function piecesOf(info: TorrentInfo, fileIndex: number): [first: number, last: number] {
  const file = info.files[fileIndex];
  const first = Math.floor(file.offset / info.pieceLength);
  const last = Math.floor((file.offset + Math.max(0, file.length - 1)) / info.pieceLength);
  return [first, last];
}

/** Whether a file changed since the save in a way our own journalled writes do not explain. */
function changed(now: FileStamp, then: FileStamp, explained: boolean): boolean {
  if (now[0] < then[0] || now[1] < then[1]) return true; // shrank, or older than the save
  if (now[0] === then[0] && now[1] === then[1]) return false;
  return !explained; // grew or was touched: fine only if we wrote to it since the save
}

/**
 * Decides, after an interruption, what of a resume record to trust without hashing: the
 * pieces it records as flushed, in every file that still has at least the recorded size and
 * no older mtime, and whose changes since (if any) our own journalled writes explain. Files
 * that shrank, went back in time or changed unexplained are checked whole; pieces written
 * since the last save (the journal) are checked too. A kill -9 thus costs a hash of the
 * pieces written since the last flush, not of the whole torrent.
 * @param info The torrent.
 * @param dir The download folder.
 * @param record The resume record.
 * @param journal Pieces written since the record was saved.
 * @param partsPath The parts file (bytes of skipped files sharing a piece).
 * @returns What to trust and what to hash.
 * @throws {StorageError} If a file cannot be looked at.
 */
export async function planResume(
  info: TorrentInfo,
  dir: string,
  record: ResumeRecord,
  journal: readonly number[],
  partsPath: string,
): Promise<ResumePlan> {
  const trusted = new Bitfield(info.pieceCount);
  trusted.assign(record.have.bytes.slice());
  const journalled = new Bitfield(info.pieceCount);
  for (const index of journal) journalled.set(index);
  const touched = (fileIndex: number): boolean => {
    const [first, last] = piecesOf(info, fileIndex);
    for (let p = first; p <= last; p++) if (journalled.has(p)) return true;
    return false;
  };
  const paths = dataFiles(info, dir);
  const dataIndex = info.files.map((file, i) => (file.padding || file.symlink ? -1 : i))
    .filter((i) => i >= 0);
  const stat = async (path: string): Promise<FileStamp | undefined> => {
    try {
      return await statFile(path);
    } catch (error) {
      throw toStorageError(error, path, "reading");
    }
  };
  const nowParts = record.parts ? await stat(partsPath) : undefined;
  const stale: number[] = [];
  for (let k = 0; k < paths.length; k++) {
    const fileIndex = dataIndex[k];
    const then = record.files[k];
    const now = await stat(paths[k]);
    let isStale: boolean;
    if (now) {
      isStale = changed(now, then, touched(fileIndex));
    } else if (then[0] > 0) {
      isStale = true; // it had bytes and is gone
    } else if (record.parts) {
      // Missing then and now: its bytes of shared pieces live in the parts file.
      isStale = !nowParts || changed(nowParts, record.parts, touched(fileIndex));
    } else {
      isStale = false;
    }
    if (isStale && info.files[fileIndex].length > 0) stale.push(fileIndex);
  }
  const check = new Set<number>();
  for (const fileIndex of stale) {
    const [first, last] = piecesOf(info, fileIndex);
    for (let p = first; p <= last; p++) {
      trusted.clear(p);
      check.add(p);
    }
  }
  for (const index of journal) if (!trusted.has(index)) check.add(index);
  return { trusted, check: [...check].sort((a, b) => a - b), staleFiles: stale };
}
