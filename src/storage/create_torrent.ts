import { chooseTorrentPieceLength } from "../metainfo/choose_piece_length.ts";
import { encodeTorrent } from "../metainfo/encode_torrent.ts";
import { SHA1_LANES, Sha1Batch } from "../sha1/sha1_batch.ts";
import { VERSION } from "../version.ts";

/** The `created by` value shoal writes into new torrents. */
export const CREATED_BY: string = `shoal/${VERSION}`;

/** Options for {@linkcode createTorrent}. */
export interface CreateTorrentOptions {
  /** Announce URL tiers (BEP 12). */
  trackers?: string[][];
  /** Piece length in bytes; by default {@linkcode chooseTorrentPieceLength} picks one. */
  pieceLength?: number;
  /** BEP 27 private flag. */
  private?: boolean;
  /** Free text `comment`. */
  comment?: string;
  /** `created by`; defaults to {@linkcode CREATED_BY}. */
  createdBy?: string;
  /** BEP 19 web seed URLs. */
  urlList?: string[];
  /** Stops hashing; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after each piece is hashed (pieces are hashed four at a time). */
  onProgress?: (hashedBytes: number, totalBytes: number) => void;
}

/**
 * A torrent that cannot be made from the given source: missing, empty, or changed while
 * being hashed.
 * @example
 * ```ts
 * import { createTorrent, CreateTorrentError } from "@shoal/shoal";
 * import { rejects } from "node:assert/strict";
 * await rejects(createTorrent("/no/such/folder"), CreateTorrentError);
 * ```
 */
export class CreateTorrentError extends Error {
  /** The source path. */
  readonly source: string;
  /**
   * Makes the error.
   * @param message What failed, starting "Cannot create torrent: ".
   * @param source The source path.
   * @param options `cause` when wrapping another error.
   */
  constructor(message: string, source: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CreateTorrentError";
    this.source = source;
  }
}

interface SourceFile {
  fullPath: string;
  path: string[];
  length: number;
}

const encoder = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function comparePaths(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const order = compareBytes(encoder.encode(a[i]), encoder.encode(b[i]));
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

async function walk(
  folder: string,
  prefix: string[],
  out: SourceFile[],
  signal: AbortSignal | undefined,
): Promise<void> {
  for await (const entry of Deno.readDir(folder)) {
    signal?.throwIfAborted();
    if (entry.isSymlink) continue;
    const fullPath = `${folder}/${entry.name}`;
    if (entry.isDirectory) {
      await walk(fullPath, [...prefix, entry.name], out, signal);
    } else if (entry.isFile) {
      const { size } = await Deno.stat(fullPath);
      out.push({ fullPath, path: [...prefix, entry.name], length: size });
    }
  }
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((part) => part !== "");
  return parts[parts.length - 1] ?? "";
}

async function torrentName(source: string): Promise<string> {
  const name = baseName(source);
  if (name !== "" && name !== "." && name !== "..") return name;
  return baseName(await Deno.realPath(source));
}

/**
 * Makes a v1 `.torrent` from a file or a folder. A folder is walked recursively (symlinks are
 * skipped) and its files are listed sorted by their path components' bytes. File data streams
 * through SHA-1 across file boundaries, four pieces at a time (read straight into the lanes of
 * the SIMD SHA-1, `Sha1Batch`), so memory stays at four pieces whatever the size.
 * `created by` is "shoal/0.1.0" and `creation date` is now.
 * @param source Path of the file or folder.
 * @param options Trackers, piece length (default: {@linkcode chooseTorrentPieceLength}),
 * private flag, comment, `signal` to stop and `onProgress` after each piece.
 * @returns The `.torrent` file's bytes.
 * @throws {CreateTorrentError} If the source does not exist, holds no data, or a file changes
 * size while it is hashed.
 * @throws {DOMException} The signal's reason when aborted.
 * @example
 * ```ts
 * import { createTorrent, parseTorrent } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hello");
 * const torrent = parseTorrent(await createTorrent(`${dir}/hello.txt`));
 * strictEqual(torrent.name, "hello.txt");
 * strictEqual(torrent.totalLength, 5);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function createTorrent(
  source: string,
  options: CreateTorrentOptions = {},
): Promise<Uint8Array> {
  const { signal } = options;
  signal?.throwIfAborted();
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(source);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CreateTorrentError(
        `Cannot create torrent: ${source} does not exist`,
        source,
        { cause: error },
      );
    }
    throw error;
  }
  const name = await torrentName(source);
  let files: SourceFile[];
  if (info.isDirectory) {
    files = [];
    await walk(source, [], files, signal);
    if (files.length === 0) {
      throw new CreateTorrentError(`Cannot create torrent: ${source} holds no files`, source);
    }
    files.sort((a, b) => comparePaths(a.path, b.path));
  } else if (info.isFile) {
    files = [{ fullPath: source, path: [name], length: info.size }];
  } else {
    throw new CreateTorrentError(
      `Cannot create torrent: ${source} is neither a file nor a folder`,
      source,
    );
  }
  const totalLength = files.reduce((sum, file) => sum + file.length, 0);
  if (totalLength === 0) {
    throw new CreateTorrentError(`Cannot create torrent: ${source} holds 0 bytes`, source);
  }
  const pieceLength = options.pieceLength ?? chooseTorrentPieceLength(totalLength);
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
    throw new RangeError(`Cannot create torrent: piece length ${pieceLength} is not positive`);
  }
  const pieceHashes = await hashPieces(files, pieceLength, totalLength, source, options);
  return encodeTorrent({
    name,
    pieceLength,
    pieceHashes,
    files: info.isDirectory ? files.map(({ path, length }) => ({ path, length })) : {
      length: totalLength,
    },
    private: options.private,
    trackers: options.trackers,
    comment: options.comment,
    createdBy: options.createdBy ?? CREATED_BY,
    creationDate: Math.floor(Date.now() / 1000),
    urlList: options.urlList,
  });
}

/** Largest piece read straight into the SIMD lanes (4 slots: 64 MiB); bigger ones are copied in. */
const MAX_SLOT_PIECE_BYTES = 16 * 1024 * 1024;

async function hashPieces(
  files: readonly SourceFile[],
  pieceLength: number,
  totalLength: number,
  source: string,
  options: CreateTorrentOptions,
): Promise<Uint8Array> {
  const { signal, onProgress } = options;
  const pieceCount = Math.ceil(totalLength / pieceLength);
  const hashes = new Uint8Array(pieceCount * 20);
  const pieceBytes = Math.min(pieceLength, totalLength);
  const inSlots = pieceBytes <= MAX_SLOT_PIECE_BYTES;
  const batch = new Sha1Batch({ slotBytes: inSlots ? pieceBytes : undefined });
  // Lane k holds piece `piece + k` of the group being read.
  const lanes = Array.from(
    { length: SHA1_LANES },
    (_, k) => inSlots ? batch.slot(k).subarray(0, pieceBytes) : new Uint8Array(pieceBytes),
  );
  const fills: number[] = [];
  let fill = 0;
  let piece = 0;
  let hashed = 0;
  const flush = (): void => {
    const digests = inSlots
      ? batch.hashSlots(fills)
      : batch.hashMany(fills.map((length, k) => lanes[k].subarray(0, length)));
    digests.forEach((digest, k) => {
      hashes.set(digest, (piece + k) * 20);
      hashed += fills[k];
      onProgress?.(hashed, totalLength);
    });
    piece += fills.length;
    fills.length = 0;
  };
  const finishPiece = (): void => {
    fills.push(fill);
    fill = 0;
    if (fills.length === SHA1_LANES) flush();
  };
  for (const file of files) {
    if (file.length === 0) continue;
    using handle = await Deno.open(file.fullPath, { read: true });
    let left = file.length;
    while (left > 0) {
      signal?.throwIfAborted();
      const buffer = lanes[fills.length];
      const want = Math.min(pieceBytes - fill, left);
      const read = await handle.read(buffer.subarray(fill, fill + want));
      if (read === null) {
        throw new CreateTorrentError(
          `Cannot create torrent: ${file.fullPath} shrank while it was being hashed`,
          source,
        );
      }
      fill += read;
      left -= read;
      if (fill === pieceBytes) finishPiece();
    }
  }
  if (fill > 0) finishPiece();
  if (fills.length > 0) flush();
  return hashes;
}
