/**
 * The upload layer: which requests from peers we answer, and with what.
 *
 * @example
 * ```ts
 * import { checkMetadataRequest, metadataDataReply } from "@shoal/shoal/upload";
 * import { strictEqual } from "node:assert/strict";
 * const info = new Uint8Array(100);
 * if (checkMetadataRequest(0, { metadataSize: info.length, queued: 0, strikes: 0 }).action === "serve") {
 *   strictEqual(metadataDataReply(info, 0).type, "data");
 * }
 * ```
 * @module
 */

export {
  checkMetadataRequest,
  MAX_METADATA_REQUEST_STRIKES,
  MAX_QUEUED_METADATA_REQUESTS,
  type MetadataDataReply,
  metadataDataReply,
  type MetadataRequestContext,
  type MetadataRequestVerdict,
} from "./metadata_requests.ts";
export {
  type ChokeDecision,
  type ChokerPeer,
  type ChokerView,
  chooseUnchoked,
  DEFAULT_UNCHOKE_SLOTS,
  NEW_PEER_OPTIMISTIC_WEIGHT,
  NEW_PEER_WINDOW_MS,
  OPTIMISTIC_ROTATE_MS,
  type OptimisticUnchoke,
  RECHOKE_INTERVAL_MS,
} from "./choker.ts";
export { checkRequest, type RequestContext, type RequestVerdict } from "./check_request.ts";
// Referenced by the signatures above.
export type { PieceGeometry } from "../metainfo/geometry.ts";
export type { FileEntry, TorrentInfo } from "../metainfo/types.ts";
