/** Pieces are picked at random, not rarest-first, until this many are complete (BEP 3 practice). */
export const RANDOM_FIRST_PIECES = 4;

/** What the picker may see of one torrent and one peer. */
export interface PickerView {
  /** Number of pieces in the torrent. */
  readonly pieceCount: number;
  /** Number of pieces we have verified. */
  readonly haveCount: number;
  /** Whether we already have piece `index`. */
  have(index: number): boolean;
  /** Whether piece `index` is already being downloaded (a partial piece). */
  inProgress(index: number): boolean;
  /** Whether the peer we pick for has piece `index`. */
  peerHas(index: number): boolean;
  /** How many connected peers have each piece. */
  readonly availability: ArrayLike<number>;
  /** Source of randomness in [0, 1); defaults to `Math.random`. */
  readonly random?: () => number;
  /** Effective priority of each piece (0 = not wanted); every piece is 1 when absent. */
  priority?(index: number): number;
  /** The highest priority among unboosted pieces (2 when some file is high, else 1). */
  readonly topPriority?: number;
  /** Pieces raised above the files' priorities (e.g. by stream readers): index -> level. */
  readonly boosted?: ReadonlyMap<number, number>;
  /** Pick in index order instead of rarest first (sequential download). */
  readonly sequential?: boolean;
}

/**
 * Picks the next new piece to start downloading from one peer. Higher priority always wins:
 * first the boosted pieces (a stream's read position and readahead: highest level, then lowest
 * index), then the files' priorities. Among equals: a random piece while we have fewer than
 * {@linkcode RANDOM_FIRST_PIECES}, then the rarest piece the peer has, ties broken at random;
 * or, with `sequential`, the lowest index. Pieces we have, pieces in progress and pieces of
 * priority 0 are never picked (callers finish partial pieces first).
 * @param view What the picker may see.
 * @returns A piece index, or `undefined` if the peer has nothing new for us.
 * @example
 * ```ts
 * import { pickPiece } from "@shoal/shoal/scheduler";
 * import { strictEqual } from "node:assert/strict";
 * const piece = pickPiece({
 *   pieceCount: 3, haveCount: 10, availability: [5, 1, 2],
 *   have: () => false, inProgress: () => false, peerHas: () => true,
 * });
 * strictEqual(piece, 1);
 * ```
 */
export function pickPiece(view: PickerView): number | undefined {
  const count = view.pieceCount;
  const priority = view.priority ?? (() => 1);
  const eligible = (i: number): boolean =>
    view.peerHas(i) && !view.have(i) && !view.inProgress(i) && priority(i) > 0;
  if (view.boosted && view.boosted.size > 0) {
    let best: number | undefined;
    let bestLevel = 0;
    for (const [i, level] of view.boosted) {
      if (level < bestLevel || (level === bestLevel && best !== undefined && i > best)) continue;
      if (!eligible(i)) continue;
      best = i;
      bestLevel = level;
    }
    if (best !== undefined && bestLevel > (view.topPriority ?? 1)) return best;
  }
  const top = view.topPriority ?? 1;
  if (view.sequential) {
    let best: number | undefined;
    let bestPriority = 0;
    for (let i = 0; i < count; i++) {
      if (!eligible(i)) continue;
      const p = priority(i);
      if (p > bestPriority) {
        best = i;
        bestPriority = p;
        if (p >= top) break;
      }
    }
    return best;
  }
  const random = view.random ?? Math.random;
  const rarest = view.haveCount >= RANDOM_FIRST_PIECES;
  // Scan from a random place and keep the first of the best: ties fall to chance without a
  // random draw per piece, and a top-priority piece held by one peer only (the rarest
  // possible) ends the scan at once, so a pick costs little even with tens of thousands of
  // pieces.
  const start = Math.min(count - 1, Math.floor(random() * count));
  let best: number | undefined;
  let bestPriority = 0;
  let bestAvailability = Infinity;
  for (let n = 0; n < count; n++) {
    const i = start + n < count ? start + n : start + n - count;
    if (!view.peerHas(i) || view.have(i) || view.inProgress(i)) continue;
    const p = priority(i);
    if (p === 0 || p < bestPriority) continue;
    const availability = rarest ? view.availability[i] : 0;
    if (p > bestPriority || availability < bestAvailability) {
      best = i;
      bestPriority = p;
      bestAvailability = availability;
      if (p >= top && availability <= 1) break;
    }
  }
  return best;
}
