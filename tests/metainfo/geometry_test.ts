import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  BLOCK_SIZE,
  blockCount,
  blockSize,
  expectedPieceCount,
  type FileSpan,
  fileSpans,
  type PieceGeometry,
  pieceSize,
} from "../../src/metainfo/geometry.ts";

const geometry = (pieceLength: number, totalLength: number): PieceGeometry => ({
  pieceLength,
  totalLength,
  pieceCount: expectedPieceCount(totalLength, pieceLength),
});

/** Files laid end to end from their lengths. */
function layout(lengths: readonly number[]): { offset: number; length: number }[] {
  let offset = 0;
  return lengths.map((length) => {
    const file = { offset, length };
    offset += length;
    return file;
  });
}

Deno.test("BLOCK_SIZE is 16 KiB", () => {
  strictEqual(BLOCK_SIZE, 16384);
});

Deno.test("expectedPieceCount() rounds up", () => {
  strictEqual(expectedPieceCount(250, 100), 3);
  strictEqual(expectedPieceCount(300, 100), 3);
  strictEqual(expectedPieceCount(1, 100), 1);
  strictEqual(expectedPieceCount(0, 100), 0);
});

Deno.test("pieceSize() makes the last piece shorter", () => {
  const info = geometry(100, 250);
  deepStrictEqual([0, 1, 2].map((i) => pieceSize(info, i)), [100, 100, 50]);
  const big = geometry(4 * 1024 * 1024, 10 * 1024 * 1024 * 1024 + 1);
  strictEqual(big.pieceCount, 2561);
  strictEqual(pieceSize(big, 2559), 4 * 1024 * 1024);
  strictEqual(pieceSize(big, 2560), 1);
});

Deno.test("pieceSize() gives a full last piece for an exact multiple", () => {
  const info = geometry(100, 300);
  deepStrictEqual([0, 1, 2].map((i) => pieceSize(info, i)), [100, 100, 100]);
});

Deno.test("pieceSize() of a single piece is the total length", () => {
  strictEqual(pieceSize(geometry(32768, 5), 0), 5);
  strictEqual(pieceSize(geometry(32768, 32768), 0), 32768);
});

Deno.test("pieceSize() throws RangeError for an index out of range", () => {
  const info = geometry(100, 250);
  for (const index of [-1, 3, 4, 0.5, NaN, Infinity]) {
    throws(() => pieceSize(info, index), RangeError, `index ${index}`);
  }
  throws(() => pieceSize(geometry(100, 0), 0), RangeError, "no pieces at all");
});

Deno.test("blockCount() and blockSize() split pieces into 16 KiB blocks", () => {
  // Two full pieces of 2 blocks, then a last piece of 40000 - 32768 = 7232 bytes.
  const info = geometry(32768, 32768 + 40000);
  strictEqual(info.pieceCount, 3);
  strictEqual(blockCount(info, 0), 2);
  strictEqual(blockSize(info, 0, 0), BLOCK_SIZE);
  strictEqual(blockSize(info, 0, 1), BLOCK_SIZE);
  strictEqual(blockCount(info, 2), 1);
  strictEqual(pieceSize(info, 2), 7232);
  strictEqual(blockSize(info, 2, 0), 7232);
});

Deno.test("blockSize() makes the last block of a piece shorter unless the piece is a multiple", () => {
  const odd = geometry(3 * BLOCK_SIZE + 10, 3 * BLOCK_SIZE + 10);
  strictEqual(blockCount(odd, 0), 4);
  deepStrictEqual([0, 1, 2, 3].map((b) => blockSize(odd, 0, b)), [
    BLOCK_SIZE,
    BLOCK_SIZE,
    BLOCK_SIZE,
    10,
  ]);
  const exact = geometry(4 * BLOCK_SIZE, 8 * BLOCK_SIZE);
  strictEqual(blockCount(exact, 1), 4);
  strictEqual(blockSize(exact, 1, 3), BLOCK_SIZE);
  // A piece length that is not a multiple of the block size, with a last piece of 1 byte.
  const ragged = geometry(BLOCK_SIZE + 1, 2 * (BLOCK_SIZE + 1) + 1);
  strictEqual(blockCount(ragged, 0), 2);
  strictEqual(blockSize(ragged, 0, 1), 1);
  strictEqual(blockCount(ragged, 2), 1);
  strictEqual(blockSize(ragged, 2, 0), 1);
});

Deno.test("blockSize() of a single piece smaller than a block is the piece", () => {
  const tiny = geometry(BLOCK_SIZE * 2, 1000);
  strictEqual(tiny.pieceCount, 1);
  strictEqual(blockCount(tiny, 0), 1);
  strictEqual(blockSize(tiny, 0, 0), 1000);
  const small = geometry(1024, 1024);
  strictEqual(blockCount(small, 0), 1);
  strictEqual(blockSize(small, 0, 0), 1024);
});

Deno.test("blockSize() and blockCount() sum to the piece size for many layouts", () => {
  for (const pieceLength of [1, 1000, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 262144]) {
    for (const totalLength of [1, pieceLength, pieceLength * 3 - 1, pieceLength * 5 + 7]) {
      const info = geometry(pieceLength, totalLength);
      let total = 0;
      for (let piece = 0; piece < info.pieceCount; piece++) {
        let sum = 0;
        for (let block = 0; block < blockCount(info, piece); block++) {
          const size = blockSize(info, piece, block);
          ok(size > 0 && size <= BLOCK_SIZE, `piece ${piece} block ${block}: ${size}`);
          sum += size;
        }
        strictEqual(sum, pieceSize(info, piece), `${pieceLength}/${totalLength} piece ${piece}`);
        total += sum;
      }
      strictEqual(total, totalLength, `${pieceLength}/${totalLength}`);
    }
  }
});

Deno.test("blockSize() throws RangeError for a block or piece out of range", () => {
  const info = geometry(32768, 32768 + 7232);
  for (const block of [-1, 2, 0.5, NaN]) {
    throws(() => blockSize(info, 0, block), RangeError, `block ${block} of piece 0`);
  }
  throws(() => blockSize(info, 1, 1), RangeError, "the last piece has one block");
  throws(() => blockSize(info, 2, 0), RangeError, "piece out of range");
  throws(() => blockCount(info, 2), RangeError, "piece out of range");
});

Deno.test("fileSpans() splits a range across three files", () => {
  const files = layout([10, 5, 20]);
  deepStrictEqual(fileSpans(files, 8, 20), [
    { fileIndex: 0, fileOffset: 8, length: 2, rangeOffset: 0 },
    { fileIndex: 1, fileOffset: 0, length: 5, rangeOffset: 2 },
    { fileIndex: 2, fileOffset: 0, length: 13, rangeOffset: 7 },
  ]);
  deepStrictEqual(fileSpans(files, 0, 35), [
    { fileIndex: 0, fileOffset: 0, length: 10, rangeOffset: 0 },
    { fileIndex: 1, fileOffset: 0, length: 5, rangeOffset: 10 },
    { fileIndex: 2, fileOffset: 0, length: 20, rangeOffset: 15 },
  ]);
  deepStrictEqual(fileSpans(files, 11, 2), [
    { fileIndex: 1, fileOffset: 1, length: 2, rangeOffset: 0 },
  ]);
});

Deno.test("fileSpans() skips zero-length files", () => {
  const files = layout([0, 4, 0, 0, 4, 0]);
  deepStrictEqual(fileSpans(files, 0, 8), [
    { fileIndex: 1, fileOffset: 0, length: 4, rangeOffset: 0 },
    { fileIndex: 4, fileOffset: 0, length: 4, rangeOffset: 4 },
  ]);
  deepStrictEqual(fileSpans(files, 4, 4), [
    { fileIndex: 4, fileOffset: 0, length: 4, rangeOffset: 0 },
  ]);
  deepStrictEqual(fileSpans(files, 3, 2), [
    { fileIndex: 1, fileOffset: 3, length: 1, rangeOffset: 0 },
    { fileIndex: 4, fileOffset: 0, length: 1, rangeOffset: 1 },
  ]);
});

Deno.test("fileSpans() handles ranges exactly at file boundaries", () => {
  const files = layout([10, 10, 10]);
  deepStrictEqual(fileSpans(files, 10, 10), [
    { fileIndex: 1, fileOffset: 0, length: 10, rangeOffset: 0 },
  ]);
  deepStrictEqual(fileSpans(files, 0, 10), [
    { fileIndex: 0, fileOffset: 0, length: 10, rangeOffset: 0 },
  ]);
  deepStrictEqual(fileSpans(files, 20, 10), [
    { fileIndex: 2, fileOffset: 0, length: 10, rangeOffset: 0 },
  ]);
  deepStrictEqual(fileSpans(files, 9, 2), [
    { fileIndex: 0, fileOffset: 9, length: 1, rangeOffset: 0 },
    { fileIndex: 1, fileOffset: 0, length: 1, rangeOffset: 1 },
  ]);
  // Empty ranges touch no file, even at the very end.
  deepStrictEqual(fileSpans(files, 10, 0), []);
  deepStrictEqual(fileSpans(files, 30, 0), []);
  deepStrictEqual(fileSpans([], 0, 0), []);
});

Deno.test("fileSpans() throws RangeError for a range outside the data", () => {
  const files = layout([10, 10]);
  const bad: [number, number][] = [
    [-1, 2],
    [0, 21],
    [20, 1],
    [19, 2],
    [5, -1],
    [100, 0],
    [NaN, 1],
    [0, NaN],
    [1.5, 2],
    [0, Infinity],
  ];
  for (const [offset, length] of bad) {
    throws(() => fileSpans(files, offset, length), RangeError, `${offset}+${length}`);
  }
  throws(() => fileSpans([], 0, 1), RangeError);
});

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
function makeRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("fileSpans() of random layouts: contiguous, ordered, inside files, summing to the range", () => {
  const seed = 0x9e0;
  const random = makeRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  for (let c = 0; c < 3000; c++) {
    const lengths = Array.from({ length: 1 + int(8) }, () => (random() < 0.25 ? 0 : int(50)));
    const files = layout(lengths);
    const total = lengths.reduce((a, b) => a + b, 0);
    const offset = int(total + 1);
    const length = int(total - offset + 1);
    const where = `seed ${seed}, case ${c}: files [${lengths}], range ${offset}+${length}`;
    const spans: FileSpan[] = fileSpans(files, offset, length);
    let expectedRangeOffset = 0;
    let previousFile = -1;
    for (const span of spans) {
      const file = files[span.fileIndex];
      ok(file !== undefined, `${where}: file index ${span.fileIndex}`);
      ok(span.fileIndex > previousFile, `${where}: files in order`);
      ok(span.length > 0, `${where}: empty span`);
      ok(
        span.fileOffset >= 0 && span.fileOffset + span.length <= file.length,
        `${where}: inside file`,
      );
      strictEqual(span.rangeOffset, expectedRangeOffset, `${where}: contiguous`);
      strictEqual(file.offset + span.fileOffset, offset + span.rangeOffset, `${where}: position`);
      // Only the first span may start inside a file; only the last may end inside one.
      if (span !== spans[0]) strictEqual(span.fileOffset, 0, `${where}: later span starts at 0`);
      if (span !== spans[spans.length - 1]) {
        strictEqual(
          span.fileOffset + span.length,
          file.length,
          `${where}: earlier span runs to end`,
        );
      }
      // No non-empty file between two spans was skipped.
      for (let i = previousFile + 1; i < span.fileIndex; i++) {
        if (previousFile >= 0) strictEqual(files[i].length, 0, `${where}: skipped file ${i}`);
      }
      expectedRangeOffset += span.length;
      previousFile = span.fileIndex;
    }
    strictEqual(expectedRangeOffset, length, `${where}: spans sum to the range length`);
  }
});
