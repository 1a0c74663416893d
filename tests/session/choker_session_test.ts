// The choker's timing in a real seeding session: seven interested peers on loopback, recording
// when each choke and unchoke reaches them. The choker's ranking itself is unit-tested in
// tests/upload; this checks what a peer sees on the wire with the real 10 s interval.
import { ok, strictEqual } from "node:assert/strict";
import { encodeHandshake } from "../../src/wire/handshake.ts";
import { decodeMessage, encodeMessage } from "../../src/wire/message.ts";
import { HANDSHAKE_LENGTH } from "../../src/wire/handshake.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import { HashPool } from "../../src/sha1/hash_pool.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { RECHOKE_INTERVAL_MS } from "../../src/upload/choker.ts";
import { UNCHOKE_SLOTS } from "../../src/upload/choke_driver.ts";
import { randomBytes, within } from "../test_util.ts";

const LOOPBACK = "127.0.0.1";
/** Changes that reach the peers within this long of each other come from one rechoke. */
const SAME_RECHOKE_MS = 300;

interface Change {
  readonly peer: number;
  readonly unchoked: boolean;
  readonly atMs: number;
}

/** An interested peer with nothing: handshakes, says interested, records choke and unchoke. */
async function interestedPeer(
  port: number,
  infoHash: Uint8Array,
  index: number,
  changes: Change[],
  onChange: () => void,
): Promise<{ conn: Deno.Conn; reading: Promise<void>; interestedAtMs: number }> {
  const conn = await Deno.connect({ hostname: LOOPBACK, port });
  const peerId = new Uint8Array(20).fill(index + 1);
  await conn.write(encodeHandshake({ infoHash, peerId, reserved: new Uint8Array(8) }));
  await conn.write(encodeMessage({ type: "interested" }));
  const interestedAtMs = performance.now();
  const reading = (async () => {
    let buffer = new Uint8Array(0);
    let handshaken = false;
    const chunk = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) return;
      const grown = new Uint8Array(buffer.length + n);
      grown.set(buffer);
      grown.set(chunk.subarray(0, n), buffer.length);
      buffer = grown;
      if (!handshaken) {
        if (buffer.length < HANDSHAKE_LENGTH) continue;
        buffer = buffer.slice(HANDSHAKE_LENGTH);
        handshaken = true;
      }
      for (let decoded = decodeMessage(buffer); decoded; decoded = decodeMessage(buffer)) {
        buffer = buffer.slice(decoded.size);
        const { type } = decoded.message;
        if (type === "choke" || type === "unchoke") {
          changes.push({ peer: index, unchoked: type === "unchoke", atMs: performance.now() });
          onChange();
        }
      }
    }
  })();
  return { conn, reading, interestedAtMs };
}

/** Groups changes into rechokes: runs of changes less than SAME_RECHOKE_MS apart. */
function rechokes(changes: readonly Change[]): Change[][] {
  const groups: Change[][] = [];
  for (const change of [...changes].sort((a, b) => a.atMs - b.atMs)) {
    const last = groups.at(-1);
    if (last && change.atMs - last.at(-1)!.atMs < SAME_RECHOKE_MS) last.push(change);
    else groups.push([change]);
  }
  return groups;
}

Deno.test("a seeding session unchokes arrivals at once, rechokes every 10 s, rotates waiting peers in, and never unchokes more than 4 + 1", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-choker-" });
  await using pool = new HashPool();
  const controller = new AbortController();
  const conns: Deno.Conn[] = [];
  const readers: Promise<void>[] = [];
  let running: Promise<void> | undefined;
  try {
    await Deno.writeFile(`${root}/data.bin`, randomBytes(256 * 1024, 5));
    const meta = parseTorrent(await createTorrent(`${root}/data.bin`, { pieceLength: 32768 }));
    const session = new TorrentSession(meta, {
      dir: root,
      seed: true,
      requireComplete: true,
      listenHost: LOOPBACK,
      port: 0,
      trackers: false,
      hashPool: pool,
      signal: controller.signal,
    });
    const ready = Promise.withResolvers<number>();
    running = (async () => {
      for await (const event of session.run()) {
        if (event.type === "ready") ready.resolve(event.port!);
      }
    })();
    running.catch(ready.reject);
    const port = await within(ready.promise, 10_000, "the seeder is ready");

    const changes: Change[] = [];
    let wake = Promise.withResolvers<void>();
    const onChange = () => wake.resolve();
    const waitFor = async (condition: () => boolean, limitMs: number, what: string) => {
      const deadline = performance.now() + limitMs;
      while (!condition()) {
        wake = Promise.withResolvers<void>();
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`timed out waiting until ${what}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          wake.promise,
          new Promise((r) => timer = setTimeout(r, left)),
        ]).finally(() => clearTimeout(timer));
      }
    };
    const unchokedNow = (peer: number) =>
      changes.filter((c) => c.peer === peer).at(-1)?.unchoked ?? false;

    // Five arrive one after another: each is unchoked at once (a slot is free), not at the
    // next rechoke up to 10 s later.
    const PEERS = 7;
    const interestedAt: number[] = [];
    for (let i = 0; i < PEERS; i++) {
      const peer = await interestedPeer(port, meta.infoHash, i, changes, onChange);
      conns.push(peer.conn);
      readers.push(peer.reading);
      interestedAt.push(peer.interestedAtMs);
      if (i < UNCHOKE_SLOTS + 1) {
        await waitFor(() => unchokedNow(i), 2_000, `peer ${i} is unchoked on arrival`);
      }
    }
    // The last two wait for a rechoke; the seeding choker ranks peers that never had a slot
    // first, so the next rechoke lets both in, and a further one rotates again.
    for (const late of [PEERS - 2, PEERS - 1]) {
      await waitFor(
        () => unchokedNow(late),
        RECHOKE_INTERVAL_MS + 2_000,
        `waiting peer ${late} gets a turn`,
      );
    }
    const firstTurn = Math.max(
      ...[PEERS - 2, PEERS - 1].map((p) => changes.find((c) => c.peer === p && c.unchoked)!.atMs),
    );
    const count = () => rechokes(changes).filter((g) => g[0].atMs >= firstTurn - SAME_RECHOKE_MS);
    await waitFor(() => count().length >= 2, RECHOKE_INTERVAL_MS + 2_000, "a second rechoke");

    // Never more than UNCHOKE_SLOTS + 1 unchoked after any rechoke.
    const state = new Map<number, boolean>();
    for (const group of rechokes(changes)) {
      for (const change of group) state.set(change.peer, change.unchoked);
      const unchoked = [...state.values()].filter(Boolean).length;
      ok(unchoked <= UNCHOKE_SLOTS + 1, `${unchoked} peers unchoked at once`);
    }
    // The regular rechokes after everyone arrived are one interval apart.
    const regular = count().map((g) => g[0].atMs);
    const gap = regular[1] - regular[0];
    ok(
      gap > RECHOKE_INTERVAL_MS - 1_000 && gap < RECHOKE_INTERVAL_MS + 1_500,
      `rechokes ${gap.toFixed(0)} ms apart`,
    );
    // A rechoke that lets a waiting peer in chokes another: the slots stay full, not over.
    const turn = rechokes(changes).find((g) => g.some((c) => c.peer >= PEERS - 2 && c.unchoked))!;
    ok(turn.some((c) => !c.unchoked), "someone was choked to make room");
    strictEqual(conns.length, PEERS);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await Promise.allSettled(readers);
    controller.abort();
    await running?.catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
});
