// --max-up and --max-down on loopback. The rate is measured and printed (a benchmark-style
// figure, within ±15% expected); only a miss by a factor of 2 fails the test, as loopback on a
// shared machine is noisy.
import { ok } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import type { TorrentSessionOptions } from "../../src/session/session_options.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { randomBytes } from "../test_util.ts";

const RATE = 1024 * 1024;
const SIZE = 4 * 1024 * 1024;

/** Downloads SIZE bytes from one seeder; returns the payload rate (bytes/s) over the transfer. */
async function measure(
  seederExtra: Partial<TorrentSessionOptions>,
  leecherExtra: Partial<TorrentSessionOptions>,
): Promise<number> {
  const root = await Deno.makeTempDir({ prefix: "shoal-rate-" });
  await Deno.mkdir(join(root, "seed"));
  await Deno.writeFile(join(root, "seed", "p.bin"), randomBytes(SIZE, 5));
  const meta = parseTorrent(
    await createTorrent(join(root, "seed", "p.bin"), { pieceLength: 65536 }),
  );
  const stop = new AbortController();
  const seeder = new TorrentSession(meta, {
    dir: join(root, "seed"),
    seed: true,
    requireComplete: true,
    listenHost: "127.0.0.1",
    port: 0,
    trackers: false,
    signal: stop.signal,
    ...seederExtra,
  });
  const ready = Promise.withResolvers<number>();
  const seeding = (async () => {
    for await (const event of seeder.run()) if (event.type === "ready") ready.resolve(event.port!);
  })();
  seeding.catch(ready.reject);
  try {
    const leecher = new TorrentSession(meta, {
      dir: join(root, "get"),
      peers: [{ host: "127.0.0.1", port: await ready.promise }],
      listen: false,
      trackers: false,
      signal: AbortSignal.timeout(60_000),
      ...leecherExtra,
    });
    let firstAt: number | undefined, firstBytes = 0, doneAt = 0;
    for await (const event of leecher.run()) {
      // Measured from the first verified piece: the start-up and the first burst are not the rate.
      if (event.type === "piece" && firstAt === undefined) {
        firstAt = performance.now();
        firstBytes = meta.pieceLength;
      }
      if (event.type === "complete") doneAt = performance.now();
    }
    ok(firstAt !== undefined && doneAt > firstAt, "the download completed");
    return (SIZE - firstBytes) / ((doneAt - firstAt!) / 1000);
  } finally {
    stop.abort();
    await seeding.catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
}

function report(what: string, rate: number): void {
  const off = (rate / RATE - 1) * 100;
  console.log(
    `${what}: ${(rate / 1024).toFixed(0)} KiB/s for a limit of ${RATE / 1024} KiB/s (${
      off >= 0 ? "+" : ""
    }${off.toFixed(1)}%)`,
  );
  ok(
    rate < 2 * RATE && rate > RATE / 2,
    `${what}: ${rate} bytes/s is more than a factor of 2 off ${RATE}`,
  );
}

Deno.test("the upload limit holds on loopback", async () => {
  report("--max-up", await measure({ maxUploadRate: RATE }, {}));
});

Deno.test("the download limit meters received bytes on loopback", async () => {
  report("--max-down", await measure({}, { maxDownloadRate: RATE }));
});
