// Interop: file selection in a shoal Client against a libtorrent seeder (python3-libtorrent
// 2.0.8) on 127.0.0.1: two of six files whose pieces they share with their neighbours, the
// parts file, then the rest, then libtorrent downloading everything from shoal alone.
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Client } from "../../src/client/client.ts";
import type { FilePriority } from "../../src/storage/file_selection.ts";
import { assertSameBytes } from "../test_util.ts";
import {
  EventLog,
  LOOPBACK,
  ltTorrent,
  piecesOfFile,
  within,
  withTempDir,
} from "./client_interop_util.ts";
import { interopTest, sameTree, startLibtorrent } from "./harness.ts";

const TEST_TIMEOUT_MS = 60_000;
const DOWNLOAD_LIMIT_MS = 30_000;
const PIECE = 32 * 1024;
/** Odd sizes: every boundary falls inside a piece, so neighbours share it. */
const FILES = [
  { path: "f0.bin", size: 200_003 },
  { path: "d/f1.bin", size: 77_777 },
  { path: "f2.bin", size: 333_331 },
  { path: "d/e/f3.bin", size: 50_001 },
  { path: "f4.bin", size: 150_011 },
  { path: "f5.bin", size: 99_991 },
];
/** Indices in the torrent's file list (libtorrent lists the folder in its own order). */
const SELECTED = [1, 3];

async function listTree(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(prefix ? `${root}/${prefix}` : root)) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await listTree(root, rel));
    else out.push(rel);
  }
  return out.sort();
}

interopTest(
  "file selection against libtorrent: two of six files, the parts file, then the rest, then libtorrent from shoal alone",
  ["libtorrent"],
  async () => {
    await withTempDir("shoal-client-files-", async (root) => {
      const t = await ltTorrent(root, "six", FILES, PIECE, 7);
      const { meta } = t;
      // The torrent's bytes end to end, as the pieces see them.
      const whole = new Uint8Array(meta.totalLength);
      for (const file of meta.files) {
        whole.set(await Deno.readFile(`${t.seedDir}/${file.path.join("/")}`), file.offset);
      }
      const wanted = new Set(SELECTED.flatMap((i) => piecesOfFile(meta, i)));
      await using seeder = await startLibtorrent({
        torrent: t.torrent,
        dir: t.seedDir,
        seed: true,
      });
      const get = `${root}/get`;
      await using client = new Client({
        dir: get,
        port: 0,
        listenHost: LOOPBACK,
        dht: false,
        stateDir: `${root}/state`,
      });
      const torrent = await client.add(meta, {
        files: SELECTED,
        peers: [{ host: LOOPBACK, port: seeder.port }],
      });
      const log = new EventLog(torrent);
      await within(torrent.done, DOWNLOAD_LIMIT_MS, "the two selected files done");

      // Only the two selected files exist, and they equal the source.
      const pathOf = (i: number) => meta.files[i].path.join("/");
      deepStrictEqual(
        await listTree(get, "six"),
        SELECTED.map(pathOf).sort(),
        "only the selected files were created",
      );
      for (const i of SELECTED) await sameTree(`${t.seedDir}/${pathOf(i)}`, `${get}/${pathOf(i)}`);
      const firstPieces = log.pieces();
      deepStrictEqual(new Set(firstPieces), wanted, "exactly the pieces of the selected files");
      strictEqual(firstPieces.length, wanted.size, "no piece verified twice");
      deepStrictEqual(
        torrent.files.map((f) => f.priority),
        meta.files.map((_, i) => SELECTED.includes(i) ? "normal" : "skip"),
      );

      // The parts file holds the bytes of the skipped files in the shared (boundary) pieces.
      const parts = await Deno.readFile(`${get}/.shoal/${meta.infoHashHex}.parts`);
      let boundaryBytes = 0;
      meta.files.forEach((file, i) => {
        if (SELECTED.includes(i)) return;
        for (const piece of piecesOfFile(meta, i)) {
          if (!wanted.has(piece)) continue;
          const from = Math.max(file.offset, piece * PIECE);
          const to = Math.min(file.offset + file.length, (piece + 1) * PIECE);
          assertSameBytes(
            parts.subarray(from, to),
            whole.subarray(from, to),
            `parts file, ${file.path.join("/")} in piece ${piece}`,
          );
          boundaryBytes += to - from;
        }
      });
      ok(boundaryBytes > 0 && parts.length >= boundaryBytes, `${boundaryBytes} boundary bytes`);

      // Select the rest: only the missing pieces are fetched.
      const rest = new Map<number, FilePriority>(
        meta.files.map((_, i) => [i, "normal"] as [number, FilePriority]).filter(([i]) =>
          !SELECTED.includes(i)
        ),
      );
      await torrent.setFilePriorities(rest);
      await log.until(
        (l) => l.pieces().length >= meta.pieceCount,
        DOWNLOAD_LIMIT_MS,
        "every piece verified",
      );
      const laterPieces = log.pieces().slice(firstPieces.length);
      strictEqual(laterPieces.length, meta.pieceCount - wanted.size, "each missing piece once");
      ok(laterPieces.every((p) => !wanted.has(p)), "no piece fetched again");
      await sameTree(t.payload, `${get}/six`);
      await rejects(
        Deno.stat(`${get}/.shoal/${meta.infoHashHex}.parts`),
        Deno.errors.NotFound,
        "the parts file is gone once every file is selected",
      );
      const sent = await seeder.status();
      ok(
        sent.uploaded >= meta.totalLength - wanted.size * PIECE &&
          sent.uploaded <= meta.totalLength,
        `libtorrent uploaded ${sent.uploaded} of a ${meta.totalLength}-byte torrent`,
      );

      // The seeder leaves; a libtorrent leecher gets the whole torrent from shoal alone.
      await seeder[Symbol.asyncDispose]();
      await using leech = await startLibtorrent({
        torrent: t.torrent,
        dir: `${root}/leech`,
        seed: false,
        peers: [{ host: LOOPBACK, port: client.port! }],
      });
      await leech.waitComplete(DOWNLOAD_LIMIT_MS);
      await sameTree(t.payload, `${root}/leech/six`);
      await client.close();
      await log.ended;
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);
