import { join } from "node:path";
import { decodeBencode } from "../bencode/decode.ts";
import { encodeBencode } from "../bencode/encode.ts";
import { isBencodeDict } from "../bencode/fields.ts";
import type { BencodeValue } from "../bencode/types.ts";
import { Bitfield } from "../bytes/bitfield.ts";
import { equalBytes } from "../bytes/bytes.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import { writeFileAtomic } from "../util/write_file_atomic.ts";
import { toStorageError } from "./storage_error.ts";

/** Version number written in resume files; version 1 files are still read. */
export const RESUME_VERSION = 2;

/** Name of the folder inside the download folder that holds resume files. */
export const RESUME_FOLDER = ".shoal";

/**
 * Where the resume file of a torrent lives: `<dir>/.shoal/<infoHashHex>.resume`, or in
 * `folder` when given (a daemon keeps resume data in its state folder).
 * @param dir The download folder.
 * @param info The torrent (its hex info hash).
 * @param folder The folder of resume files, instead of `<dir>/.shoal`.
 * @returns The path.
 * @example
 * ```ts
 * import { resumePath, type TorrentInfo } from "@shoal/shoal/storage";
 * import { strictEqual } from "node:assert/strict";
 * const info = { infoHashHex: "ab".repeat(20) } as TorrentInfo;
 * strictEqual(resumePath("/data", info), `/data/.shoal/${"ab".repeat(20)}.resume`);
 * ```
 */
export function resumePath(
  dir: string,
  info: Pick<TorrentInfo, "infoHashHex">,
  folder?: string,
): string {
  return join(folder ?? join(dir, RESUME_FOLDER), `${info.infoHashHex}.resume`);
}

/** Size and modification time (ms since 1970) of one file. */
export type FileStamp = readonly [size: number, mtimeMs: number];

/** What a resume file records. */
export interface ResumeRecord {
  /** The pieces that were verified and flushed to disk when it was saved. */
  readonly have: Bitfield;
  /** Per non-padding file, in torrent order: its size and mtime then (`[0, 0]` if missing). */
  readonly files: readonly FileStamp[];
  /** The file priorities then (one per file, padding included), if recorded. */
  readonly priorities?: Uint8Array;
  /** Size and mtime of the parts file then, if there was one. */
  readonly parts?: FileStamp;
}

/** Options for {@linkcode saveResume}. */
export interface SaveResumeOptions {
  /** The file priorities to record (one level per file, padding included). */
  priorities?: Uint8Array;
  /** The parts file, whose size and mtime are recorded too when it exists. */
  partsPath?: string;
  /** The folder of resume files, instead of `<dir>/.shoal`. */
  folder?: string;
}

/** Size and modification time of a file, or `undefined` when it does not exist. */
export async function statFile(path: string): Promise<FileStamp | undefined> {
  try {
    const stat = await Deno.stat(path);
    return [stat.size, stat.mtime?.getTime() ?? 0];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}

/**
 * The absolute paths of a torrent's data files (padding files excluded), in torrent order.
 * @param info The torrent.
 * @param dir The download folder.
 * @returns One path per non-padding file.
 */
export function dataFiles(info: TorrentInfo, dir: string): string[] {
  return info.files.filter((file) => !file.padding && !file.symlink).map((file) =>
    join(dir, ...file.path)
  );
}

/**
 * Saves which pieces are on disk, so the next run can skip re-checking them. The file
 * (`<dir>/.shoal/<infoHashHex>.resume`) is bencoded: `version`, `info-hash`, `piece-count`,
 * `bitfield` (BEP 3 bytes), `files`, a list of `[size, mtime-ms]` for every non-padding
 * file in torrent order (`[0, 0]` for a missing file), and `priorities` (one byte per file)
 * when given. It is written to a temporary file, flushed, then renamed over the old one, so
 * a crash leaves either the old or the new one. Call `TorrentStorage.sync()` first: the
 * resume file must never claim unflushed data.
 * @param dir The download folder.
 * @param info The torrent.
 * @param have The verified pieces.
 * @param options The file priorities to record.
 * @returns When the file is in place.
 * @throws {RangeError} If `have` has the wrong size.
 * @throws {StorageError} If the file cannot be written.
 * @example
 * ```ts
 * import { Bitfield, loadResume, saveResume, type TorrentInfo } from "@shoal/shoal/storage";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const info = {
 *   infoHash: new Uint8Array(20), infoHashHex: "00".repeat(20), pieceCount: 2,
 *   files: [{ path: ["a"], offset: 0, length: 0, padding: false }],
 * } as unknown as TorrentInfo; // a real one comes from parsing a .torrent file
 * await saveResume(dir, info, new Bitfield(2, new Uint8Array([0x40])));
 * strictEqual((await loadResume(dir, info))?.has(1), true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveResume(
  dir: string,
  info: TorrentInfo,
  have: Bitfield,
  options: SaveResumeOptions = {},
): Promise<void> {
  if (have.size !== info.pieceCount) {
    throw new RangeError(`Bitfield has ${have.size} pieces, the torrent ${info.pieceCount}`);
  }
  const files: number[][] = [];
  for (const path of dataFiles(info, dir)) {
    try {
      files.push([...(await statFile(path) ?? [0, 0])]);
    } catch (error) {
      throw toStorageError(error, path, "reading");
    }
  }
  let parts: FileStamp | undefined;
  if (options.partsPath) {
    try {
      parts = await statFile(options.partsPath);
    } catch (error) {
      throw toStorageError(error, options.partsPath, "reading");
    }
  }
  const bytes = encodeBencode({
    "version": RESUME_VERSION,
    "info-hash": info.infoHash,
    "piece-count": info.pieceCount,
    "bitfield": have.bytes,
    "files": files,
    "priorities": options.priorities,
    "parts": parts ? [...parts] : undefined,
  });
  const target = resumePath(dir, info, options.folder);
  const folder = options.folder ?? join(dir, RESUME_FOLDER);
  try {
    await Deno.mkdir(folder, { recursive: true });
  } catch (error) {
    throw toStorageError(error, folder, "creating");
  }
  try {
    await writeFileAtomic(target, bytes);
  } catch (error) {
    throw toStorageError(error, target, "writing");
  }
}

function toNumber(value: BencodeValue | undefined): number | undefined {
  return typeof value === "number" ? value : undefined;
}

/**
 * Reads a torrent's resume file as it was saved, whatever the files look like now.
 * @param dir The download folder.
 * @param info The torrent.
 * @param folder The folder of resume files, instead of `<dir>/.shoal`.
 * @returns The record, or `undefined` when there is none or it is unreadable, of another
 *   version or another torrent.
 * @example
 * ```ts
 * import { readResume, type TorrentInfo } from "@shoal/shoal/storage";
 * import { strictEqual } from "node:assert/strict";
 * const info = { infoHashHex: "00".repeat(20) } as TorrentInfo;
 * strictEqual(await readResume(await Deno.makeTempDir(), info), undefined);
 * ```
 */
export async function readResume(
  dir: string,
  info: TorrentInfo,
  folder?: string,
): Promise<ResumeRecord | undefined> {
  try {
    const record = decodeBencode(await Deno.readFile(resumePath(dir, info, folder)));
    if (!isBencodeDict(record)) return undefined;
    const version = toNumber(record.get("version"));
    const hash = record.get("info-hash");
    const bits = record.get("bitfield");
    const files = record.get("files");
    const priorities = record.get("priorities");
    if (
      (version !== RESUME_VERSION && version !== 1) ||
      !(hash instanceof Uint8Array) || !equalBytes(hash, info.infoHash) ||
      toNumber(record.get("piece-count")) !== info.pieceCount ||
      !(bits instanceof Uint8Array) || !Array.isArray(files) ||
      files.length !== info.files.filter((f) => !f.padding && !f.symlink).length
    ) {
      return undefined;
    }
    const stamps: FileStamp[] = [];
    for (const entry of files) {
      if (!Array.isArray(entry) || entry.length !== 2) return undefined;
      const size = toNumber(entry[0]), mtime = toNumber(entry[1]);
      if (size === undefined || mtime === undefined || size < 0) return undefined;
      stamps.push([size, mtime]);
    }
    const have = new Bitfield(info.pieceCount, bits); // throws on a wrong length or spare bits
    const recorded = priorities instanceof Uint8Array && priorities.length === info.files.length
      ? priorities
      : undefined;
    const parts = record.get("parts");
    let partsStamp: FileStamp | undefined;
    if (Array.isArray(parts) && parts.length === 2) {
      const size = toNumber(parts[0]), mtime = toNumber(parts[1]);
      if (size !== undefined && mtime !== undefined) partsStamp = [size, mtime];
    }
    return { have, files: stamps, priorities: recorded, parts: partsStamp };
  } catch {
    return undefined;
  }
}

/**
 * Loads the pieces a resume file records, if every file is exactly as it was when the file was
 * saved (same size, same mtime; a missing file must have been recorded missing or empty).
 * @param dir The download folder.
 * @param info The torrent.
 * @returns The verified pieces, or `undefined` when there is no current resume file.
 * @example
 * ```ts
 * import { loadResume, type TorrentInfo } from "@shoal/shoal/storage";
 * import { strictEqual } from "node:assert/strict";
 * const info = { infoHashHex: "00".repeat(20) } as TorrentInfo;
 * strictEqual(await loadResume(await Deno.makeTempDir(), info), undefined);
 * ```
 */
export async function loadResume(dir: string, info: TorrentInfo): Promise<Bitfield | undefined> {
  const record = await readResume(dir, info);
  if (!record) return undefined;
  const paths = dataFiles(info, dir);
  try {
    for (let i = 0; i < paths.length; i++) {
      const [size, mtime] = record.files[i];
      const now = await statFile(paths[i]);
      if (now === undefined ? size !== 0 : now[0] !== size || now[1] !== mtime) return undefined;
    }
  } catch {
    return undefined;
  }
  return record.have;
}
