// Interop: where a magnet's metadata comes from, against real programs on 127.0.0.1: a
// libtorrent seeder named by x.pe (a torrent of 3,000 files, so the info dictionary is many
// 16 KiB ut_metadata pieces), an aria2c seeder found through opentracker, and
// `shoal info --fetch` against libtorrent.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { METADATA_PIECE_SIZE } from "../../src/wire/metadata.ts";
import { LOOPBACK, ltTorrent, magnetUri, MIB, withTempDir } from "./client_interop_util.ts";
import {
  interopTest,
  libtorrentCreate,
  makePayload,
  runShoal,
  sameTree,
  startAria2,
  startLibtorrent,
  startOpentracker,
  type Tracker,
} from "./harness.ts";

const TEST_TIMEOUT_MS = 90_000;
const RUN_LIMIT_MS = 60_000;
const FILE_COUNT = 3_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `shoal download` of a magnet into `dir`, with its events as JSON lines. */
function downloadArgs(magnet: string, dir: string, extra: string[] = []): string[] {
  return [
    "download",
    magnet,
    "-o",
    dir,
    "--listen-host",
    LOOPBACK,
    "--port",
    "0",
    "--json",
    ...extra,
  ];
}

/** The JSON events of a `--json` run. */
function eventsOf(stdout: string): { type: string; [key: string]: unknown }[] {
  return stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** Waits until opentracker counts `seeders` complete peers (a scrape adds no peer). */
async function waitForSeeders(
  tracker: Tracker,
  infoHashHex: string,
  seeders: number,
): Promise<void> {
  const url = `${tracker.httpUrl.replace("/announce", "/scrape")}?info_hash=${
    infoHashHex.replace(/../g, (pair) => `%${pair}`)
  }`;
  const deadline = Date.now() + 20_000;
  while (true) {
    const text = await (await fetch(url)).text();
    const complete = /8:completei(\d+)e/.exec(text);
    if (complete && Number(complete[1]) >= seeders) return;
    ok(Date.now() < deadline, `opentracker saw fewer than ${seeders} seeders in 20 s: ${text}`);
    await delay(200);
  }
}

interopTest(
  "a magnet with x.pe to a libtorrent seeder: a 3,000-file torrent whose info dictionary is over 100 KiB downloads whole",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-magnet-xpe-", async (root) => {
      const files = Array.from({ length: FILE_COUNT }, (_, i) => ({
        path: `folder-${i % 20}/a-rather-long-file-name-number-${i}.dat`,
        size: 300 + ((i * 7_919) % 1_700),
      }));
      await makePayload(`${root}/seed/many`, files, 71);
      const torrent = `${root}/many.torrent`;
      await libtorrentCreate(`${root}/seed/many`, torrent, { pieceLength: 64 * 1024 });
      const meta = parseTorrent(await Deno.readFile(torrent));
      const metadataPieces = Math.ceil(meta.infoBytes.length / METADATA_PIECE_SIZE);
      ok(meta.infoBytes.length > 100 * 1024, `info dictionary of ${meta.infoBytes.length} bytes`);
      await using seeder = await startLibtorrent({ torrent, dir: `${root}/seed`, seed: true });
      const magnet = magnetUri(meta.infoHashHex, { peers: [`${LOOPBACK}:${seeder.port}`] });
      const run = await runShoal(
        downloadArgs(magnet, `${root}/get`, ["--save-torrent", `${root}/saved.torrent`]),
        { timeoutMs: RUN_LIMIT_MS },
      );
      strictEqual(run.code, 0, `shoal download failed:\n${run.stderr}\n${run.stdout.slice(-2000)}`);
      await sameTree(`${root}/seed/many`, `${root}/get/many`);
      const events = eventsOf(run.stdout);
      const metadata = events.filter((e) => e.type === "metadata");
      deepStrictEqual(
        metadata.at(-1) && { received: metadata.at(-1)!.received, total: metadata.at(-1)!.total },
        { received: meta.infoBytes.length, total: meta.infoBytes.length },
        `all ${metadataPieces} metadata pieces arrived`,
      );
      strictEqual(events.filter((e) => e.type === "piece").length, meta.pieceCount);
      const saved = parseTorrent(await Deno.readFile(`${root}/saved.torrent`));
      strictEqual(saved.infoHashHex, meta.infoHashHex, "--save-torrent wrote the same info");
      deepStrictEqual(saved.infoBytes, meta.infoBytes);
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "a magnet with only an opentracker tr= finds an aria2c seeder and fetches metadata and data from it",
  ["opentracker", "aria2c", "libtorrent"],
  async () => {
    await withTempDir("shoal-magnet-tracker-", async (root) => {
      await makePayload(`${root}/seed/ariapl`, [
        { path: "one.bin", size: 2 * MIB + 5 },
        { path: "two/three.bin", size: 654_321 },
      ], 81);
      await using tracker = await startOpentracker([]);
      const torrent = `${root}/ariapl.torrent`;
      await libtorrentCreate(`${root}/seed/ariapl`, torrent, {
        pieceLength: 64 * 1024,
        trackers: [tracker.httpUrl],
      });
      const meta = parseTorrent(await Deno.readFile(torrent));
      await tracker.addInfoHash(meta.infoHashHex);
      await using aria = await startAria2({ torrent, dir: `${root}/seed`, seed: true });
      await waitForSeeders(tracker, meta.infoHashHex, 1);
      const magnet = magnetUri(meta.infoHashHex, { trackers: [tracker.httpUrl] });
      const run = await runShoal(downloadArgs(magnet, `${root}/get`), { timeoutMs: RUN_LIMIT_MS });
      strictEqual(run.code, 0, `shoal download failed:\n${run.stderr}\n${run.stdout.slice(-2000)}`);
      await sameTree(`${root}/seed/ariapl`, `${root}/get/ariapl`);
      const events = eventsOf(run.stdout);
      const connected = events.filter((e) => e.type === "peer" && e.change === "connected");
      ok(
        connected.length > 0 && connected.every((e) => e.address === `${LOOPBACK}:${aria.port}`),
        `peers: ${JSON.stringify(connected)}`,
      );
      ok(events.some((e) => e.type === "metainfo"), "the metadata came from aria2c");
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "shoal info --fetch of a magnet with x.pe prints what shoal info prints of the .torrent itself",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-magnet-info-", async (root) => {
      const t = await ltTorrent(
        root,
        "infopl",
        [
          { path: "alpha.bin", size: 1_234_567 },
          { path: "beta/gamma.bin", size: 89_012 },
          { path: "beta/delta.bin", size: 345 },
        ],
        32 * 1024,
        91,
      );
      await using seeder = await startLibtorrent({
        torrent: t.torrent,
        dir: t.seedDir,
        seed: true,
      });
      const magnet = magnetUri(t.meta.infoHashHex, { peers: [`${LOOPBACK}:${seeder.port}`] });
      // info is not a client command for the harness: --no-dht keeps it off the public DHT.
      const fetched = await runShoal(["info", magnet, "--fetch", "--no-dht"], {
        timeoutMs: RUN_LIMIT_MS,
      });
      strictEqual(fetched.code, 0, `shoal info --fetch failed: ${fetched.stderr}`);
      const local = await runShoal(["info", t.torrent]);
      strictEqual(local.code, 0, local.stderr);
      // The same lines, but for what lives outside the info dictionary (creator, date).
      const outside = /^(created by|created|comment|trackers):/;
      const lines = (text: string) => text.trim().split("\n").filter((l) => !outside.test(l));
      deepStrictEqual(lines(fetched.stdout), lines(local.stdout));
      ok(fetched.stdout.includes(`info hash:   ${t.meta.infoHashHex}`), fetched.stdout);
      ok(/files:\s+3/.test(fetched.stdout), fetched.stdout);
      const json = await runShoal(["info", magnet, "--fetch", "--no-dht", "--json"], {
        timeoutMs: RUN_LIMIT_MS,
      });
      const info = JSON.parse(json.stdout);
      deepStrictEqual(
        { name: info.name, totalBytes: info.totalBytes, pieceCount: info.pieceCount },
        { name: "infopl", totalBytes: t.meta.totalLength, pieceCount: t.meta.pieceCount },
      );
      deepStrictEqual(
        info.files.map((f: { path: string; length: number }) => [f.path, f.length]),
        t.meta.files.map((f) => [f.path.join("/"), f.length]),
      );
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
