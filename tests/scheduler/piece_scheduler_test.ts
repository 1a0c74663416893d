import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { BLOCK_SIZE } from "../../src/metainfo/geometry.ts";
import {
  blockKey,
  PieceScheduler,
  type SchedulerPeer,
} from "../../src/scheduler/piece_scheduler.ts";

const KiB = 1024;
const geometry = { pieceLength: 64 * KiB, pieceCount: 4, totalLength: 3 * 64 * KiB + 20 * KiB };

function seed(pieceCount = geometry.pieceCount): SchedulerPeer {
  const has = new Bitfield(pieceCount);
  has.fill();
  return { has, outstanding: new Map() };
}

function deliver(
  scheduler: PieceScheduler,
  peer: SchedulerPeer,
  requests: { index: number; begin: number; length: number }[],
) {
  const completed: number[] = [];
  for (const r of requests) {
    const outcome = scheduler.receiveBlock(
      peer,
      "p",
      r.index,
      r.begin,
      new Uint8Array(r.length).fill(r.index),
    );
    ok(outcome, `block ${r.index}/${r.begin} accepted`);
    if (outcome.completed) completed.push(outcome.completed.index);
  }
  return completed;
}

Deno.test("PieceScheduler requests every block of every piece exactly once without endgame", () => {
  const scheduler = new PieceScheduler(geometry, new Bitfield(4));
  const peer = seed();
  scheduler.addPeer(peer);
  const requests = scheduler.fillRequests(peer, 1000);
  strictEqual(requests.length, 4 * 3 + 2);
  const keys = new Set(requests.map((r) => `${r.index}:${r.begin}`));
  strictEqual(keys.size, requests.length);
  const last = requests.filter((r) => r.index === 3);
  deepStrictEqual(last.map((r) => r.length), [16 * KiB, 4 * KiB]);
  strictEqual(peer.outstanding.size, requests.length);
  deepStrictEqual(scheduler.fillRequests(peer, 10), [], "nothing left to ask this peer");
});

Deno.test("PieceScheduler finishes a partial piece before starting a new one", () => {
  // random 0: the first pick is piece 0 (four blocks), never the two-block last piece.
  const scheduler = new PieceScheduler(geometry, new Bitfield(4), { random: () => 0 });
  const a = seed(), b = seed();
  scheduler.addPeer(a);
  scheduler.addPeer(b);
  const first = scheduler.fillRequests(a, 2);
  strictEqual(new Set(first.map((r) => r.index)).size, 1);
  const second = scheduler.fillRequests(b, 2);
  deepStrictEqual(second.map((r) => r.index), [first[0].index, first[0].index]);
  deepStrictEqual(second.map((r) => r.begin), [2 * BLOCK_SIZE, 3 * BLOCK_SIZE]);
});

Deno.test("PieceScheduler assembles a piece and reports it complete with its bytes", () => {
  const scheduler = new PieceScheduler(geometry, new Bitfield(4));
  const peer = seed();
  scheduler.addPeer(peer);
  const requests = scheduler.fillRequests(peer, 1000);
  const completed = deliver(scheduler, peer, requests);
  deepStrictEqual(completed.sort(), [0, 1, 2, 3]);
  const piece = scheduler.active.get(3)!;
  strictEqual(piece.data.length, 20 * KiB);
  ok(piece.data.every((b) => b === 3));
  scheduler.pieceVerified(3);
  ok(scheduler.have.has(3));
  strictEqual(scheduler.active.has(3), false);
});

Deno.test("PieceScheduler refuses blocks it never asked for and blocks of the wrong size", () => {
  const scheduler = new PieceScheduler(geometry, new Bitfield(4));
  const peer = seed();
  scheduler.addPeer(peer);
  strictEqual(scheduler.receiveBlock(peer, "p", 0, 0, new Uint8Array(BLOCK_SIZE)), undefined);
  const [r] = scheduler.fillRequests(peer, 1);
  strictEqual(scheduler.receiveBlock(peer, "p", r.index, r.begin, new Uint8Array(10)), undefined);
});

Deno.test("PieceScheduler releases a choking peer's requests for other peers", () => {
  const scheduler = new PieceScheduler({
    pieceLength: 32 * KiB,
    pieceCount: 1,
    totalLength: 32 * KiB,
  }, new Bitfield(1));
  const a = seed(1), b = seed(1);
  scheduler.addPeer(a);
  scheduler.addPeer(b);
  strictEqual(scheduler.fillRequests(a, 10).length, 2);
  scheduler.releaseAll(a);
  strictEqual(a.outstanding.size, 0);
  strictEqual(scheduler.fillRequests(b, 10).length, 2);
});

Deno.test("PieceScheduler in endgame asks a second peer and names the peer to cancel", () => {
  const scheduler = new PieceScheduler({
    pieceLength: 32 * KiB,
    pieceCount: 1,
    totalLength: 32 * KiB,
  }, new Bitfield(1));
  const a = seed(1), b = seed(1);
  scheduler.addPeer(a);
  scheduler.addPeer(b);
  const first = scheduler.fillRequests(a, 10);
  ok(scheduler.endgame);
  const dup = scheduler.fillRequests(b, 10);
  deepStrictEqual(dup, first);
  const outcome = scheduler.receiveBlock(b, "b", 0, 0, new Uint8Array(BLOCK_SIZE));
  deepStrictEqual(outcome?.cancel, [a]);
  strictEqual(a.outstanding.has(blockKey(0, 0)), false);
});

Deno.test("PieceScheduler re-downloads a piece that failed its hash", () => {
  const scheduler = new PieceScheduler(geometry, new Bitfield(4));
  const peer = seed();
  scheduler.addPeer(peer);
  deliver(scheduler, peer, scheduler.fillRequests(peer, 1000));
  scheduler.pieceFailed(2);
  const again = scheduler.fillRequests(peer, 1000);
  deepStrictEqual(new Set(again.map((r) => r.index)), new Set([2]));
  strictEqual(again.length, 4);
});

Deno.test("PieceScheduler keeps piece buffers under its byte budget", () => {
  const big = { pieceLength: 256 * KiB, pieceCount: 40, totalLength: 40 * 256 * KiB };
  const scheduler = new PieceScheduler(big, new Bitfield(40), { maxActiveBytes: 1024 * KiB });
  const peer = seed(40);
  scheduler.addPeer(peer);
  scheduler.fillRequests(peer, 10_000);
  strictEqual(scheduler.active.size, 4);
  ok(scheduler.activeBytes <= 1024 * KiB);
});

Deno.test("PieceScheduler tracks availability and interest as peers come and go", () => {
  const scheduler = new PieceScheduler(geometry, new Bitfield(4));
  const peer: SchedulerPeer = { has: new Bitfield(4), outstanding: new Map() };
  scheduler.addPeer(peer);
  strictEqual(scheduler.isInteresting(peer), false);
  ok(scheduler.peerHave(peer, 2));
  ok(scheduler.isInteresting(peer));
  deepStrictEqual([...scheduler.availability], [0, 0, 1, 0]);
  scheduler.setPeerPieces(peer, true);
  deepStrictEqual([...scheduler.availability], [1, 1, 1, 1]);
  scheduler.removePeer(peer);
  deepStrictEqual([...scheduler.availability], [0, 0, 0, 0]);
});

Deno.test("PieceScheduler.expire() opens a slow request to others and still takes the slow answer", () => {
  const scheduler = new PieceScheduler(geometry, new Bitfield(4), { random: () => 0 });
  const slow = seed(), fast = seed();
  scheduler.addPeer(slow);
  scheduler.addPeer(fast);
  const [first] = scheduler.fillRequests(slow, 1);
  const key = blockKey(first.index, first.begin);
  deepStrictEqual(
    scheduler.fillRequests(fast, 1).map((r) => blockKey(r.index, r.begin)).includes(key),
    false,
    "before expiry the block is the slow peer's alone",
  );
  strictEqual(scheduler.expire(slow, key), true);
  strictEqual(scheduler.expire(slow, key), false, "a request expires once");
  deepStrictEqual(
    scheduler.fillRequests(slow, 4).map((r) => blockKey(r.index, r.begin)).includes(key),
    false,
    "the slow peer is not given it again",
  );
  const retry = scheduler.fillRequests(fast, 8).find((r) => blockKey(r.index, r.begin) === key);
  ok(retry, "another peer may ask for it now");
  // The slow peer answers after all: accepted, and the fast peer's duplicate is cancelled.
  const outcome = scheduler.receiveBlock(
    slow,
    "slow",
    first.index,
    first.begin,
    new Uint8Array(first.length),
  );
  ok(outcome);
  deepStrictEqual(outcome.cancel, [fast]);
  strictEqual(fast.outstanding.has(key), false);
});

Deno.test("PieceScheduler: releasing an expired request does not free the block twice", () => {
  const big = { pieceLength: 64 * KiB, pieceCount: 64, totalLength: 64 * 64 * KiB };
  const scheduler = new PieceScheduler(big, new Bitfield(64), { random: () => 0 });
  const slow = seed(64), fast = seed(64), third = seed(64);
  for (const peer of [slow, fast, third]) scheduler.addPeer(peer);
  const [first] = scheduler.fillRequests(slow, 1);
  const key = blockKey(first.index, first.begin);
  scheduler.expire(slow, key);
  deepStrictEqual(scheduler.fillRequests(fast, 1).map((r) => blockKey(r.index, r.begin)), [key]);
  scheduler.releaseAll(slow); // the slow peer leaves
  const [next] = scheduler.fillRequests(third, 1);
  ok(blockKey(next.index, next.begin) !== key, "the block is still the fast peer's, not open");
});

Deno.test("PieceScheduler: when another peer delivers an expired block, the slow peer is cancelled", () => {
  const scheduler = new PieceScheduler(geometry, new Bitfield(4), { random: () => 0 });
  const slow = seed(), fast = seed();
  scheduler.addPeer(slow);
  scheduler.addPeer(fast);
  const [first] = scheduler.fillRequests(slow, 1);
  const key = blockKey(first.index, first.begin);
  scheduler.expire(slow, key);
  ok(scheduler.fillRequests(fast, 8).some((r) => blockKey(r.index, r.begin) === key));
  const outcome = scheduler.receiveBlock(
    fast,
    "fast",
    first.index,
    first.begin,
    new Uint8Array(first.length),
  );
  ok(outcome);
  deepStrictEqual(outcome.cancel, [slow], "the slow peer is told to stop");
  strictEqual(slow.outstanding.has(key), false);
});

Deno.test("PieceScheduler: a block asked and released twice has two harmless late answers", () => {
  // A snubbed peer is released, asked the same block again, and released again before it
  // answers: both answers arrive late. Neither may be taken for a block we never asked for
  // (the session drops a peer for that), but a third copy is unasked.
  const scheduler = new PieceScheduler(geometry, new Bitfield(4), { random: () => 0 });
  const peer = seed();
  scheduler.addPeer(peer);
  const [first] = scheduler.fillRequests(peer, 1);
  scheduler.releaseAll(peer);
  const [again] = scheduler.fillRequests(peer, 1);
  deepStrictEqual(again, first, "the released block is asked again");
  scheduler.releaseAll(peer);
  const block = new Uint8Array(first.length);
  for (const copy of ["first", "second"]) {
    const outcome = scheduler.receiveBlock(peer, "p", first.index, first.begin, block);
    deepStrictEqual(outcome, { cancel: [], late: true }, `the ${copy} late copy`);
  }
  strictEqual(
    scheduler.receiveBlock(peer, "p", first.index, first.begin, block),
    undefined,
    "a third copy was never asked for",
  );
});
