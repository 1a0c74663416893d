import type { Bitfield } from "../bytes/bitfield.ts";

/** Piece priority: not wanted (the piece lies only in skipped files). */
export const PRIORITY_SKIP = 0;
/** Piece priority of a piece of a normal file. */
export const PRIORITY_NORMAL = 1;
/** Piece priority of a piece of a high-priority file (or a first or last piece in sequential mode). */
export const PRIORITY_HIGH = 2;
/** The highest priority a reader may give a piece (the piece it waits for). */
export const PRIORITY_NOW = 7;

/**
 * The priority of every piece of a torrent: a base level from the files' priorities
 * (0 skip, 1 normal, 2 high), raised by any number of "boosts" — for example one per stream
 * reader, giving the piece under its read position and a readahead window after it levels
 * 3 to 7. The effective priority of a piece is the highest of its base and its boosts.
 * Counts the wanted pieces we still lack, so "done" needs no scan.
 * @example
 * ```ts
 * import { Bitfield, PiecePriorities } from "@shoal/shoal/scheduler";
 * import { strictEqual } from "node:assert/strict";
 * const have = new Bitfield(4);
 * const priorities = new PiecePriorities(have);
 * priorities.setBase(new Uint8Array([1, 0, 0, 1]));
 * strictEqual(priorities.missing, 2);
 * const reader = {};
 * priorities.setBoost(reader, new Map([[1, 7]]));
 * strictEqual(priorities.get(1), 7);
 * strictEqual(priorities.missing, 3);
 * priorities.clearBoost(reader);
 * strictEqual(priorities.missing, 2);
 * ```
 */
export class PiecePriorities {
  readonly #have: Bitfield;
  readonly #base: Uint8Array;
  readonly #boosts = new Map<object, ReadonlyMap<number, number>>();
  /** Effective boost per piece (the highest of all boosts), only for boosted pieces. */
  readonly #boosted = new Map<number, number>();
  #missing = 0;
  #highBase = 0;

  /**
   * Starts with every piece at {@linkcode PRIORITY_NORMAL}.
   * @param have The verified pieces (read, never changed; call `pieceVerified` as they verify).
   */
  constructor(have: Bitfield) {
    this.#have = have;
    this.#base = new Uint8Array(have.size).fill(PRIORITY_NORMAL);
    this.#recount();
  }

  /** Number of pieces. */
  get size(): number {
    return this.#base.length;
  }

  /** Wanted pieces (effective priority above 0) not verified yet. */
  get missing(): number {
    return this.#missing;
  }

  /** The highest effective priority any piece can have now (a bound for early exits). */
  get top(): number {
    let top = this.#highBase > 0 ? PRIORITY_HIGH : PRIORITY_NORMAL;
    for (const level of this.#boosted.values()) if (level > top) top = level;
    return top;
  }

  /** The boosted pieces and their boost, for pickers that try them first. */
  get boosted(): ReadonlyMap<number, number> {
    return this.#boosted;
  }

  /**
   * The effective priority of a piece.
   * @param index Piece index.
   * @returns 0 (not wanted) to {@linkcode PRIORITY_NOW}.
   */
  get(index: number): number {
    const base = this.#base[index];
    const boost = this.#boosted.get(index);
    return boost !== undefined && boost > base ? boost : base;
  }

  /**
   * Replaces the base priorities (from the files' priorities).
   * @param priorities One level per piece.
   * @throws {RangeError} If the length is not the piece count.
   */
  setBase(priorities: Uint8Array): void {
    if (priorities.length !== this.#base.length) {
      throw new RangeError(
        `Cannot set ${priorities.length} priorities for ${this.#base.length} pieces`,
      );
    }
    this.#base.set(priorities);
    this.#recount();
  }

  /**
   * Sets (or replaces) the boosts one owner gives, e.g. a stream reader.
   * @param owner Any object identifying the owner.
   * @param levels Piece index -> level.
   */
  setBoost(owner: object, levels: ReadonlyMap<number, number>): void {
    this.#boosts.set(owner, levels);
    this.#rebuildBoosts();
  }

  /**
   * Removes an owner's boosts.
   * @param owner The owner given to `setBoost`.
   */
  clearBoost(owner: object): void {
    if (this.#boosts.delete(owner)) this.#rebuildBoosts();
  }

  /**
   * Notes that a piece verified (it no longer counts as missing).
   * @param index Piece index.
   */
  pieceVerified(index: number): void {
    if (this.get(index) > PRIORITY_SKIP) this.#missing--;
  }

  #rebuildBoosts(): void {
    // Only boosted pieces (before or after) can change their "wanted" state: adjust the
    // missing count for those instead of recounting every piece.
    const before = new Map<number, boolean>();
    for (const index of this.#boosted.keys()) before.set(index, this.get(index) > PRIORITY_SKIP);
    this.#boosted.clear();
    for (const levels of this.#boosts.values()) {
      for (const [index, level] of levels) {
        if (!Number.isInteger(index) || index < 0 || index >= this.#base.length) continue;
        if (level > (this.#boosted.get(index) ?? 0)) this.#boosted.set(index, level);
        if (!before.has(index)) before.set(index, this.#base[index] > PRIORITY_SKIP);
      }
    }
    for (const [index, wasWanted] of before) {
      if (this.#have.has(index)) continue;
      const wanted = this.get(index) > PRIORITY_SKIP;
      if (wanted !== wasWanted) this.#missing += wanted ? 1 : -1;
    }
  }

  #recount(): void {
    let missing = 0, high = 0;
    const have = this.#have;
    for (let i = 0; i < this.#base.length; i++) {
      if (this.#base[i] >= PRIORITY_HIGH) high++;
      if (!have.has(i) && this.get(i) > PRIORITY_SKIP) missing++;
    }
    this.#missing = missing;
    this.#highBase = high;
  }
}
