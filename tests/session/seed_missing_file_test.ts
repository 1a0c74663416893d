// A seeder whose file is deleted underneath it reports that once, stops serving that file's
// pieces, and goes on serving the rest.
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { randomBytes } from "../test_util.ts";

Deno.test("a seeder with a file deleted under it warns once, serves the other files, and keeps running", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-missing-" });
  const sizes = [300_000, 200_000, 300_000];
  await Deno.mkdir(join(root, "seed", "m"), { recursive: true });
  for (const [i, size] of sizes.entries()) {
    await Deno.writeFile(join(root, "seed", "m", `f${i}.bin`), randomBytes(size, 60 + i));
  }
  const meta = parseTorrent(await createTorrent(join(root, "seed", "m"), { pieceLength: 16384 }));
  // A first run checks the data and writes resume data; the second trusts it and so has no
  // file open when one is deleted (an open file would stay readable).
  const check = new TorrentSession(meta, {
    dir: join(root, "seed"),
    listen: false,
    trackers: false,
  });
  for await (const event of check.run()) if (event.type === "ready") ok(event.hashed > 0);
  const stopSeed = new AbortController();
  const seeder = new TorrentSession(meta, {
    dir: join(root, "seed"),
    seed: true,
    requireComplete: true,
    listenHost: "127.0.0.1",
    port: 0,
    trackers: false,
    signal: stopSeed.signal,
  });
  const seederEvents: SessionEvent[] = [];
  const ready = Promise.withResolvers<number>();
  const seeding = (async () => {
    for await (const event of seeder.run()) {
      seederEvents.push(event);
      if (event.type === "ready") {
        strictEqual(event.hashed, 0, "the resume data was trusted");
        ready.resolve(event.port!);
      }
    }
  })();
  seeding.catch(ready.reject);
  const stopLeech = new AbortController();
  try {
    const port = await ready.promise;
    await Deno.remove(join(root, "seed", "m", "f1.bin")); // gone while seeding
    const leecher = new TorrentSession(meta, {
      dir: join(root, "get"),
      peers: [{ host: "127.0.0.1", port }],
      listen: false,
      trackers: false,
      signal: stopLeech.signal,
    });
    const got = new Set<number>();
    const leeching = (async () => {
      for await (const event of leecher.run()) if (event.type === "piece") got.add(event.index);
    })();
    // Every piece that holds no byte of f1.bin arrives; f1.bin's never do.
    const first = Math.floor(300_000 / 16384), last = Math.floor((500_000 - 1) / 16384);
    const expected = meta.pieceCount - (last - first + 1);
    const deadline = Date.now() + 30_000;
    while (got.size < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    strictEqual(got.size, expected, "every piece outside the deleted file was served");
    for (let p = first; p <= last; p++) ok(!got.has(p), `piece ${p} of the deleted file`);
    stopLeech.abort();
    await leeching;
    const warnings = seederEvents.filter((e) =>
      e.type === "warning" && /gone from disk/.test(e.message)
    );
    strictEqual(
      warnings.length,
      1,
      JSON.stringify(seederEvents.filter((e) => e.type === "warning")),
    );
    ok(warnings[0].type === "warning" && warnings[0].message.includes("f1.bin"));
  } finally {
    stopLeech.abort();
    stopSeed.abort();
    await seeding.catch((error) => {
      throw new Error(`the seeder failed: ${error}`);
    });
    await Deno.remove(root, { recursive: true });
  }
});
