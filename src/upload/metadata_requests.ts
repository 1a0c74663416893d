import { METADATA_PIECE_SIZE } from "../wire/metadata.ts";

/** A BEP 9 `data` message, as {@linkcode metadataDataReply} builds it (a `MetadataMessage` of the wire layer). */
export interface MetadataDataReply {
  /** Always "data". */
  readonly type: "data";
  /** The piece index. */
  readonly piece: number;
  /** Size of the whole info dictionary in bytes. */
  readonly totalSize: number;
  /** This piece's bytes (a view into the info bytes). */
  readonly data: Uint8Array;
}

/**
 * Most `ut_metadata` requests one peer may have queued with us (256: 4 MiB of replies).
 * libtorrent allows 1,024; webtorrent asks for every piece at once (at most 611 under its 10 MB
 * cap), so a request beyond this is rejected, not a reason to drop the peer.
 */
export const MAX_QUEUED_METADATA_REQUESTS = 256;
/** Refused requests (queue full, index out of range) one peer may make before it is dropped. */
export const MAX_METADATA_REQUEST_STRIKES = 1024;

/**
 * What to do with a peer's `ut_metadata` request (BEP 9), decided by
 * {@linkcode checkMetadataRequest}. A `reject` with `strike: true` counts towards the flood limit.
 */
export type MetadataRequestVerdict =
  | { readonly action: "serve" }
  | { readonly action: "reject"; readonly reason: string; readonly strike: boolean }
  | { readonly action: "drop"; readonly reason: string };

/** What {@linkcode checkMetadataRequest} needs to know about us and the peer. */
export interface MetadataRequestContext {
  /** Size in bytes of our verified info dictionary; `undefined` while we have none. */
  readonly metadataSize: number | undefined;
  /** This peer's `ut_metadata` requests queued with us and not yet answered. */
  readonly queued: number;
  /** This peer's requests already refused with a strike. */
  readonly strikes: number;
  /** Most queued requests; {@linkcode MAX_QUEUED_METADATA_REQUESTS} when omitted. */
  readonly maxQueued?: number;
  /** Most strikes before the peer is dropped; {@linkcode MAX_METADATA_REQUEST_STRIKES} when omitted. */
  readonly maxStrikes?: number;
}

/**
 * Checks one incoming `ut_metadata` request (BEP 9). Without verified metadata every request is
 * rejected (BEP 9 says a peer without it MUST reject), with no strike. A piece index past the
 * end or a full queue is rejected with a strike, and a peer already at `maxStrikes` is to be
 * dropped (a flood).
 * @param piece The request's `piece`, as decoded.
 * @param context Our metadata size and the peer's counters.
 * @returns Serve, reject (with a reason and whether it is a strike) or drop (with a reason).
 * @example
 * ```ts
 * import { checkMetadataRequest } from "@shoal/shoal/upload";
 * import { strictEqual } from "node:assert/strict";
 * const context = { metadataSize: 40000, queued: 0, strikes: 0 };
 * strictEqual(checkMetadataRequest(2, context).action, "serve");
 * strictEqual(checkMetadataRequest(3, context).action, "reject");
 * strictEqual(checkMetadataRequest(0, { ...context, metadataSize: undefined }).action, "reject");
 * ```
 */
export function checkMetadataRequest(
  piece: number,
  context: MetadataRequestContext,
): MetadataRequestVerdict {
  const maxStrikes = context.maxStrikes ?? MAX_METADATA_REQUEST_STRIKES;
  if (context.strikes >= maxStrikes) {
    return { action: "drop", reason: `flooded ut_metadata: ${context.strikes} refused requests` };
  }
  const size = context.metadataSize;
  if (size === undefined) {
    return { action: "reject", reason: "we have no verified metadata yet", strike: false };
  }
  const count = Math.ceil(size / METADATA_PIECE_SIZE);
  if (!Number.isSafeInteger(piece) || piece < 0 || piece >= count) {
    return {
      action: "reject",
      reason: `requested metadata piece ${piece} of ${count}`,
      strike: true,
    };
  }
  const maxQueued = context.maxQueued ?? MAX_QUEUED_METADATA_REQUESTS;
  if (context.queued >= maxQueued) {
    return {
      action: "reject",
      reason: `already queued ${maxQueued} metadata requests`,
      strike: true,
    };
  }
  return { action: "serve" };
}

/**
 * Builds the BEP 9 `data` reply for piece `piece` of our info dictionary. The piece bytes are a
 * view into `infoBytes`; encode it with `encodeMetadataMessage` (wire layer) to send it.
 * @param infoBytes The verified info dictionary's bytes.
 * @param piece The piece index (0-based, 16 KiB each; the last may be shorter).
 * @returns The `data` message, `total_size` included.
 * @throws {RangeError} If `piece` is not an index of `infoBytes`' pieces.
 * @example
 * ```ts
 * import { metadataDataReply } from "@shoal/shoal/upload";
 * import { strictEqual } from "node:assert/strict";
 * const reply = metadataDataReply(new Uint8Array(20000), 1);
 * strictEqual(reply.data.length, 20000 - 16384);
 * strictEqual(reply.totalSize, 20000);
 * ```
 */
export function metadataDataReply(infoBytes: Uint8Array, piece: number): MetadataDataReply {
  const count = Math.ceil(infoBytes.length / METADATA_PIECE_SIZE);
  if (!Number.isSafeInteger(piece) || piece < 0 || piece >= count) {
    throw new RangeError(`Cannot build metadata reply: piece ${piece} is not in 0..${count - 1}`);
  }
  const start = piece * METADATA_PIECE_SIZE;
  const data = infoBytes.subarray(start, Math.min(start + METADATA_PIECE_SIZE, infoBytes.length));
  return { type: "data", piece, totalSize: infoBytes.length, data };
}
