/**
 * A peer broke the BitTorrent wire protocol: a bad handshake, an oversized or
 * malformed frame, an out-of-range index, a malformed extension payload.
 * The peer should be dropped; the session carries on.
 * @example
 * ```ts
 * import { decodeMessage } from "@shoal/shoal/wire";
 * import { ProtocolError } from "@shoal/shoal";
 * import { throws } from "node:assert/strict";
 * throws(() => decodeMessage(new Uint8Array([0, 0, 0, 1, 99])), ProtocolError);
 * ```
 */
export class ProtocolError extends Error {
  /** The peer that sent the bad bytes, as `host:port`, when known. */
  readonly peer?: string;
  /**
   * Makes the error.
   * @param message What failed and why, e.g. "Cannot decode message: unknown id 99".
   * @param options `peer` (`host:port`) for context and `cause` when wrapping another error.
   */
  constructor(message: string, options: { peer?: string; cause?: unknown } = {}) {
    super(
      options.peer === undefined ? message : `${message} (peer ${options.peer})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ProtocolError";
    if (options.peer !== undefined) this.peer = options.peer;
  }
}
