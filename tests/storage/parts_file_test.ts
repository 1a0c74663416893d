// A skipped file is never created; the bytes of it that shared pieces carry go to the parts
// file, and move into place when the file is selected later.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { TorrentStorage } from "../../src/storage/torrent_storage.ts";
import { multiFileFixture } from "./fixture.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("TorrentStorage writes a skipped file's shared bytes to the parts file and reads them back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal_parts_" });
  const fixture = multiFileFixture();
  const { info } = fixture;
  // Skip c.bin (index 5, torrent bytes 3072-5571): pieces 3 and 4 lie inside it; piece 5
  // (5120-5871) holds its last 452 bytes and all of d.bin.
  const priorities = new Uint8Array(info.files.length).fill(1);
  priorities[5] = 0;
  try {
    await using storage = await TorrentStorage.open(info, dir, { filePriorities: priorities });
    ok(storage.inParts(5));
    await storage.prepare();
    for (const i of [0, 1, 2, 5]) await storage.writePiece(i, fixture.piece(i));
    strictEqual(await exists(join(dir, "t", "c.bin")), false, "the skipped file is never created");
    ok(await exists(storage.partsPath), "the parts file holds c.bin's bytes of piece 5");
    for (const i of [0, 1, 2, 5]) deepStrictEqual(await storage.readPiece(i), fixture.piece(i));
    const sizes = await storage.fileSizes();
    // Bytes sit in the parts file at their torrent offset: it reaches c.bin's end (5572), so
    // c.bin counts as 2500 bytes there; pieces 3 and 4 read back as holes and fail any check.
    strictEqual(sizes[5], 2500);
    deepStrictEqual(await Deno.readFile(join(dir, "t", "d.bin")), fixture.fileData[6]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TorrentStorage.select() moves the verified bytes of a newly selected file into place", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal_parts_" });
  const fixture = multiFileFixture();
  const { info } = fixture;
  const priorities = new Uint8Array(info.files.length).fill(1);
  priorities[5] = 0;
  try {
    await using storage = await TorrentStorage.open(info, dir, { filePriorities: priorities });
    await storage.prepare();
    const have = new Bitfield(info.pieceCount);
    for (const i of [0, 1, 2, 5]) {
      await storage.writePiece(i, fixture.piece(i));
      have.set(i);
    }
    await storage.select(new Uint8Array(info.files.length).fill(1), have);
    strictEqual(storage.inParts(5), false);
    strictEqual(await exists(storage.partsPath), false, "the parts file goes once unused");
    // Now the missing pieces 3 and 4 arrive and go straight into c.bin.
    for (const i of [3, 4]) await storage.writePiece(i, fixture.piece(i));
    deepStrictEqual(await Deno.readFile(join(dir, "t", "c.bin")), fixture.fileData[5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
