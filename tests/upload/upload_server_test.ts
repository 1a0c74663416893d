// The upload server against a fake peer and real storage: reads ahead, evicts and recycles piece
// buffers, and must still send every block's own bytes.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { BLOCK_SIZE } from "../../src/metainfo/geometry.ts";
import type { TorrentInfo } from "../../src/metainfo/types.ts";
import { RateLimiter } from "../../src/peer/rate_limiter.ts";
import { MemoryBudget } from "../../src/scheduler/memory_budget.ts";
import { Notifier } from "../../src/scheduler/notifier.ts";
import type { BlockRequest } from "../../src/scheduler/piece_scheduler.ts";
import { TorrentStorage } from "../../src/storage/torrent_storage.ts";
import {
  UPLOAD_CACHE_PIECES,
  type UploadPeer,
  UploadServer,
} from "../../src/upload/upload_server.ts";
import type { PeerMessage } from "../../src/wire/message.ts";

const PIECE_LENGTH = 2 * BLOCK_SIZE;
const PIECES = 3 * UPLOAD_CACHE_PIECES + 1; // more than the cache: pieces are evicted and reused

/**
 * A peer that checks each block it is sent against `data` when its write runs (the blocks are views
 * of reused buffers, so that is when wrong bytes would show), and counts the copies of each block.
 */
function fakePeer(
  data: Uint8Array,
  onSent: (blocks: number) => void,
): UploadPeer & { got: Map<string, number>; mismatches: string[] } {
  const got = new Map<string, number>();
  const mismatches: string[] = [];
  return {
    got,
    mismatches,
    conn: {
      extensions: { extended: true, fast: true, dht: false },
      async send(messages: PeerMessage | readonly PeerMessage[]): Promise<void> {
        const list = Array.isArray(messages) ? messages : [messages as PeerMessage];
        // A write that takes a while: the real connection copies the blocks when its turn comes.
        await new Promise((resolve) => setTimeout(resolve, 1));
        let blocks = 0;
        for (const m of list) {
          if (m.type !== "piece") continue;
          const key = `${m.index}:${m.begin}`;
          const at = m.index * PIECE_LENGTH + m.begin;
          if (!sameBytes(m.block, data.subarray(at, at + BLOCK_SIZE))) mismatches.push(key);
          got.set(key, (got.get(key) ?? 0) + 1);
          blocks++;
        }
        onSent(blocks);
      },
    },
    amChoking: false,
    uploadQueue: [],
    uploadWake: new Notifier(),
    chokedRequests: 0,
    overflowRequests: 0,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test("UploadServer sends every block's own bytes while pieces are read ahead, evicted and their buffers reused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = new Uint8Array(PIECES * PIECE_LENGTH);
    for (let i = 0; i < data.length; i += 65536) {
      crypto.getRandomValues(data.subarray(i, i + 65536));
    }
    await Deno.writeFile(`${dir}/a.bin`, data);
    const info = {
      pieceLength: PIECE_LENGTH,
      pieceCount: PIECES,
      totalLength: data.length,
      multiFile: false,
      files: [{ path: ["a.bin"], offset: 0, length: data.length, padding: false }],
    } as unknown as TorrentInfo;
    await using storage = await TorrentStorage.open(info, dir);
    const have = new Bitfield(PIECES);
    for (let i = 0; i < PIECES; i++) have.set(i);
    const limit = new RateLimiter(undefined);
    const budget = new MemoryBudget(64 * PIECE_LENGTH);
    const server = new UploadServer({ info, storage, have, limit, budget, onSent: () => {} });
    // Every block, pieces in a shuffled order (a rarest-first downloader), asked twice.
    const requests: BlockRequest[] = [];
    const order = [...Array(PIECES).keys()].sort(() => Math.random() - 0.5);
    for (const round of [0, 1]) {
      for (const index of order) {
        for (let begin = 0; begin < PIECE_LENGTH; begin += BLOCK_SIZE) {
          requests.push({
            index,
            begin: round ? PIECE_LENGTH - BLOCK_SIZE - begin : begin,
            length: BLOCK_SIZE,
          });
        }
      }
    }
    const controller = new AbortController();
    let sent = 0;
    let allSent!: () => void;
    const sentAll = new Promise<void>((resolve) => allSent = resolve);
    const peer = fakePeer(data, (blocks) => {
      sent += blocks;
      if (sent === requests.length) allSent();
    });
    const running = server.run(peer, controller.signal);
    for (const request of requests) {
      strictEqual(server.onRequest(peer, request), undefined);
    }
    await sentAll;
    controller.abort();
    await running;
    strictEqual(peer.got.size, PIECES * 2);
    for (const [key, copies] of peer.got) strictEqual(copies, 2, `copies of block ${key}`);
    deepStrictEqual(peer.mismatches, [], "blocks sent with wrong bytes");
    server.dispose();
    strictEqual(budget.used, 0);
    limit.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
