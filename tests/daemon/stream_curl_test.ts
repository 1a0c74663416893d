// The stream route, checked with curl while the file is still downloading from a slow
// libtorrent seeder: a range in the middle, one at the end (both at once), a suffix range, a
// bad range (416) and no range (200 from byte 0); every byte compared with the original.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { within } from "../test_util.ts";
import { interopTest, libtorrentCreate, makePayload, startLibtorrent } from "../interop/harness.ts";
import { call } from "./api_client.ts";
import { curl, hasCurl } from "./curl.ts";
import { EventReader, startTestDaemon } from "./daemon_fixture.ts";
import { FixedTracker } from "./fixed_tracker.ts";

const MiB = 1024 * 1024;
const SIZE = 8 * MiB + 12_345;

interopTest(
  "the stream route serves ranges with curl while the file downloads: middle, end, suffix, 416, and 200 without Range",
  ["libtorrent"],
  async () => {
    if (!hasCurl()) throw new Error("curl is not installed (Debian's curl is expected)");
    await using t = await startTestDaemon();
    await using tracker = new FixedTracker();
    await makePayload(join(t.root, "seed", "film"), [
      { path: "movie.webm", size: SIZE },
      { path: "extra.bin", size: 2 * MiB },
    ]);
    const torrentPath = join(t.root, "film.torrent");
    await libtorrentCreate(join(t.root, "seed", "film"), torrentPath, {
      pieceLength: 65536,
      trackers: [tracker.url],
    });
    const bytes = await Deno.readFile(torrentPath);
    const meta = parseTorrent(bytes);
    const hash = meta.infoHashHex;
    const index = meta.files.filter((f) => !f.padding).findIndex((f) =>
      f.path.at(-1) === "movie.webm"
    );
    const original = await Deno.readFile(join(t.root, "seed", "film", "movie.webm"));
    await using seeder = await startLibtorrent({
      torrent: torrentPath,
      dir: join(t.root, "seed"),
      seed: true,
      uploadLimit: MiB,
    });
    tracker.peers = [{ host: "127.0.0.1", port: seeder.port }];
    await using events = await EventReader.open(t.daemon.url);
    strictEqual((await call(t.daemon.url, "POST", "/torrents", { body: bytes })).status, 201);
    const url = `${t.daemon.url}/api/v1/torrents/${hash}/files/${index}/stream`;

    // Two streams at once: the middle and the end, neither downloaded yet.
    const started = performance.now();
    const [middle, end] = await Promise.all([
      curl(url, ["-r", "3000000-3999999"]),
      curl(url, ["-r", `${SIZE - 500_000}-`]),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const progress = (await call(t.daemon.url, "GET", `/torrents/${hash}`)).body.progress;
    ok(progress < 1, `served while downloading (progress ${progress}, ${seconds.toFixed(1)} s)`);
    strictEqual(middle.status, 206);
    strictEqual(middle.headers.get("content-range"), `bytes 3000000-3999999/${SIZE}`);
    strictEqual(middle.headers.get("content-length"), "1000000");
    strictEqual(middle.headers.get("content-type"), "video/webm");
    strictEqual(middle.headers.get("accept-ranges"), "bytes");
    deepStrictEqual(middle.body, original.subarray(3_000_000, 4_000_000));
    strictEqual(end.status, 206);
    strictEqual(end.headers.get("content-range"), `bytes ${SIZE - 500_000}-${SIZE - 1}/${SIZE}`);
    deepStrictEqual(end.body, original.subarray(SIZE - 500_000));

    const suffix = await curl(url, ["-H", "Range: bytes=-70000"]);
    strictEqual(suffix.status, 206);
    strictEqual(suffix.headers.get("content-range"), `bytes ${SIZE - 70000}-${SIZE - 1}/${SIZE}`);
    deepStrictEqual(suffix.body, original.subarray(SIZE - 70000));

    for (
      const range of [
        `bytes=${SIZE}-`,
        `bytes=${SIZE + 10}-${SIZE + 20}`,
        "bytes=50-10",
        "bytes=-0",
      ]
    ) {
      const bad = await curl(url, ["-H", `Range: ${range}`]);
      strictEqual(bad.status, 416, range);
      strictEqual(bad.headers.get("content-range"), `bytes */${SIZE}`, range);
      ok(JSON.parse(bad.text()).error.includes("Cannot serve range"));
    }

    const whole = await curl(url);
    strictEqual(whole.status, 200);
    strictEqual(whole.headers.get("content-length"), String(SIZE));
    strictEqual(whole.headers.get("content-range"), null);
    deepStrictEqual(whole.body, original);

    const head = await curl(url, ["-I", "-r", "0-99"]);
    strictEqual(head.status, 206);
    strictEqual(head.headers.get("content-length"), "100");
    // curl -I writes the headers where the body would go: nothing else may follow them.
    ok(head.text().trim().split(/\r?\n/).every((line) => /^(HTTP\/|[\w-]+: )/.test(line)));
    await within(events.next((e) => e.event === "complete"), 60_000, "the download completes");
  },
  { timeoutMs: 120_000 },
);
