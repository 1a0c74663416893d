/**
 * Wakes async loops that wait for "something changed". A `notify` before anyone waits is
 * remembered, so a wake-up is never lost between a check and a wait.
 * @example
 * ```ts
 * import { Notifier } from "@shoal/shoal";
 * const changed = new Notifier();
 * changed.notify();
 * await changed.wait(); // returns at once: the notify was remembered
 * ```
 */
export class Notifier {
  #pending = false;
  #resolve: (() => void) | undefined;

  /** Wakes the current waiter, or the next one if nobody waits now. */
  notify(): void {
    if (this.#resolve) {
      const resolve = this.#resolve;
      this.#resolve = undefined;
      resolve();
    } else {
      this.#pending = true;
    }
  }

  /**
   * Waits for the next `notify` (or returns at once if one is pending).
   * @param signal Aborting it rejects the wait with the signal's reason.
   * @returns When notified.
   * @throws The signal's reason when aborted.
   */
  wait(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#resolve = undefined;
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#resolve = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
    });
  }
}
