import { PRIORITY_NOW } from "../scheduler/piece_priorities.ts";

/** The smallest readahead window, in bytes, whatever the piece size (and at least 8 pieces). */
export const MIN_READAHEAD_BYTES: number = 16 * 1024 * 1024;
/** The smallest readahead window, in pieces. */
export const MIN_READAHEAD_PIECES = 8;
/** The window grows while reading is sequential, up to this many times its first size. */
export const MAX_READAHEAD_GROWTH = 4;
/** Most bytes a stream hands out in one chunk. */
export const STREAM_CHUNK_BYTES: number = 1024 * 1024;

/** Options for a file stream. */
export interface FileStreamOptions {
  /** First byte, an offset in the file (default 0). */
  start?: number;
  /** End of the range, exclusive (default the file's length). */
  end?: number;
  /** Ends the stream (with an error) when aborted. */
  signal?: AbortSignal;
}

/** What a file stream needs from its torrent. */
export interface StreamSource {
  /** Nominal piece length. */
  readonly pieceLength: number;
  /** Waits until a piece is verified (at once if it is). */
  waitForPiece(index: number, signal?: AbortSignal): Promise<void>;
  /** Whether a piece is verified now. */
  hasPiece(index: number): boolean;
  /** Reads verified bytes at a torrent offset. */
  read(offset: number, into: Uint8Array): Promise<Uint8Array>;
  /** Raises pieces for an owner (replacing its earlier boosts). */
  boost(owner: object, levels: ReadonlyMap<number, number>): void;
  /** Drops an owner's boosts. */
  clearBoost(owner: object): void;
}

/**
 * The levels a reader at piece `at` gives the pieces ahead: the piece it waits for gets
 * {@linkcode PRIORITY_NOW}, the rest of the window less the further away it is (down to 3).
 * @param at The piece under the read position.
 * @param last The last piece of the range.
 * @param window The window, in pieces.
 * @returns Piece index -> level.
 */
export function readaheadLevels(at: number, last: number, window: number): Map<number, number> {
  const levels = new Map<number, number>();
  for (let d = 0; d < window && at + d <= last; d++) {
    const level = d === 0
      ? PRIORITY_NOW
      : d < window / 4
      ? 6
      : d < window / 2
      ? 5
      : d < window
      ? 4
      : 3;
    levels.set(at + d, level);
  }
  return levels;
}

/**
 * A stream of a file's bytes, in order (see {@linkcode TorrentFile.stream}).
 * @param source The torrent.
 * @param file The file's offset and length in the torrent's data.
 * @param options The range and a signal.
 * @returns The stream.
 * @throws {RangeError} If the range is outside the file.
 */
export function createFileStream(
  source: StreamSource,
  file: { readonly offset: number; readonly length: number },
  options: FileStreamOptions = {},
): ReadableStream<Uint8Array> {
  const start = options.start ?? 0;
  const end = options.end ?? file.length;
  if (
    !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > file.length ||
    start > end
  ) {
    throw new RangeError(`Cannot stream bytes ${start}-${end} of a ${file.length}-byte file`);
  }
  const { pieceLength } = source;
  const owner = {};
  const baseWindow = Math.max(MIN_READAHEAD_PIECES, Math.ceil(MIN_READAHEAD_BYTES / pieceLength));
  const lastPiece = end > start ? Math.floor((file.offset + end - 1) / pieceLength) : 0;
  let position = start; // in the file
  let window = baseWindow;
  let boostedAt = -1;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const finish = () => {
    stop.abort();
    source.clearBoost(owner);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (position >= end) {
          finish();
          controller.close();
          return;
        }
        const at = file.offset + position;
        const piece = Math.floor(at / pieceLength);
        if (piece !== boostedAt) {
          // Sequential reading grows the window, up to a limit.
          if (boostedAt >= 0 && piece === boostedAt + 1) {
            window = Math.min(baseWindow * MAX_READAHEAD_GROWTH, window + 1);
          }
          boostedAt = piece;
          source.boost(owner, readaheadLevels(piece, lastPiece, window));
        }
        await source.waitForPiece(piece, signal);
        // Read on through the pieces already here, up to one chunk.
        let until = piece + 1;
        while (
          until <= lastPiece && (until - piece) * pieceLength < STREAM_CHUNK_BYTES &&
          source.hasPiece(until)
        ) until++;
        const length = Math.min(STREAM_CHUNK_BYTES, until * pieceLength - at, end - position);
        const bytes = await source.read(at, new Uint8Array(length));
        position += length;
        controller.enqueue(bytes);
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });
}
