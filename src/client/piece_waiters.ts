import type { Bitfield } from "../bytes/bitfield.ts";

/**
 * Readers waiting for pieces to verify: `wait` resolves once the piece is in `have`, rejects
 * when the torrent stops.
 */
export class PieceWaiters {
  readonly #waiters = new Map<number, Set<() => void>>();
  #have: Bitfield | undefined;
  #stopped = false;

  /**
   * The verified pieces to check (from the current session); wakes waiters whose piece is there.
   * @param have The bitfield.
   */
  setHave(have: Bitfield | undefined): void {
    this.#have = have;
    if (!have) return;
    for (const index of [...this.#waiters.keys()]) if (have.has(index)) this.pieceVerified(index);
  }

  /**
   * Whether a piece is verified.
   * @param index The piece.
   * @returns `true` when it is.
   */
  has(index: number): boolean {
    return this.#have?.has(index) ?? false;
  }

  /**
   * Waits until a piece is verified.
   * @param index The piece.
   * @param signal Aborts the wait.
   * @returns When verified.
   * @throws The signal's reason, or an `AbortError` when the torrent stops.
   */
  wait(index: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.has(index)) return Promise.resolve();
    if (this.#stopped) return Promise.reject(stoppedError());
    return new Promise((resolve, reject) => {
      let waiters = this.#waiters.get(index);
      if (!waiters) this.#waiters.set(index, waiters = new Set());
      const onAbort = () => {
        waiters!.delete(wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        if (this.has(index)) resolve();
        else reject(stoppedError());
      };
      waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Wakes the readers of a piece that verified.
   * @param index The piece.
   */
  pieceVerified(index: number): void {
    const waiters = this.#waiters.get(index);
    if (!waiters) return;
    this.#waiters.delete(index);
    for (const wake of waiters) wake();
  }

  /** The torrent stopped: every waiting reader fails. */
  stop(): void {
    this.#stopped = true;
    for (const waiters of this.#waiters.values()) for (const wake of waiters) wake();
    this.#waiters.clear();
  }
}

function stoppedError(): DOMException {
  return new DOMException("The torrent was stopped", "AbortError");
}
