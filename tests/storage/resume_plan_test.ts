// planResume(): what a restart trusts from the resume file and what it hashes again.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { PieceJournal, readJournal } from "../../src/storage/piece_journal.ts";
import { readResume, saveResume } from "../../src/storage/resume.ts";
import { planResume } from "../../src/storage/resume_plan.ts";
import { TorrentStorage } from "../../src/storage/torrent_storage.ts";
import { multiFileFixture } from "./fixture.ts";

// multiFileFixture: 1 KiB pieces over t/a.bin (1500), empty1, sub/b.bin (700), a pad (872),
// empty2, c.bin (2500) and d.bin (300): 6 pieces, c.bin holds pieces 3 and 4 and part of 5.

async function setUp(pieces: number[]) {
  const dir = await Deno.makeTempDir({ prefix: "shoal_plan_" });
  const fixture = multiFileFixture();
  const have = new Bitfield(fixture.info.pieceCount);
  const storage = await TorrentStorage.open(fixture.info, dir);
  await storage.prepare();
  for (const i of pieces) {
    await storage.writePiece(i, fixture.piece(i));
    have.set(i);
  }
  await storage.sync();
  await saveResume(dir, fixture.info, have);
  const parts = storage.partsPath;
  return { dir, fixture, have, storage, parts };
}

Deno.test("planResume() trusts a resume file saved after the last write and hashes nothing", async () => {
  const { dir, fixture, storage, parts } = await setUp([0, 1, 2]);
  try {
    const record = (await readResume(dir, fixture.info))!;
    const plan = await planResume(fixture.info, dir, record, [], parts);
    deepStrictEqual([...plan.trusted.bytes], [...record.have.bytes]);
    deepStrictEqual(plan.check, []);
  } finally {
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planResume() after a crash hashes only the journalled pieces", async () => {
  const { dir, fixture, storage, parts } = await setUp([0, 1, 2]);
  try {
    // Pieces written after the save, as before a kill -9: their files' mtimes move on.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const journalFile = join(dir, ".shoal", "j");
    const journal = new PieceJournal(journalFile);
    for (const i of [3, 4]) {
      await storage.writePiece(i, fixture.piece(i));
      await journal.append(i);
    }
    await journal.close();
    const record = (await readResume(dir, fixture.info))!;
    const entries = await readJournal(journalFile, fixture.info.pieceCount);
    deepStrictEqual(entries.sort(), [3, 4]);
    const plan = await planResume(fixture.info, dir, record, entries, parts);
    deepStrictEqual(plan.check, [3, 4]);
    deepStrictEqual([0, 1, 2, 3, 4, 5].filter((i) => plan.trusted.has(i)), [0, 1, 2]);
    deepStrictEqual(plan.staleFiles, []);
  } finally {
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planResume() checks whole files that changed without a journalled write, shrank or went back in time", async () => {
  const { dir, fixture, storage, parts } = await setUp([0, 1, 2, 3, 4, 5]);
  const a = join(dir, "t", "a.bin"), c = join(dir, "t", "c.bin"), d = join(dir, "t", "d.bin");
  try {
    const record = (await readResume(dir, fixture.info))!;
    const aStat = await Deno.stat(a);
    await Deno.utime(a, new Date(), new Date(aStat.mtime!.getTime() + 5_000)); // touched
    await Deno.truncate(c, 2000); // shrank
    const dStat = await Deno.stat(d);
    await Deno.utime(d, new Date(), new Date(dStat.mtime!.getTime() - 60_000)); // older
    const plan = await planResume(fixture.info, dir, record, [], parts);
    const files = plan.staleFiles.map((i) => fixture.info.files[i].path.join("/"));
    deepStrictEqual(files.sort(), ["t/a.bin", "t/c.bin", "t/d.bin"]);
    // a.bin is pieces 0-1, c.bin pieces 3-5 (with b.bin's piece 2 untouched), d.bin piece 5.
    deepStrictEqual(plan.check, [0, 1, 3, 4, 5]);
    strictEqual(plan.trusted.has(2), true);
    strictEqual(plan.trusted.count, 1);
  } finally {
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJournal() ignores a torn last entry, out-of-range indices and a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "j");
    deepStrictEqual(await readJournal(path, 10), []);
    await Deno.writeFile(path, new Uint8Array([0, 0, 0, 7, 0, 0, 0, 99, 0, 0, 0, 7, 0, 0]));
    deepStrictEqual(await readJournal(path, 10), [7]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
