import type { Bitfield } from "../bytes/bitfield.ts";
import type { ActivePiece } from "./active_piece.ts";
import type { MemoryBudget } from "./memory_budget.ts";

/** What the scheduler keeps about each peer: its pieces and our requests to it. */
export interface SchedulerPeer {
  /** The pieces the peer has. */
  readonly has: Bitfield;
  /** Our outstanding requests to the peer: block key -> time sent (ms). */
  readonly outstanding: Map<number, number>;
  /** Pieces the peer suggested (BEP 6), tried first when they are among the most wanted. */
  readonly suggested?: Iterable<number>;
  /**
   * A delivered block wakes the peer's request pipeline only once `outstanding` is down to
   * this many (the pipeline sets it when it waits for room): saves a wake-up, a timer and a
   * promise per block. Unset: every block wakes it.
   */
  wakeBelow?: number;
}

/** Options for {@linkcode PieceScheduler}. */
export interface PieceSchedulerOptions {
  /**
   * Bytes of piece buffers that may be in memory at once (default 16 MiB, or 4 pieces if more),
   * when no shared `budget` is given.
   */
  maxActiveBytes?: number;
  /** A memory budget shared with other torrents (a client's); piece buffers draw from it. */
  budget?: MemoryBudget;
  /** Download in piece order instead of rarest first. */
  sequential?: boolean;
  /** Source of randomness for the picker. */
  random?: () => number;
}

/** What a received block did. */
export interface BlockOutcome<P extends SchedulerPeer = SchedulerPeer> {
  /** The piece, when this block completed it. */
  completed?: ActivePiece;
  /** Other peers that were asked for the same block (endgame): send them `cancel`. */
  cancel: P[];
  /**
   * `true` when the block came too late to be used: its request was cancelled or released, or
   * its piece is already verified. Harmless; the bytes were not stored.
   */
  late?: boolean;
}
