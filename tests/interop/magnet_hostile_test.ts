// Interop: a magnet's metadata fetched beside hostile peers (tests/fake_peer.ts) and an honest
// libtorrent seeder (python3-libtorrent 2.0.8) on 127.0.0.1: each hostile peer is dropped for
// what it did and the magnet completes from libtorrent; a liar whose bad piece lands in the same
// attempt as libtorrent's good ones does not get libtorrent blamed.
import { ok, strictEqual } from "node:assert/strict";
import { Client } from "../../src/client/client.ts";
import { METADATA_PIECE_SIZE } from "../../src/wire/metadata.ts";
import { FakePeer, type FakePeerMode } from "../fake_peer.ts";
import {
  EventLog,
  LOOPBACK,
  ltTorrent,
  magnetUri,
  within,
  withTempDir,
} from "./client_interop_util.ts";
import { DelayRelay } from "./delay_relay.ts";
import { interopTest, sameTree, startLibtorrent } from "./harness.ts";

const TEST_TIMEOUT_MS = 60_000;
const DONE_LIMIT_MS = 30_000;

/** Each hostile mode and the drop reason it must earn. */
const HOSTILE: [FakePeerMode, RegExp][] = [
  ["wrong-bytes", /info dictionary that failed its SHA-1 check/],
  ["oversize", /total_size \d+, over the \d+-byte cap/],
  ["size-change", /changed total_size from \d+ to \d+ between pieces/],
  ["past-end", /piece \d+ is past total_size \d+/],
  ["short-piece", /piece \d+ has \d+ bytes, expected \d+/],
  ["reject-all", /reject storm/],
  ["unrequested", /sent piece \d+, never asked of it/],
];

/** Files with long names: an info dictionary of `count * ~215` bytes. */
function longNames(count: number): { path: string; size: number }[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `f-${i}-${"n".repeat(180)}.bin`,
    size: 100 + (i * 31) % 400,
  }));
}

interopTest(
  "hostile metadata peers are each dropped for what they did, then the magnet completes from an honest libtorrent seeder",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-magnet-hostile-", async (root) => {
      // 14+ ut_metadata pieces: every hostile peer is asked two at once.
      const t = await ltTorrent(root, "hostile", longNames(1_250), 32 * 1024, 101);
      const pieces = Math.ceil(t.meta.infoBytes.length / METADATA_PIECE_SIZE);
      ok(pieces >= 2 * HOSTILE.length, `${pieces} metadata pieces`);
      await using seeder = await startLibtorrent({
        torrent: t.torrent,
        dir: t.seedDir,
        seed: true,
      });
      const fakes: FakePeer[] = [];
      try {
        for (const [mode] of HOSTILE) {
          fakes.push(await FakePeer.listen({ infoBytes: t.meta.infoBytes, mode }));
        }
        await using client = new Client({
          dir: `${root}/get`,
          port: 0,
          listenHost: LOOPBACK,
          dht: false,
          stateDir: `${root}/state`,
        });
        const address = (i: number) => `${LOOPBACK}:${fakes[i].port}`;
        const magnet = magnetUri(t.meta.infoHashHex, { peers: fakes.map((_, i) => address(i)) });
        const torrent = await client.add(magnet, { seed: false });
        const log = new EventLog(torrent);
        // The hostile peers alone: each is asked, answers in its way, and is dropped for it.
        const reasonsOf = (i: number) =>
          log.disconnects().filter((d) => d.address === address(i)).map((d) => d.reason);
        await log.until(
          () => HOSTILE.every(([, pattern], i) => reasonsOf(i).some((r) => pattern.test(r))),
          DONE_LIMIT_MS,
          "every hostile peer dropped for its offence",
        ).catch((error) => {
          const got = HOSTILE.map(([mode], i) => `${mode}: ${JSON.stringify(reasonsOf(i))}`);
          throw new Error(`${error.message}\n${got.join("\n")}`);
        });
        strictEqual(torrent.state, "fetching-metadata");
        ok(log.of("warning").some((w) => /SHA-1/.test(w.message)), "the bad dictionary was seen");
        // The honest peer joins: the magnet completes.
        torrent.addPeer({ host: LOOPBACK, port: seeder.port });
        await within(torrent.done, DONE_LIMIT_MS, "the magnet completed");
        await sameTree(t.payload, `${root}/get/hostile`);
        await client.close();
        await log.ended;
      } finally {
        await Promise.all(fakes.map((f) => f[Symbol.asyncDispose]()));
      }
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "a liar's bad metadata piece in the same attempt as libtorrent's good ones: libtorrent is not blamed and the magnet completes",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-magnet-mixed-", async (root) => {
      // Three pieces; the liar corrupts the middle byte, which is in piece 1.
      const t = await ltTorrent(root, "mixed", longNames(180), 32 * 1024, 102);
      strictEqual(Math.ceil(t.meta.infoBytes.length / METADATA_PIECE_SIZE), 3);
      await using seeder = await startLibtorrent({
        torrent: t.torrent,
        dir: t.seedDir,
        seed: true,
      });
      await using liar = await FakePeer.listen({
        infoBytes: t.meta.infoBytes,
        mode: "wrong-bytes",
      });
      // The liar answers 400 ms late, so libtorrent takes piece 2 meanwhile.
      await using slow = new DelayRelay(liar.port, 400);
      await using client = new Client({
        dir: `${root}/get`,
        port: 0,
        listenHost: LOOPBACK,
        dht: false,
        stateDir: `${root}/state`,
      });
      const torrent = await client.add(
        magnetUri(t.meta.infoHashHex, { peers: [`${LOOPBACK}:${slow.port}`] }),
        { seed: false },
      );
      const log = new EventLog(torrent);
      await liar.until(
        (p) => p.requests().length >= 2,
        10_000,
        "the liar asked for pieces 0 and 1",
      );
      torrent.addPeer({ host: LOOPBACK, port: seeder.port });
      await within(torrent.done, DONE_LIMIT_MS, "the magnet completed");
      await sameTree(t.payload, `${root}/get/mixed`);
      ok(
        log.of("warning").some((w) => /metadata from 2 peer\(s\) failed its SHA-1/.test(w.message)),
        `the bad attempt mixed both peers: ${JSON.stringify(log.of("warning"))}`,
      );
      // libtorrent stayed connected through the metadata phase: not dropped with the liar.
      const metainfoAt = log.first((e) => e.type === "metainfo")!.seq;
      const dropped = log.records.filter((r) =>
        r.seq < metainfoAt && r.event.type === "peer" && r.event.change === "disconnected" &&
        r.event.address === `${LOOPBACK}:${seeder.port}`
      );
      strictEqual(dropped.length, 0, `libtorrent was dropped: ${JSON.stringify(dropped)}`);
      await client.close();
      await log.ended;
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
