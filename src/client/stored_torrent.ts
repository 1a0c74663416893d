import { dirname, join } from "node:path";
import { parseTorrent } from "../metainfo/parse_torrent.ts";
import type { Metainfo } from "../metainfo/types.ts";
import { RESUME_FOLDER } from "../storage/resume.ts";
import { toStorageError } from "../storage/storage_error.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";

/**
 * Where the .torrent of a magnet link is kept once its metadata verified:
 * `<dir>/.shoal/<info hash>.torrent`, or in the resume folder when there is one.
 * @param dir The download folder.
 * @param infoHashHex The info hash.
 * @param resumeDir The folder of resume files, if not `<dir>/.shoal`.
 * @returns The path.
 */
export function storedTorrentPath(dir: string, infoHashHex: string, resumeDir?: string): string {
  return join(resumeDir ?? join(dir, RESUME_FOLDER), `${infoHashHex}.torrent`);
}

/**
 * Reads a stored .torrent, if there is one for this info hash.
 * @param path Where it would be.
 * @param infoHashHex The info hash it must have.
 * @returns Its metadata, or `undefined` (none, unreadable, or another torrent).
 */
export async function loadStoredTorrent(
  path: string,
  infoHashHex: string,
): Promise<Metainfo | undefined> {
  try {
    const metainfo = parseTorrent(await Deno.readFile(path));
    return metainfo.infoHashHex === infoHashHex ? metainfo : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes a .torrent atomically (a temporary file, flushed, then renamed).
 * @param path Where it goes.
 * @param bytes The .torrent bytes.
 * @returns When in place.
 * @throws {StorageError} If it cannot be written.
 */
export async function saveStoredTorrent(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, bytes);
  } catch (error) {
    throw toStorageError(error, path, "writing");
  }
}
