/**
 * A tracker refused, failed or lied (BEP 3, BEP 15): the tracker's "failure reason", an error
 * packet, a timeout, a network error or a malformed response. `url` names the tracker; when
 * several trackers were tried (BEP 12), `errors` holds each one's error.
 * @example
 * ```ts
 * import { TrackerError } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const error = new TrackerError("Cannot announce: tracker said no", "udp://t.example:80");
 * strictEqual(error.name, "TrackerError");
 * strictEqual(error.url, "udp://t.example:80");
 * ```
 */
export class TrackerError extends Error {
  /** The tracker's URL (empty when not known, e.g. when parsing bytes alone). */
  readonly url: string;
  /** The text the tracker sent as its reason, when it sent one. */
  readonly failureReason: string | undefined;
  /** The errors of every tracker tried, when this error sums up several (BEP 12). */
  readonly errors: readonly Error[];

  /**
   * Makes the error.
   * @param message What failed and why.
   * @param url The tracker's URL ("" when not known).
   * @param options `cause` when wrapping another error, `failureReason` when the tracker said
   *   why, `errors` when summing up several trackers.
   */
  constructor(
    message: string,
    url = "",
    options: { cause?: unknown; failureReason?: string; errors?: readonly Error[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TrackerError";
    this.url = url;
    this.failureReason = options.failureReason;
    this.errors = options.errors ?? [];
  }
}
