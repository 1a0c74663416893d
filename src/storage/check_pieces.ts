import { Bitfield } from "../bytes/bitfield.ts";
import { equalBytes } from "../bytes/bytes.ts";
import { fileSpans, pieceSize } from "../metainfo/geometry.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import { StorageError } from "./storage_error.ts";

/** What {@linkcode checkPieces} needs from storage (a `TorrentStorage` fits). */
export interface PieceSource {
  /** Size on disk of every file in `info.files` order; `undefined` for a missing file. */
  fileSizes(): Promise<readonly (number | undefined)[]>;
  /** Reads a whole piece; a `StorageError` with code `"EMISSING"` means the data is gone. */
  readPiece(index: number): Promise<Uint8Array>;
}

/** Options for {@linkcode checkPieces}. */
export interface CheckPiecesOptions {
  /** SHA-1 of some bytes (e.g. a worker pool's `hash`, or `async (d) => sha1(d)`). */
  hash: (data: Uint8Array) => Promise<Uint8Array>;
  /** Stops the check; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Pieces read and hashed at once (this bounds memory). Default 2. */
  concurrency?: number;
  /** Called after each piece, skipped ones included, with the count done and the total. */
  onProgress?: (checked: number, total: number) => void;
  /** Check only the pieces this accepts (the others count as checked and missing). */
  only?: (index: number) => boolean;
}

/** Default for {@linkcode CheckPiecesOptions.concurrency}. */
export const DEFAULT_CHECK_CONCURRENCY = 2;

/**
 * Re-checks the data already on disk against the torrent's piece hashes (BEP 3). Pieces whose
 * files are missing or too short are skipped without reading, so a fresh download is checked
 * almost instantly; the others are read and hashed, at most `concurrency` at a time.
 * @param info The torrent.
 * @param storage Where the data is (a `TorrentStorage`).
 * @param options `hash` (required), `signal`, `concurrency`, `onProgress`.
 * @returns The pieces whose data matches their hash.
 * @throws {StorageError} On a disk error other than missing data.
 * @throws {RangeError} If `concurrency` is not a positive integer.
 * @example
 * ```ts
 * import { checkPieces, sha1, TorrentStorage, type TorrentInfo } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const piece = new Uint8Array([1, 2, 3, 4]);
 * const info = {
 *   pieceLength: 4, pieceCount: 2, totalLength: 8, pieceHashes: new Uint8Array(40),
 *   files: [{ path: ["a.bin"], offset: 0, length: 8, padding: false }],
 * } as unknown as TorrentInfo;
 * info.pieceHashes.set(sha1(piece), 0);
 * const dir = await Deno.makeTempDir();
 * await using storage = await TorrentStorage.open(info, dir);
 * await storage.writePiece(0, piece);
 * const have = await checkPieces(info, storage, { hash: async (d) => sha1(d) });
 * strictEqual(have.has(0) && !have.has(1), true); // piece 1 is missing: file too short
 * await storage.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function checkPieces(
  info: TorrentInfo,
  storage: PieceSource,
  options: CheckPiecesOptions,
): Promise<Bitfield> {
  const { hash, signal, onProgress } = options;
  const concurrency = options.concurrency ?? DEFAULT_CHECK_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  signal?.throwIfAborted();
  const sizes = await storage.fileSizes();
  const total = info.pieceCount;
  const have = new Bitfield(total);

  const only = options.only ?? (() => true);
  const onDisk = (index: number): boolean =>
    only(index) &&
    fileSpans(info.files, index * info.pieceLength, pieceSize(info, index)).every((span) =>
      info.files[span.fileIndex].padding ||
      (sizes[span.fileIndex] ?? -1) >= span.fileOffset + span.length
    );

  let next = 0;
  let checked = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed) {
      signal?.throwIfAborted();
      const index = next++;
      if (index >= total) return;
      if (onDisk(index)) {
        let data: Uint8Array | undefined;
        try {
          data = await storage.readPiece(index);
        } catch (error) {
          if (!(error instanceof StorageError && error.code === "EMISSING")) throw error;
        }
        if (data) {
          const digest = await hash(data);
          if (equalBytes(digest, info.pieceHashes.subarray(index * 20, index * 20 + 20))) {
            have.set(index);
          }
        }
      }
      checked++;
      onProgress?.(checked, total);
    }
  };
  const workers = Array.from(
    { length: Math.min(concurrency, Math.max(total, 1)) },
    () =>
      worker().catch((error) => {
        failed = true;
        throw error;
      }),
  );
  // Wait for every worker (none is left reading after we return), then report the first error.
  const results = await Promise.allSettled(workers);
  for (const result of results) if (result.status === "rejected") throw result.reason;
  return have;
}
