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
  /**
   * SHA-1 of some bytes (e.g. a worker pool's `hash`, or `async (d) => sha1(d)`). The pieces
   * of a group are handed over in the same tick, so a `HashPool` hashes them together on one
   * worker's SIMD kernel. Needed unless `hashMany` is given.
   */
  hash?: (data: Uint8Array) => Promise<Uint8Array>;
  /**
   * SHA-1 of up to four pieces at once, digests in the same order (e.g.
   * `async (pieces) => sha1Many(pieces)` on this thread, or a `HashPool`'s `hashMany`). Used
   * instead of `hash` when given.
   */
  hashMany?: (pieces: Uint8Array[]) => Promise<Uint8Array[]>;
  /** Stops the check; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Pieces read and hashed at once (this bounds memory), in groups of up to four (the lanes of
   * the SIMD SHA-1). Default {@linkcode DEFAULT_CHECK_CONCURRENCY}: two groups of four, one
   * read while the other is hashed; fewer for pieces over 8 MiB, so that at most 64 MiB are in
   * flight.
   */
  concurrency?: number;
  /** Called after each piece, skipped ones included, with the count done and the total. */
  onProgress?: (checked: number, total: number) => void;
  /** Check only the pieces this accepts (the others count as checked and missing). */
  only?: (index: number) => boolean;
}

/** Default for {@linkcode CheckPiecesOptions.concurrency} (pieces up to 8 MiB). */
export const DEFAULT_CHECK_CONCURRENCY = 8;

/** Bytes of pieces in flight the default concurrency stays under, for big pieces. */
const DEFAULT_CHECK_BYTES = 64 * 1024 * 1024;

/** Pieces hashed together: the lanes of the SIMD SHA-1 (`SHA1_LANES`). */
const GROUP_PIECES = 4;

/**
 * Re-checks the data already on disk against the torrent's piece hashes (BEP 3). Pieces whose
 * files are missing or too short are skipped without reading, so a fresh download is checked
 * almost instantly; the others are read in groups of up to four consecutive pieces, each
 * group's pieces hashed together (at most `concurrency` pieces in flight).
 * @param info The torrent.
 * @param storage Where the data is (a `TorrentStorage`).
 * @param options `hash` or `hashMany` (one is required), `signal`, `concurrency`, `onProgress`.
 * @returns The pieces whose data matches their hash.
 * @throws {StorageError} On a disk error other than missing data.
 * @throws {RangeError} If `concurrency` is not a positive integer.
 * @throws {TypeError} If neither `hash` nor `hashMany` is given, or `hashMany` returns the
 *   wrong number of digests.
 * @example
 * ```ts
 * import { checkPieces, TorrentStorage } from "@shoal/shoal/storage";
 * import { sha1, type TorrentInfo } from "@shoal/shoal";
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
  const { hash, hashMany, signal, onProgress } = options;
  const concurrency = options.concurrency ??
    Math.max(
      1,
      Math.min(DEFAULT_CHECK_CONCURRENCY, Math.floor(DEFAULT_CHECK_BYTES / info.pieceLength)),
    );
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  if (hash === undefined && hashMany === undefined) {
    throw new TypeError("Cannot check pieces: neither hash nor hashMany was given");
  }
  const hashGroup = hashMany ?? ((pieces: Uint8Array[]) => Promise.all(pieces.map(hash!)));
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
  const read = async (index: number): Promise<Uint8Array | undefined> => {
    try {
      return await storage.readPiece(index);
    } catch (error) {
      if (error instanceof StorageError && error.code === "EMISSING") return undefined;
      throw error;
    }
  };

  let next = 0;
  let checked = 0;
  let failed = false;
  const done = (): void => {
    checked++;
    onProgress?.(checked, total);
  };
  const runner = async (capacity: number): Promise<void> => {
    while (!failed) {
      signal?.throwIfAborted();
      // Claim the next pieces on disk (skipping the others) and read them all at once.
      const indices: number[] = [];
      while (indices.length < capacity && next < total) {
        const index = next++;
        if (onDisk(index)) indices.push(index);
        else done();
      }
      if (indices.length === 0) return;
      const reads = await Promise.allSettled(indices.map(read));
      for (const result of reads) if (result.status === "rejected") throw result.reason;
      const found = indices.filter((_, i) => (reads[i] as PromiseFulfilledResult<unknown>).value);
      const pieces = reads.flatMap((r) =>
        (r as PromiseFulfilledResult<Uint8Array | undefined>).value ?? []
      );
      const digests = pieces.length > 0 ? await hashGroup(pieces) : [];
      if (digests.length !== pieces.length) {
        throw new TypeError(
          `Cannot check pieces: hashMany returned ${digests.length} digests for ${pieces.length} pieces`,
        );
      }
      found.forEach((index, i) => {
        if (equalBytes(digests[i], info.pieceHashes.subarray(index * 20, index * 20 + 20))) {
          have.set(index);
        }
      });
      for (let i = 0; i < indices.length; i++) done();
    }
  };
  // Groups of four, the last one smaller: e.g. 8 -> 4 + 4, 5 -> 4 + 1.
  const capacities: number[] = [];
  for (let left = Math.min(concurrency, Math.max(total, 1)); left > 0; left -= GROUP_PIECES) {
    capacities.push(Math.min(GROUP_PIECES, left));
  }
  const runners = capacities.map((capacity) =>
    runner(capacity).catch((error) => {
      failed = true;
      throw error;
    })
  );
  // Wait for every runner (none is left reading after we return), then report the first error.
  const results = await Promise.allSettled(runners);
  for (const result of results) if (result.status === "rejected") throw result.reason;
  return have;
}
