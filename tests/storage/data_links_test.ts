// The download folder as we find it: a symlink that leads out of it is never written through;
// BEP 47 executable bits and symbolic links are applied; stale temporaries are cleaned up.
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import type { FileEntry, TorrentInfo } from "../../src/metainfo/types.ts";
import { HashPool } from "../../src/sha1/hash_pool.ts";
import { applyFileAttributes } from "../../src/storage/data_links.ts";
import { openTorrentData } from "../../src/storage/open_torrent_data.ts";
import { resumePath, saveResume } from "../../src/storage/resume.ts";
import { StorageError } from "../../src/storage/storage_error.ts";
import { makeFixture, multiFileFixture } from "./fixture.ts";

async function open(info: TorrentInfo, dir: string) {
  await using pool = new HashPool({ size: 0 });
  const opening = openTorrentData(info, dir, { pool });
  let step = await opening.next();
  while (!step.done) step = await opening.next();
  return step.value;
}

Deno.test("opening a torrent refuses a folder that is a symlink leading out of the download folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal-links-" });
  const outside = await Deno.makeTempDir({ prefix: "shoal-outside-" });
  try {
    const { info } = multiFileFixture(); // files under t/ and t/sub/
    await Deno.mkdir(join(dir, "t"));
    await Deno.symlink(outside, join(dir, "t", "sub"));
    await rejects(open(info, dir), (error: Error) => {
      ok(error instanceof StorageError && error.code === "EESCAPE", String(error));
      ok(/symbolic link/.test(error.message), error.message);
      return true;
    });
    deepStrictEqual([...Deno.readDirSync(outside)], [], "nothing was written outside");
    // A symlink that stays inside the folder is fine.
    await Deno.remove(join(dir, "t", "sub"));
    await Deno.mkdir(join(dir, "elsewhere"));
    await Deno.symlink(join(dir, "elsewhere"), join(dir, "t", "sub"));
    const { storage } = await open(info, dir);
    await storage.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("opening a torrent removes the temporary files a crash left beside its resume data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal-links-" });
  try {
    const { info } = multiFileFixture();
    await saveResume(dir, info, new Bitfield(info.pieceCount));
    const stale = `${resumePath(dir, info)}.0f3c2a.tmp`;
    await Deno.writeFile(stale, new Uint8Array(10));
    const other = join(dir, ".shoal", "unrelated.tmp");
    await Deno.writeFile(other, new Uint8Array(1));
    const { storage } = await open(info, dir);
    await storage.close();
    await rejects(Deno.stat(stale), Deno.errors.NotFound);
    ok(await Deno.stat(other), "another torrent's or the user's file is left alone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyFileAttributes() sets executable bits and creates symlinks that stay inside the torrent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal-links-" });
  try {
    const fixture = makeFixture([{ path: ["t", "run.sh"], length: 10 }, {
      path: ["t", "data"],
      length: 5,
    }], 16);
    const files: FileEntry[] = [
      { ...fixture.info.files[0], executable: true },
      fixture.info.files[1],
      {
        path: ["t", "link"],
        length: 0,
        offset: 15,
        padding: false,
        symlink: true,
        symlinkPath: ["t", "data"],
      },
      {
        path: ["t", "bad"],
        length: 0,
        offset: 15,
        padding: false,
        symlink: true,
        symlinkPath: ["t", "bad"],
      },
    ];
    const info = { ...fixture.info, files };
    await Deno.mkdir(join(dir, "t"));
    await Deno.writeFile(join(dir, "t", "run.sh"), new Uint8Array(10), { mode: 0o644 });
    await Deno.writeFile(join(dir, "t", "data"), new TextEncoder().encode("hello"));
    const warnings = await applyFileAttributes(info, dir);
    strictEqual((await Deno.stat(join(dir, "t", "run.sh"))).mode! & 0o111, 0o111);
    strictEqual(await Deno.readLink(join(dir, "t", "link")), "data");
    strictEqual(new TextDecoder().decode(await Deno.readFile(join(dir, "t", "link"))), "hello");
    await rejects(
      Deno.lstat(join(dir, "t", "bad")),
      Deno.errors.NotFound,
      "a self-link is skipped",
    );
    strictEqual(warnings.length, 1, JSON.stringify(warnings));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
