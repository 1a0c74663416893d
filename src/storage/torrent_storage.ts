import { dirname, resolve, sep } from "node:path";
import { fileSpans, pieceSize } from "../metainfo/geometry.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import type { Bitfield } from "../bytes/bitfield.ts";
import { DEFAULT_MAX_OPEN_FILES, FileHandleCache } from "./file_handles.ts";
import { RESUME_FOLDER } from "./resume.ts";
import { StorageError, toStorageError } from "./storage_error.ts";

/** Options for {@linkcode TorrentStorage.open}. */
export interface TorrentStorageOptions {
  /** Most files kept open at once (least recently used are closed first). Default 64. */
  maxOpenFiles?: number;
  /**
   * One level per file (0 = skipped): a skipped file that does not exist yet is never
   * created; the bytes of it that shared pieces carry go to the parts file instead. All
   * files are selected by default.
   */
  filePriorities?: Uint8Array;
  /** The parts file (default `DIR/.shoal/<info hash>.parts`). */
  partsPath?: string;
}

/** Fills `target` from `file` at `position`; `"EMISSING"` if the file ends first. */
async function readFully(
  file: Deno.FsFile,
  path: string,
  position: number,
  target: Uint8Array,
): Promise<void> {
  try {
    await file.seek(position, Deno.SeekMode.Start);
  } catch (error) {
    throw toStorageError(error, path, "reading");
  }
  let done = 0;
  while (done < target.length) {
    let n: number | null;
    try {
      n = await file.read(target.subarray(done));
    } catch (error) {
      throw toStorageError(error, path, "reading");
    }
    if (n === null || n === 0) {
      throw new StorageError(
        `Data missing: ${path} ends before byte ${position + target.length}`,
        path,
        "EMISSING",
      );
    }
    done += n;
  }
}

async function writeFully(
  file: Deno.FsFile,
  path: string,
  position: number,
  data: Uint8Array,
): Promise<void> {
  try {
    await file.seek(position, Deno.SeekMode.Start);
    let done = 0;
    while (done < data.length) {
      const n = await file.write(data.subarray(done));
      if (n <= 0) throw new Error("write() made no progress");
      done += n;
    }
  } catch (error) {
    throw toStorageError(error, path, "writing");
  }
}

/**
 * Bytes per write call when a piece is written synchronously. Measured on this project's
 * machines (Linux 6.18, ext4, a VM that hands freed memory back to its host): a 1 GiB piece
 * stream costs 2.5-2.7 CPU s of kernel time in 1 MiB writes but 0.35-0.5 s in 16 KiB writes,
 * because large writes get large page-cache folios, which come from memory the host has to
 * fault in again; small folios reuse memory that is still mapped. 16 KiB is also what
 * libtorrent writes (one block per call).
 */
const WRITE_CHUNK_BYTES = 16 * 1024;

/**
 * A piece write that blocks the event loop longer than this switches the storage to
 * asynchronous writes for the next {@linkcode ASYNC_WRITE_PIECES} pieces: the kernel is
 * throttling writes (dirty pages, a slow disk), and the network must not wait on it.
 */
const SLOW_SYNC_WRITE_MS = 20;
/** Pieces written asynchronously after a slow synchronous write, before trying again. */
const ASYNC_WRITE_PIECES = 64;

/**
 * Writes `data` at `position` with positioned synchronous writes of {@linkcode WRITE_CHUNK_BYTES}
 * (no thread hop, no promise per call; see the constant for why the chunks are small).
 */
function writeChunksSync(
  file: Deno.FsFile,
  path: string,
  position: number,
  data: Uint8Array,
): void {
  try {
    file.seekSync(position, Deno.SeekMode.Start);
    for (let at = 0; at < data.length;) {
      const n = file.writeSync(data.subarray(at, Math.min(data.length, at + WRITE_CHUNK_BYTES)));
      if (n <= 0) throw new Error("write() made no progress");
      at += n;
    }
  } catch (error) {
    throw toStorageError(error, path, "writing");
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return undefined;
  }
}

function checkComponent(component: string, fullPath: string): void {
  if (
    component === "" || component === "." || component === ".." || component.includes("/") ||
    component.includes("\\") || component.includes("\0")
  ) {
    throw new StorageError(
      `Path escapes the download folder: bad component ${JSON.stringify(component)} in ${fullPath}`,
      fullPath,
      "EESCAPE",
    );
  }
}

/**
 * Where a torrent's data lives on disk: maps pieces to files under a download folder and
 * reads and writes them with positioned I/O. BEP 47 padding files are never written or
 * created; reading them yields zeros. Files are created lazily (no truncation) and their
 * handles are cached (LRU, `maxOpenFiles`), with operations on one file serialized.
 * @example
 * ```ts
 * import { TorrentStorage } from "@shoal/shoal/storage";
 * import { type TorrentInfo } from "@shoal/shoal";
 * import { deepStrictEqual } from "node:assert/strict";
 * const info = {
 *   pieceLength: 4, pieceCount: 2, totalLength: 6, multiFile: false,
 *   files: [{ path: ["a.bin"], offset: 0, length: 6, padding: false }],
 * } as unknown as TorrentInfo; // a real one comes from parsing a .torrent file
 * const dir = await Deno.makeTempDir();
 * {
 *   await using storage = await TorrentStorage.open(info, dir);
 *   await storage.writePiece(1, new Uint8Array([5, 6]));
 *   await storage.writePiece(0, new Uint8Array([1, 2, 3, 4]));
 *   deepStrictEqual(await storage.readBlock(0, 2, 2), new Uint8Array([3, 4]));
 *   deepStrictEqual(await Deno.readFile(`${dir}/a.bin`), new Uint8Array([1, 2, 3, 4, 5, 6]));
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class TorrentStorage {
  /** The torrent this storage holds. */
  readonly info: TorrentInfo;
  /** The download folder, as an absolute path. */
  readonly dir: string;
  /** Absolute path of every file, in `info.files` order (padding files are never touched). */
  readonly paths: readonly string[];
  /** Where bytes of skipped files that share a piece with a selected file are kept. */
  readonly partsPath: string;
  #files: FileHandleCache;
  /** Per file: 1 while its bytes go to the parts file (skipped, and not on disk). */
  readonly #inParts: Uint8Array;
  /** Pieces still to write asynchronously after a slow synchronous write. */
  #asyncWrites = 0;

  private constructor(
    info: TorrentInfo,
    dir: string,
    paths: string[],
    partsPath: string,
    inParts: Uint8Array,
    maxOpenFiles: number,
  ) {
    this.info = info;
    this.dir = dir;
    this.paths = paths;
    this.partsPath = partsPath;
    this.#inParts = inParts;
    this.#files = new FileHandleCache({ maxOpenFiles });
  }

  /**
   * Prepares storage for `info` under `dir` (which need not exist yet). Creates nothing on disk; checks that every file
   * path stays inside `dir` (after resolving it), as a second line of defence behind the
   * metainfo parser's sanitising.
   * @param info The torrent.
   * @param dir The download folder (relative paths are resolved against the working folder).
   * @param options `maxOpenFiles` (default 64).
   * @returns The storage; close it with `close()` or `await using`.
   * @throws {StorageError} `"EESCAPE"` if a file path would leave `dir`; `"ENOTDIR"` if `dir`
   * exists but is not a folder.
   * @throws {RangeError} If `maxOpenFiles` is not a positive integer.
   */
  static async open(
    info: TorrentInfo,
    dir: string,
    options: TorrentStorageOptions = {},
  ): Promise<TorrentStorage> {
    const root = resolve(dir);
    try {
      if (!(await Deno.stat(root)).isDirectory) {
        throw new StorageError(`Download folder ${root} is not a folder`, root, "ENOTDIR");
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw toStorageError(error, root, "opening");
    }
    const prefix = root.endsWith(sep) ? root : root + sep;
    const paths = info.files.map((file) => {
      const shown = file.path.join("/");
      if (file.path.length === 0) {
        throw new StorageError(
          "Path escapes the download folder: empty file path",
          root,
          "EESCAPE",
        );
      }
      for (const component of file.path) checkComponent(component, shown);
      const path = resolve(root, ...file.path);
      if (!path.startsWith(prefix)) {
        throw new StorageError(
          `Path escapes the download folder: ${shown} resolves to ${path}, outside ${root}`,
          path,
          "EESCAPE",
        );
      }
      return path;
    });
    const priorities = options.filePriorities;
    if (priorities && priorities.length !== info.files.length) {
      throw new RangeError(
        `Cannot open storage: ${priorities.length} priorities for ${info.files.length} files`,
      );
    }
    const inParts = new Uint8Array(info.files.length);
    for (let i = 0; i < info.files.length; i++) {
      if (!priorities || priorities[i] > 0 || info.files[i].padding) continue;
      inParts[i] = (await exists(paths[i])) ? 0 : 1;
    }
    const partsPath = options.partsPath ??
      resolve(root, RESUME_FOLDER, `${info.infoHashHex}.parts`);
    return new TorrentStorage(
      info,
      root,
      paths,
      partsPath,
      inParts,
      options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES,
    );
  }

  /**
   * Tells whether a file's bytes go to the parts file (it is skipped and was never created).
   * @param fileIndex Index into `info.files`.
   * @returns `true` while they do.
   */
  inParts(fileIndex: number): boolean {
    return this.#inParts[fileIndex] === 1;
  }

  /**
   * Follows a change of selection: each file that was in the parts file and is now selected
   * gets the bytes verified so far moved into place (from the parts file into the file, which
   * is created), and its bytes go to the file from now on. Skipping a file that exists changes
   * nothing on disk. The parts file is removed once no file needs it.
   * @param filePriorities One level per file (0 = skipped).
   * @param have The verified pieces (only their bytes are moved).
   * @returns When the bytes are moved.
   * @throws {StorageError} On a disk error.
   */
  async select(filePriorities: Uint8Array, have: Bitfield): Promise<void> {
    const { info } = this;
    for (let i = 0; i < info.files.length; i++) {
      if (!this.#inParts[i] || filePriorities[i] === 0) continue;
      const file = info.files[i];
      const path = this.paths[i];
      try {
        await Deno.mkdir(dirname(path), { recursive: true });
      } catch (error) {
        throw toStorageError(error, dirname(path), "creating");
      }
      if (file.length === 0) {
        await this.#files.use(path, "write", () => Promise.resolve());
      }
      const first = Math.floor(file.offset / info.pieceLength);
      const last = Math.floor((file.offset + Math.max(0, file.length - 1)) / info.pieceLength);
      for (let p = first; p <= last && file.length > 0; p++) {
        if (!have.has(p)) continue;
        const from = Math.max(file.offset, p * info.pieceLength);
        const to = Math.min(file.offset + file.length, p * info.pieceLength + pieceSize(info, p));
        const bytes = new Uint8Array(to - from);
        await this.#files.use(
          this.partsPath,
          "read",
          (handle) => readFully(handle, this.partsPath, from, bytes),
        );
        await this.#files.use(
          path,
          "write",
          (handle) => writeFully(handle, path, from - file.offset, bytes),
        );
      }
      this.#inParts[i] = 0;
    }
    if (!this.#inParts.includes(1)) {
      await this.#files.forget(this.partsPath);
      await Deno.remove(this.partsPath).catch(() => {});
    }
  }

  /**
   * Creates every folder of the torrent and every zero-length file (which no piece would
   * ever create). Padding files are skipped. Existing files are left alone.
   * @returns When done.
   * @throws {StorageError} If a folder or file cannot be created.
   */
  async prepare(): Promise<void> {
    const folders = new Set<string>();
    for (let i = 0; i < this.info.files.length; i++) {
      const file = this.info.files[i];
      if (!file.padding && !file.symlink && !this.#inParts[i]) folders.add(dirname(this.paths[i]));
    }
    for (const folder of folders) {
      try {
        await Deno.mkdir(folder, { recursive: true });
      } catch (error) {
        throw toStorageError(error, folder, "creating");
      }
    }
    for (let i = 0; i < this.info.files.length; i++) {
      const file = this.info.files[i];
      if (file.padding || file.symlink || file.length !== 0 || this.#inParts[i]) continue;
      const path = this.paths[i];
      try {
        const handle = await Deno.open(path, { write: true, create: true });
        handle.close();
      } catch (error) {
        throw toStorageError(error, path, "creating");
      }
    }
  }

  #checkIndex(index: number): number {
    return pieceSize(this.info, index); // throws RangeError when out of range
  }

  /**
   * Writes a whole (verified) piece to the files it covers, skipping padding: by positioned
   * synchronous writes of {@linkcode WRITE_CHUNK_BYTES} (fast while the kernel takes the bytes
   * into its page cache), or asynchronously for a while after one such write was slow.
   * @param index Piece index.
   * @param data The piece's bytes; must be exactly the piece's length.
   * @returns When every byte is written (not necessarily flushed; see `sync`).
   * @throws {RangeError} For a bad index or length.
   * @throws {StorageError} On a disk error, e.g. "Disk full while writing <path>".
   */
  async writePiece(index: number, data: Uint8Array): Promise<void> {
    const size = this.#checkIndex(index);
    if (data.length !== size) {
      throw new RangeError(`Piece ${index} is ${size} bytes, got ${data.length}`);
    }
    const spans = fileSpans(this.info.files, index * this.info.pieceLength, size);
    const sync = this.#asyncWrites === 0;
    if (!sync) this.#asyncWrites--;
    await Promise.all(spans.map((span) => {
      const file = this.info.files[span.fileIndex];
      if (file.padding) return undefined;
      const chunk = data.subarray(span.rangeOffset, span.rangeOffset + span.length);
      const [path, position] = this.#locate(span.fileIndex, span.fileOffset);
      return this.#files.use(path, "write", (handle) => {
        if (!sync) return writeFully(handle, path, position, chunk);
        const started = performance.now();
        writeChunksSync(handle, path, position, chunk);
        if (performance.now() - started > SLOW_SYNC_WRITE_MS) {
          this.#asyncWrites = ASYNC_WRITE_PIECES;
        }
        return Promise.resolve();
      });
    }));
  }

  /**
   * Reads `length` bytes at `begin` inside piece `index`. Padding reads as zeros.
   * @param index Piece index.
   * @param begin Offset inside the piece.
   * @param length Number of bytes.
   * @param into Memory to read into instead of a new buffer (at least `length` bytes).
   * @returns The bytes: a new buffer, or the start of `into`.
   * @throws {RangeError} If the range is outside the piece.
   * @throws {StorageError} `"EMISSING"` ("Data missing: ...") if a file is missing or too
   * short, or another code on a disk error.
   */
  async readBlock(
    index: number,
    begin: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    const size = this.#checkIndex(index);
    if (
      !Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0 ||
      begin + length > size
    ) {
      throw new RangeError(`Range ${begin}+${length} is outside piece ${index} (${size} bytes)`);
    }
    if (into && into.length < length) {
      throw new RangeError(`Cannot read ${length} bytes into a ${into.length}-byte buffer`);
    }
    const out = into ? into.subarray(0, length) : new Uint8Array(length);
    const spans = fileSpans(this.info.files, index * this.info.pieceLength + begin, length);
    await Promise.all(spans.map((span) => {
      const target = out.subarray(span.rangeOffset, span.rangeOffset + span.length);
      if (this.info.files[span.fileIndex].padding) {
        if (into) target.fill(0);
        return undefined;
      }
      const [path, position] = this.#locate(span.fileIndex, span.fileOffset);
      return this.#files.use(path, "read", (handle) => readFully(handle, path, position, target));
    }));
    return out;
  }

  /** Where a file's byte lives: the file itself, or the parts file at its torrent offset. */
  #locate(fileIndex: number, fileOffset: number): [path: string, position: number] {
    if (!this.#inParts[fileIndex]) return [this.paths[fileIndex], fileOffset];
    return [this.partsPath, this.info.files[fileIndex].offset + fileOffset];
  }

  /**
   * Reads bytes of the torrent's concatenated data, across pieces and files.
   * @param offset Offset in the torrent's data.
   * @param into Where to put them (its length is how many).
   * @returns `into`.
   * @throws {RangeError} If the range is outside the torrent.
   * @throws {StorageError} As {@linkcode TorrentStorage.readBlock}.
   */
  async readRange(offset: number, into: Uint8Array): Promise<Uint8Array> {
    const { pieceLength } = this.info;
    let done = 0;
    while (done < into.length) {
      const at = offset + done;
      const index = Math.floor(at / pieceLength);
      const begin = at - index * pieceLength;
      const length = Math.min(into.length - done, pieceLength - begin);
      await this.readBlock(index, begin, length, into.subarray(done, done + length));
      done += length;
    }
    return into;
  }

  /**
   * Reads a whole piece.
   * @param index Piece index.
   * @returns The piece's bytes.
   * @throws {RangeError} For a bad index.
   * @throws {StorageError} As {@linkcode TorrentStorage.readBlock}.
   */
  readPiece(index: number): Promise<Uint8Array> {
    return this.readBlock(index, 0, this.#checkIndex(index));
  }

  /**
   * Current size on disk of every file, in `info.files` order: `undefined` for a missing
   * file, the nominal length for a padding file (never on disk).
   * @returns One entry per file.
   * @throws {StorageError} On a disk error other than "not found".
   */
  fileSizes(): Promise<(number | undefined)[]> {
    const partsSize = this.#inParts.includes(1) ? sizeOf(this.partsPath) : undefined;
    return Promise.all(this.info.files.map(async (file, i) => {
      if (file.padding) return file.length;
      if (this.#inParts[i]) {
        // Bytes in the parts file sit at their torrent offset: what it holds of this file.
        const size = await partsSize;
        return size === undefined
          ? undefined
          : Math.min(file.length, Math.max(0, size - file.offset));
      }
      try {
        const stat = await Deno.stat(this.paths[i]);
        return stat.isFile ? stat.size : undefined;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
          return undefined;
        }
        throw toStorageError(error, this.paths[i], "reading");
      }
    }));
  }

  /**
   * Flushes everything written so far to the disk (fdatasync). Call it before saving resume
   * data, so the resume file never claims a piece that is not on disk.
   * @returns When flushed.
   * @throws {StorageError} If a flush fails.
   */
  sync(): Promise<void> {
    return this.#files.sync();
  }

  /**
   * Waits for running reads and writes, then closes every file. Idempotent.
   * @returns When closed.
   */
  close(): Promise<void> {
    return this.#files.close();
  }

  /**
   * Same as {@linkcode TorrentStorage.close}, for `await using`.
   * @returns When closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
