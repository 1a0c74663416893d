import { ok, strictEqual, throws } from "node:assert/strict";
import { chooseTorrentPieceLength } from "../../src/metainfo/choose_piece_length.ts";

const KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

Deno.test("chooseTorrentPieceLength() stays between 16 KiB and 16 MiB", () => {
  strictEqual(chooseTorrentPieceLength(0), 16 * KiB);
  strictEqual(chooseTorrentPieceLength(1), 16 * KiB);
  strictEqual(chooseTorrentPieceLength(1000 * GiB), 16 * MiB);
});

Deno.test("chooseTorrentPieceLength() aims at 1,000-2,000 pieces with a power of two", () => {
  for (let total = 32 * MiB; total <= 2000 * 16 * MiB; total = Math.floor(total * 1.37)) {
    const length = chooseTorrentPieceLength(total);
    ok(Number.isInteger(Math.log2(length)), `${length} is a power of two`);
    const pieces = Math.ceil(total / length);
    ok(pieces > 1000 && pieces <= 2000, `${total} bytes -> ${pieces} pieces of ${length}`);
  }
  strictEqual(chooseTorrentPieceLength(GiB), MiB);
  strictEqual(chooseTorrentPieceLength(4 * GiB), 4 * MiB);
});

Deno.test("chooseTorrentPieceLength() refuses negative or non-integer sizes", () => {
  throws(() => chooseTorrentPieceLength(-1), RangeError);
  throws(() => chooseTorrentPieceLength(1.5), RangeError);
  throws(() => chooseTorrentPieceLength(2 ** 60), RangeError);
});
