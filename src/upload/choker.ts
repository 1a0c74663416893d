/** How often the session should call {@linkcode chooseUnchoked} (BEP 3: every ten seconds). */
export const RECHOKE_INTERVAL_MS = 10_000;

/** How long one optimistic unchoke lasts before another peer gets the slot (BEP 3: 30 s). */
export const OPTIMISTIC_ROTATE_MS = 30_000;

/** A peer connected for less than this long counts as new for the optimistic unchoke. */
export const NEW_PEER_WINDOW_MS = 60_000;

/** How much likelier a new peer is to win the optimistic unchoke than an older one. */
export const NEW_PEER_OPTIMISTIC_WEIGHT = 3;

/** Regular upload slots when {@linkcode ChokerView.slots} is not given. */
export const DEFAULT_UNCHOKE_SLOTS = 4;

/** What the choker knows about one connected peer. */
export interface ChokerPeer {
  /** Unique key of the connection (e.g. `"127.0.0.1:6881"`). */
  readonly id: string;
  /** The peer told us it is interested in our pieces (BEP 3 `peerInterested`). */
  readonly interested: boolean;
  /** The peer has every piece. */
  readonly isSeed: boolean;
  /** Bytes per second we receive from the peer. */
  readonly downloadRate: number;
  /** Bytes per second we send to the peer. */
  readonly uploadRate: number;
  /** When the connection was made, in the same clock as {@linkcode ChokerView.nowMs}. */
  readonly connectedAtMs: number;
  /** When we last unchoked the peer, if ever. */
  readonly lastUnchokedAtMs?: number;
  /** The peer has sent us nothing for a long time although we asked (anti-snubbing). */
  readonly snubbed?: boolean;
}

/** The current optimistic unchoke: which peer and since when. */
export interface OptimisticUnchoke {
  /** The peer's {@linkcode ChokerPeer.id}. */
  readonly id: string;
  /** When it got the optimistic slot. */
  readonly sinceMs: number;
}

/** Everything {@linkcode chooseUnchoked} looks at. */
export interface ChokerView {
  /** We have every piece (seeding) rather than downloading. */
  readonly seeding: boolean;
  /** Current time in milliseconds. */
  readonly nowMs: number;
  /** Number of regular upload slots (default {@linkcode DEFAULT_UNCHOKE_SLOTS}). */
  readonly slots?: number;
  /** Every connected peer. */
  readonly peers: readonly ChokerPeer[];
  /** The optimistic unchoke returned by the previous call, if any. */
  readonly optimistic?: OptimisticUnchoke;
  /** Random numbers in `[0, 1)` for the optimistic draw (default `Math.random`). */
  readonly random?: () => number;
}

/** Which peers to unchoke; every other peer is choked. */
export interface ChokeDecision {
  /** Ids of the peers to unchoke, the optimistic one included. */
  unchoke: Set<string>;
  /** The optimistic unchoke to pass back in the next {@linkcode ChokerView}. */
  optimistic?: OptimisticUnchoke;
}

/**
 * Decides which peers we upload to (the BEP 3 choking algorithm, as libtorrent, Transmission
 * and aria2 run it). Pure: the caller sends choke/unchoke messages for the differences.
 *
 * Only interested peers that are not seeds are ever unchoked: a peer that has every piece
 * wants nothing of ours, and an uninterested peer is choked (the simple rule; it will be
 * unchoked at the next rechoke after it says it is interested).
 *
 * - Downloading: the `slots` peers that send to us fastest (tit-for-tat), ties broken by the
 *   rate we send to them, then by id. Snubbed peers get no regular slot (they can still win
 *   the optimistic one).
 * - Seeding: the `slots` peers we send to fastest (libtorrent's default "fastest_upload"),
 *   ties broken in favour of the peer that has waited longest since it was last unchoked
 *   (never unchoked first), then by id. Choked peers have a rate near zero, so among them
 *   this rotates round-robin instead of always picking the same ones.
 * - Plus one optimistic unchoke among the remaining candidates, kept for
 *   {@linkcode OPTIMISTIC_ROTATE_MS} while it stays eligible and then drawn again at random,
 *   with peers connected less than {@linkcode NEW_PEER_WINDOW_MS} ago
 *   {@linkcode NEW_PEER_OPTIMISTIC_WEIGHT} times as likely (as in the original client), so new
 *   peers quickly get pieces to trade.
 *
 * @param view The peers, the time, and the previous optimistic unchoke.
 * @returns The set to unchoke and the optimistic unchoke to remember.
 * @throws {RangeError} If `slots` is negative or not an integer.
 * @example
 * ```ts
 * import { chooseUnchoked } from "@shoal/shoal/upload";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const peer = (id: string, downloadRate: number) => ({
 *   id, interested: true, isSeed: false, downloadRate, uploadRate: 0, connectedAtMs: 0,
 * });
 * const decision = chooseUnchoked({
 *   seeding: false,
 *   nowMs: 120_000,
 *   slots: 2,
 *   peers: [peer("a", 10), peer("b", 30), peer("c", 20), peer("d", 0)],
 *   random: () => 0.25,
 * });
 * deepStrictEqual([...decision.unchoke].sort(), ["a", "b", "c"]);
 * strictEqual(decision.optimistic?.id, "a"); // "a" and "d" were candidates
 * ```
 */
export function chooseUnchoked(view: ChokerView): ChokeDecision {
  const slots = view.slots ?? DEFAULT_UNCHOKE_SLOTS;
  if (!Number.isInteger(slots) || slots < 0) {
    throw new RangeError(`Cannot choose unchoked peers: ${slots} slots is not a count`);
  }
  const candidates = view.peers.filter((peer) => peer.interested && !peer.isSeed);
  const regularCandidates = view.seeding ? candidates : candidates.filter((peer) => !peer.snubbed);
  const ranked = [...regularCandidates].sort(view.seeding ? compareSeeding : compareDownloading);
  const unchoke = new Set(ranked.slice(0, slots).map((peer) => peer.id));

  const eligible = candidates.filter((peer) => !unchoke.has(peer.id));
  const current = view.optimistic;
  if (
    current !== undefined && view.nowMs - current.sinceMs < OPTIMISTIC_ROTATE_MS &&
    eligible.some((peer) => peer.id === current.id)
  ) {
    unchoke.add(current.id);
    return { unchoke, optimistic: current };
  }
  const chosen = drawOptimistic(eligible, view.nowMs, view.random ?? Math.random);
  if (chosen === undefined) return { unchoke };
  unchoke.add(chosen.id);
  return { unchoke, optimistic: { id: chosen.id, sinceMs: view.nowMs } };
}

/** Orders peers while downloading: fastest to us first. */
function compareDownloading(a: ChokerPeer, b: ChokerPeer): number {
  return b.downloadRate - a.downloadRate || b.uploadRate - a.uploadRate || compareIds(a, b);
}

/** Orders peers while seeding: fastest from us first, then longest waiting. */
function compareSeeding(a: ChokerPeer, b: ChokerPeer): number {
  const waitedA = a.lastUnchokedAtMs ?? Number.NEGATIVE_INFINITY;
  const waitedB = b.lastUnchokedAtMs ?? Number.NEGATIVE_INFINITY;
  return b.uploadRate - a.uploadRate || (waitedA === waitedB ? 0 : waitedA < waitedB ? -1 : 1) ||
    compareIds(a, b);
}

function compareIds(a: ChokerPeer, b: ChokerPeer): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Draws one peer, new peers weighted {@linkcode NEW_PEER_OPTIMISTIC_WEIGHT} times. */
function drawOptimistic(
  peers: readonly ChokerPeer[],
  nowMs: number,
  random: () => number,
): ChokerPeer | undefined {
  if (peers.length === 0) return undefined;
  const weights = peers.map((peer) =>
    nowMs - peer.connectedAtMs < NEW_PEER_WINDOW_MS ? NEW_PEER_OPTIMISTIC_WEIGHT : 1
  );
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const r = Math.min(Math.max(random(), 0), 1);
  let point = r * totalWeight;
  for (let i = 0; i < peers.length; i++) {
    point -= weights[i];
    if (point < 0) return peers[i];
  }
  return peers[peers.length - 1];
}
