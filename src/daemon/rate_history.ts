/** One sample of the client's rates. */
export interface RateSample {
  /** When (ms since 1970). */
  readonly t: number;
  /** Payload bytes per second received. */
  readonly down: number;
  /** Payload bytes per second sent. */
  readonly up: number;
}

/** How many samples are kept: five minutes at one a second. */
export const RATE_HISTORY_SAMPLES = 300;

/**
 * The client's download and upload rates over the last few minutes, sampled once a second,
 * so a page opened now can draw the chart from the start (sent as the event stream's
 * `history`).
 * @example
 * ```ts
 * import { RateHistory } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const history = new RateHistory(() => ({ downloadRate: 5, uploadRate: 1 }), { intervalMs: 0 });
 * history.sample();
 * strictEqual(history.samples()[0].down, 5);
 * history.close();
 * ```
 */
export class RateHistory {
  readonly #read: () => { downloadRate: number; uploadRate: number };
  readonly #samples: RateSample[] = [];
  readonly #max: number;
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * Starts sampling.
   * @param read The rates now.
   * @param options `intervalMs` between samples (default 1000; 0 to sample only by hand) and
   *   `max` samples kept (default {@linkcode RATE_HISTORY_SAMPLES}).
   */
  constructor(
    read: () => { downloadRate: number; uploadRate: number },
    options: { intervalMs?: number; max?: number } = {},
  ) {
    this.#read = read;
    this.#max = options.max ?? RATE_HISTORY_SAMPLES;
    const interval = options.intervalMs ?? 1000;
    this.#timer = interval > 0 ? setInterval(() => this.sample(), interval) : undefined;
  }

  /** Takes a sample now. */
  sample(): void {
    const { downloadRate, uploadRate } = this.#read();
    this.#samples.push({ t: Date.now(), down: downloadRate, up: uploadRate });
    if (this.#samples.length > this.#max) this.#samples.shift();
  }

  /**
   * The samples, oldest first.
   * @returns A copy.
   */
  samples(): RateSample[] {
    return this.#samples.slice();
  }

  /** Stops sampling. */
  close(): void {
    clearInterval(this.#timer);
  }
}
