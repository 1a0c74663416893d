import { Bitfield } from "../bytes/bitfield.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import { journalPath } from "./open_torrent_data.ts";
import { PieceJournal } from "./piece_journal.ts";
import { saveResume } from "./resume.ts";
import type { TorrentStorage } from "./torrent_storage.ts";

/** Resume data is saved this often while downloading. */
export const RESUME_SAVE_INTERVAL_MS = 30_000;
/** Data is flushed to disk (and resume data saved) after about this many bytes are written. */
export const SYNC_EVERY_BYTES: number = 64 * 1024 * 1024;

/**
 * Keeps a torrent's resume file honest while it downloads: each save first flushes the data
 * to disk, then records the pieces that were verified before the flush began (never one that
 * is still only in the page cache). Saves run one after another. A flush is due every
 * {@linkcode SYNC_EVERY_BYTES} written, so the flush at the end is short, and a save every
 * {@linkcode RESUME_SAVE_INTERVAL_MS} while pieces arrive. Between saves, each written piece
 * goes to the journal, so a restart after a crash hashes only those.
 */
export class ResumeWriter {
  readonly #dir: string;
  readonly #info: TorrentInfo;
  readonly #storage: TorrentStorage;
  readonly #have: Bitfield;
  readonly #priorities: () => Uint8Array;
  readonly #journal: PieceJournal;
  readonly #folder: string | undefined;
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;
  #unsyncedBytes = 0;
  #lastSaveMs = -Infinity;

  /**
   * Makes a writer.
   * @param dir The download folder.
   * @param info The torrent.
   * @param storage Its storage (flushed before each save).
   * @param have The verified pieces (read at each save).
   * @param priorities The file priorities to record (read at each save).
   * @param folder The folder of resume files, instead of `<dir>/.shoal`.
   */
  constructor(
    dir: string,
    info: TorrentInfo,
    storage: TorrentStorage,
    have: Bitfield,
    priorities: () => Uint8Array,
    folder?: string,
  ) {
    this.#dir = dir;
    this.#info = info;
    this.#storage = storage;
    this.#have = have;
    this.#priorities = priorities;
    this.#folder = folder;
    this.#journal = new PieceJournal(journalPath(dir, info, folder));
  }

  /**
   * Notes that a verified piece was written (and records it in the journal).
   * @param index The piece.
   * @param bytes Its length.
   * @returns `true` when enough was written since the last flush that one should start now
   *   (beside the download); the count restarts from here, so flushes do not queue up.
   */
  pieceWritten(index: number, bytes: number): boolean {
    this.#journal.append(index).catch(() => {}); // best effort: a lost entry costs a re-fetch
    this.#dirty = true;
    this.#unsyncedBytes += bytes;
    if (this.#unsyncedBytes < SYNC_EVERY_BYTES) return false;
    this.#unsyncedBytes = 0;
    return true;
  }

  /**
   * `true` when pieces were written since the last save and the save interval passed.
   * @param nowMs The time.
   * @returns Whether to save now.
   */
  due(nowMs: number): boolean {
    return this.#dirty && nowMs - this.#lastSaveMs >= RESUME_SAVE_INTERVAL_MS;
  }

  /**
   * Flushes the data, then records the pieces verified before the flush began.
   * @returns When saved.
   * @throws {StorageError} If the flush or the write fails (the next save tries again).
   */
  save(): Promise<void> {
    const run = this.#saving.catch(() => {}).then(async () => {
      const written = new Bitfield(this.#have.size);
      written.assign(this.#have.bytes.slice());
      this.#dirty = false;
      try {
        await this.#storage.sync();
        await saveResume(this.#dir, this.#info, written, {
          priorities: this.#priorities(),
          partsPath: this.#storage.partsPath,
          folder: this.#folder,
        });
        // Pieces verified since the snapshot are in neither file: they stay journalled.
        const since: number[] = [];
        for (let i = 0; i < this.#have.size; i++) {
          if (this.#have.has(i) && !written.has(i)) since.push(i);
        }
        await this.#journal.reset(since);
      } catch (error) {
        this.#dirty = true;
        throw error;
      }
      this.#lastSaveMs = performance.now();
    });
    this.#saving = run;
    return run;
  }

  /**
   * Closes the journal (after the last save).
   * @returns When closed.
   */
  close(): Promise<void> {
    return this.#journal.close();
  }
}
