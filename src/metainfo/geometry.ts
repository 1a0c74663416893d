import type { TorrentInfo } from "./types.ts";

/** Size of a request block in bytes (BEP 3 practice: 16 KiB). */
export const BLOCK_SIZE = 16384;

/** The part of one file that a byte range of the torrent covers. */
export interface FileSpan {
  /** Index into `info.files`. */
  readonly fileIndex: number;
  /** Offset inside that file. */
  readonly fileOffset: number;
  /** Bytes covered in that file. */
  readonly length: number;
  /** Offset of this span inside the requested range. */
  readonly rangeOffset: number;
}

/** The three numbers that fix a torrent's piece layout. */
export type PieceGeometry = Pick<TorrentInfo, "pieceLength" | "pieceCount" | "totalLength">;

/**
 * Length in bytes of piece `index` (the last one may be shorter).
 * @param info The torrent's geometry.
 * @param index Piece index, `0 <= index < pieceCount`.
 * @returns The piece's length.
 * @throws {RangeError} For an index out of range.
 * @example
 * ```ts
 * import { pieceSize } from "@shoal/shoal/metainfo";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(pieceSize({ pieceLength: 100, pieceCount: 3, totalLength: 250 }, 2), 50);
 * ```
 */
export function pieceSize(info: PieceGeometry, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) {
    throw new RangeError(`Piece index ${index} is out of range 0..${info.pieceCount - 1}`);
  }
  if (index < info.pieceCount - 1) return info.pieceLength;
  return info.totalLength - info.pieceLength * (info.pieceCount - 1);
}

/**
 * Number of 16 KiB blocks in piece `index`.
 * @param info The torrent's geometry.
 * @param index Piece index.
 * @returns The block count (the last block may be shorter).
 * @throws {RangeError} For a piece index out of range.
 * @example
 * ```ts
 * import { blockCount } from "@shoal/shoal/metainfo";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(blockCount({ pieceLength: 32768, pieceCount: 2, totalLength: 40000 }, 1), 1);
 * ```
 */
export function blockCount(info: PieceGeometry, index: number): number {
  return Math.ceil(pieceSize(info, index) / BLOCK_SIZE);
}

/**
 * Length of block `block` of piece `index`.
 * @param info The torrent's geometry.
 * @param index Piece index.
 * @param block Block index inside the piece, `0 <= block < blockCount(info, index)`.
 * @returns The block's length in bytes.
 * @throws {RangeError} For a piece or block index out of range.
 * @example
 * ```ts
 * import { blockSize } from "@shoal/shoal/metainfo";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(blockSize({ pieceLength: 32768, pieceCount: 2, totalLength: 40000 }, 1, 0), 7232);
 * ```
 */
export function blockSize(info: PieceGeometry, index: number, block: number): number {
  const size = pieceSize(info, index);
  if (!Number.isInteger(block) || block < 0 || block * BLOCK_SIZE >= size) {
    const last = Math.ceil(size / BLOCK_SIZE) - 1;
    throw new RangeError(`Block index ${block} of piece ${index} is out of range 0..${last}`);
  }
  return Math.min(BLOCK_SIZE, size - block * BLOCK_SIZE);
}

/**
 * Expected number of pieces for a total length and piece length.
 * @param totalLength Sum of file lengths.
 * @param pieceLength Nominal piece length.
 * @returns `ceil(totalLength / pieceLength)`.
 * @example
 * ```ts
 * import { expectedPieceCount } from "@shoal/shoal/metainfo";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(expectedPieceCount(250, 100), 3);
 * ```
 */
export function expectedPieceCount(totalLength: number, pieceLength: number): number {
  return Math.ceil(totalLength / pieceLength);
}

/**
 * Splits a byte range of the torrent's data into the file spans it covers, in order.
 * Zero-length files are skipped. Padding files are included; callers skip them when writing.
 * @param files Files with `offset` and `length`, in torrent order.
 * @param offset Offset of the range in the torrent's data.
 * @param length Length of the range.
 * @returns One span per file touched.
 * @throws {RangeError} If the range is outside the data.
 * @example
 * ```ts
 * import { fileSpans } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual } from "node:assert/strict";
 * const files = [{ offset: 0, length: 10 }, { offset: 10, length: 10 }];
 * deepStrictEqual(fileSpans(files, 8, 4), [
 *   { fileIndex: 0, fileOffset: 8, length: 2, rangeOffset: 0 },
 *   { fileIndex: 1, fileOffset: 0, length: 2, rangeOffset: 2 },
 * ]);
 * ```
 */
export function fileSpans(
  files: readonly { readonly offset: number; readonly length: number }[],
  offset: number,
  length: number,
): FileSpan[] {
  const last = files[files.length - 1];
  const total = last ? last.offset + last.length : 0;
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
    offset + length > total
  ) {
    throw new RangeError(`Range ${offset}+${length} is outside the torrent's ${total} bytes`);
  }
  // Binary search for the first file whose end is past `offset`.
  let lo = 0, hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (files[mid].offset + files[mid].length <= offset) lo = mid + 1;
    else hi = mid;
  }
  const spans: FileSpan[] = [];
  const end = offset + length;
  for (let i = lo; i < files.length && files[i].offset < end; i++) {
    const file = files[i];
    if (file.length === 0) continue;
    const from = Math.max(offset, file.offset);
    const to = Math.min(end, file.offset + file.length);
    if (to > from) {
      spans.push({
        fileIndex: i,
        fileOffset: from - file.offset,
        length: to - from,
        rangeOffset: from - offset,
      });
    }
  }
  return spans;
}
