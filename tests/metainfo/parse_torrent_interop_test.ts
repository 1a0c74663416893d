import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import {
  interopTest,
  libtorrentCreate,
  libtorrentInfo,
  makePayload,
  runMktorrent,
} from "../interop/harness.ts";

const FILES = [
  { path: "multi/a.bin", size: 100_000 },
  { path: "multi/empty.txt", size: 0 },
  { path: "multi/sub/b.bin", size: 70_001 },
  { path: "multi/sub/deeper/c.bin", size: 33_333 },
  { path: "multi/z.bin", size: 16_384 },
];

/** Parses with shoal and asserts it agrees with what libtorrent reads from the same file. */
async function agreesWithLibtorrent(torrentPath: string): Promise<void> {
  const ours = parseTorrent(await Deno.readFile(torrentPath));
  const theirs = await libtorrentInfo(torrentPath);
  strictEqual(ours.infoHashHex, theirs.infoHash);
  strictEqual(ours.name, theirs.name);
  strictEqual(ours.pieceCount, theirs.numPieces);
  strictEqual(ours.pieceLength, theirs.pieceLength);
  strictEqual(ours.totalLength, theirs.totalSize);
  deepStrictEqual(
    ours.files.map((f) => ({ path: f.path.join("/"), size: f.length, pad: f.padding })),
    theirs.files,
  );
}

async function withPayload(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shoal_parse_interop_" });
  try {
    await makePayload(dir, [...FILES, { path: "single.bin", size: 250_000 }]);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interopTest("parseTorrent() agrees with libtorrent on mktorrent torrents", [
  "mktorrent",
  "libtorrent",
], () =>
  withPayload(async (dir) => {
    await runMktorrent(`${dir}/single.bin`, `${dir}/single.torrent`, {
      pieceLengthLog2: 15,
      trackers: ["http://127.0.0.1:6969/announce"],
    });
    await agreesWithLibtorrent(`${dir}/single.torrent`);
    await runMktorrent(`${dir}/multi`, `${dir}/multi.torrent`, {
      pieceLengthLog2: 15,
      private: true,
    });
    await agreesWithLibtorrent(`${dir}/multi.torrent`);
    strictEqual(parseTorrent(await Deno.readFile(`${dir}/multi.torrent`)).private, true);
  }));

interopTest(
  "parseTorrent() agrees with libtorrent on libtorrent torrents",
  ["libtorrent"],
  () =>
    withPayload(async (dir) => {
      await libtorrentCreate(`${dir}/single.bin`, `${dir}/single.torrent`, { pieceLength: 16384 });
      await agreesWithLibtorrent(`${dir}/single.torrent`);
      await libtorrentCreate(`${dir}/multi`, `${dir}/multi.torrent`, {
        pieceLength: 32768,
        trackers: ["http://127.0.0.1:1/announce", "udp://127.0.0.1:2/announce"],
      });
      await agreesWithLibtorrent(`${dir}/multi.torrent`);
      const t = parseTorrent(await Deno.readFile(`${dir}/multi.torrent`));
      deepStrictEqual(t.announce, [["http://127.0.0.1:1/announce"], [
        "udp://127.0.0.1:2/announce",
      ]]);
    }),
);

interopTest(
  "parseTorrent() reads libtorrent hybrid torrents with padding files",
  ["libtorrent"],
  () =>
    withPayload(async (dir) => {
      await libtorrentCreate(`${dir}/multi`, `${dir}/hybrid.torrent`, {
        pieceLength: 32768,
        hybrid: true,
      });
      await agreesWithLibtorrent(`${dir}/hybrid.torrent`);
      const t = parseTorrent(await Deno.readFile(`${dir}/hybrid.torrent`));
      strictEqual(t.files.some((f) => f.padding), true, "libtorrent pads hybrid torrents");
    }),
);
