import { BLOCK_SIZE, type PieceGeometry, pieceSize } from "../metainfo/geometry.ts";

/** What to do with a peer's `request` (BEP 3), decided by {@linkcode checkRequest}. */
export type RequestVerdict =
  | { readonly action: "serve" }
  | { readonly action: "reject"; readonly reason: string }
  | { readonly action: "drop"; readonly reason: string };

/** What {@linkcode checkRequest} needs to know about us and the peer. */
export interface RequestContext {
  /** The torrent's piece layout. */
  readonly geometry: PieceGeometry;
  /** Whether we have (verified) piece `index`. */
  have(index: number): boolean;
  /** Whether we are choking the peer. */
  readonly amChoking: boolean;
  /** Requests from this peer already queued. */
  readonly queued: number;
  /** Most requests one peer may have queued (our BEP 10 `reqq`); more are rejected. */
  readonly maxQueued: number;
}

/**
 * Checks one incoming block request. Out-of-range indexes, offsets and lengths, a length over
 * 16 KiB and a piece we never announced are reasons to drop the peer; a request while we choke
 * the peer or beyond a full queue is rejected (BEP 6) or ignored by the caller, who drops a
 * peer that keeps flooding.
 * @param request The request's fields, as decoded.
 * @param context What we know about the peer and the torrent.
 * @returns Serve, reject (with a reason) or drop (with a reason).
 * @example
 * ```ts
 * import { checkRequest } from "@shoal/shoal/upload";
 * import { strictEqual } from "node:assert/strict";
 * const context = {
 *   geometry: { pieceLength: 32768, pieceCount: 2, totalLength: 50000 },
 *   have: () => true, amChoking: false, queued: 0, maxQueued: 250,
 * };
 * strictEqual(checkRequest({ index: 1, begin: 16384, length: 16384 }, context).action, "drop");
 * strictEqual(checkRequest({ index: 1, begin: 0, length: 16384 }, context).action, "serve");
 * ```
 */
export function checkRequest(
  request: { readonly index: number; readonly begin: number; readonly length: number },
  context: RequestContext,
): RequestVerdict {
  const { index, begin, length } = request;
  const { geometry } = context;
  for (const [name, value] of [["index", index], ["begin", begin], ["length", length]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      return { action: "drop", reason: `sent a request with ${name} ${value}` };
    }
  }
  if (index >= geometry.pieceCount) {
    return { action: "drop", reason: `requested piece ${index} of ${geometry.pieceCount}` };
  }
  if (length === 0 || length > BLOCK_SIZE) {
    return { action: "drop", reason: `requested a block of ${length} bytes` };
  }
  const size = pieceSize(geometry, index);
  if (begin + length > size) {
    return { action: "drop", reason: `requested bytes ${begin}+${length} of a ${size}-byte piece` };
  }
  if (!context.have(index)) {
    return { action: "drop", reason: `requested piece ${index}, which we lack` };
  }
  if (context.queued >= context.maxQueued) {
    return { action: "reject", reason: `already queued ${context.maxQueued} requests` };
  }
  if (context.amChoking) return { action: "reject", reason: "requested while choked" };
  return { action: "serve" };
}
