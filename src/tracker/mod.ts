/**
 * Tracker time budgets: the default budget every HTTP and UDP announce and scrape gets
 * (DNS look-up included), and the host look-up a UDP announce can be given. The announce
 * functions themselves are exported from `@shoal/shoal`.
 *
 * @example
 * ```ts
 * import { DEFAULT_TRACKER_TIMEOUT_MS, type HostLookup } from "@shoal/shoal/tracker";
 * import { announceUdp, TrackerError } from "@shoal/shoal";
 * import { rejects, strictEqual } from "node:assert/strict";
 * strictEqual(DEFAULT_TRACKER_TIMEOUT_MS, 15_000);
 * // A host name that never resolves costs the budget, no more.
 * const never: HostLookup = () => new Promise(() => {});
 * const request = {
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 0,
 * };
 * await rejects(
 *   announceUdp("udp://tracker.invalid:1337", request, { timeoutMs: 50, lookupHost: never }),
 *   (e: unknown) => e instanceof TrackerError && /while resolving tracker\.invalid/.test(e.message),
 * );
 * ```
 * @module
 */

export { DEFAULT_TRACKER_TIMEOUT_MS } from "./deadline.ts";
export type { HostAddress, HostLookup } from "./types.ts";
