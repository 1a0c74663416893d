import { dirname, join, resolve, sep } from "node:path";
import type { TorrentInfo } from "../metainfo/types.ts";
import { RESUME_FOLDER } from "../storage/resume.ts";
import { toStorageError } from "../storage/storage_error.ts";

/**
 * Deletes a torrent's data from its download folder: its files (never anything outside the
 * folder), the folders they leave empty, and its resume, journal, parts and lock files.
 * Missing files are fine.
 * @param dir The download folder.
 * @param info The torrent.
 * @param resumeFolder Where its resume files are, if not in `<dir>/.shoal`.
 * @returns When deleted.
 * @throws {StorageError} If a file cannot be deleted.
 */
export async function removeTorrentData(
  dir: string,
  info: TorrentInfo,
  resumeFolder?: string,
): Promise<void> {
  const root = resolve(dir);
  const prefix = root.endsWith(sep) ? root : root + sep;
  const folders = new Set<string>();
  const remove = async (path: string) => {
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw toStorageError(error, path, "deleting");
    }
  };
  for (const file of info.files) {
    if (file.padding) continue;
    const path = resolve(root, ...file.path);
    if (!path.startsWith(prefix)) continue; // storage refuses such paths; never delete outside
    await remove(path);
    for (let folder = dirname(path); folder.startsWith(prefix); folder = dirname(folder)) {
      folders.add(folder);
    }
  }
  // Deepest first, so a parent is tried after its children; non-empty folders stay.
  for (const folder of [...folders].sort((a, b) => b.length - a.length)) {
    await Deno.remove(folder).catch(() => {});
  }
  const state = join(root, RESUME_FOLDER);
  for (const suffix of ["resume", "journal", "parts", "torrent"]) {
    await remove(join(state, `${info.infoHashHex}.${suffix}`));
    if (resumeFolder) await remove(join(resumeFolder, `${info.infoHashHex}.${suffix}`));
  }
  await remove(join(state, "locks", `${info.name}.lock`));
}
