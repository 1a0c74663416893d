/**
 * Tracker time budgets: the default budget every HTTP and UDP announce and scrape gets
 * (DNS look-up included), and the host look-up a UDP announce can be given. The announce
 * functions themselves are exported from `@shoal/shoal`.
 *
 * @example
 * ```ts
 * import { DEFAULT_TRACKER_TIMEOUT_MS, type HostLookup } from "@shoal/shoal/tracker";
 * import { announceUdp } from "@shoal/shoal/tracker";
 * import { TrackerError } from "@shoal/shoal";
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
export type { AnnounceEvent, AnnounceOptions, AnnounceRequest, AnnounceResponse } from "./types.ts";
export {
  clampAnnounceInterval,
  DEFAULT_ANNOUNCE_INTERVAL_SECONDS,
  MAX_ANNOUNCE_INTERVAL_SECONDS,
  MIN_ANNOUNCE_INTERVAL_SECONDS,
  parseAnnounceResponse,
} from "./parse_announce_response.ts";
export { percentEncodeBytes } from "./percent_encode_bytes.ts";
export { buildAnnounceUrl } from "./build_announce_url.ts";
export { MAX_TRACKER_RESPONSE_BYTES } from "./read_capped_body.ts";
export { announceHttp, DEFAULT_HTTP_TIMEOUT_MS } from "./announce_http.ts";
export {
  openUdpSocket,
  type OpenUdpSocketOptions,
  type UdpMessage,
  type UdpSocket,
} from "./udp_socket.ts";
export {
  decodeUdpTrackerResponse,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  encodeUdpScrapeRequest,
  MAX_UDP_SCRAPE_HASHES,
  UDP_TRACKER_PROTOCOL_ID,
  type UdpScrapeEntry,
  type UdpTrackerResponse,
} from "./udp_tracker_packets.ts";
export {
  DEFAULT_UDP_MAX_RETRANSMITS,
  DEFAULT_UDP_RETRANSMIT_BASE_MS,
  UDP_CONNECTION_ID_TTL_MS,
} from "./udp_tracker_transport.ts";
export { scrapeUdp } from "./scrape_udp.ts";
export {
  type AnnounceFunction,
  type TieredAnnounceResponse,
  TrackerTiers,
  type TrackerTiersOptions,
} from "./tracker_tiers.ts";
export {
  ANNOUNCE_EVENT_TIMEOUT_MS,
  ANNOUNCE_RETRY_INITIAL_MS,
  ANNOUNCE_RETRY_MAX_MS,
  announceEvent,
  announcePeers,
  type AnnouncePeersOptions,
} from "./announce_peers.ts";
export { TrackerError } from "./tracker_error.ts";
// Referenced by the signatures above.
export type { PeerAddress } from "../wire/peer_address.ts";
export { announceUdp } from "./announce_udp.ts";
export { announce } from "./announce.ts";
