// Interop: streaming a file of a multi-file torrent while it downloads from a rate-limited
// libtorrent seeder (python3-libtorrent 2.0.8) on 127.0.0.1: the stream's pieces come first,
// a second stream from the middle (seek) at the same time, two streams of other files at once,
// and `shoal cat`.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Client } from "../../src/client/client.ts";
import type { TorrentFile } from "../../src/client/torrent_file.ts";
import { assertSameBytes } from "../test_util.ts";
import {
  EventLog,
  LOOPBACK,
  MIB,
  piecesOfFile,
  runShoalBytes,
  sortedTorrent,
  startOrderedSeeder,
  within,
  withTempDir,
} from "./client_interop_util.ts";
import { interopTest, startLibtorrent } from "./harness.ts";

const TEST_TIMEOUT_MS = 90_000;
const STREAM_LIMIT_MS = 40_000;
const PIECE = 256 * 1024;
/** The seeder's upload limit: 20 MB take about 10 s. */
const RATE = 2 * MIB;
const FILES = [
  { path: "1-intro.bin", size: MIB + 123_457 },
  { path: "2-movie.bin", size: 20_000_000 },
  { path: "3-outro.bin", size: MIB + 98_765 },
];

/** Reads a whole stream into one array (of a known length). */
async function readAll(stream: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  for await (const chunk of stream) {
    ok(at + chunk.length <= length, `the stream gave more than ${length} bytes`);
    out.set(chunk, at);
    at += chunk.length;
  }
  strictEqual(at, length, "the stream's length");
  return out;
}

function streamOf(file: TorrentFile, start = 0): Promise<Uint8Array> {
  return readAll(file.stream({ start }), file.length - start);
}

interopTest(
  "streams of a file in the middle of a torrent from a 2 MiB/s libtorrent seeder: its pieces first, a seek and two streams at once right, shoal cat right",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-client-stream-", async (root) => {
      const t = await sortedTorrent(root, "show", FILES, PIECE, 5);
      const { meta } = t;
      strictEqual(meta.files[1].length, 20_000_000, "the movie is the middle file");
      const source = await Promise.all(
        FILES.map((f) => Deno.readFile(`${t.payload}/${f.path}`)),
      );
      // A seeder that answers in request order, so the order pieces verify in is the order
      // shoal asked for them.
      await using seeder = await startOrderedSeeder({
        torrent: t.torrent,
        dir: t.seedDir,
        uploadLimit: RATE,
      });
      await using client = new Client({
        dir: `${root}/get`,
        port: 0,
        listenHost: LOOPBACK,
        dht: false,
        stateDir: `${root}/state`,
      });
      const torrent = await client.add(meta, {
        paused: true,
        peers: [{ host: LOOPBACK, port: seeder.port }],
      });
      const log = new EventLog(torrent);
      await log.until((l) => l.of("ready").length > 0, 10_000, "the torrent checked");
      strictEqual(torrent.state, "paused");
      strictEqual(log.pieces().length, 0);

      // Two streams of the movie at once, one from the start and one from the middle (a seek),
      // opened before anything is requested.
      const movie = torrent.files[1];
      const seek = 12_345_679;
      const whole = streamOf(movie);
      const middle = streamOf(movie, seek);
      torrent.resume();
      const [wholeBytes, middleBytes] = await within(
        Promise.all([whole, middle]),
        STREAM_LIMIT_MS,
        "both movie streams ended",
      );
      assertSameBytes(wholeBytes, source[1], "the movie stream");
      assertSameBytes(middleBytes, source[1].subarray(seek), "the movie stream from the middle");

      // Every piece of the movie (the boundary pieces it shares too) was verified before any
      // piece that holds only bytes of the other files.
      const moviePieces = new Set(piecesOfFile(meta, 1));
      const order = log.pieces();
      const firstOther = order.findIndex((p) => !moviePieces.has(p));
      const before = new Set(firstOther < 0 ? order : order.slice(0, firstOther));
      deepStrictEqual(
        [...moviePieces].filter((p) => !before.has(p)),
        [],
        `movie pieces verified after another file's piece; the order was ${order.join(",")}`,
      );

      // Two streams of the other two files at once, while they are still downloading.
      const [intro, outro] = await within(
        Promise.all([streamOf(torrent.files[0]), streamOf(torrent.files[2])]),
        STREAM_LIMIT_MS,
        "the intro and outro streams ended",
      );
      assertSameBytes(intro, source[0], "the intro stream");
      assertSameBytes(outro, source[2], "the outro stream");
      await client.close();
      await log.ended;
      await seeder[Symbol.asyncDispose]();

      // shoal cat writes the movie to standard output, from a libtorrent seeder (no limit now).
      await using fast = await startLibtorrent({ torrent: t.torrent, dir: t.seedDir, seed: true });
      const cat = await runShoalBytes([
        "cat",
        t.torrent,
        "1",
        "-o",
        `${root}/cat`,
        "--listen-host",
        LOOPBACK,
        "--port",
        "0",
        "--peer",
        `${LOOPBACK}:${fast.port}`,
        "--quiet",
      ], { timeoutMs: STREAM_LIMIT_MS, stateHome: `${root}/state-cat` });
      strictEqual(cat.code, 0, `shoal cat failed: ${cat.stderr}`);
      assertSameBytes(cat.stdout, source[1], "shoal cat's output");
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
