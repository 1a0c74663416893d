import type { BlockRequest, PieceScheduler, SchedulerPeer } from "./piece_scheduler.ts";
import { EXPIRED } from "./piece_scheduler.ts";

/** A single request unanswered this long (while the peer answers others) is asked elsewhere. */
export const REQUEST_TIMEOUT_MS = 20_000;
/** A peer holding our requests this long without sending a block is snubbed. */
export const SNUB_TIMEOUT_MS = 30_000;
/** How often the pipeline resizes itself to the peer's rate while it is busy. */
export const ADAPT_INTERVAL_MS = 500;

/** What the request pipeline reads and updates about a peer. */
export interface PipelinePeer extends SchedulerPeer {
  /** BEP 3: the peer chokes us (no requests then, but for its allowed-fast pieces). */
  readonly peerChoking: boolean;
  /** BEP 6: pieces the peer lets us request while it chokes us. */
  readonly allowedFast?: ReadonlySet<number>;
  /** BEP 3: we told the peer we are interested. */
  readonly amInterested: boolean;
  /** Set after the peer sat on our requests too long; it then gets one request at a time. */
  snubbed: boolean;
  /** Requests to keep outstanding. */
  readonly queueDepth: number;
  /** Last time the peer delivered a block, or we started asking after a pause. */
  lastProgressAtMs: number;
  /** Resizes `queueDepth` to the peer's rate. */
  adaptQueueDepth(nowMs: number): void;
}

/** Options for {@linkcode requestBatches}. */
export interface RequestPipelineOptions {
  /** Ends the iteration. */
  signal: AbortSignal;
  /** Reopen a request for other peers after this long (default {@linkcode REQUEST_TIMEOUT_MS}). */
  requestTimeoutMs?: number;
  /** Snub a peer that sends nothing this long (default {@linkcode SNUB_TIMEOUT_MS}). */
  snubTimeoutMs?: number;
  /** Clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

/**
 * Keeps one peer's request pipeline full: yields batches of blocks to request from the peer
 * whenever it unchokes us (or, choking us, allows some pieces fast), we are interested and its
 * pipeline has room, and otherwise waits on the scheduler (a released block, a finished piece,
 * a `have`, a delivered block). It also runs the peer's request timers: a request unanswered
 * for `requestTimeoutMs` is reopened for other peers (the slow peer's answer still counts if
 * it comes first), and a peer that delivers nothing for `snubTimeoutMs` while holding requests
 * is snubbed (its requests are released; it gets one at a time until it delivers again). Ends
 * when `signal` aborts or the peer leaves the scheduler.
 * @param scheduler The torrent's scheduler (the peer must be added to it).
 * @param peer The peer.
 * @param options Signal and timeouts.
 * @returns The batches, in the order to send them.
 * @example
 * ```ts
 * import { Bitfield } from "@shoal/shoal/scheduler";
 * import { PieceScheduler } from "./piece_scheduler.ts";
 * import { type PipelinePeer, requestBatches } from "./request_pipeline.ts";
 * import { strictEqual } from "node:assert/strict";
 * const geometry = { pieceLength: 32768, pieceCount: 1, totalLength: 32768 };
 * const scheduler = new PieceScheduler<PipelinePeer>(geometry, new Bitfield(1));
 * const peer: PipelinePeer = {
 *   has: new Bitfield(1, new Uint8Array([0x80])), outstanding: new Map<number, number>(),
 *   peerChoking: false, amInterested: true, snubbed: false, queueDepth: 16,
 *   lastProgressAtMs: 0, adaptQueueDepth() {},
 * };
 * scheduler.addPeer(peer);
 * const controller = new AbortController();
 * for await (const batch of requestBatches(scheduler, peer, { signal: controller.signal })) {
 *   strictEqual(batch.length, 2);
 *   controller.abort();
 * }
 * ```
 */
export async function* requestBatches<P extends PipelinePeer>(
  scheduler: PieceScheduler<P>,
  peer: P,
  options: RequestPipelineOptions,
): AsyncGenerator<BlockRequest[]> {
  const { signal } = options;
  const now = options.now ?? (() => performance.now());
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const snubTimeoutMs = options.snubTimeoutMs ?? SNUB_TIMEOUT_MS;
  let lastAdaptMs = -Infinity;
  while (!signal.aborted && scheduler.hasPeer(peer)) {
    const nowMs = now();
    if (nowMs - lastAdaptMs >= ADAPT_INTERVAL_MS) {
      lastAdaptMs = nowMs;
      peer.adaptQueueDepth(nowMs);
    }
    runTimers(scheduler, peer, nowMs, requestTimeoutMs, snubTimeoutMs);
    peer.wakeBelow = undefined;
    // Choked, a peer may still be asked for the pieces it allowed fast (BEP 6).
    const only = peer.peerChoking ? peer.allowedFast : undefined;
    if ((!peer.peerChoking || only?.size) && peer.amInterested && !scheduler.finished) {
      const outstanding = peer.outstanding.size;
      const limit = peer.snubbed ? 1 : peer.queueDepth;
      const room = limit - outstanding;
      const refill = Math.max(1, peer.queueDepth >> 3);
      if (room >= refill || (outstanding === 0 && room > 0)) {
        const batch = scheduler.fillRequests(peer, room, nowMs, only);
        if (batch.length > 0) {
          if (outstanding === 0) peer.lastProgressAtMs = nowMs;
          yield batch;
          continue;
        }
      } else {
        // Too little room to refill: delivered blocks need not wake us until there is.
        peer.wakeBelow = Math.max(0, limit - refill);
      }
    }
    await scheduler.wait(peer, signal, nextTimerMs(peer, requestTimeoutMs, snubTimeoutMs) - nowMs);
  }
}

/** Snubs a peer that delivers nothing, or reopens its single requests that took too long. */
function runTimers<P extends PipelinePeer>(
  scheduler: PieceScheduler<P>,
  peer: P,
  nowMs: number,
  requestTimeoutMs: number,
  snubTimeoutMs: number,
): void {
  if (peer.outstanding.size === 0) return;
  if (nowMs - peer.lastProgressAtMs > snubTimeoutMs) {
    peer.snubbed = true; // until it sends a block; meanwhile it gets one request at a time
    scheduler.releaseAll(peer);
    return;
  }
  for (const [key, sentAtMs] of peer.outstanding) {
    if (sentAtMs === EXPIRED) continue;
    if (nowMs - sentAtMs < requestTimeoutMs) break; // requests sit in the order they were sent
    scheduler.expire(peer, key);
  }
}

/** When the next request or snub timer of the peer is due (Infinity when none). */
function nextTimerMs(peer: PipelinePeer, requestTimeoutMs: number, snubTimeoutMs: number): number {
  if (peer.outstanding.size === 0) return Infinity;
  let oldest = Infinity;
  for (const sentAtMs of peer.outstanding.values()) {
    if (sentAtMs !== EXPIRED) {
      oldest = sentAtMs;
      break;
    }
  }
  // +1 so the timer fires just after the limit, not just before it.
  return Math.min(oldest + requestTimeoutMs, peer.lastProgressAtMs + snubTimeoutMs) + 1;
}
