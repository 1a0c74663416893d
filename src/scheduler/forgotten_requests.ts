/** Size of the memory kept per peer before it is reset. */
const MAX_REMEMBERED = 8192;

/**
 * The requests to one peer that we cancelled or released, counted per block key: a key can be
 * asked, released, asked again and released again before either answer comes, and each late
 * answer is harmless, not an offence. Bounded: past {@linkcode MAX_REMEMBERED} keys it starts
 * over (a late block then only costs that peer a strike).
 */
export class ForgottenRequests {
  readonly #counts = new Map<number, number>();

  /**
   * Remembers one more request for the block that may still be answered.
   * @param key The block key.
   */
  forget(key: number): void {
    if (this.#counts.size >= MAX_REMEMBERED) this.#counts.clear();
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /**
   * Counts off one late answer.
   * @param key The block key.
   * @returns `false` when no request for it was forgotten.
   */
  take(key: number): boolean {
    const count = this.#counts.get(key);
    if (count === undefined) return false;
    if (count > 1) this.#counts.set(key, count - 1);
    else this.#counts.delete(key);
    return true;
  }
}
