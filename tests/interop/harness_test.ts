import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import {
  freePort,
  freeUdpPort,
  interopTest,
  libtorrentCheck,
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
} from "./harness.ts";

const MIB = 1 << 20;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shoal-harness-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("freePort() and freeUdpPort() return bindable ports", async () => {
  const tcp = freePort();
  ok(tcp > 0 && tcp < 65536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: tcp });
  listener.close();
  const udp = await freeUdpPort();
  ok(udp > 0 && udp < 65536);
});

Deno.test("makePayload() is deterministic and sameTree() finds differences", async () => {
  await withTempDir(async (dir) => {
    const files = [{ path: "x/a.bin", size: 3 * MIB + 5 }, { path: "b.bin", size: 0 }, {
      path: "x/y/c.bin",
      size: 1000,
    }];
    await makePayload(`${dir}/one`, files, 7);
    await makePayload(`${dir}/two`, files, 7);
    equal((await Deno.stat(`${dir}/one/x/a.bin`)).size, 3 * MIB + 5);
    await sameTree(`${dir}/one`, `${dir}/two`);
    await sameTree(`${dir}/one/x/a.bin`, `${dir}/two/x/a.bin`);
    // A different seed gives different bytes.
    await makePayload(`${dir}/three`, files, 8);
    await rejects(sameTree(`${dir}/one`, `${dir}/three`), /differ at byte 0/);
    // One flipped byte late in a big file is found, with its offset.
    const path = `${dir}/two/x/a.bin`;
    using file = await Deno.open(path, { read: true, write: true });
    await file.seek(2 * MIB + 17, Deno.SeekMode.Start);
    const one = new Uint8Array(1);
    await file.read(one);
    await file.seek(2 * MIB + 17, Deno.SeekMode.Start);
    await file.write(new Uint8Array([one[0] ^ 1]));
    await rejects(sameTree(`${dir}/one`, `${dir}/two`), new RegExp(`byte ${2 * MIB + 17}`));
    // Extra and missing files are reported.
    await Deno.writeTextFile(`${dir}/three/extra`, "");
    await rejects(sameTree(`${dir}/one`, `${dir}/three`), /only in .*three: \[extra\]/);
  });
});

interopTest(
  "harness self-test (no shoal code): libtorrentCreate() and runMktorrent() agree on the info hash, libtorrentCheck() sees the data",
  ["libtorrent", "mktorrent"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/data/payload`, [
        { path: "a.bin", size: 3 * MIB + 12345 },
        { path: "sub/b.bin", size: 70_000 },
      ]);
      await libtorrentCreate(`${dir}/data/payload`, `${dir}/lt.torrent`, {
        pieceLength: 256 * 1024,
        trackers: ["http://127.0.0.1:1/announce"],
      });
      await runMktorrent(`${dir}/data/payload`, `${dir}/mk.torrent`, { pieceLengthLog2: 18 });
      const lt = await libtorrentInfo(`${dir}/lt.torrent`);
      const mk = await libtorrentInfo(`${dir}/mk.torrent`);
      ok(/^[0-9a-f]{40}$/.test(lt.infoHash));
      equal(lt.infoHash, mk.infoHash);
      equal(lt.name, "payload");
      equal(lt.pieceLength, 256 * 1024);
      equal(lt.totalSize, 3 * MIB + 12345 + 70_000);
      equal(lt.numPieces, Math.ceil(lt.totalSize / lt.pieceLength));
      deepStrictEqual(lt.files, [
        { path: "payload/a.bin", size: 3 * MIB + 12345, pad: false },
        { path: "payload/sub/b.bin", size: 70_000, pad: false },
      ]);
      // A private torrent has a different info hash.
      await runMktorrent(`${dir}/data/payload`, `${dir}/mk.torrent`, {
        pieceLengthLog2: 18,
        private: true,
      });
      ok((await libtorrentInfo(`${dir}/mk.torrent`)).infoHash !== lt.infoHash);

      deepStrictEqual(await libtorrentCheck(`${dir}/lt.torrent`, `${dir}/data`), {
        numPieces: lt.numPieces,
        validPieces: lt.numPieces,
      });
      // One flipped byte spoils exactly one piece.
      using file = await Deno.open(`${dir}/data/payload/a.bin`, { read: true, write: true });
      await file.seek(MIB, Deno.SeekMode.Start);
      const one = new Uint8Array(1);
      await file.read(one);
      await file.seek(MIB, Deno.SeekMode.Start);
      await file.write(new Uint8Array([one[0] ^ 0x80]));
      deepStrictEqual(await libtorrentCheck(`${dir}/lt.torrent`, `${dir}/data`), {
        numPieces: lt.numPieces,
        validPieces: lt.numPieces - 1,
      });
      deepStrictEqual(await libtorrentCheck(`${dir}/lt.torrent`, `${dir}/nothing`), {
        numPieces: lt.numPieces,
        validPieces: 0,
      });
    });
  },
);

interopTest(
  "harness self-test (no shoal code): libtorrent seeder -> libtorrent downloader over a direct connection",
  ["libtorrent"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/seed/pl`, [
        { path: "one.bin", size: 3 * MIB },
        { path: "two/three.bin", size: MIB + 333 },
      ]);
      await libtorrentCreate(`${dir}/seed/pl`, `${dir}/t.torrent`, { pieceLength: 64 * 1024 });
      await using seeder = await startLibtorrent({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/seed`,
        seed: true,
      });
      ok(seeder.port > 0);
      await using leecher = await startLibtorrent({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/get`,
        seed: false,
        peers: [{ host: "127.0.0.1", port: seeder.port }],
      });
      await leecher.waitComplete(20_000);
      const status = await leecher.status();
      equal(status.progress, 1);
      ok(status.downloaded >= 4 * MIB + 333, `downloaded ${status.downloaded}`);
      await sameTree(`${dir}/seed/pl`, `${dir}/get/pl`);
      ok((await seeder.status()).uploaded >= 4 * MIB + 333);
    });
  },
);

interopTest(
  "harness self-test (no shoal code): aria2c downloads from a libtorrent seeder found through opentracker",
  ["libtorrent", "aria2c", "opentracker"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/seed`, [{ path: "single.bin", size: 2 * MIB + 99 }], 3);
      await using tracker = await startOpentracker([]);
      await libtorrentCreate(`${dir}/seed/single.bin`, `${dir}/t.torrent`, {
        pieceLength: 32 * 1024,
        trackers: [tracker.httpUrl],
      });
      const info = await libtorrentInfo(`${dir}/t.torrent`);
      await tracker.addInfoHash(info.infoHash);
      await using _seeder = await startLibtorrent({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/seed`,
        seed: true,
      });
      // Wait until the seeder has announced itself, so aria2's first announce finds it.
      const probe = `${tracker.httpUrl}?info_hash=${info.infoHash.replace(/../g, "%$&")}` +
        `&peer_id=-SH0000-harnessprobe&port=1&uploaded=0&downloaded=0&left=1&compact=1` +
        `&event=stopped`;
      const deadline = Date.now() + 10_000;
      while (!(await (await fetch(probe)).text()).includes("8:completei1e")) {
        ok(Date.now() < deadline, "libtorrent never announced to opentracker");
        await new Promise((r) => setTimeout(r, 100));
      }
      await using aria = await startAria2({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/get`,
        seed: false,
      });
      equal(await aria.exited, 0, await aria.output);
      await sameTree(`${dir}/seed/single.bin`, `${dir}/get/single.bin`);
    });
  },
);

interopTest(
  "harness self-test (no shoal code): aria2c downloads from a libtorrent seeder given as a direct peer",
  ["libtorrent", "aria2c"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/seed/pl`, [{ path: "a", size: MIB }, { path: "b/c", size: 5 }]);
      await libtorrentCreate(`${dir}/seed/pl`, `${dir}/t.torrent`, { pieceLength: 16 * 1024 });
      await using seeder = await startLibtorrent({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/seed`,
        seed: true,
      });
      await using aria = await startAria2({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/get`,
        seed: false,
        peers: [{ host: "127.0.0.1", port: seeder.port }],
      });
      equal(await aria.exited, 0, await aria.output);
      await sameTree(`${dir}/seed/pl`, `${dir}/get/pl`);
    });
  },
);

interopTest(
  "harness self-test (no shoal code): libtorrent downloads from an aria2c seeder",
  ["libtorrent", "aria2c"],
  async () => {
    await withTempDir(async (dir) => {
      await makePayload(`${dir}/seed/pl`, [{ path: "a", size: MIB + 1 }], 5);
      await libtorrentCreate(`${dir}/seed/pl`, `${dir}/t.torrent`, { pieceLength: 16 * 1024 });
      await using aria = await startAria2({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/seed`,
        seed: true,
      });
      await using leecher = await startLibtorrent({
        torrent: `${dir}/t.torrent`,
        dir: `${dir}/get`,
        seed: false,
      });
      // aria2 needs a moment to listen; keep knocking.
      const deadline = Date.now() + 20_000;
      while ((await leecher.status()).progress < 1) {
        ok(Date.now() < deadline, JSON.stringify(await leecher.status()));
        await leecher.connect("127.0.0.1", aria.port);
        await new Promise((r) => setTimeout(r, 500));
      }
      await leecher.waitComplete(10_000);
      await sameTree(`${dir}/seed/pl`, `${dir}/get/pl`);
    });
  },
);

interopTest(
  "harness self-test (no shoal code): opentracker answers a whitelisted info hash and refuses another",
  ["opentracker"],
  async () => {
    const allowed = "0123456789abcdef0123456789abcdef01234567";
    const other = "89abcdef0123456789abcdef0123456789abcdef";
    await using tracker = await startOpentracker([allowed]);
    ok(tracker.pid > 0);
    equal(tracker.httpUrl, `http://127.0.0.1:${tracker.port}/announce`);
    equal(tracker.udpUrl, `udp://127.0.0.1:${tracker.port}/announce`);
    const announce = async (hex: string, port: number): Promise<string> => {
      const url = `${tracker.httpUrl}?info_hash=${hex.replace(/../g, "%$&")}` +
        `&peer_id=-SH0000-000000000000&port=${port}&uploaded=0&downloaded=0&left=0&compact=1`;
      return await (await fetch(url)).text();
    };
    const yes = await announce(allowed, 6881);
    ok(yes.startsWith("d") && yes.includes("8:interval"), yes);
    ok(yes.includes("8:completei1e"), yes);
    const no = await announce(other, 6881);
    ok(no.includes("not authorized"), no);
    await tracker.addInfoHash(other);
    const now = await announce(other, 6882);
    ok(now.includes("8:interval") && !now.includes("not authorized"), now);
  },
);

interopTest("harness self-test (no shoal code): a failing program is reported with its output", [
  "libtorrent",
], async () => {
  await rejects(libtorrentInfo("/nonexistent.torrent"), /exit code/);
});

Deno.test("runShoal() runs cli.ts and returns its exit code and output", async () => {
  const result = await runShoal(["--help"], { timeoutMs: 30_000 });
  equal(result.code, 0, result.stderr);
  ok(result.stdout.includes("Usage:"), result.stdout);
  equal(result.stderr, "");
  const bad = await runShoal(["no-such-command"], { timeoutMs: 30_000 });
  equal(bad.code, 2);
  ok(bad.stderr.includes('unknown command "no-such-command"'), bad.stderr);
});

Deno.test("runShoal() kills a run that exceeds its time limit", async () => {
  await rejects(runShoal(["--help"], { timeoutMs: 1 }), /timed out after 1 ms/);
});

Deno.test("startShoal() streams stdout lines and reports the exit code", async () => {
  await using shoal = startShoal(["--help"]);
  ok(shoal.pid > 0);
  const lines: string[] = [];
  for await (const line of shoal.lines) lines.push(line);
  ok(lines.some((line) => line.startsWith("Usage:")), lines.join("\n"));
  equal(await shoal.exited, 0);
  equal(await shoal.stderr, "");
});

Deno.test("startShoal() is stopped by kill() and dispose is idempotent", async () => {
  const shoal = startShoal(["seed", "/nonexistent.torrent"]);
  shoal.kill("SIGKILL");
  const code = await shoal.exited;
  ok(code !== 0, `killed: exit ${code}`);
  await shoal[Symbol.asyncDispose]();
  await shoal[Symbol.asyncDispose]();
});
