import { join } from "node:path";
import type { TorrentInfo } from "../metainfo/types.ts";
import { RESUME_FOLDER } from "./resume.ts";
import { StorageError, toStorageError } from "./storage_error.ts";

/** A held lock on a torrent's files in a download folder; `release` frees it. */
export interface DataLock {
  /** The lock file. */
  readonly path: string;
  /** Frees the lock (idempotent). */
  release(): void;
}

/**
 * Locks the files a torrent writes in `dir`, so that a second torrent (in this process or
 * another one) that would write the same files is refused instead of corrupting them. Every
 * file of a torrent lies under its name, so the lock is `DIR/.shoal/locks/<name>.lock`, held
 * with an exclusive advisory lock (`flock`) until released.
 * @param dir The download folder.
 * @param info The torrent.
 * @returns The held lock.
 * @throws {StorageError} `"ELOCKED"` when another torrent or process holds it, or another
 *   code when the lock file cannot be made.
 * @example
 * ```ts
 * import { lockTorrentData, type TorrentInfo } from "@shoal/shoal/storage";
 * import { rejects } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const info = { name: "album" } as TorrentInfo;
 * const lock = await lockTorrentData(dir, info);
 * await rejects(lockTorrentData(dir, info), /in use/);
 * lock.release();
 * (await lockTorrentData(dir, info)).release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockTorrentData(
  dir: string,
  info: Pick<TorrentInfo, "name">,
): Promise<DataLock> {
  const folder = join(dir, RESUME_FOLDER, "locks");
  const path = join(folder, `${info.name}.lock`);
  try {
    if (!(await Deno.stat(dir)).isDirectory) {
      throw new StorageError(`Download folder ${dir} is not a folder`, dir, "ENOTDIR");
    }
  } catch (error) {
    if (error instanceof StorageError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) throw toStorageError(error, dir, "opening");
  }
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(folder, { recursive: true });
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (error) {
    throw toStorageError(error, path, "creating");
  }
  let locked = false;
  try {
    locked = await file.tryLock(true);
  } catch (error) {
    file.close();
    throw toStorageError(error, path, "opening");
  }
  if (!locked) {
    file.close();
    throw new StorageError(
      `Cannot use ${
        join(dir, info.name)
      }: its files are in use by another torrent or another shoal (${path})`,
      path,
      "ELOCKED",
    );
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        file.close(); // closing drops the lock
      } catch {
        // already closed
      }
    },
  };
}
