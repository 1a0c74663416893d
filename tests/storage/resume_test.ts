import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { decodeBencode } from "../../src/bencode/decode.ts";
import { loadResume, resumePath, saveResume } from "../../src/storage/resume.ts";
import { TorrentStorage } from "../../src/storage/torrent_storage.ts";
import { multiFileFixture } from "./fixture.ts";

/** A download folder with pieces 0, 1, 2 and 5 written (c.bin missing), resume saved. */
async function setUp(): Promise<
  { dir: string; fixture: ReturnType<typeof multiFileFixture>; have: Bitfield }
> {
  const dir = await Deno.makeTempDir({ prefix: "shoal_resume_" });
  const fixture = multiFileFixture();
  const have = new Bitfield(fixture.info.pieceCount);
  await using storage = await TorrentStorage.open(fixture.info, dir);
  await storage.prepare();
  for (const i of [0, 1, 2]) {
    await storage.writePiece(i, fixture.piece(i));
    have.set(i);
  }
  await storage.sync();
  await saveResume(dir, fixture.info, have);
  return { dir, fixture, have };
}

Deno.test("saveResume() then loadResume() gives the same pieces; no temp file is left", async () => {
  const { dir, fixture, have } = await setUp();
  try {
    const loaded = await loadResume(dir, fixture.info);
    ok(loaded);
    deepStrictEqual(loaded.bytes, have.bytes);
    strictEqual(loaded.count, 3);
    deepStrictEqual([...Deno.readDirSync(join(dir, ".shoal"))].map((e) => e.name), [
      `${fixture.info.infoHashHex}.resume`,
    ]);
    // Saving again replaces the record.
    have.clear(1);
    await saveResume(dir, fixture.info, have);
    deepStrictEqual((await loadResume(dir, fixture.info))?.bytes, have.bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadResume() returns undefined when there is no resume file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    strictEqual(await loadResume(dir, multiFileFixture().info), undefined);
    strictEqual(await loadResume(join(dir, "nope"), multiFileFixture().info), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadResume() returns undefined when a file was touched after the save", async () => {
  const { dir, fixture } = await setUp();
  try {
    const path = join(dir, "t", "a.bin");
    const before = await Deno.stat(path);
    await Deno.utime(path, new Date(), new Date(before.mtime!.getTime() + 5000));
    strictEqual(await loadResume(dir, fixture.info), undefined);
    await Deno.utime(path, new Date(), before.mtime!);
    ok(await loadResume(dir, fixture.info), "restoring the mtime restores trust");
    // Same mtime, different size.
    await Deno.truncate(path, 1000);
    await Deno.utime(path, new Date(), before.mtime!);
    strictEqual(await loadResume(dir, fixture.info), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadResume(): a missing file is fine only when its recorded size was 0", async () => {
  const { dir, fixture } = await setUp();
  try {
    await Deno.remove(join(dir, "t", "empty1")); // recorded size 0
    ok(await loadResume(dir, fixture.info));
    await Deno.remove(join(dir, "t", "sub", "b.bin")); // recorded size 700
    strictEqual(await loadResume(dir, fixture.info), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadResume(): a file created after the save (recorded missing) is distrusted", async () => {
  const { dir, fixture } = await setUp();
  try {
    ok(await loadResume(dir, fixture.info));
    await Deno.writeFile(join(dir, "t", "c.bin"), new Uint8Array(2500));
    strictEqual(await loadResume(dir, fixture.info), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadResume() ignores corrupt or mismatched resume files without throwing", async () => {
  const { dir, fixture } = await setUp();
  try {
    const path = resumePath(dir, fixture.info);
    const good = await Deno.readFile(path);
    const record = decodeBencode(good) as Map<string, unknown>;
    const variant = (key: string, value: unknown) =>
      encodeBencode(new Map([...record, [key, value]]) as Parameters<typeof encodeBencode>[0]);
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      good.subarray(0, good.length - 1),
      new TextEncoder().encode("this is not bencode"),
      encodeBencode([1, 2, 3]),
      variant("version", 3), // a later format
      variant("info-hash", new Uint8Array(20)),
      variant("piece-count", fixture.info.pieceCount + 1),
      variant("bitfield", new Uint8Array(2)), // wrong length
      variant("bitfield", new Uint8Array([0xe0 | 0x01])), // spare bit set (6 pieces)
      variant("bitfield", 5), // not a byte string
      variant("files", []),
      variant("files", [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]),
      variant("files", "nope"),
    ];
    for (const bytes of bad) {
      await Deno.writeFile(path, bytes);
      strictEqual(await loadResume(dir, fixture.info), undefined, new TextDecoder().decode(bytes));
    }
    await Deno.writeFile(path, good);
    ok(await loadResume(dir, fixture.info), "the good record still loads");
    // A folder where the resume file should be is ignored too.
    await Deno.remove(path);
    await Deno.mkdir(path);
    strictEqual(await loadResume(dir, fixture.info), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveResume() rejects a bitfield of the wrong size and reports disk errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { info } = multiFileFixture();
    await rejects(saveResume(dir, info, new Bitfield(info.pieceCount + 1)), RangeError);
    await Deno.writeFile(join(dir, ".shoal"), new Uint8Array(1)); // a file where the folder goes
    await rejects(
      saveResume(dir, info, new Bitfield(info.pieceCount)),
      (e) =>
        e instanceof Error && e.name === "StorageError" && /file is in the way/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
