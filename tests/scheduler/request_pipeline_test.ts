import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { BLOCK_SIZE } from "../../src/metainfo/geometry.ts";
import { EXPIRED, PieceScheduler } from "../../src/scheduler/piece_scheduler.ts";
import { type PipelinePeer, requestBatches } from "../../src/scheduler/request_pipeline.ts";

const geometry = { pieceLength: 4 * BLOCK_SIZE, pieceCount: 8, totalLength: 32 * BLOCK_SIZE };

function peer(overrides: Partial<PipelinePeer> = {}): PipelinePeer {
  const has = new Bitfield(geometry.pieceCount);
  has.fill();
  return {
    has,
    outstanding: new Map(),
    peerChoking: false,
    amInterested: true,
    snubbed: false,
    queueDepth: 6,
    lastProgressAtMs: performance.now(),
    adaptQueueDepth() {},
    ...overrides,
  };
}

Deno.test("requestBatches() fills the pipeline to the queue depth, then waits for room", async () => {
  const scheduler = new PieceScheduler<PipelinePeer>(geometry, new Bitfield(geometry.pieceCount));
  const p = peer();
  scheduler.addPeer(p);
  const controller = new AbortController();
  const batches = requestBatches(scheduler, p, { signal: controller.signal });
  const first = await batches.next();
  strictEqual(first.value?.length, 6);
  strictEqual(p.outstanding.size, 6);
  // One block delivered leaves room for one, below the refill threshold of depth/8 = 0 -> 1.
  const [r] = first.value!;
  scheduler.receiveBlock(p, "p", r.index, r.begin, new Uint8Array(r.length));
  const second = await batches.next();
  strictEqual(second.value?.length, 1);
  controller.abort();
  await batches.return(undefined);
});

Deno.test("requestBatches() asks nothing of a peer that chokes us or that we are not interested in", async () => {
  const scheduler = new PieceScheduler<PipelinePeer>(geometry, new Bitfield(geometry.pieceCount));
  const choking = peer({ peerChoking: true });
  scheduler.addPeer(choking);
  const controller = new AbortController();
  const batches = requestBatches(scheduler, choking, { signal: controller.signal });
  const next = batches.next();
  scheduler.wake(choking); // woken, but still choked: it keeps waiting
  await new Promise((resolve) => setTimeout(resolve, 20));
  strictEqual(choking.outstanding.size, 0);
  (choking as { peerChoking: boolean }).peerChoking = false;
  scheduler.wake(choking);
  strictEqual((await next).value?.length, 6);
  controller.abort();
  await batches.return(undefined);
});

Deno.test("requestBatches() reopens a request that waits past the request timeout", async () => {
  const scheduler = new PieceScheduler<PipelinePeer>(geometry, new Bitfield(geometry.pieceCount));
  const slow = peer({ queueDepth: 2 });
  const other = peer();
  scheduler.addPeer(slow);
  scheduler.addPeer(other);
  const controller = new AbortController();
  const batches = requestBatches(scheduler, slow, {
    signal: controller.signal,
    requestTimeoutMs: 30,
    snubTimeoutMs: 10_000,
  });
  const first = (await batches.next()).value!;
  strictEqual(first.length, 2);
  // Keep the peer "delivering" so it is not snubbed; only the single requests expire.
  const next = batches.next(); // waits; its timer fires once the requests are 30 ms old
  await new Promise((resolve) => setTimeout(resolve, 60));
  slow.lastProgressAtMs = performance.now();
  scheduler.wake(slow);
  await Promise.race([next, new Promise((resolve) => setTimeout(resolve, 50))]);
  const expired = [...slow.outstanding.values()].filter((t) => t === EXPIRED).length;
  strictEqual(expired, 2, "both requests expired, still held by the slow peer");
  const reopened = scheduler.fillRequests(other, 10).map((r) => `${r.index}/${r.begin}`);
  for (const r of first) ok(reopened.includes(`${r.index}/${r.begin}`), "the other peer gets them");
  controller.abort();
  await batches.return(undefined);
});

Deno.test("requestBatches() snubs a peer that delivers nothing and then asks one block at a time", async () => {
  const scheduler = new PieceScheduler<PipelinePeer>(geometry, new Bitfield(geometry.pieceCount));
  const silent = peer();
  scheduler.addPeer(silent);
  const controller = new AbortController();
  const batches = requestBatches(scheduler, silent, {
    signal: controller.signal,
    requestTimeoutMs: 10_000,
    snubTimeoutMs: 30,
  });
  strictEqual((await batches.next()).value?.length, 6);
  const after = (await batches.next()).value!;
  ok(silent.snubbed, "snubbed after the snub timeout");
  strictEqual(after.length, 1, "a snubbed peer gets one request at a time");
  deepStrictEqual(silent.outstanding.size, 1);
  controller.abort();
  await batches.return(undefined);
});

Deno.test("requestBatches() ends when the peer leaves the scheduler", async () => {
  const scheduler = new PieceScheduler<PipelinePeer>(geometry, new Bitfield(geometry.pieceCount));
  const p = peer({ peerChoking: true });
  scheduler.addPeer(p);
  const batches = requestBatches(scheduler, p, { signal: new AbortController().signal });
  const next = batches.next();
  scheduler.removePeer(p);
  strictEqual((await next).done, true);
});
