/** The smallest piece length {@linkcode chooseTorrentPieceLength} picks (16 KiB). */
export const MIN_CHOSEN_PIECE_LENGTH: number = 16 * 1024;
/** The largest piece length {@linkcode chooseTorrentPieceLength} picks (16 MiB). */
export const MAX_CHOSEN_PIECE_LENGTH: number = 16 * 1024 * 1024;
/** The most pieces {@linkcode chooseTorrentPieceLength} aims for. */
export const TARGET_MAX_PIECES: number = 2000;

/**
 * Picks a piece length for a new torrent: the smallest power of two from 16 KiB to 16 MiB
 * that gives at most 2,000 pieces, so most torrents land between 1,000 and 2,000 pieces
 * (fewer below 16 MiB of data, more beyond about 31 GiB).
 * @param totalBytes The torrent's total data length.
 * @returns The piece length in bytes.
 * @throws {RangeError} If `totalBytes` is negative or not a safe integer.
 * @example
 * ```ts
 * import { chooseTorrentPieceLength } from "@shoal/shoal/metainfo";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(chooseTorrentPieceLength(1024 ** 3), 1024 * 1024); // 1 GiB -> 1 MiB, 1,024 pieces
 * strictEqual(chooseTorrentPieceLength(1000), 16384);
 * ```
 */
export function chooseTorrentPieceLength(totalBytes: number): number {
  if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) {
    throw new RangeError(`Cannot choose a piece length for ${totalBytes} bytes`);
  }
  let pieceLength = MIN_CHOSEN_PIECE_LENGTH;
  while (pieceLength < MAX_CHOSEN_PIECE_LENGTH && totalBytes / pieceLength > TARGET_MAX_PIECES) {
    pieceLength *= 2;
  }
  return pieceLength;
}
