import type { Bitfield } from "../bytes/bitfield.ts";
import { fileSpans } from "../metainfo/geometry.ts";
import type { TorrentInfo } from "../metainfo/types.ts";

/** How much a file is wanted: not at all, as usual, or before the others. */
export type FilePriority = "skip" | "normal" | "high";

/** The numeric level of each {@linkcode FilePriority} (the scheduler's piece levels 0 to 2). */
export const FILE_PRIORITY_LEVEL: Readonly<Record<FilePriority, number>> = {
  skip: 0,
  normal: 1,
  high: 2,
};

/**
 * The name of a numeric file priority level.
 * @param level 0, 1 or 2 (anything above 2 counts as high).
 * @returns The priority's name.
 * @example
 * ```ts
 * import { filePriorityName } from "@shoal/shoal/storage";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(filePriorityName(0), "skip");
 * ```
 */
export function filePriorityName(level: number): FilePriority {
  return level <= 0 ? "skip" : level === 1 ? "normal" : "high";
}

/**
 * The priority of each piece from the priorities of the files: the highest of the files it
 * holds bytes of (padding and empty files do not count), so a piece shared between a skipped
 * and a selected file is still fetched. In sequential mode the first and last piece of each
 * selected file are raised to high, as players need both to start.
 * @param info The torrent's files and piece layout.
 * @param filePriorities One level per file (0 skip, 1 normal, 2 high), in `info.files` order.
 * @param sequential Raise the first and last piece of every selected file.
 * @returns One level per piece.
 * @throws {RangeError} If there is not one priority per file.
 * @example
 * ```ts
 * import { piecePrioritiesFor } from "@shoal/shoal/storage";
 * import { deepStrictEqual } from "node:assert/strict";
 * const info = {
 *   pieceLength: 10, pieceCount: 3, totalLength: 30,
 *   files: [
 *     { path: ["a"], offset: 0, length: 15, padding: false },
 *     { path: ["b"], offset: 15, length: 15, padding: false },
 *   ],
 * };
 * deepStrictEqual(piecePrioritiesFor(info, new Uint8Array([0, 1]), false), new Uint8Array([0, 1, 1]));
 * ```
 */
export function piecePrioritiesFor(
  info: Pick<TorrentInfo, "pieceLength" | "pieceCount" | "files">,
  filePriorities: Uint8Array,
  sequential: boolean,
): Uint8Array {
  if (filePriorities.length !== info.files.length) {
    throw new RangeError(
      `Cannot map ${filePriorities.length} file priorities onto ${info.files.length} files`,
    );
  }
  const out = new Uint8Array(info.pieceCount);
  const { pieceLength } = info;
  info.files.forEach((file, i) => {
    const level = filePriorities[i];
    if (file.padding || file.length === 0 || level === 0) return;
    const first = Math.floor(file.offset / pieceLength);
    const last = Math.floor((file.offset + file.length - 1) / pieceLength);
    for (let p = first; p <= last; p++) if (out[p] < level) out[p] = level;
    if (sequential) {
      out[first] = Math.max(out[first], FILE_PRIORITY_LEVEL.high);
      out[last] = Math.max(out[last], FILE_PRIORITY_LEVEL.high);
    }
  });
  return out;
}

/**
 * Verified bytes of each file: the parts of verified pieces that fall in it.
 * @param info The torrent.
 * @param have The verified pieces.
 * @returns One count per file, in `info.files` order (padding files count 0).
 * @example
 * ```ts
 * import { Bitfield, fileBytesDone } from "@shoal/shoal/storage";
 * import { deepStrictEqual } from "node:assert/strict";
 * const info = {
 *   pieceLength: 10, pieceCount: 3, totalLength: 30,
 *   files: [
 *     { path: ["a"], offset: 0, length: 15, padding: false },
 *     { path: ["b"], offset: 15, length: 15, padding: false },
 *   ],
 * };
 * deepStrictEqual(fileBytesDone(info, new Bitfield(3, new Uint8Array([0b0100_0000]))), [5, 5]);
 * ```
 */
export function fileBytesDone(
  info: Pick<TorrentInfo, "pieceLength" | "pieceCount" | "totalLength" | "files">,
  have: Bitfield,
): number[] {
  const out = new Array<number>(info.files.length).fill(0);
  const last = info.pieceCount - 1;
  for (let i = 0; i <= last; i++) {
    if (!have.has(i)) continue;
    const size = i === last ? info.totalLength - last * info.pieceLength : info.pieceLength;
    for (const span of fileSpans(info.files, i * info.pieceLength, size)) {
      if (!info.files[span.fileIndex].padding) out[span.fileIndex] += span.length;
    }
  }
  return out;
}
