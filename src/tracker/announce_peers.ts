import type { PeerAddress } from "../wire/peer_address.ts";
import { sleep, startDeadline } from "./deadline.ts";
import type { TieredAnnounceResponse, TrackerTiers } from "./tracker_tiers.ts";
import type { AnnounceEvent, AnnounceOptions, AnnounceRequest } from "./types.ts";
import { errorMessage } from "../util/printable.ts";

/** The first wait after a round in which every tracker failed. */
export const ANNOUNCE_RETRY_INITIAL_MS: number = 15_000;
/** The longest wait between failed rounds (the wait doubles up to this). */
export const ANNOUNCE_RETRY_MAX_MS: number = 30 * 60_000;
/** How long {@linkcode announceEvent} waits by default. */
export const ANNOUNCE_EVENT_TIMEOUT_MS: number = 5_000;

/** Options for {@linkcode announcePeers}. */
export interface AnnouncePeersOptions {
  /** Stops the loop; the generator then throws `signal.reason`. */
  signal?: AbortSignal;
  /** Told every tracker warning and every failed round. */
  onWarning?: (message: string) => void;
  /** The shortest wait between announces (default 0: the tracker's clamped interval rules). */
  minIntervalMs?: number;
  /** The longest wait between announces (default: the tracker's interval, at most 2 h). */
  maxIntervalMs?: number;
  /** The first wait after a failed round (default 15 s), doubled after each failure. */
  retryInitialMs?: number;
  /** The longest wait after failed rounds (default 30 min). */
  retryMaxMs?: number;
  /** Dispatch an "announce" event on it to cut the current wait short and announce now. */
  wake?: EventTarget;
  /** Passed to each announce (`timeoutMs`, `socket`, UDP retransmit settings). */
  announce?: Omit<AnnounceOptions, "signal">;
}

/**
 * Keeps a torrent announced to its trackers (BEP 3, BEP 12) and yields each batch of peers.
 *
 * - The first announce carries "started" (repeated until one tracker accepts it).
 * - Then it sleeps for the tracker's interval (at least its `min interval` and `minIntervalMs`,
 *   at most `maxIntervalMs`) and re-announces with a fresh `state()`.
 * - Completion: once `state().left` drops to 0 after having been above 0, the next announce
 *   carries "completed", unless {@linkcode announceEvent} already delivered "completed" through
 *   the same tiers ({@linkcode TrackerTiers.completedAnnounced}). `state()` may also return
 *   `event: "completed"` itself; "stopped" from `state()` is ignored (send it with
 *   {@linkcode announceEvent} after aborting the loop). To announce at once, dispatch
 *   `new Event("announce")` on `options.wake`.
 * - When every tracker fails, it tells `onWarning` and retries after 15 s, 30 s, ... up to
 *   30 min.
 *
 * It never throws, except `signal.reason` when `signal` aborts; no timer outlives it.
 * @param tiers The torrent's trackers.
 * @param state Returns the current counters (called before each announce).
 * @param options `signal`, `onWarning`, interval bounds, retry timing, `wake`.
 * @returns The peers of each successful announce (possibly empty batches).
 * @example
 * ```ts
 * import { announcePeers, TrackerTiers } from "@shoal/shoal/tracker";
 * import { deepStrictEqual } from "node:assert/strict";
 * const events: (string | undefined)[] = [];
 * const tiers = new TrackerTiers([["http://t.example/announce"]], {
 *   announce: (_url, request) => {
 *     events.push(request.event);
 *     return Promise.resolve({ peers: [{ host: "10.0.0.1", port: 1 }], intervalSeconds: 60 });
 *   },
 * });
 * const state = () => ({
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 100,
 * });
 * let batches = 0;
 * for await (const peers of announcePeers(tiers, state, { maxIntervalMs: 1 })) {
 *   deepStrictEqual(peers, [{ host: "10.0.0.1", port: 1 }]);
 *   if (++batches === 2) break;
 * }
 * deepStrictEqual(events, ["started", undefined]);
 * ```
 */
export async function* announcePeers(
  tiers: TrackerTiers,
  state: () => AnnounceRequest,
  options: AnnouncePeersOptions = {},
): AsyncGenerator<PeerAddress[]> {
  const { signal, wake } = options;
  const retryInitialMs = options.retryInitialMs ?? ANNOUNCE_RETRY_INITIAL_MS;
  const retryMaxMs = options.retryMaxMs ?? ANNOUNCE_RETRY_MAX_MS;
  let started = false;
  let wasIncomplete = false;
  let completedSent = false;
  let failures = 0;
  while (true) {
    signal?.throwIfAborted();
    const current = state();
    let event: AnnounceEvent | undefined;
    if (!started) event = "started";
    else if (!completedSent && !tiers.completedAnnounced) {
      if (current.event === "completed" || (wasIncomplete && current.left === 0)) {
        event = "completed";
      }
    }
    const request: AnnounceRequest = { ...current, event };
    if (event === undefined) delete request.event;
    let response: TieredAnnounceResponse;
    try {
      response = await tiers.announce(request, { ...options.announce, signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const waitMs = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(failures, 30));
      failures++;
      options.onWarning?.(
        `${errorMessage(error)} ` +
          `(retrying in ${Math.round(waitMs / 1000)} s)`,
      );
      await sleep(waitMs, signal, wake);
      continue;
    }
    failures = 0;
    if (event === "started") started = true;
    if (event === "completed") completedSent = true;
    if (current.left > 0) wasIncomplete = true;
    for (const error of response.skipped ?? []) options.onWarning?.(error.message);
    if (response.warning !== undefined) {
      options.onWarning?.(`Tracker ${response.url} warns: ${response.warning}`);
    }
    yield response.peers;
    let waitMs = Math.max(
      response.intervalSeconds * 1000,
      (response.minIntervalSeconds ?? 0) * 1000,
      options.minIntervalMs ?? 0,
    );
    if (options.maxIntervalMs !== undefined) waitMs = Math.min(waitMs, options.maxIntervalMs);
    await sleep(waitMs, signal, wake);
  }
}

/**
 * Sends one event announce ("completed" or "stopped") through the tiers, best effort: it gives
 * up after `timeoutMs` (default 5 s, so that quitting stays fast) and never throws.
 * @param tiers The torrent's trackers.
 * @param request The announce, with `event` "completed" or "stopped".
 * @param options `timeoutMs` bounds the whole call; `signal` cancels it.
 * @returns The answer, or `undefined` if no tracker accepted it in time.
 * @example
 * ```ts
 * import { announceEvent, TrackerTiers } from "@shoal/shoal/tracker";
 * import { strictEqual } from "node:assert/strict";
 * const tiers = new TrackerTiers([["http://t.example/announce"]], {
 *   announce: () => new Promise(() => {}), // a tracker that never answers
 * });
 * const request = {
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 0, event: "stopped" as const,
 * };
 * strictEqual(await announceEvent(tiers, request, { timeoutMs: 50 }), undefined);
 * ```
 */
export async function announceEvent(
  tiers: TrackerTiers,
  request: AnnounceRequest,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<TieredAnnounceResponse | undefined> {
  const timeoutMs = options.timeoutMs ?? ANNOUNCE_EVENT_TIMEOUT_MS;
  using deadline = startDeadline(options.signal, timeoutMs);
  const { signal } = deadline;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([
      tiers.announce(request, { signal, timeoutMs }).catch(() => undefined),
      aborted,
    ]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
