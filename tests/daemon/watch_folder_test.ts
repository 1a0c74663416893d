// The watch folder of an in-process daemon: a .torrent dropped in is added and renamed
// .added; one that fails to parse is moved aside as .invalid with the reason logged; a
// .magnet file is read too.
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { within } from "../test_util.ts";
import { call } from "./api_client.ts";
import { EventReader, makeLocalTorrent, startTestDaemon } from "./daemon_fixture.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a .torrent dropped in the watch folder is added and renamed .added; a bad one is set aside as .invalid", async () => {
  const watch = await Deno.makeTempDir({ prefix: "shoal-watch-" });
  try {
    // A file there before the start is taken too.
    await Deno.writeTextFile(join(watch, "early-junk.torrent"), "d4:junk");
    await using t = await startTestDaemon({ watchDir: watch });
    await using events = await EventReader.open(t.daemon.url);
    const bytes = await makeLocalTorrent(t.data, "dropped", [{ path: "x.bin", size: 60_000 }]);
    const hash = parseTorrent(bytes).infoHashHex;
    // Written the way a browser download lands: a temporary name, then a rename.
    await Deno.writeFile(join(watch, "dropped.torrent.part"), bytes);
    await Deno.rename(join(watch, "dropped.torrent.part"), join(watch, "Dropped.TORRENT"));
    const added = await within(
      events.next((e) => e.event === "added" && e.data.torrent.infoHash === hash),
      10_000,
      "the dropped torrent added",
    );
    strictEqual(added.data.torrent.name, "dropped");
    await within(t.waitForLog((l) => l.event === "watch-added"), 10_000, "watch-added logged");
    ok(await exists(join(watch, "Dropped.TORRENT.added")));
    ok(!(await exists(join(watch, "Dropped.TORRENT"))));

    await Deno.writeTextFile(join(watch, "broken.torrent"), "this is not bencode");
    await Deno.writeTextFile(join(watch, "broken.magnet"), "magnet:?dn=no-hash-here\n");
    const invalid = () =>
      t.logs.filter((l) => l.event === "watch-invalid").map((l) => String(l.path));
    await within(
      (async () => {
        while (invalid().length < 3) await events.next(() => true);
      })(),
      10_000,
      "three files set aside",
    );
    for (const name of ["early-junk.torrent", "broken.torrent", "broken.magnet"]) {
      ok(await exists(join(watch, `${name}.invalid`)), `${name}.invalid exists`);
      ok(!(await exists(join(watch, name))), `${name} moved`);
    }
    const reason = t.logs.find((l) =>
      l.event === "watch-invalid" && String(l.path).endsWith("broken.torrent")
    );
    ok(String(reason?.message).includes("Cannot"), `the reason is logged: ${reason?.message}`);
    const list = await call(t.daemon.url, "GET", "/torrents");
    strictEqual(list.body.length, 1);
  } finally {
    await Deno.remove(watch, { recursive: true });
  }
});

Deno.test("a .magnet file in the watch folder is read as a magnet link", async () => {
  const watch = await Deno.makeTempDir({ prefix: "shoal-watch-" });
  try {
    await using t = await startTestDaemon({ watchDir: watch });
    await Deno.writeTextFile(
      join(watch, "film.magnet"),
      `\n  magnet:?xt=urn:btih:${"cd".repeat(20)}&dn=film  \n`,
    );
    await within(t.waitForLog((l) => l.event === "watch-added"), 10_000, "watch-added");
    ok(await exists(join(watch, "film.magnet.added")));
    const list = await call(t.daemon.url, "GET", "/torrents");
    strictEqual(list.body[0].infoHash, "cd".repeat(20));
    strictEqual(list.body[0].name, "film");
  } finally {
    await Deno.remove(watch, { recursive: true });
  }
});
