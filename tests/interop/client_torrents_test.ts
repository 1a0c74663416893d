// Interop: one shoal Client, several torrents at once, against libtorrent (python3-libtorrent
// 2.0.8) on 127.0.0.1: two downloads through one port, then libtorrent leechers of each
// (plaintext and forced encryption) served by that same port; three downloads under a small
// memory budget.
import { ok, strictEqual } from "node:assert/strict";
import { Client } from "../../src/client/client.ts";
import { EventLog, LOOPBACK, ltTorrent, MIB, within, withTempDir } from "./client_interop_util.ts";
import { interopTest, type LtPeer, sameTree, startLibtorrent } from "./harness.ts";

const TEST_TIMEOUT_MS = 90_000;
const DOWNLOAD_LIMIT_MS = 45_000;

interopTest(
  "one client downloads two torrents at once through one port, then serves libtorrent leechers of each, plaintext and encrypted",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-client-two-", async (root) => {
      const a = await ltTorrent(
        root,
        "alpha",
        [
          { path: "a0.bin", size: 3 * MIB + 12_345 },
          { path: "sub/a1.bin", size: MIB - 7 },
        ],
        64 * 1024,
        11,
      );
      const b = await ltTorrent(
        root,
        "beta",
        [{ path: "b0.bin", size: 4 * MIB + 999 }],
        128 * 1024,
        22,
      );
      // Limited seeders keep both downloads running for about a second, so they overlap.
      const limit = 4 * MIB;
      const seederA = await startLibtorrent({
        torrent: a.torrent,
        dir: a.seedDir,
        seed: true,
        uploadLimit: limit,
      });
      const seederB = await startLibtorrent({
        torrent: b.torrent,
        dir: b.seedDir,
        seed: true,
        uploadLimit: limit,
      });
      await using client = new Client({
        dir: `${root}/get`,
        port: 0,
        listenHost: LOOPBACK,
        dht: false,
        stateDir: `${root}/state`,
      });
      const port = client.port!;
      ok(port > 0);
      const ta = await client.add(a.meta, { peers: [{ host: LOOPBACK, port: seederA.port }] });
      const tb = await client.add(b.meta, { peers: [{ host: LOOPBACK, port: seederB.port }] });
      const logA = new EventLog(ta), logB = new EventLog(tb);
      await within(Promise.all([ta.done, tb.done]), DOWNLOAD_LIMIT_MS, "both downloads done");
      await sameTree(a.payload, `${root}/get/alpha`);
      await sameTree(b.payload, `${root}/get/beta`);
      // At once: each torrent verified a piece before the other completed.
      const firstPiece = (log: EventLog) => log.first((e) => e.type === "piece")!.seq;
      const complete = (log: EventLog) => log.first((e) => e.type === "complete")!.seq;
      ok(firstPiece(logA) < complete(logB), "alpha had a piece before beta completed");
      ok(firstPiece(logB) < complete(logA), "beta had a piece before alpha completed");
      strictEqual(logA.pieces().length, a.meta.pieceCount);
      strictEqual(logB.pieces().length, b.meta.pieceCount);

      // The seeders go away; libtorrent leechers can only get the data from shoal's one port.
      await seederA[Symbol.asyncDispose]();
      await seederB[Symbol.asyncDispose]();
      const leechA = await startLibtorrent({
        torrent: a.torrent,
        dir: `${root}/leech-a`,
        seed: false,
        peers: [{ host: LOOPBACK, port }],
        encryption: { policy: "disabled" },
      });
      const leechB = await startLibtorrent({
        torrent: b.torrent,
        dir: `${root}/leech-b`,
        seed: false,
        peers: [{ host: LOOPBACK, port }],
        encryption: { policy: "forced", level: "rc4" },
      });
      await Promise.all([
        leechA.waitComplete(DOWNLOAD_LIMIT_MS),
        leechB.waitComplete(DOWNLOAD_LIMIT_MS),
      ]);
      await sameTree(a.payload, `${root}/leech-a/alpha`);
      await sameTree(b.payload, `${root}/leech-b/beta`);
      const [statusA, statusB] = [await leechA.status(), await leechB.status()];
      ok(statusA.downloaded >= a.meta.totalLength, `leecher A got ${statusA.downloaded}`);
      ok(statusB.downloaded >= b.meta.totalLength, `leecher B got ${statusB.downloaded}`);
      // shoal's own count of what it sent (progress comes twice a second).
      const sent = (log: EventLog, total: number) =>
        log.until(
          (l) => l.of("progress").some((e) => e.uploaded >= total),
          5_000,
          `a progress event saying ${total} bytes were uploaded`,
        );
      await Promise.all([sent(logA, a.meta.totalLength), sent(logB, b.meta.totalLength)]);
      await client.close();
      await Promise.all([logA.ended, logB.ended]);
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "three torrents at once from libtorrent stay within an 8 MiB memory budget with 1 MiB pieces",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-client-budget-", async (root) => {
      const torrents = await Promise.all([0, 1, 2].map((i) =>
        ltTorrent(
          root,
          `t${i}`,
          [
            { path: "x.bin", size: (5 + i) * MIB + 3_333 * i },
            { path: "y.bin", size: MIB / 2 + i },
          ],
          MIB,
          30 + i,
        )
      ));
      const seeders: LtPeer[] = [];
      for (const t of torrents) {
        seeders.push(await startLibtorrent({ torrent: t.torrent, dir: t.seedDir, seed: true }));
      }
      const limit = 8 * MIB;
      await using client = new Client({
        dir: `${root}/get`,
        port: 0,
        listenHost: LOOPBACK,
        dht: false,
        stateDir: `${root}/state`,
        maxMemoryBytes: limit,
      });
      strictEqual(client.budget.limit, limit);
      const added = await Promise.all(
        torrents.map((t, i) =>
          client.add(t.meta, { peers: [{ host: LOOPBACK, port: seeders[i].port }], seed: false })
        ),
      );
      await within(
        Promise.all(added.map((t) => t.done)),
        DOWNLOAD_LIMIT_MS,
        "three downloads done",
      );
      for (const t of torrents) await sameTree(t.payload, `${root}/get/${t.meta.name}`);
      const { peak } = client.budget;
      ok(peak > limit / 2, `peak ${peak}: the budget was never under pressure`);
      ok(peak <= limit, `peak ${peak} over the ${limit}-byte budget`);
      strictEqual(client.stats().memory.peak, peak);
      await client.close();
      strictEqual(client.budget.used, 0, "every byte drawn from the budget was given back");
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
