import { join } from "node:path";
import { decodeBencode } from "../bencode/decode.ts";
import { encodeBencode } from "../bencode/encode.ts";
import { isBencodeDict } from "../bencode/fields.ts";
import type { BencodeValue } from "../bencode/types.ts";
import { Bitfield } from "../bytes/bitfield.ts";
import { equalBytes } from "../bytes/bytes.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import { toStorageError } from "./storage_error.ts";

/** Version number written in resume files; other versions are ignored on load. */
export const RESUME_VERSION = 1;

/** Name of the folder inside the download folder that holds resume files. */
export const RESUME_FOLDER = ".shoal";

/**
 * Path of a torrent's resume file: `<dir>/.shoal/<infoHashHex>.resume`.
 * @param dir The download folder.
 * @param info The torrent.
 * @returns The path.
 * @example
 * ```ts
 * import { resumePath, type TorrentInfo } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const info = { infoHashHex: "ab".repeat(20) } as TorrentInfo;
 * strictEqual(resumePath("/data", info), `/data/.shoal/${"ab".repeat(20)}.resume`);
 * ```
 */
export function resumePath(dir: string, info: Pick<TorrentInfo, "infoHashHex">): string {
  return join(dir, RESUME_FOLDER, `${info.infoHashHex}.resume`);
}

/** Size and modification time (ms since 1970) of one file; a missing file is `[0, 0]`. */
async function statFile(path: string): Promise<[size: number, mtimeMs: number] | undefined> {
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

function dataFiles(info: TorrentInfo, dir: string): string[] {
  return info.files.filter((file) => !file.padding).map((file) => join(dir, ...file.path));
}

/**
 * Saves which pieces are on disk, so the next run can skip re-checking them. The file
 * (`<dir>/.shoal/<infoHashHex>.resume`) is bencoded: `version`, `info-hash`, `piece-count`,
 * `bitfield` (BEP 3 bytes) and `files`, a list of `[size, mtime-ms]` for every non-padding
 * file in torrent order (`[0, 0]` for a missing file). It is written to a temporary file,
 * flushed, then renamed over the old one, so a crash leaves either the old or the new one.
 * Call `TorrentStorage.sync()` first: the resume file must never claim unflushed data.
 * @param dir The download folder.
 * @param info The torrent.
 * @param have The verified pieces.
 * @returns When the resume file is in place.
 * @throws {StorageError} If it cannot be written.
 * @throws {RangeError} If `have` does not have `info.pieceCount` bits.
 * @example
 * ```ts
 * import { Bitfield, loadResume, saveResume, type TorrentInfo } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const info = {
 *   infoHash: new Uint8Array(20), infoHashHex: "00".repeat(20), pieceCount: 3,
 *   files: [{ path: ["a.bin"], offset: 0, length: 0, padding: false }],
 * } as unknown as TorrentInfo;
 * const dir = await Deno.makeTempDir();
 * const have = new Bitfield(3);
 * have.set(1);
 * await saveResume(dir, info, have);
 * strictEqual((await loadResume(dir, info))?.has(1), true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveResume(dir: string, info: TorrentInfo, have: Bitfield): Promise<void> {
  if (have.size !== info.pieceCount) {
    throw new RangeError(`Bitfield has ${have.size} pieces, the torrent ${info.pieceCount}`);
  }
  const files: number[][] = [];
  for (const path of dataFiles(info, dir)) {
    try {
      files.push(await statFile(path) ?? [0, 0]);
    } catch (error) {
      throw toStorageError(error, path, "reading");
    }
  }
  const bytes = encodeBencode({
    "version": RESUME_VERSION,
    "info-hash": info.infoHash,
    "piece-count": info.pieceCount,
    "bitfield": have.bytes,
    "files": files,
  });
  const target = resumePath(dir, info);
  const folder = join(dir, RESUME_FOLDER);
  try {
    await Deno.mkdir(folder, { recursive: true });
  } catch (error) {
    throw toStorageError(error, folder, "creating");
  }
  const temp = `${target}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, create: true, truncate: true });
    try {
      let done = 0;
      while (done < bytes.length) done += await file.write(bytes.subarray(done));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temp, target);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw toStorageError(error, target, "writing");
  }
}

function toNumber(value: BencodeValue | undefined): number | undefined {
  return typeof value === "number" ? value : undefined;
}

/**
 * Loads the pieces recorded by {@linkcode saveResume}, if the record can still be trusted.
 * The rule: the file must decode, have this version, this info hash and piece count, and
 * every non-padding file must have exactly the recorded size and modification time (ms), or
 * be missing where the recorded size is 0. Anything else (no file, a corrupt file, a file
 * touched since) returns `undefined` and the caller re-checks the data; this never throws.
 * @param dir The download folder.
 * @param info The torrent.
 * @returns The recorded pieces, or `undefined` when there is no trustworthy record.
 * @example
 * ```ts
 * import { loadResume, type TorrentInfo } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const info = { infoHashHex: "00".repeat(20), files: [] } as unknown as TorrentInfo;
 * const dir = await Deno.makeTempDir();
 * strictEqual(await loadResume(dir, info), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadResume(dir: string, info: TorrentInfo): Promise<Bitfield | undefined> {
  try {
    const record = decodeBencode(await Deno.readFile(resumePath(dir, info)));
    if (!isBencodeDict(record)) return undefined;
    const hash = record.get("info-hash");
    const bits = record.get("bitfield");
    const files = record.get("files");
    if (
      toNumber(record.get("version")) !== RESUME_VERSION ||
      !(hash instanceof Uint8Array) || !equalBytes(hash, info.infoHash) ||
      toNumber(record.get("piece-count")) !== info.pieceCount ||
      !(bits instanceof Uint8Array) || !Array.isArray(files)
    ) {
      return undefined;
    }
    const paths = dataFiles(info, dir);
    if (files.length !== paths.length) return undefined;
    for (let i = 0; i < paths.length; i++) {
      const entry = files[i];
      if (!Array.isArray(entry) || entry.length !== 2) return undefined;
      const size = toNumber(entry[0]), mtime = toNumber(entry[1]);
      if (size === undefined || mtime === undefined) return undefined;
      const now = await statFile(paths[i]);
      if (now === undefined ? size !== 0 : now[0] !== size || now[1] !== mtime) return undefined;
    }
    return new Bitfield(info.pieceCount, bits); // throws on a wrong length or spare bits
  } catch {
    return undefined;
  }
}
