/**
 * Where a torrent's data lives: `TorrentStorage` (pieces over files, a parts file for skipped
 * files' shared bytes), checking data against piece hashes, creating torrents, resume files
 * and the journal, file selection helpers and data locks.
 * @module
 */

export { RESUME_SAVE_INTERVAL_MS } from "./resume_writer.ts";
export { type StorageAction, StorageError, toStorageError } from "./storage_error.ts";
export {
  DEFAULT_MAX_OPEN_FILES,
  type FileAccess,
  FileHandleCache,
  type FileHandleCacheOptions,
} from "./file_handles.ts";
export { TorrentStorage, type TorrentStorageOptions } from "./torrent_storage.ts";
export { loadResume, RESUME_FOLDER, RESUME_VERSION, resumePath, saveResume } from "./resume.ts";
export {
  checkPieces,
  type CheckPiecesOptions,
  DEFAULT_CHECK_CONCURRENCY,
  type PieceSource,
} from "./check_pieces.ts";
export {
  CREATED_BY,
  createTorrent,
  CreateTorrentError,
  type CreateTorrentOptions,
} from "./create_torrent.ts";
export {
  FILE_PRIORITY_LEVEL,
  fileBytesDone,
  type FilePriority,
  filePriorityName,
  piecePrioritiesFor,
} from "./file_selection.ts";
export { type DataLock, lockTorrentData } from "./data_lock.ts";
export { type FileStamp, readResume, type ResumeRecord, type SaveResumeOptions } from "./resume.ts";
export { planResume, type ResumePlan } from "./resume_plan.ts";
export { PieceJournal, readJournal } from "./piece_journal.ts";
export type { FileEntry, TorrentInfo } from "../metainfo/types.ts";
export { Bitfield } from "../bytes/bitfield.ts";
