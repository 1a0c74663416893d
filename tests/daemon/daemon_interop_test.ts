// `shoal daemon` end to end on loopback, as a child process, against a libtorrent seeder found
// through a tracker: add a .torrent over the API, change file priorities, pause and resume,
// kill -9 it mid-download and start it again (the torrent comes back and finishes, hashing only
// what the journal names), stop it with SIGTERM (the tracker hears "stopped"), start it again
// (it seeds without hashing), and remove the torrent.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import type { Metainfo } from "../../src/metainfo/types.ts";
import { journalPath } from "../../src/storage/open_torrent_data.ts";
import { readJournal } from "../../src/storage/piece_journal.ts";
import { readResume } from "../../src/storage/resume.ts";
import { within } from "../test_util.ts";
import {
  freePort,
  interopTest,
  libtorrentCreate,
  makePayload,
  sameTree,
  startLibtorrent,
} from "../interop/harness.ts";
import { call } from "./api_client.ts";
import { EventReader } from "./daemon_fixture.ts";
import { DaemonProcess } from "./daemon_process.ts";
import { FixedTracker } from "./fixed_tracker.ts";

const MiB = 1024 * 1024;

/** Whether piece `index` is set in the detail view's base64 bitfield. */
function hasPiece(detail: { pieces: { bitfield: string } }, index: number): boolean {
  const bits = Uint8Array.from(atob(detail.pieces.bitfield), (c) => c.charCodeAt(0));
  return ((bits[index >> 3] >> (7 - (index & 7))) & 1) === 1;
}

/**
 * Flips one byte of a piece the resume file vouches for (and the journal does not name), then
 * puts the file's mtime back: a start that hashes that piece finds it bad; one that trusts the
 * resume data, as it should, still counts it as verified. Returns the piece and an undo.
 */
async function corruptTrustedPiece(
  meta: Metainfo,
  data: string,
  resumeDir: string,
  file: string,
): Promise<{ index: number; restore(): Promise<void> }> {
  const record = await readResume(data, meta, resumeDir);
  ok(record, "a resume record exists");
  const journal = new Set(await readJournal(journalPath(data, meta, resumeDir), meta.pieceCount));
  const entry = meta.files.find((f) => f.path.join("/") === file)!;
  const first = Math.ceil(entry.offset / meta.pieceLength);
  const last = Math.floor((entry.offset + entry.length) / meta.pieceLength) - 1;
  let index = -1;
  for (let i = first; i <= last && index < 0; i++) {
    if (record.have.has(i) && !journal.has(i)) index = i;
  }
  ok(index >= 0, `a piece of ${file} that only the resume file vouches for`);
  const path = join(data, ...entry.path);
  const position = index * meta.pieceLength + 100 - entry.offset;
  const before = await Deno.stat(path);
  const flip = async () => {
    using handle = await Deno.open(path, { read: true, write: true });
    const byte = new Uint8Array(1);
    await handle.seek(position, Deno.SeekMode.Start);
    await handle.read(byte);
    byte[0] ^= 0xff;
    await handle.seek(position, Deno.SeekMode.Start);
    await handle.write(byte);
  };
  await flip();
  await Deno.utime(path, before.atime!, before.mtime!);
  return { index, restore: flip };
}

interopTest(
  "the daemon downloads from libtorrent, keeps priorities and pauses, comes back after SIGTERM and kill -9 without hashing what it had, and removes",
  ["libtorrent"],
  async () => {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "shoal-daemon-e2e-" }));
    try {
      await using tracker = new FixedTracker();
      await makePayload(join(root, "seed", "pack"), [
        { path: "big.bin", size: 12 * MiB },
        { path: "notes.txt", size: 300_001 },
        { path: "unwanted.bin", size: 3 * MiB },
      ]);
      const torrentPath = join(root, "pack.torrent");
      await libtorrentCreate(join(root, "seed", "pack"), torrentPath, {
        pieceLength: 65536,
        trackers: [tracker.url],
      });
      const bytes = await Deno.readFile(torrentPath);
      const meta = parseTorrent(bytes);
      const hash = meta.infoHashHex;
      const paths = meta.files.filter((f) => !f.padding).map((f) => f.path.join("/"));
      const indexOf = (name: string) => paths.indexOf(`pack/${name}`);
      const expected = paths.map((path) =>
        path === "pack/unwanted.bin" ? "skip" : path === "pack/notes.txt" ? "high" : "normal"
      );
      await using seeder = await startLibtorrent({
        torrent: torrentPath,
        dir: join(root, "seed"),
        seed: true,
        uploadLimit: 3 * MiB,
      });
      tracker.peers = [{ host: "127.0.0.1", port: seeder.port }];
      const peerPort = freePort();
      const data = join(root, "data");
      const resumeDir = join(root, "state", "resume");
      const args = [
        "--http",
        "127.0.0.1:0",
        "-o",
        data,
        "--state-dir",
        join(root, "state"),
        "--port",
        String(peerPort),
        "--listen-host",
        "127.0.0.1",
      ];
      const detailOf = async (daemon: DaemonProcess) =>
        (await call(daemon.url, "GET", `/torrents/${hash}`)).body;
      const stoppedAnnounce = (after: number) =>
        tracker.waitFor((a) =>
          tracker.announces.indexOf(a) >= after && a.infoHash === hash && a.port === peerPort &&
          a.event === "stopped"
        );

      // Run 1: add, skip a file, raise one, pause, resume; SIGTERM at 25%.
      let daemon = await DaemonProcess.start(args);
      try {
        await using events = await EventReader.open(daemon.url);
        const added = await call(daemon.url, "POST", "/torrents", { body: bytes });
        strictEqual(added.status, 201, JSON.stringify(added.body));
        const files = await call(daemon.url, "PATCH", `/torrents/${hash}/files`, {
          json: {
            priorities: { [indexOf("unwanted.bin")]: "skip", [indexOf("notes.txt")]: "high" },
          },
        });
        deepStrictEqual(files.body.map((f: { priority: string }) => f.priority), expected);
        await within(
          events.next((e) => e.event === "progress" && e.data.torrent.doneSize > 0),
          30_000,
          "first bytes",
        );
        const paused = await call(daemon.url, "POST", `/torrents/${hash}/pause`);
        strictEqual(paused.body.state, "paused");
        const frozen = await detailOf(daemon);
        strictEqual(frozen.peers, 0);
        strictEqual(frozen.downloadRate, 0);
        const resumed = await call(daemon.url, "POST", `/torrents/${hash}/resume`);
        strictEqual(resumed.body.state, "downloading");
        const quarter = await within(
          events.next((e) => e.event === "progress" && e.data.torrent.progress >= 0.25),
          60_000,
          "25% done",
        );
        strictEqual(quarter.data.torrent.selectedSize, 12 * MiB + 300_001);
        await events[Symbol.asyncDispose]();
        const stopped = stoppedAnnounce(0);
        daemon.signal("SIGTERM");
        strictEqual((await daemon.status).code, 0, "a clean stop exits 0");
        await within(stopped, 5_000, "the tracker is told stopped");
        ok(daemon.lines.some((l) => l.event === "stopped"));
      } finally {
        await daemon[Symbol.asyncDispose]();
      }

      // Run 2, after a clean stop: nothing hashed (a piece corrupted behind its back still
      // counts); kill -9 at 60%.
      let trick = await corruptTrustedPiece(meta, data, resumeDir, "pack/big.bin");
      daemon = await DaemonProcess.start(args);
      try {
        await using events = await EventReader.open(daemon.url);
        const detail = await detailOf(daemon);
        deepStrictEqual(detail.files.map((f: { priority: string }) => f.priority), expected);
        await within(
          events.next((e) => e.event === "state" || e.event === "progress"),
          20_000,
          "running again",
        );
        ok(hasPiece(await detailOf(daemon), trick.index), "the trusted piece was not hashed");
        deepStrictEqual(daemon.lines.filter((l) => l.event === "checking"), []);
        const ready = await within(daemon.waitFor((l) => l.event === "ready"), 20_000, "ready");
        strictEqual(ready.hashed, 0, "a clean restart hashes nothing");
        await trick.restore();
        await within(
          events.next((e) => e.event === "progress" && e.data.torrent.progress >= 0.6),
          60_000,
          "60% done",
        );
        await events[Symbol.asyncDispose]();
        daemon.signal("SIGKILL");
        strictEqual((await daemon.status).signal, "SIGKILL");
      } finally {
        await daemon[Symbol.asyncDispose]();
      }

      // Run 3, after kill -9: the pieces the resume file vouches for are trusted (only the
      // journal's are hashed), nothing is fetched twice, and it finishes.
      trick = await corruptTrustedPiece(meta, data, resumeDir, "pack/big.bin");
      daemon = await DaemonProcess.start(args);
      try {
        await using events = await EventReader.open(daemon.url);
        await within(
          events.next((e) =>
            e.event === "progress" || (e.event === "state" && e.data.state !== "checking")
          ),
          20_000,
          "running after kill -9",
        );
        const detail = await detailOf(daemon);
        deepStrictEqual(detail.files.map((f: { priority: string }) => f.priority), expected);
        ok(hasPiece(detail, trick.index), "a piece of the resume file was not hashed again");
        const ready = await within(daemon.waitFor((l) => l.event === "ready"), 20_000, "ready");
        const hashed = Number(ready.hashed);
        ok(
          hashed > 0 && hashed < meta.pieceCount,
          `after kill -9, ${hashed} of ${meta.pieceCount} pieces hashed (the journal's)`,
        );
        strictEqual(Number(ready.trusted) + hashed <= meta.pieceCount, true);
        await trick.restore();
        const leftAtStart = detail.selectedSize - detail.doneSize;
        const done = await within(
          events.next((e) => e.event === "complete"),
          90_000,
          "complete after kill -9",
        );
        ok(
          done.data.torrent.downloaded <= leftAtStart + 16 * meta.pieceLength,
          `fetched ${done.data.torrent.downloaded} bytes for ${leftAtStart} missing`,
        );
        await sameTree(join(root, "seed", "pack", "big.bin"), join(data, "pack", "big.bin"));
        await sameTree(join(root, "seed", "pack", "notes.txt"), join(data, "pack", "notes.txt"));
        let unwanted = true;
        await Deno.stat(join(data, "pack", "unwanted.bin")).catch(() => (unwanted = false));
        ok(!unwanted, "a skipped file is never created");
        await events[Symbol.asyncDispose]();
        const stopped = stoppedAnnounce(tracker.announces.length);
        daemon.signal("SIGTERM");
        strictEqual((await daemon.status).code, 0);
        await within(stopped, 5_000, "stopped announce");
      } finally {
        await daemon[Symbol.asyncDispose]();
      }

      // Run 4: seeding at once, no hashing; recheck on request; then remove it.
      daemon = await DaemonProcess.start(args);
      try {
        await using events = await EventReader.open(daemon.url);
        await within(
          events.next((e) =>
            (e.event === "torrents" && e.data[0]?.state === "seeding") ||
            (e.event === "state" && e.data.state === "seeding")
          ),
          20_000,
          "seeding after a clean restart",
        );
        deepStrictEqual(daemon.lines.filter((l) => l.event === "checking"), []);
        const ready = await within(daemon.waitFor((l) => l.event === "ready"), 20_000, "ready");
        strictEqual(ready.hashed, 0, "a clean restart hashes nothing");
        strictEqual((await call(daemon.url, "POST", `/torrents/${hash}/recheck`)).status, 200);
        await within(daemon.waitFor((l) => l.event === "checking"), 10_000, "recheck hashes");
        await within(
          events.next((e) => e.event === "state" && e.data.state === "seeding"),
          30_000,
          "seeding after the recheck",
        );
        const removed = await call(daemon.url, "DELETE", `/torrents/${hash}`);
        strictEqual(removed.status, 200);
        strictEqual((await call(daemon.url, "GET", "/torrents")).body.length, 0);
        const list = JSON.parse(await Deno.readTextFile(join(root, "state", "torrents.json")));
        deepStrictEqual(list.torrents, []);
        await Deno.stat(join(data, "pack", "big.bin")); // kept: removed without deleteData
      } finally {
        await daemon[Symbol.asyncDispose]();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
  { timeoutMs: 180_000 },
);

interopTest(
  "the daemon adds a magnet link, fetches its info from libtorrent, and a restart fetches nothing again",
  ["libtorrent"],
  async () => {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "shoal-daemon-magnet-" }));
    try {
      await using tracker = new FixedTracker();
      await makePayload(join(root, "seed", "tune"), [{ path: "tune.bin", size: 2 * MiB }]);
      const torrentPath = join(root, "tune.torrent");
      await libtorrentCreate(join(root, "seed", "tune"), torrentPath, { pieceLength: 32768 });
      const hash = parseTorrent(await Deno.readFile(torrentPath)).infoHashHex;
      await using seeder = await startLibtorrent({
        torrent: torrentPath,
        dir: join(root, "seed"),
        seed: true,
      });
      tracker.peers = [{ host: "127.0.0.1", port: seeder.port }];
      const magnet = `magnet:?xt=urn:btih:${hash}&dn=tune&tr=${encodeURIComponent(tracker.url)}`;
      const args = [
        "--http",
        "127.0.0.1:0",
        "-o",
        join(root, "data"),
        "--state-dir",
        join(root, "state"),
        "--port",
        "0",
        "--listen-host",
        "127.0.0.1",
      ];
      let daemon = await DaemonProcess.start(args);
      try {
        await using events = await EventReader.open(daemon.url);
        strictEqual(
          (await call(daemon.url, "POST", "/torrents", { json: { magnet } })).status,
          201,
        );
        const fetched = await within(
          events.next((e) => e.event === "metainfo"),
          30_000,
          "info fetched",
        );
        strictEqual(fetched.data.torrent.name, "tune");
        strictEqual(fetched.data.torrent.hasMetadata, true);
        await within(events.next((e) => e.event === "complete"), 60_000, "magnet complete");
      } finally {
        await daemon[Symbol.asyncDispose]();
      }
      await Deno.stat(join(root, "state", "torrents", `${hash}.torrent`));
      const list = JSON.parse(await Deno.readTextFile(join(root, "state", "torrents.json")));
      strictEqual(list.torrents[0].source, "torrent");
      strictEqual(list.torrents[0].magnet, undefined);
      // With the only peer gone, the info can only come from the state folder.
      await seeder[Symbol.asyncDispose]();
      daemon = await DaemonProcess.start(args);
      try {
        const detail = (await call(daemon.url, "GET", `/torrents/${hash}`)).body;
        strictEqual(detail.hasMetadata, true);
        strictEqual(detail.name, "tune");
        strictEqual(detail.files.length, 1);
        const ready = await within(
          daemon.waitFor((l) => l.event === "ready"),
          20_000,
          "ready from the stored info",
        );
        strictEqual(ready.hashed, 0, "nothing hashed after a clean stop");
        strictEqual(ready.have, detail.pieces.count);
        ok(!daemon.lines.some((l) => l.event === "metainfo"), "no info fetched again");
      } finally {
        await daemon[Symbol.asyncDispose]();
      }
      await sameTree(join(root, "seed", "tune"), join(root, "data", "tune"));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
  { timeoutMs: 120_000 },
);
