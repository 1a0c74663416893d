// The Client in process, against shoal seeders on loopback: two torrents behind one port,
// file selection with a parts file, streams, the shared memory budget, locking.
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { Client } from "../../src/client/client.ts";
import type { TorrentEvent } from "../../src/client/torrent.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import type { Metainfo } from "../../src/metainfo/types.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import { HashPool } from "../../src/sha1/hash_pool.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { assertSameBytes, randomBytes, within } from "../test_util.ts";

const LOOPBACK = "127.0.0.1";

interface Payload {
  meta: Metainfo;
  seedDir: string;
  files: { path: string; data: Uint8Array }[];
}

/** Writes files under `root/seed/<name>` and makes a torrent of them. */
async function makePayload(
  root: string,
  name: string,
  sizes: number[],
  pieceLength: number,
  seed: number,
): Promise<Payload> {
  const seedDir = join(root, `seed-${name}`);
  const files = sizes.map((size, i) => ({
    path: `${name}/f${i}.bin`,
    data: randomBytes(size, seed + i),
  }));
  for (const file of files) {
    await Deno.mkdir(join(seedDir, name), { recursive: true });
    await Deno.writeFile(join(seedDir, file.path), file.data);
  }
  const meta = parseTorrent(await createTorrent(join(seedDir, name), { pieceLength }));
  return { meta, seedDir, files };
}

/** A shoal seeder session in the background; resolves its port. */
function seed(payload: Payload, pool: HashPool, maxUploadRate?: number) {
  const controller = new AbortController();
  const session = new TorrentSession(payload.meta, {
    dir: payload.seedDir,
    seed: true,
    requireComplete: true,
    hashPool: pool,
    listenHost: LOOPBACK,
    port: 0,
    trackers: false,
    maxUploadRate,
    signal: controller.signal,
  });
  const ready = Promise.withResolvers<number>();
  const done = (async () => {
    for await (const event of session.run()) {
      if (event.type === "ready") ready.resolve(event.port!);
    }
  })();
  done.catch(ready.reject);
  return {
    ready: ready.promise,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await done.catch(() => {});
    },
  };
}

async function collect(events: AsyncIterable<TorrentEvent>, until: (e: TorrentEvent) => boolean) {
  const seen: TorrentEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    if (until(event)) break;
  }
  return seen;
}

Deno.test("one client downloads two torrents at once through one port; a second consumer of events sees them too", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-client-" });
  await using pool = new HashPool();
  try {
    const a = await makePayload(root, "alpha", [3_000_000, 700_001], 65536, 1);
    const b = await makePayload(root, "beta", [2_500_123], 32768, 9);
    await using seedA = seed(a, pool);
    await using seedB = seed(b, pool);
    const [portA, portB] = await Promise.all([seedA.ready, seedB.ready]);
    await using client = new Client({
      dir: join(root, "get"),
      port: 0,
      listenHost: LOOPBACK,
      dht: false,
    });
    ok(client.port !== undefined && client.port > 0);
    const ta = await client.add(a.meta, { peers: [{ host: LOOPBACK, port: portA }], seed: false });
    const tb = await client.add(b.meta, { peers: [{ host: LOOPBACK, port: portB }], seed: false });
    strictEqual(await client.add(a.meta), ta, "the same info hash gives the same torrent");
    const watchers = [ta.events(), ta.events()].map((events) =>
      collect(events, (e) => e.type === "complete")
    );
    await within(Promise.all([ta.done, tb.done]), 60_000, "both torrents done");
    const [first, second] = await within(Promise.all(watchers), 10_000, "both consumers done");
    deepStrictEqual(
      first.filter((e) => e.type === "piece").map((e) => e.type === "piece" && e.index),
      second.filter((e) => e.type === "piece").map((e) => e.type === "piece" && e.index),
      "both consumers saw the same pieces",
    );
    ok(first.some((e) => e.type === "progress" && e.memoryLimit === client.budget.limit));
    const states = first.flatMap((e) => e.type === "state" ? [e.state] : []);
    ok(states.includes("downloading"), `states ${states}`);
    ok(!states.includes("seeding"), `a torrent added with seed: false never seeds: ${states}`);
    for (const payload of [a, b]) {
      for (const file of payload.files) {
        assertSameBytes(await Deno.readFile(join(root, "get", file.path)), file.data, file.path);
      }
    }
    strictEqual(ta.progress, 1);
    ok(client.budget.peak <= client.budget.limit, `peak ${client.budget.peak}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("file selection: skipped files never exist, shared bytes go to the parts file, selecting more fetches the rest", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-client-" });
  await using pool = new HashPool();
  try {
    // Six files of odd sizes over 16 KiB pieces: pieces straddle file boundaries.
    const sizes = [40_000, 17_777, 5_000, 61_001, 33_333, 9_999];
    const payload = await makePayload(root, "six", sizes, 16384, 21);
    await using seeder = seed(payload, pool);
    const port = await seeder.ready;
    const dir = join(root, "get");
    await using client = new Client({ dir, port: 0, listenHost: LOOPBACK, dht: false });
    const torrent = await client.add(payload.meta, {
      files: [1, 4],
      peers: [{ host: LOOPBACK, port }],
      seed: false,
    });
    deepStrictEqual(torrent.files.map((f) => f.priority), [
      "skip",
      "normal",
      "skip",
      "skip",
      "normal",
      "skip",
    ]);
    await within(torrent.done, 30_000, "selection done");
    for (const i of [1, 4]) {
      assertSameBytes(
        await Deno.readFile(join(dir, payload.files[i].path)),
        payload.files[i].data,
        `file ${i}`,
      );
      strictEqual(torrent.files[i].bytesDone, sizes[i]);
    }
    for (const i of [0, 2, 3, 5]) {
      await rejects(
        Deno.stat(join(dir, payload.files[i].path)),
        Deno.errors.NotFound,
        `file ${i} exists`,
      );
    }
    const parts = join(dir, ".shoal", `${payload.meta.infoHashHex}.parts`);
    ok((await Deno.stat(parts)).size > 0, "the parts file holds the boundary bytes");
    // Select everything: only the missing pieces are fetched.
    const before = torrent.stats().downloaded;
    const events = torrent.events();
    await torrent.setFilePriorities(new Map([0, 2, 3, 5].map((i) => [i, "normal" as const])));
    const fetched = new Set<number>();
    for await (const event of events) {
      if (event.type === "piece") fetched.add(event.index);
      if (event.type === "complete") break;
    }
    for (let i = 0; i < payload.files.length; i++) {
      assertSameBytes(
        await Deno.readFile(join(dir, payload.files[i].path)),
        payload.files[i].data,
        `file ${i}`,
      );
    }
    const pieceLength = payload.meta.pieceLength;
    const firstRun = new Set<number>();
    let offset = 0;
    for (let i = 0; i < sizes.length; i++) {
      if (i === 1 || i === 4) {
        for (
          let p = Math.floor(offset / pieceLength);
          p <= Math.floor((offset + sizes[i] - 1) / pieceLength);
          p++
        ) {
          firstRun.add(p);
        }
      }
      offset += sizes[i];
    }
    for (const p of fetched) ok(!firstRun.has(p), `piece ${p} was fetched twice`);
    strictEqual(fetched.size + firstRun.size, payload.meta.pieceCount);
    ok(torrent.stats().downloaded >= before);
    await rejects(Deno.stat(parts), Deno.errors.NotFound, "the parts file goes once unused");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a stream yields a file's bytes while it downloads, from the start and from the middle", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-client-" });
  await using pool = new HashPool();
  try {
    const sizes = [300_000, 2_000_000, 400_000];
    const payload = await makePayload(root, "media", sizes, 32768, 33);
    await using seeder = seed(payload, pool, 4 * 1024 * 1024);
    const port = await seeder.ready;
    await using client = new Client({
      dir: join(root, "get"),
      port: 0,
      listenHost: LOOPBACK,
      dht: false,
    });
    const torrent = await client.add(payload.meta, {
      peers: [{ host: LOOPBACK, port }],
      paused: true,
      seed: false,
    });
    const file = torrent.files[1];
    const read = async (stream: ReadableStream<Uint8Array>) =>
      new Uint8Array(await new Response(stream).arrayBuffer());
    const whole = read(file.stream());
    const middle = read(file.stream({ start: 1_000_000, end: 1_500_000 }));
    torrent.resume();
    assertSameBytes(await within(whole, 60_000, "whole stream"), payload.files[1].data, "whole");
    assertSameBytes(
      await within(middle, 60_000, "middle stream"),
      payload.files[1].data.subarray(1_000_000, 1_500_000),
      "middle",
    );
    await within(torrent.done, 60_000, "done");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a second client on the same folder and torrent is refused with one clear error", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-client-" });
  try {
    const payload = await makePayload(root, "locked", [100_000], 16384, 5);
    await using one = new Client({ dir: join(root, "get"), listen: false, dht: false });
    await using two = new Client({ dir: join(root, "get"), listen: false, dht: false });
    await one.add(payload.meta, { trackers: false });
    await rejects(two.add(payload.meta, { trackers: false }), (error: Error) => {
      ok(/in use by another torrent or another shoal/.test(error.message), error.message);
      ok(!error.message.includes("\n"));
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a magnet link with x.pe: the metadata comes from a shoal seeder, the torrent downloads, and a second add resumes from the kept .torrent", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-client-" });
  await using pool = new HashPool();
  try {
    // Many files make the info dictionary span several 16 KiB metadata pieces.
    const sizes = Array.from({ length: 2000 }, (_, i) => 500 + i * 7);
    const payload = await makePayload(root, "many", sizes, 65536, 77);
    ok(
      payload.meta.infoBytes.length > 3 * 16384,
      `${payload.meta.infoBytes.length} bytes of metadata`,
    );
    await using seeder = seed(payload, pool);
    const port = await seeder.ready;
    const magnet = `magnet:?xt=urn:btih:${payload.meta.infoHashHex}&dn=x&x.pe=${LOOPBACK}:${port}`;
    const dir = join(root, "get");
    {
      await using client = new Client({ dir, port: 0, listenHost: LOOPBACK, dht: false });
      const torrent = await client.add(magnet, { seed: false });
      strictEqual(torrent.state, "fetching-metadata");
      strictEqual(torrent.files.length, 0);
      const events = torrent.events();
      await within(torrent.done, 60_000, "magnet done");
      strictEqual(torrent.name, "many");
      strictEqual(torrent.files.length, sizes.length);
      for (const file of payload.files.slice(0, 50)) {
        assertSameBytes(await Deno.readFile(join(dir, file.path)), file.data, file.path);
      }
      const seen = await collect(events, (e) => e.type === "complete");
      ok(seen.some((e) => e.type === "metadata"), "metadata progress was reported");
      ok(seen.some((e) => e.type === "metainfo" && e.files === sizes.length));
    }
    // The .torrent kept in .shoal lets the same magnet go on without any peer.
    await using again = new Client({ dir, listen: false, dht: false });
    const resumed = await again.add(magnet, { seed: false, trackers: false });
    ok(resumed.metainfo, "the metadata is known at once");
    await within(resumed.done, 10_000, "resumed done");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
