import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { checkPieces, type PieceSource } from "../../src/storage/check_pieces.ts";
import { StorageError } from "../../src/storage/storage_error.ts";
import { TorrentStorage } from "../../src/storage/torrent_storage.ts";
import { sha1 } from "../../src/sha1/sha1.ts";
import { sha1Many } from "../../src/sha1/sha1_batch.ts";
import { HashPool } from "../../src/sha1/hash_pool.ts";
import { makeFixture, multiFileFixture } from "./fixture.ts";

const hash = (data: Uint8Array): Promise<Uint8Array> => Promise.resolve(sha1(data));

function setOf(bits: { size: number; has(i: number): boolean }): number[] {
  return [...Array(bits.size).keys()].filter((i) => bits.has(i));
}

Deno.test("checkPieces() finds exactly the good pieces after corruption and truncation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal_check_" });
  try {
    const fixture = multiFileFixture(21);
    const { info } = fixture;
    {
      await using storage = await TorrentStorage.open(info, dir);
      await storage.prepare();
      for (let i = 0; i < info.pieceCount; i++) await storage.writePiece(i, fixture.piece(i));
    }
    await using storage = await TorrentStorage.open(info, dir);
    const progress: number[] = [];
    const all = await checkPieces(info, storage, {
      hash,
      onProgress: (checked, total) => {
        strictEqual(total, 6);
        progress.push(checked);
      },
    });
    deepStrictEqual(setOf(all), [0, 1, 2, 3, 4, 5]);
    deepStrictEqual(progress, [1, 2, 3, 4, 5, 6]);

    // Corrupt one byte of c.bin at torrent offset 3500 (piece 3), truncate d.bin (piece 5).
    const c = join(dir, "t", "c.bin");
    const bytes = await Deno.readFile(c);
    bytes[3500 - 3072] ^= 1;
    await Deno.writeFile(c, bytes);
    await Deno.truncate(join(dir, "t", "d.bin"), 100);
    const have = await checkPieces(info, storage, { hash, concurrency: 3 });
    deepStrictEqual(setOf(have), [0, 1, 2, 4]);

    // Piece 2 is b.bin plus padding: deleting a.bin must not affect it.
    await Deno.remove(join(dir, "t", "a.bin"));
    deepStrictEqual(setOf(await checkPieces(info, storage, { hash })), [2, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A fake source: every file has `sizes`; counts reads and the most reads in flight. */
function fakeSource(sizes: (number | undefined)[], data: (i: number) => Uint8Array) {
  const stats = { reads: 0, inFlight: 0, maxInFlight: 0 };
  const source: PieceSource = {
    fileSizes: () => Promise.resolve(sizes),
    readPiece: async (index) => {
      stats.reads++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      stats.inFlight--;
      return data(index);
    },
  };
  return { source, stats };
}

Deno.test("checkPieces() reads nothing when no file exists (fast path)", async () => {
  const fixture = multiFileFixture();
  const { source, stats } = fakeSource(
    fixture.info.files.map((f) => (f.padding ? f.length : undefined)),
    fixture.piece,
  );
  let last = 0;
  const have = await checkPieces(fixture.info, source, { hash, onProgress: (n) => last = n });
  strictEqual(have.count, 0);
  strictEqual(stats.reads, 0);
  strictEqual(last, fixture.info.pieceCount);
});

Deno.test("checkPieces() keeps at most `concurrency` pieces in flight", async () => {
  const fixture = makeFixture([{ path: ["a.bin"], length: 64 * 100 }], 64);
  for (const concurrency of [1, 2, 5]) {
    const { source, stats } = fakeSource([fixture.info.totalLength], fixture.piece);
    const have = await checkPieces(fixture.info, source, { hash, concurrency });
    ok(have.complete);
    strictEqual(stats.reads, 100);
    strictEqual(stats.maxInFlight, concurrency);
  }
  await rejects(
    checkPieces(fixture.info, fakeSource([0], fixture.piece).source, { hash, concurrency: 0 }),
    RangeError,
  );
});

Deno.test("checkPieces() treats data vanishing mid-check as missing, but rethrows disk errors", async () => {
  const fixture = makeFixture([{ path: ["a.bin"], length: 64 * 10 }], 64);
  const vanishing: PieceSource = {
    fileSizes: () => Promise.resolve([640]),
    readPiece: (i) =>
      i === 3
        ? Promise.reject(new StorageError("Data missing: x", "x", "EMISSING"))
        : Promise.resolve(fixture.piece(i)),
  };
  deepStrictEqual(setOf(await checkPieces(fixture.info, vanishing, { hash })), [
    0,
    1,
    2,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  let reads = 0;
  let inFlight = 0;
  const failing: PieceSource = {
    fileSizes: () => Promise.resolve([640]),
    readPiece: async (i) => {
      reads++;
      inFlight++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      if (i === 2) throw new StorageError("Permission denied reading x", "x", "EACCES");
      return fixture.piece(i);
    },
  };
  await rejects(
    checkPieces(fixture.info, failing, { hash }),
    (e) => e instanceof StorageError && e.code === "EACCES",
  );
  strictEqual(inFlight, 0, "no read is left running after the rejection");
  ok(reads < 10, "the check stops after the failure");
});

Deno.test("checkPieces() stops when its signal aborts", async () => {
  const fixture = makeFixture([{ path: ["a.bin"], length: 64 * 50 }], 64);
  const { source, stats } = fakeSource([fixture.info.totalLength], fixture.piece);
  const controller = new AbortController();
  const checking = checkPieces(fixture.info, source, {
    hash,
    signal: controller.signal,
    onProgress: (n) => n === 5 && controller.abort(new Error("stop")),
  });
  await rejects(checking, /stop/);
  // Two groups of four are in flight by default; each runner claims at most one more group.
  ok(stats.reads <= 12, `reads ${stats.reads}`);
  await rejects(checkPieces(fixture.info, source, { hash, signal: AbortSignal.abort() }));
});

Deno.test("checkPieces() hands pieces over four at a time (hashMany), at most `concurrency` in flight", async () => {
  const fixture = makeFixture([{ path: ["a.bin"], length: 64 * 10 }], 64);
  for (const concurrency of [undefined, 5, 3, 2, 1]) {
    const { source, stats } = fakeSource([fixture.info.totalLength], fixture.piece);
    const groups: number[] = [];
    const have = await checkPieces(fixture.info, source, {
      concurrency,
      hashMany: (pieces) => {
        groups.push(pieces.length);
        return Promise.resolve(sha1Many(pieces));
      },
    });
    const what = `concurrency ${concurrency}`;
    ok(have.complete, what);
    strictEqual(stats.maxInFlight, concurrency ?? 8, what);
    strictEqual(groups.reduce((a, b) => a + b), 10, what);
    const widest = Math.min(4, concurrency ?? 8);
    ok(groups.every((n) => n <= widest), `${what}: ${groups}`);
    strictEqual(groups.filter((n) => n === widest).length >= 2, true, `${what}: ${groups}`);
  }
});

Deno.test("checkPieces() keeps fewer big pieces in flight by default (at most 64 MiB)", async () => {
  for (
    const [pieceLength, inFlight] of [[8 << 20, 8], [16 << 20, 4], [32 << 20, 2], [128 << 20, 1]]
  ) {
    const fixture = makeFixture([{ path: ["a.bin"], length: 64 * 12 }], 64);
    const info = {
      ...fixture.info,
      pieceLength,
      totalLength: 12 * pieceLength,
      files: [{ ...fixture.info.files[0], length: 12 * pieceLength }],
    };
    const { source, stats } = fakeSource([info.totalLength], fixture.piece);
    const have = await checkPieces(info, source, { hash });
    strictEqual(have.count, 12, "the fake pieces are the fixture's");
    strictEqual(stats.maxInFlight, inFlight, `piece length ${pieceLength}`);
  }
});

Deno.test("checkPieces() feeds a HashPool whole batches of four through `hash`", async () => {
  // A worker whose "digest" is the size of the batch it came in.
  const source = `
    onmessage = (event) => {
      const { id, items } = event.data;
      const digests = items.map(() => new Uint8Array(20).fill(items.length));
      const buffers = items.map((item) => item.buffer);
      postMessage({ id, digests, buffers }, [...digests.map((d) => d.buffer), ...buffers]);
    };
    postMessage({ ready: true });
  `;
  const workerUrl = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    await using pool = new HashPool({ size: 1, workerUrl });
    const fixture = makeFixture([{ path: ["a.bin"], length: 64 * 16 }], 64);
    const { source: pieces } = fakeSource(
      [fixture.info.totalLength],
      (i) => fixture.piece(i).slice(),
    );
    const batchSizes: number[] = [];
    const have = await checkPieces(fixture.info, pieces, {
      hash: async (data) => {
        const { digest } = await pool.hash(data);
        batchSizes.push(digest[0]);
        return digest;
      },
    });
    strictEqual(have.count, 0, "the fake digests match nothing");
    deepStrictEqual(batchSizes, Array(16).fill(4));
  } finally {
    URL.revokeObjectURL(workerUrl);
  }
});

Deno.test("checkPieces() verifies through a real HashPool and through sha1Many alike", async () => {
  const fixture = makeFixture([{ path: ["a.bin"], length: 1000 * 37 + 5 }], 1000);
  const bad = new Set([3, 17, 37]);
  const data = (i: number) => {
    const piece = fixture.piece(i).slice();
    if (bad.has(i)) piece[i % piece.length] ^= 1;
    return piece;
  };
  const expected = [...Array(fixture.info.pieceCount).keys()].filter((i) => !bad.has(i));
  await using pool = new HashPool({ size: 2 });
  for (
    const options of [
      { hash: async (d: Uint8Array) => (await pool.hash(d)).digest },
      { hashMany: async (p: Uint8Array[]) => (await pool.hashMany(p)).map((r) => r.digest) },
      { hashMany: (p: Uint8Array[]) => Promise.resolve(sha1Many(p)) },
    ]
  ) {
    const { source } = fakeSource([fixture.info.totalLength], data);
    deepStrictEqual(setOf(await checkPieces(fixture.info, source, options)), expected);
  }
});

Deno.test("checkPieces() refuses to run without a hash and a wrong digest count", async () => {
  const fixture = makeFixture([{ path: ["a.bin"], length: 64 * 10 }], 64);
  const { source } = fakeSource([fixture.info.totalLength], fixture.piece);
  await rejects(checkPieces(fixture.info, source, {}), TypeError);
  await rejects(
    checkPieces(fixture.info, source, { hashMany: (p) => Promise.resolve(sha1Many(p).slice(1)) }),
    { name: "TypeError", message: /3 digests for 4 pieces/ },
  );
});
