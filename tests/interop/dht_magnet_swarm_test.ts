// Interop: magnet links over a DHT of 8 libtorrent nodes (python3-libtorrent 2.0.8) on
// 127.0.0.1, with no tracker and no x.pe: shoal's CLI downloads from a libtorrent seeder it finds
// in the DHT; then shoal seeds and announces, and libtorrent and aria2c, given only the magnet,
// find shoal through the DHT and fetch the metadata and the data from shoal alone.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { startLibtorrentDht } from "./dht_harness.ts";
import {
  LOOPBACK,
  ltTorrent,
  magnetUri,
  MIB,
  startLtMagnet,
  within,
  withTempDir,
} from "./client_interop_util.ts";
import {
  freePort,
  freeUdpPort,
  interopTest,
  runShoal,
  sameTree,
  startAria2,
  startShoal,
} from "./harness.ts";

const TEST_TIMEOUT_MS = 120_000;
const RUN_LIMIT_MS = 60_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interopTest(
  "shoal download of a bare magnet finds a libtorrent seeder through an 8-node libtorrent DHT from one --dht-node",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-dht-magnet-", async (root) => {
      const t = await ltTorrent(
        root,
        "dhtpl",
        [
          { path: "a.bin", size: 2 * MIB + 4_321 },
          { path: "b/c.bin", size: 700_001 },
        ],
        64 * 1024,
        51,
      );
      await using dht = await startLibtorrentDht({ nodes: 8 });
      const seeder = await dht.announce(t.meta.infoHashHex, {
        torrent: t.torrent,
        dir: t.seedDir,
        minNodes: 3,
      });
      const magnet = magnetUri(t.meta.infoHashHex);
      const run = await runShoal([
        "download",
        magnet,
        "-o",
        `${root}/get`,
        "--dht-node",
        `${LOOPBACK}:${dht.nodes[0].port}`,
        "--listen-host",
        LOOPBACK,
        "--port",
        "0",
        "--state-dir",
        `${root}/state`,
        "--json",
      ], { timeoutMs: RUN_LIMIT_MS });
      strictEqual(run.code, 0, `shoal download failed:\n${run.stderr}\n${run.stdout.slice(-3000)}`);
      await sameTree(t.payload, `${root}/get/dhtpl`);
      const events = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
      const metainfo = events.find((e) => e.type === "metainfo");
      deepStrictEqual(
        metainfo && { name: metainfo.name, totalBytes: metainfo.totalBytes },
        { name: "dhtpl", totalBytes: t.meta.totalLength },
        "the metadata came from the swarm",
      );
      const connected = new Set(
        events.filter((e) => e.type === "peer" && e.change === "connected").map((e) => e.address),
      );
      ok(connected.has(`${LOOPBACK}:${seeder.port}`), `peers: ${[...connected]}`);
      strictEqual(events.filter((e) => e.type === "piece").length, t.meta.pieceCount);
      ok(events.some((e) => e.type === "complete"), "a complete event");
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "shoal seeds into an 8-node libtorrent DHT; libtorrent and aria2c with only the magnet find shoal there and fetch metadata and data from it alone",
  ["libtorrent", "aria2c"],
  async () => {
    await withTempDir("shoal-dht-seed-", async (root) => {
      const t = await ltTorrent(
        root,
        "seedpl",
        [
          { path: "x.bin", size: 3 * MIB + 77 },
          { path: "y/z.bin", size: 333_333 },
        ],
        64 * 1024,
        61,
      );
      const hash = t.meta.infoHashHex;
      await using dht = await startLibtorrentDht({ nodes: 8 });
      const port = freePort();
      await using shoal = startShoal([
        "seed",
        t.torrent,
        "-o",
        t.seedDir,
        "--dht-node",
        `${LOOPBACK}:${dht.nodes[2].port}`,
        "--listen-host",
        LOOPBACK,
        "--port",
        String(port),
        "--state-dir",
        `${root}/state`,
        "--json",
      ], { timeoutMs: TEST_TIMEOUT_MS });
      const lines = shoal.lines[Symbol.asyncIterator]();
      const seen: { type: string; address?: string; change?: string }[] = [];
      const ready = (async () => {
        for (let next = await lines.next(); !next.done; next = await lines.next()) {
          const event = JSON.parse(next.value);
          seen.push(event);
          if (event.type === "ready") return event.port as number;
        }
        throw new Error(`shoal seed ended before it was ready: ${await shoal.stderr}`);
      })();
      strictEqual(await within(ready, 30_000, "shoal seed ready"), port);
      // shoal's own count of what it uploaded, from its progress lines.
      const total = t.meta.totalLength;
      const uploadedTwice = Promise.withResolvers<void>();
      const pump = (async () => {
        for (let next = await lines.next(); !next.done; next = await lines.next()) {
          const event = JSON.parse(next.value);
          seen.push(event);
          if (event.type === "progress" && event.uploaded >= 2 * total) uploadedTwice.resolve();
        }
      })();
      // shoal's announce reaches the libtorrent nodes (their own record of it; polled, since
      // it happens in another process).
      const deadline = Date.now() + 20_000;
      while ((await dht.announcesReceived(hash)).length < 3) {
        ok(Date.now() < deadline, "shoal's announce reached 3 libtorrent nodes in 20 s");
        await delay(200);
      }
      const announced = await dht.announcesReceived(hash);
      ok(announced.every((a) => a.port === port), JSON.stringify(announced));

      // libtorrent, given only the magnet and the DHT.
      const magnet = magnetUri(hash);
      {
        await using lt = await startLtMagnet({
          magnet,
          dir: `${root}/lt`,
          dhtNodes: [dht.nodes[5]],
        });
        const metadataPeers = await within(lt.metadata, 30_000, "libtorrent had the metadata");
        const allPeers = await within(lt.complete, 30_000, "libtorrent complete");
        deepStrictEqual(metadataPeers, [[LOOPBACK, port]], "the metadata came from shoal");
        deepStrictEqual(allPeers, [[LOOPBACK, port]], "the data came from shoal alone");
        await sameTree(t.payload, `${root}/lt/seedpl`);
      }

      // aria2c, with its own DHT entered through shoal's node.
      await using aria = await startAria2({
        torrent: magnet,
        dir: `${root}/aria`,
        seed: false,
        extraArgs: [
          "--enable-dht=true",
          `--dht-listen-port=${await freeUdpPort()}`,
          `--dht-entry-point=${LOOPBACK}:${port}`,
          `--dht-file-path=${root}/aria-dht.dat`,
          "--bt-save-metadata=false",
        ],
        timeoutMs: RUN_LIMIT_MS,
      });
      const code = await within(aria.exited, RUN_LIMIT_MS, "aria2c finished");
      strictEqual(code, 0, `aria2c failed: ${await aria.output}`);
      await sameTree(t.payload, `${root}/aria/seedpl`);
      // Both got every byte from shoal: the only live peer of the torrent.
      await within(uploadedTwice.promise, 5_000, "shoal reported uploading the torrent twice");
      shoal.kill("SIGINT");
      strictEqual(await shoal.exited, 130);
      await pump;
      const peers = seen.filter((e) => e.type === "peer" && e.change === "connected");
      ok(peers.length >= 2, `shoal saw ${peers.length} peers`);
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
