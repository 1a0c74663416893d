import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { concatBytes, equalBytes } from "../../src/bytes/bytes.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { sha1 } from "../../src/sha1/sha1.ts";
import { CREATED_BY, createTorrent, CreateTorrentError } from "../../src/storage/create_torrent.ts";
import { interopTest, libtorrentCheck, libtorrentInfo, makePayload } from "../interop/harness.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shoal_create_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function pieceHashesOf(data: Uint8Array, pieceLength: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += pieceLength) {
    parts.push(sha1(data.subarray(at, at + pieceLength)));
  }
  return concatBytes(parts);
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

Deno.test("createTorrent() makes a single-file torrent with correct piece hashes", async () => {
  await withTempDir(async (dir) => {
    const data = pattern(100_000, 1);
    await Deno.writeFile(`${dir}/data.bin`, data);
    const before = Math.floor(Date.now() / 1000);
    const bytes = await createTorrent(`${dir}/data.bin`, {
      pieceLength: 16384,
      trackers: [["http://127.0.0.1:6969/announce"]],
      comment: "test",
      private: true,
    });
    const t = parseTorrent(bytes);
    strictEqual(t.name, "data.bin");
    strictEqual(t.multiFile, false);
    strictEqual(t.totalLength, 100_000);
    strictEqual(t.pieceCount, 7);
    ok(equalBytes(t.pieceHashes, pieceHashesOf(data, 16384)));
    strictEqual(t.private, true);
    strictEqual(t.comment, "test");
    strictEqual(t.createdBy, CREATED_BY);
    strictEqual(CREATED_BY, "shoal/0.1.0");
    ok(t.creationDate! >= before && t.creationDate! <= Math.floor(Date.now() / 1000) + 1);
    deepStrictEqual(t.announce, [["http://127.0.0.1:6969/announce"]]);
  });
});

Deno.test("createTorrent() walks a folder, sorts by bytes, skips symlinks, hashes across files", async () => {
  await withTempDir(async (dir) => {
    const root = `${dir}/My Folder`;
    await Deno.mkdir(`${root}/sub/deeper`, { recursive: true });
    await Deno.mkdir(`${root}/B`, { recursive: true });
    const files: [string, Uint8Array][] = [
      ["a.bin", pattern(20_000, 2)],
      ["B/x.bin", pattern(5_000, 3)],
      ["empty", new Uint8Array(0)],
      ["sub/deeper/z.bin", pattern(40_001, 4)],
      ["sub/c.bin", pattern(1, 5)],
      ["é.txt", pattern(300, 6)],
    ];
    for (const [path, data] of files) await Deno.writeFile(`${root}/${path}`, data);
    await Deno.symlink(`${root}/a.bin`, `${root}/link.bin`);
    await Deno.symlink(`${root}/sub`, `${root}/linkdir`);
    const progress: number[] = [];
    const t = parseTorrent(
      await createTorrent(root, {
        pieceLength: 16384,
        onProgress: (hashed, total) => {
          strictEqual(total, 65_302);
          progress.push(hashed);
        },
      }),
    );
    strictEqual(t.name, "My Folder");
    strictEqual(t.multiFile, true);
    // Byte order: "B" (0x42) < "a" (0x61) < "empty" < "sub" < "é" (0xc3 0xa9); "sub/c.bin" < "sub/deeper".
    const order = ["B/x.bin", "a.bin", "empty", "sub/c.bin", "sub/deeper/z.bin", "é.txt"];
    deepStrictEqual(t.files.map((f) => f.path.slice(1).join("/")), order);
    const byPath = new Map(files);
    const all = concatBytes(order.map((p) => byPath.get(p)!));
    strictEqual(t.totalLength, all.length);
    ok(equalBytes(t.pieceHashes, pieceHashesOf(all, 16384)));
    strictEqual(progress.length, t.pieceCount);
    strictEqual(progress[progress.length - 1], all.length);
    ok(progress.every((n, i) => i === 0 || n > progress[i - 1]));
  });
});

Deno.test("createTorrent() picks a piece length when none is given", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, pattern(50_000, 7));
    strictEqual(parseTorrent(await createTorrent(`${dir}/f`)).pieceLength, 16384);
  });
});

Deno.test("createTorrent() names the folder for '.' sources", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/named`);
    await Deno.writeFile(`${dir}/named/f`, pattern(10, 8));
    strictEqual(parseTorrent(await createTorrent(`${dir}/named/.`)).name, "named");
    strictEqual(parseTorrent(await createTorrent(`${dir}/named/`)).name, "named");
  });
});

Deno.test("createTorrent() refuses a missing source, an empty folder and zero bytes", async () => {
  await withTempDir(async (dir) => {
    await rejects(createTorrent(`${dir}/nope`), (error: unknown) => {
      ok(error instanceof CreateTorrentError && error instanceof Error);
      strictEqual(error.name, "CreateTorrentError");
      strictEqual(error.message, `Cannot create torrent: ${dir}/nope does not exist`);
      strictEqual(error.source, `${dir}/nope`);
      return true;
    });
    await Deno.mkdir(`${dir}/empty/inner`, { recursive: true });
    await rejects(createTorrent(`${dir}/empty`), /Cannot create torrent: .* holds no files/);
    await Deno.writeFile(`${dir}/empty/inner/zero`, new Uint8Array(0));
    await rejects(createTorrent(`${dir}/empty`), /Cannot create torrent: .* holds 0 bytes/);
    await rejects(createTorrent(`${dir}/empty/inner/zero`), /holds 0 bytes/);
  });
});

Deno.test("createTorrent() stops when its signal aborts", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, pattern(200_000, 9));
    const controller = new AbortController();
    await rejects(
      createTorrent(`${dir}/f`, {
        pieceLength: 16384,
        signal: controller.signal,
        onProgress: (hashed) => {
          if (hashed >= 32768) controller.abort(new Error("stop here"));
        },
      }),
      /stop here/,
    );
    await rejects(createTorrent(`${dir}/f`, { signal: AbortSignal.abort() }));
  });
});

Deno.test("createTorrent() hashes pieces four at a time across files, the last group and piece short", async () => {
  await withTempDir(async (dir) => {
    const root = `${dir}/tree`;
    await Deno.mkdir(root);
    // 3 files, 11 pieces of 5000 bytes (the last one 1234): groups of 4, 4 and 3.
    const parts = [pattern(17_000, 1), pattern(1, 2), pattern(51_234 - 17_001, 3)];
    for (const [i, part] of parts.entries()) await Deno.writeFile(`${root}/${i}.bin`, part);
    const data = concatBytes(parts);
    strictEqual(data.length, 51_234);
    const progress: number[] = [];
    const t = parseTorrent(
      await createTorrent(root, { pieceLength: 5000, onProgress: (n) => progress.push(n) }),
    );
    strictEqual(t.pieceCount, 11);
    ok(equalBytes(t.pieceHashes, pieceHashesOf(data, 5000)));
    deepStrictEqual(progress, [...Array(11).keys()].map((i) => Math.min(51_234, (i + 1) * 5000)));
  });
});

Deno.test("createTorrent() copies pieces over 16 MiB into the SIMD lanes instead (same hashes)", async () => {
  await withTempDir(async (dir) => {
    const data = new Uint8Array(40 * 1024 * 1024);
    for (let at = 0; at < data.length; at += 65536) {
      crypto.getRandomValues(data.subarray(at, at + 65536));
    }
    await Deno.writeFile(`${dir}/big.bin`, data);
    const pieceLength = 17 * 1024 * 1024;
    const t = parseTorrent(await createTorrent(`${dir}/big.bin`, { pieceLength }));
    strictEqual(t.pieceCount, 3);
    ok(equalBytes(t.pieceHashes, pieceHashesOf(data, pieceLength)));
  });
});

const INTEROP_FILES = [
  { path: "tree/a.bin", size: 300_000 },
  { path: "tree/empty", size: 0 },
  { path: "tree/sub/b.bin", size: 123_457 },
  { path: "tree/sub/c/d.bin", size: 65_536 },
  { path: "tree/z.bin", size: 1 },
];

interopTest("libtorrent loads createTorrent() torrents: same info hash, every piece valid", [
  "libtorrent",
], async () => {
  await withTempDir(async (dir) => {
    await makePayload(dir, [...INTEROP_FILES, { path: "single.bin", size: 777_777 }]);
    for (const [source, pieceLength] of [["single.bin", 32768], ["tree", 16384]] as const) {
      const bytes = await createTorrent(`${dir}/${source}`, { pieceLength });
      const torrentPath = `${dir}/${source}.torrent`;
      await Deno.writeFile(torrentPath, bytes);
      const ours = parseTorrent(bytes);
      const theirs = await libtorrentInfo(torrentPath);
      strictEqual(theirs.infoHash, ours.infoHashHex, source);
      strictEqual(theirs.name, source);
      strictEqual(theirs.numPieces, ours.pieceCount);
      deepStrictEqual(
        theirs.files.map((f) => f.path),
        ours.files.map((f) => f.path.join("/")),
      );
      const check = await libtorrentCheck(torrentPath, dir);
      strictEqual(check.numPieces, ours.pieceCount);
      strictEqual(check.validPieces, check.numPieces, `${source}: every piece valid`);
    }
  });
});
