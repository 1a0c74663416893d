/**
 * A peer connection failed for a reason other than a protocol violation: it timed
 * out, went idle, was closed, or the socket failed. The peer should be dropped.
 * @example
 * ```ts
 * import { PeerError } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const error = new PeerError("Cannot read from peer: idle for 120000 ms", { peer: "10.0.0.1:6881" });
 * strictEqual(error.peer, "10.0.0.1:6881");
 * ```
 */
export class PeerError extends Error {
  /** The peer as `host:port`, when known. */
  readonly peer?: string;
  /** `"hung-up"` when the peer closed the connection during the handshake. */
  readonly code?: "hung-up";
  /**
   * Makes the error.
   * @param message What failed and why.
   * @param options `peer` (`host:port`) for context, `cause` when wrapping another error, and
   *   `code` for a failure callers act on.
   */
  constructor(
    message: string,
    options: { peer?: string; cause?: unknown; code?: "hung-up" } = {},
  ) {
    super(
      options.peer === undefined ? message : `${message} (peer ${options.peer})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "PeerError";
    if (options.peer !== undefined) this.peer = options.peer;
    if (options.code !== undefined) this.code = options.code;
  }
}
