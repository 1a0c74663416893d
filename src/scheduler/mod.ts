/**
 * What to request from whom: the rarest-first piece picker, the block scheduler with its
 * memory budget and endgame, the per-peer request pipeline, and rate meters.
 * @module
 */
export { Bitfield } from "../bytes/bitfield.ts";
export { Notifier } from "./notifier.ts";
export { type PickerView, pickPiece, RANDOM_FIRST_PIECES } from "./piece_picker.ts";
export { REQUEST_TIMEOUT_MS, SNUB_TIMEOUT_MS } from "./request_pipeline.ts";
export { RATE_BUCKET_MS, RATE_WINDOW_MS, RateMeter, type RateMeterOptions } from "./rate_meter.ts";
export { DEFAULT_MEMORY_BYTES, MemoryBudget, type MemoryUse } from "./memory_budget.ts";
export {
  PiecePriorities,
  PRIORITY_HIGH,
  PRIORITY_NORMAL,
  PRIORITY_NOW,
  PRIORITY_SKIP,
} from "./piece_priorities.ts";
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
