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
