/**
 * The scheduler layer: what to ask which peer for, and when. Pure policy over plain data;
 * the caller does the I/O and passes the time in.
 *
 * @example
 * ```ts
 * import { MAX_METADATA_BYTES, MetadataFetcher } from "@shoal/shoal/scheduler";
 * import { sha1 } from "@shoal/shoal";
 * import { deepStrictEqual } from "node:assert/strict";
 * const fetcher = new MetadataFetcher(sha1(new TextEncoder().encode("de")));
 * deepStrictEqual(fetcher.addPeer("127.0.0.1:6881", MAX_METADATA_BYTES + 1, 0).drop !== undefined, true);
 * ```
 * @module
 */

export {
  MAX_METADATA_BYTES,
  METADATA_HASH_FAIL_BACKOFF_MS,
  METADATA_MAX_IN_FLIGHT_PER_PEER,
  METADATA_MAX_REJECTS,
  METADATA_REJECT_BACKOFF_MS,
  METADATA_REQUEST_TIMEOUT_MS,
  METADATA_RETRY_AFTER_MS,
  type MetadataDataOutcome,
  MetadataFetcher,
  type MetadataFetcherOptions,
  type MetadataProgress,
} from "./metadata_fetcher.ts";
