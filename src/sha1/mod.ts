/**
 * SHA-1 (FIPS 180-4), the piece hash of BitTorrent (BEP 3): the JS `Sha1` / `sha1` for single
 * and incremental hashing, `Sha1Batch` / `sha1Many` for four messages at once on a
 * WebAssembly SIMD kernel, and `HashPool` to hash on Web Workers.
 * @example
 * ```ts
 * import { encodeHex } from "@shoal/shoal/bytes";
 * import { sha1, sha1Many } from "@shoal/shoal/sha1";
 * import { strictEqual } from "node:assert/strict";
 * const abc = new TextEncoder().encode("abc");
 * strictEqual(encodeHex(sha1Many([abc, abc, abc])[2]), encodeHex(sha1(abc)));
 * ```
 * @module
 */

export { Sha1, sha1 } from "./sha1.ts";
export {
  hasSha1Simd,
  MAX_SHA1_SLOT_BYTES,
  MIN_SHA1_SLOT_BYTES,
  SHA1_LANES,
  Sha1Batch,
  type Sha1BatchOptions,
  sha1Many,
} from "./sha1_batch.ts";
export {
  HashPool,
  type HashPoolOptions,
  type HashResult,
  MAX_DEFAULT_HASH_POOL_SIZE,
  type VerifyResult,
} from "./hash_pool.ts";
