import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { DaemonError } from "../../src/daemon/daemon_error.ts";
import { StateStore, type TorrentRecord } from "../../src/daemon/state_store.ts";

const record = (infoHash: string, extra: Partial<TorrentRecord> = {}): TorrentRecord => ({
  infoHash,
  name: "x",
  dir: "/data",
  addedAt: "2024-01-01T00:00:00.000Z",
  source: "torrent",
  paused: false,
  sequential: false,
  seed: true,
  ...extra,
});

Deno.test("StateStore saves and loads the list, keeps one daemon out, and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await StateStore.open(dir);
    await rejects(StateStore.open(dir), DaemonError);
    const records = [
      record("a".repeat(40), { priorities: ["skip", "high"], paused: true }),
      record("b".repeat(40), {
        source: "magnet",
        magnet: "magnet:?xt=urn:btih:" + "b".repeat(40),
        files: [1],
      }),
      record("c".repeat(40), { seed: { ratio: 2, seconds: 60 } }),
    ];
    await Promise.all([store.save(records.slice(0, 1)), store.save(records)]);
    const loaded = await store.load();
    deepStrictEqual(loaded.warnings, []);
    deepStrictEqual(
      loaded.records,
      records.map((r) => ({ ...r, magnet: r.magnet, priorities: r.priorities, files: r.files })),
    );
    deepStrictEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(),
      ["daemon.lock", "resume", "torrents", "torrents.json"],
    );
    await store.saveTorrentFile("a".repeat(40), new Uint8Array([1, 2, 3]));
    deepStrictEqual(await store.readTorrentFile("a".repeat(40)), new Uint8Array([1, 2, 3]));
    await store.removeTorrentFile("a".repeat(40));
    await store.removeTorrentFile("a".repeat(40)); // a missing one is fine
    await store.close();
    const again = await StateStore.open(dir);
    strictEqual((await again.load()).records.length, 3);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StateStore.load() leaves out entries that do not check out, with a warning each, and refuses a corrupt list", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await StateStore.open(dir);
    strictEqual((await store.load()).records.length, 0, "no list is an empty list");
    const good = record("d".repeat(40));
    await Deno.writeTextFile(
      join(dir, "torrents.json"),
      JSON.stringify({
        version: 1,
        torrents: [
          good,
          { ...good, infoHash: "XYZ" },
          { ...good, infoHash: "e".repeat(40), priorities: ["urgent"] },
          { ...good, infoHash: "f".repeat(40), source: "magnet" },
          { ...good, infoHash: "1".repeat(40), seed: { ratio: -1 } },
          null,
          good,
        ],
      }),
    );
    const { records, warnings } = await store.load();
    deepStrictEqual(records, [{
      ...good,
      magnet: undefined,
      priorities: undefined,
      files: undefined,
    }]);
    strictEqual(warnings.length, 5);
    ok(warnings.every((w) => w.startsWith("Cannot restore entry")));
    await Deno.writeTextFile(join(dir, "torrents.json"), '{"torrents": [');
    await rejects(
      store.load(),
      (e: unknown) => e instanceof DaemonError && /torrents\.json/.test(e.message),
    );
    await Deno.writeTextFile(join(dir, "torrents.json"), '{"list": []}');
    await rejects(store.load(), /no "torrents" list/);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
