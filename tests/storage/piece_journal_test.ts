import { deepStrictEqual } from "node:assert/strict";
import { PieceJournal, readJournal } from "../../src/storage/piece_journal.ts";

Deno.test("PieceJournal.append() has written the entry when it returns, before any await", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.journal`;
    const journal = new PieceJournal(path);
    void journal.append(7);
    void journal.append(3);
    // Read straight away, as a restart after a kill would: both entries are there.
    deepStrictEqual((await readJournal(path, 10)).sort(), [3, 7]);
    await journal.reset();
    deepStrictEqual(await readJournal(path, 10), []);
    await journal.append(12); // past pieceCount below: ignored by the reader
    await journal.append(1);
    deepStrictEqual(await readJournal(path, 10), [1]);
    await journal.close();
    await journal.append(2); // after close: nothing is written
    deepStrictEqual(await readJournal(path, 10), [1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
