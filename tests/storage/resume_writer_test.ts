import { deepStrictEqual } from "node:assert/strict";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { journalPath } from "../../src/storage/open_torrent_data.ts";
import { readJournal } from "../../src/storage/piece_journal.ts";
import { ResumeWriter } from "../../src/storage/resume_writer.ts";
import type { TorrentStorage } from "../../src/storage/torrent_storage.ts";
import { randomBytes } from "../test_util.ts";

Deno.test("ResumeWriter.save() keeps journalled the pieces written while it flushed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/data.bin`, randomBytes(8 * 16384, 3));
    const info = parseTorrent(await createTorrent(`${dir}/data.bin`, { pieceLength: 16384 }));
    const have = new Bitfield(info.pieceCount);
    // A storage whose flush waits until the test lets it finish.
    const flush = Promise.withResolvers<void>();
    let flushing = Promise.withResolvers<void>();
    const storage = {
      partsPath: undefined,
      sync: () => {
        flushing.resolve();
        return flush.promise;
      },
    } as unknown as TorrentStorage;
    const writer = new ResumeWriter(dir, info, storage, have, () => new Uint8Array(8).fill(1));
    for (const index of [0, 1, 2]) {
      have.set(index);
      writer.pieceWritten(index, 16384);
    }
    const saving = writer.save();
    await flushing.promise;
    // Pieces 5 and 6 verify and are written during the flush: the save's snapshot has 0-2.
    for (const index of [5, 6]) {
      have.set(index);
      writer.pieceWritten(index, 16384);
    }
    flush.resolve();
    await saving;
    const path = journalPath(dir, info);
    deepStrictEqual((await readJournal(path, info.pieceCount)).sort(), [5, 6]);
    // The next save records them and the journal is empty again.
    flushing = Promise.withResolvers<void>();
    await writer.save();
    deepStrictEqual(await readJournal(path, info.pieceCount), []);
    await writer.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
