/**
 * shoal DOWNLOADING from real BitTorrent programs on 127.0.0.1: libtorrent and aria2c seeders,
 * found directly (`--peer`) or through opentracker over HTTP and UDP, a download resumed after
 * the shoal process is killed, and a seeder that sends wrong data. Every test drives shoal's
 * CLI (`shoal download --json`) and checks the bytes on disk against the seeders' copy.
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseTorrent, type SessionEvent } from "../../mod.ts";
import {
  interopTest,
  libtorrentCreate,
  libtorrentInfo,
  makePayload,
  runMktorrent,
  runShoal,
  sameTree,
  startAria2,
  startLibtorrent,
  startOpentracker,
  startShoal,
  type Tracker,
} from "./harness.ts";

const MIB = 1 << 20;
const TEST_TIMEOUT_MS = 90_000;
const SHOAL_RUN_LIMIT_MS = 75_000;

/** Files of the multi-file payload: an empty file, nested folders, sizes off piece bounds. */
const MULTI_FILES = [
  { path: "a.bin", size: 3 * MIB + 12_345 },
  { path: "empty.txt", size: 0 },
  { path: "docs/readme.txt", size: 1_000 },
  { path: "docs/deep/er/b.bin", size: 2 * MIB + 77 },
  { path: "docs/deep/tiny.bin", size: 17 },
  { path: "z/c.bin", size: 4 * MIB - 3 },
];

/**
 * `shoal download` arguments: loopback only, JSON events, any free port. With `peers` it dials
 * those ports directly and skips the torrent's trackers; without, it uses the trackers.
 */
function downloadArgs(torrent: string, out: string, peers: number[] = []): string[] {
  const direct = peers.flatMap((port) => ["--peer", `127.0.0.1:${port}`]);
  return [
    "download",
    torrent,
    "-o",
    out,
    ...direct,
    ...(peers.length > 0 ? ["--no-trackers"] : []),
    "--port",
    "0",
    "--listen-host",
    "127.0.0.1",
    "--json",
  ];
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shoal-download-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses `shoal --json` output: one SessionEvent per line, anything else is an error. */
function parseEvents(stdout: string): SessionEvent[] {
  return stdout.split("\n").filter((text) => text.trim() !== "").map((text) => {
    try {
      return JSON.parse(text) as SessionEvent;
    } catch {
      throw new Error(`shoal --json printed a line that is not JSON: ${text}`);
    }
  });
}

type EventOf<T extends SessionEvent["type"]> = Extract<SessionEvent, { type: T }>;

function eventsOf<T extends SessionEvent["type"]>(
  events: SessionEvent[],
  type: T,
): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

/** The printable start of a hex peer id, e.g. "-LT2080-" for libtorrent, "A2-1-36-0-" for aria2. */
function peerIdText(hex: string): string {
  let text = "";
  for (let i = 0; i + 2 <= hex.length; i += 2) {
    const code = parseInt(hex.slice(i, i + 2), 16);
    if (code < 0x20 || code > 0x7e) break;
    text += String.fromCharCode(code);
  }
  return text;
}

/** Asserts a finished `shoal download --json` run: exit 0, one complete event, all pieces. */
function assertCompleted(
  run: { code: number; stdout: string; stderr: string },
  pieceCount: number,
): SessionEvent[] {
  strictEqual(run.code, 0, `shoal exited with ${run.code}\nstderr: ${run.stderr}`);
  const events = parseEvents(run.stdout);
  const complete = eventsOf(events, "complete");
  strictEqual(complete.length, 1, `complete events: ${JSON.stringify(complete)}`);
  const pieces = new Set(eventsOf(events, "piece").map((e) => e.index));
  const ready = eventsOf(events, "ready")[0];
  ok(ready, "no ready event");
  strictEqual(ready.pieceCount, pieceCount);
  strictEqual(pieces.size + ready.have, pieceCount, "pieces reported do not add up");
  return events;
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForTcp(port: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`Nothing listens on 127.0.0.1:${port} after ${limitMs} ms`, {
          cause: error,
        });
      }
      await delay(100);
    }
  }
}

/**
 * Waits until opentracker counts `seeders` complete peers for the torrent (HTTP scrape, which
 * adds no peer of its own), so a downloader announcing next is told about every seeder.
 */
async function waitForSeeders(
  tracker: Tracker,
  infoHashHex: string,
  seeders: number,
  limitMs: number,
): Promise<void> {
  const url = `http://127.0.0.1:${tracker.port}/scrape?info_hash=${
    infoHashHex.replace(/../g, (pair) => `%${pair}`)
  }`;
  const deadline = Date.now() + limitMs;
  let last = "";
  while (true) {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    last = String.fromCharCode(...bytes);
    const complete = /8:completei(\d+)e/.exec(last);
    if (complete && Number(complete[1]) >= seeders) return;
    if (Date.now() > deadline) {
      throw new Error(`opentracker saw fewer than ${seeders} seeders in ${limitMs} ms: ${last}`);
    }
    await delay(200);
  }
}

// ---------------------------------------------------------------------------------------------

interopTest(
  "shoal downloads a single-file libtorrent torrent from a libtorrent seeder given by --peer",
  ["libtorrent"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/seed`, [{ path: "single.bin", size: 9 * MIB + 4321 }]);
      const torrent = `${dir}/single.torrent`;
      await libtorrentCreate(`${dir}/seed/single.bin`, torrent, { pieceLength: 256 * 1024 });
      const info = await libtorrentInfo(torrent);
      await using seeder = await startLibtorrent({ torrent, dir: `${dir}/seed`, seed: true });
      const run = await runShoal(downloadArgs(torrent, `${dir}/get`, [seeder.port]), {
        timeoutMs: SHOAL_RUN_LIMIT_MS,
      });
      const events = assertCompleted(run, info.numPieces);
      await sameTree(`${dir}/seed/single.bin`, `${dir}/get/single.bin`);
      const from = new Set(eventsOf(events, "piece").flatMap((e) => e.from.map(peerIdText)));
      ok([...from].every((id) => id.startsWith("-LT")), `pieces from ${[...from]}`);
      const seeded = await seeder.status();
      ok(seeded.uploaded >= info.totalSize, `libtorrent uploaded only ${seeded.uploaded}`);
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

/** A torrent shape for the tracker tests: its name (file or top folder) and its files. */
interface TrackerPayload {
  layout: "single-file" | "multi-file";
  /** The torrent's name: the file itself, or the folder holding `files`. */
  name: string;
  /** Files, relative to the folder `name` for a multi-file torrent; just `name` for one file. */
  files: { path: string; size: number }[];
}

const TRACKER_PAYLOADS: TrackerPayload[] = [
  // Off a 64 KiB piece bound, so the last piece is short.
  {
    layout: "single-file",
    name: "single.bin",
    files: [{ path: "single.bin", size: 9 * MIB + 4321 }],
  },
  { layout: "multi-file", name: "payload", files: MULTI_FILES },
];

for (const protocol of ["http", "udp"] as const) {
  for (const shape of TRACKER_PAYLOADS) {
    interopTest(
      `shoal finds a libtorrent and an aria2c seeder through opentracker over ${protocol.toUpperCase()}` +
        ` and downloads a ${shape.layout} mktorrent torrent from both`,
      ["libtorrent", "aria2c", "opentracker", "mktorrent"],
      async () => {
        await withTempDir(async (dir) => {
          const multi = shape.layout === "multi-file";
          // Two copies of the same data, one per seeder, and a pristine one to compare with.
          for (const copy of ["orig", "lt", "aria"]) {
            await makePayload(
              multi ? `${dir}/${copy}/${shape.name}` : `${dir}/${copy}`,
              shape.files,
            );
          }
          await using tracker = await startOpentracker([]);
          const url = protocol === "http" ? tracker.httpUrl : tracker.udpUrl;
          const torrent = `${dir}/${shape.layout}.torrent`;
          // 64 KiB pieces: the small files share pieces with their neighbours.
          await runMktorrent(`${dir}/orig/${shape.name}`, torrent, {
            pieceLengthLog2: 16,
            trackers: [url],
          });
          const info = await libtorrentInfo(torrent);
          strictEqual(info.name, shape.name);
          strictEqual(info.files.filter((f) => !f.pad).length, shape.files.length);
          const meta = parseTorrent(await Deno.readFile(torrent));
          strictEqual(meta.multiFile, multi, `mktorrent made a ${shape.layout} torrent`);
          strictEqual(meta.infoHashHex, info.infoHash);
          deepStrictEqual(meta.announce, [[url]]);
          await tracker.addInfoHash(info.infoHash);
          // Both seeders are rate limited (either alone would need over 2 s for the payload), so
          // neither can serve it all before the other one's first blocks arrive.
          await using lt = await startLibtorrent({
            torrent,
            dir: `${dir}/lt`,
            seed: true,
            uploadLimit: 4 * MIB,
          });
          // aria2c 1.36 announces over UDP only through its DHT socket ("udp is not supported
          // yet" with DHT off), so it joins the same opentracker swarm over HTTP instead. The
          // torrent itself lists only `url`: shoal has to use that protocol.
          await using aria = await startAria2({
            torrent,
            dir: `${dir}/aria`,
            seed: true,
            extraArgs: [
              "--max-upload-limit=4M",
              ...protocol === "udp"
                ? [`--bt-tracker=${tracker.httpUrl}`, `--bt-exclude-tracker=${tracker.udpUrl}`]
                : [],
            ],
          });
          await waitForSeeders(tracker, info.infoHash, 2, 30_000);
          const run = await runShoal(downloadArgs(torrent, `${dir}/get`), {
            timeoutMs: SHOAL_RUN_LIMIT_MS,
          });
          const events = assertCompleted(run, info.numPieces);
          // A single-file torrent lands as the file itself, a multi-file one as its folder.
          await sameTree(`${dir}/orig/${shape.name}`, `${dir}/get/${shape.name}`);
          strictEqual((await Deno.stat(`${dir}/get/${shape.name}`)).isDirectory, multi);
          const peerLog = JSON.stringify(eventsOf(events, "peer"));
          // shoal dialled both addresses the tracker gave it.
          const connected = eventsOf(events, "peer").filter((e) => e.change === "connected")
            .map((e) => e.address);
          for (const port of [lt.port, aria.port]) {
            ok(
              connected.includes(`127.0.0.1:${port}`),
              `no connection to 127.0.0.1:${port}: ${peerLog}`,
            );
          }
          // Both seeders delivered pieces (contributors are hex peer ids).
          const perClient = new Map<string, number>();
          for (const piece of eventsOf(events, "piece")) {
            for (const id of piece.from) {
              const client = peerIdText(id).slice(0, 3);
              perClient.set(client, (perClient.get(client) ?? 0) + 1);
            }
          }
          const tally = JSON.stringify([...perClient]);
          ok(perClient.has("-LT"), `no piece from libtorrent: ${tally}; peers: ${peerLog}`);
          ok(perClient.has("A2-"), `no piece from aria2c: ${tally}; peers: ${peerLog}`);
        });
      },
      { timeoutMs: TEST_TIMEOUT_MS },
    );
  }
}

interopTest(
  "shoal resumes after being killed mid-download and fetches only the missing pieces",
  ["libtorrent"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/seed/payload`, [
        { path: "one.bin", size: 5 * MIB + 999 },
        { path: "sub/two.bin", size: 3 * MIB + 1 },
      ]);
      const torrent = `${dir}/resume.torrent`;
      await libtorrentCreate(`${dir}/seed/payload`, torrent, { pieceLength: 128 * 1024 });
      const info = await libtorrentInfo(torrent);
      await using seeder = await startLibtorrent({
        torrent,
        dir: `${dir}/seed`,
        seed: true,
        uploadLimit: MIB,
      });
      const args = downloadArgs(torrent, `${dir}/get`, [seeder.port]);
      // First run: kill it (no chance to save anything) once a quarter of the pieces are in.
      const verifiedBeforeKill = new Set<number>();
      {
        await using first = startShoal(args, { timeoutMs: SHOAL_RUN_LIMIT_MS });
        for await (const text of first.lines) {
          const event = JSON.parse(text) as SessionEvent;
          ok(event.type !== "complete", "the first run finished before it could be killed");
          if (event.type === "piece") verifiedBeforeKill.add(event.index);
          if (verifiedBeforeKill.size >= info.numPieces / 4) break;
        }
        first.kill("SIGKILL");
        if (verifiedBeforeKill.size < info.numPieces / 4) {
          throw new Error(
            `first run ended after ${verifiedBeforeKill.size} pieces: ${await first.stderr}`,
          );
        }
        strictEqual(await first.exited, 137);
      }
      // Second run, same folder, unthrottled: it must find those pieces and complete.
      await using seeder2 = await startLibtorrent({ torrent, dir: `${dir}/seed`, seed: true });
      const secondArgs = args.map((a) =>
        a === `127.0.0.1:${seeder.port}` ? `127.0.0.1:${seeder2.port}` : a
      );
      const run = await runShoal(secondArgs, { timeoutMs: SHOAL_RUN_LIMIT_MS });
      const events = assertCompleted(run, info.numPieces);
      await sameTree(`${dir}/seed/payload`, `${dir}/get/payload`);
      const ready = eventsOf(events, "ready")[0];
      ok(
        ready.have >= verifiedBeforeKill.size,
        `second run found ${ready.have} pieces, the first had verified ${verifiedBeforeKill.size}`,
      );
      // What the first run recorded (resume data, piece journal) was used: the check hashed
      // only the pieces recorded as verified (a handful may have verified between the last
      // event read and the kill), never every piece that has bytes on disk.
      ok(
        ready.hashed <= verifiedBeforeKill.size + 8,
        `the restart hashed ${ready.hashed} pieces; the first run verified ${verifiedBeforeKill.size}`,
      );
      ok(ready.hashed + ready.trusted >= ready.have, "every piece found was hashed or trusted");
      const pieces = eventsOf(events, "piece").map((e) => e.index);
      for (const index of pieces) {
        ok(!verifiedBeforeKill.has(index), `piece ${index} was downloaded twice`);
      }
      const downloaded = eventsOf(events, "complete")[0].downloaded;
      ok(downloaded < info.totalSize, `downloaded ${downloaded} of ${info.totalSize} bytes again`);
      ok(
        downloaded <= (info.numPieces - ready.have) * info.pieceLength,
        `downloaded ${downloaded} bytes for ${info.numPieces - ready.have} missing pieces`,
      );
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "shoal downloads from an aria2c seeder alone, given by --peer",
  ["libtorrent", "aria2c"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/seed/payload`, [
        { path: "x.bin", size: 6 * MIB + 5 },
        { path: "y/z.bin", size: 300_000 },
      ]);
      const torrent = `${dir}/aria.torrent`;
      await libtorrentCreate(`${dir}/seed/payload`, torrent, { pieceLength: 256 * 1024 });
      const info = await libtorrentInfo(torrent);
      await using aria = await startAria2({ torrent, dir: `${dir}/seed`, seed: true });
      await waitForTcp(aria.port, 30_000);
      const run = await runShoal(downloadArgs(torrent, `${dir}/get`, [aria.port]), {
        timeoutMs: SHOAL_RUN_LIMIT_MS,
      });
      const events = assertCompleted(run, info.numPieces);
      await sameTree(`${dir}/seed/payload`, `${dir}/get/payload`);
      const from = new Set(eventsOf(events, "piece").flatMap((e) => e.from.map(peerIdText)));
      ok(
        [...from].length > 0 && [...from].every((id) => id.startsWith("A2-")),
        `from ${[...from]}`,
      );
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "shoal rejects the pieces of an aria2c seeder with wrong data and completes from libtorrent",
  ["libtorrent", "aria2c"],
  async () => {
    await withTempDir(async (dir) => {
      const files = [{ path: "p.bin", size: 6 * MIB + 333 }, { path: "q/r.bin", size: 500_000 }];
      await makePayload(`${dir}/good/payload`, files);
      // Same names and sizes, other bytes: aria2c seeds it unverified and sends only garbage.
      await makePayload(`${dir}/bad/payload`, files, 2);
      const torrent = `${dir}/liar.torrent`;
      await libtorrentCreate(`${dir}/good/payload`, torrent, { pieceLength: 64 * 1024 });
      const info = await libtorrentInfo(torrent);
      await using liar = await startAria2({ torrent, dir: `${dir}/bad`, seed: true });
      await waitForTcp(liar.port, 30_000);
      // The honest seeder is slow, so the liar gets asked for pieces too.
      await using honest = await startLibtorrent({
        torrent,
        dir: `${dir}/good`,
        seed: true,
        uploadLimit: 2 * MIB,
      });
      const run = await runShoal(
        downloadArgs(torrent, `${dir}/get`, [liar.port, honest.port]),
        { timeoutMs: SHOAL_RUN_LIMIT_MS },
      );
      const events = assertCompleted(run, info.numPieces);
      await sameTree(`${dir}/good/payload`, `${dir}/get/payload`);
      const failures = eventsOf(events, "warning").filter((e) => /SHA-1/.test(e.message));
      ok(failures.length > 0, "aria2c's garbage never reached shoal: the test proved nothing");
      for (const piece of eventsOf(events, "piece")) {
        const clients = piece.from.map(peerIdText);
        ok(
          !clients.some((id) => id.startsWith("A2-")),
          `piece ${piece.index} passed with blocks from aria2c: ${clients}`,
        );
      }
      const liarGone = eventsOf(events, "peer").some((e) =>
        e.change === "disconnected" && e.address === `127.0.0.1:${liar.port}`
      );
      ok(liarGone, "shoal kept the peer that sent bad pieces");
      // The honest seeder must not pay for pieces the liar polluted: never banned, and still
      // connected while shoal needed pieces. Once the last piece is in, shoal is a seed too and
      // libtorrent may close the seed-to-seed connection ("connection closed"): that is fine.
      const honest127 = `127.0.0.1:${honest.port}`;
      const banned = eventsOf(events, "warning").filter((e) => e.message.includes(honest127));
      strictEqual(banned.length, 0, `warnings about the honest seeder: ${JSON.stringify(banned)}`);
      const lastPiece = events.findLastIndex((e) => e.type === "piece");
      const honestDropped = events.slice(0, lastPiece).filter((e) =>
        e.type === "peer" && e.change === "disconnected" && e.address === honest127
      );
      strictEqual(
        honestDropped.length,
        0,
        `honest seeder dropped before the download completed: ${JSON.stringify(honestDropped)}`,
      );
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
