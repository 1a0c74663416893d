import { TrackerError } from "./tracker_error.ts";
import { errorMessage } from "../util/printable.ts";

/**
 * How long one announce or scrape to one tracker may take by default, DNS included, for HTTP
 * and UDP alike (libtorrent waits 10 s for a reply and 30 s in all). A dead tracker costs this
 * much before the next one is tried; `timeoutMs` changes it per call.
 */
export const DEFAULT_TRACKER_TIMEOUT_MS: number = 15_000;

/**
 * The time budget of one tracker call: `timeoutMs`, else {@linkcode DEFAULT_TRACKER_TIMEOUT_MS};
 * `Infinity` means no limit.
 * @param timeoutMs The caller's budget, if any.
 * @returns The budget in milliseconds.
 * @throws {RangeError} If `timeoutMs` is not a positive number.
 */
export function trackerBudgetMs(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return DEFAULT_TRACKER_TIMEOUT_MS;
  if (!(timeoutMs > 0)) {
    throw new RangeError(`Cannot announce: timeoutMs must be a positive number, not ${timeoutMs}`);
  }
  return timeoutMs;
}

/** A signal that aborts when the caller's signal does or when a time limit passes. */
export interface Deadline extends Disposable {
  /** Aborts on the caller's abort (with its reason) or on timeout (a "TimeoutError"). */
  readonly signal: AbortSignal;
  /** Tells whether the time limit, not the caller, aborted `signal`. */
  timedOut(): boolean;
}

/**
 * Combines an optional caller signal with an optional time limit. Dispose it to clear the timer
 * (no timer outlives the operation, so Deno's test sanitizers stay quiet).
 * @param signal The caller's signal, if any.
 * @param timeoutMs The time limit in milliseconds, if any.
 * @returns The combined deadline.
 */
export function startDeadline(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Deadline {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
    timer = setTimeout(() => {
      timer = undefined;
      controller.abort(new DOMException(`Timed out after ${timeoutMs} ms`, "TimeoutError"));
    }, Math.max(0, timeoutMs));
  }
  const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  return {
    signal: combined,
    timedOut: () => controller.signal.aborted && !signal?.aborted,
    [Symbol.dispose](): void {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * Waits `ms` milliseconds; rejects with `signal.reason` as soon as `signal` aborts, clearing the
 * timer. `wake`, when given, ends the wait early on its "announce" event.
 * @param ms How long to wait.
 * @param signal Aborts the wait.
 * @param wake Fires "announce" to end the wait early.
 * @returns Resolves after the wait.
 */
export function sleep(ms: number, signal?: AbortSignal, wake?: EventTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      wake?.removeEventListener("announce", onWake);
    };
    const onAbort = (): void => {
      done();
      reject(signal?.reason);
    };
    const onWake = (): void => {
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
    wake?.addEventListener("announce", onWake, { once: true });
  });
}

/**
 * Runs `operation` under a deadline; a timeout or any non-abort failure becomes a
 * {@linkcode TrackerError} naming `url`, while the caller's abort rethrows `signal.reason`.
 * `operation` may name the step it is in (`stage("resolving tracker.example")`), so that a
 * timeout says where the time went.
 * @param url The tracker, for errors.
 * @param what What is being done ("announce", "scrape"), for errors.
 * @param options `signal` and `timeoutMs` (no limit when undefined or not finite).
 * @param operation The work, given the combined signal and a function naming the current step.
 * @returns What `operation` returns.
 */
export async function withTrackerDeadline<T>(
  url: string,
  what: string,
  options: { signal?: AbortSignal; timeoutMs?: number },
  operation: (signal: AbortSignal, stage: (step: string) => void) => Promise<T>,
): Promise<T> {
  options.signal?.throwIfAborted();
  using deadline = startDeadline(options.signal, options.timeoutMs);
  let step: string | undefined;
  try {
    return await operation(deadline.signal, (current) => (step = current));
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (deadline.timedOut()) {
      throw new TrackerError(
        `Cannot ${what} to ${url}: no answer within ${options.timeoutMs} ms` +
          (step === undefined ? "" : ` (while ${step})`),
        url,
        { cause: error },
      );
    }
    if (error instanceof TrackerError) throw error;
    throw new TrackerError(
      `Cannot ${what} to ${url}: ${errorMessage(error)}`,
      url,
      { cause: error },
    );
  }
}
