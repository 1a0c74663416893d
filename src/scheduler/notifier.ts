/**
 * Wakes async loops that wait for "something changed". A `notify` before anyone waits is
 * remembered, so a wake-up is never lost between a check and a wait.
 * @example
 * ```ts
 * import { Notifier } from "@shoal/shoal/scheduler";
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
   * @param timeoutMs Return after this long even without a `notify` (no limit by default).
   * @returns When notified or timed out.
   * @throws The signal's reason when aborted.
   */
  wait(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    signal?.throwIfAborted();
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        this.#resolve = undefined;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          finish();
          resolve();
        }, Math.max(0, timeoutMs));
      }
      this.#resolve = () => {
        finish();
        resolve();
      };
    });
  }
}
