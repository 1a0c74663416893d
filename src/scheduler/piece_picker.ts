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
}

/**
 * Picks the next new piece to start downloading from one peer: a random piece while we have
 * fewer than {@linkcode RANDOM_FIRST_PIECES}, then the rarest piece the peer has, ties broken
 * at random. Pieces we have or that are already in progress are never picked (callers finish
 * partial pieces first).
 * @param view What the picker may see.
 * @returns A piece index, or `undefined` if the peer has nothing new for us.
 * @example
 * ```ts
 * import { pickPiece } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const piece = pickPiece({
 *   pieceCount: 3, haveCount: 10, availability: [5, 1, 2],
 *   have: () => false, inProgress: () => false, peerHas: () => true,
 * });
 * strictEqual(piece, 1);
 * ```
 */
export function pickPiece(view: PickerView): number | undefined {
  const random = view.random ?? Math.random;
  const count = view.pieceCount;
  const rarest = view.haveCount >= RANDOM_FIRST_PIECES;
  // Scan from a random place and keep the first of the rarest: ties fall to chance without a
  // random draw per piece, and a piece held by one peer only (the rarest possible) ends the
  // scan at once, so a pick costs little even with tens of thousands of pieces.
  const start = Math.min(count - 1, Math.floor(random() * count));
  let best: number | undefined;
  let bestAvailability = Infinity;
  for (let n = 0; n < count; n++) {
    const i = start + n < count ? start + n : start + n - count;
    if (!view.peerHas(i) || view.have(i) || view.inProgress(i)) continue;
    const availability = rarest ? view.availability[i] : 0;
    if (availability < bestAvailability) {
      best = i;
      bestAvailability = availability;
      if (availability <= 1) break;
    }
  }
  return best;
}
