/**
 * `shoal daemon`: torrents that outlive a terminal. A {@linkcode Daemon} runs a Client with
 * its torrents kept in a state folder, a watch folder, an HTTP API under `/api/v1` (JSON,
 * Server-Sent Events, file streams with ranges), and a web page at `/`, behind checks against
 * the classic holes of torrent daemons (DNS rebinding, CSRF, open binds).
 *
 * @example
 * ```ts
 * import { Daemon } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await using daemon = await Daemon.start({
 *   dir: `${dir}/data`,
 *   stateDir: `${dir}/state`,
 *   http: { hostname: "127.0.0.1", port: 0 },
 *   client: { listen: false, dht: false },
 * });
 * const stats = await (await fetch(`${daemon.url}/api/v1/stats`)).json();
 * strictEqual(stats.torrents, 0);
 * await daemon.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */

// Types of the layers below that the daemon's own types mention (the client layer has no
// mod.ts of its own yet).
export type { Client, ClientOptions, ClientStats, TorrentSource } from "../client/client.ts";
export type {
  AddOptions,
  PeerInfo,
  Torrent,
  TorrentEvent,
  TorrentState,
  TorrentStats,
} from "../client/torrent.ts";
export type { TorrentFile as ClientTorrentFile } from "../client/torrent_file.ts";
export type { FileStreamOptions } from "../client/file_stream.ts";
export type { MagnetLink, MagnetPeer } from "../metainfo/magnet.ts";
export type { FileEntry, Metainfo, TorrentInfo } from "../metainfo/types.ts";
export type { MemoryBudget, MemoryUse } from "../scheduler/memory_budget.ts";
export type { TrackerStatus } from "../session/announcer.ts";
export type { ProgressEvent, SessionEvent } from "../session/events.ts";
export type { SeedLimits } from "../session/session_options.ts";
export type { FilePriority } from "../storage/file_selection.ts";
export type { PeerAddress } from "../wire/peer_address.ts";

export { parseAddRequest } from "./add_request.ts";
export { MAX_JSON_BYTES, MAX_TORRENT_BYTES } from "./add_request.ts";
export { resolveAllowedDir } from "./allowed_dir.ts";
export { ApiError } from "./api_error.ts";
export { type ApiContext, clientStats, handleApi, type StatsJson } from "./api_router.ts";
export {
  type ByteRangeRequest,
  formatContentRange,
  MAX_RANGES,
  parseByteRange,
} from "./byte_range.ts";
export { Daemon, type DaemonOptions } from "./daemon.ts";
export { DaemonError } from "./daemon_error.ts";
export type { DaemonEvent } from "./daemon_event.ts";
export { type DaemonLogEntry, formatLogLine } from "./daemon_log.ts";
export {
  eventStreamResponse,
  type EventStreamSource,
  formatServerSentEvent,
  STATS_INTERVAL_MS,
} from "./event_stream.ts";
export {
  DEFAULT_HTTP_ADDRESS,
  formatHttpAddress,
  type HttpAddress,
  isIpLiteral,
  isLoopbackHost,
  isWildcardHost,
  parseHttpAddress,
} from "./http_address.ts";
export { CSRF_HEADER, type GuardPolicy, guardRequest, parseHostHeader } from "./http_guard.ts";
export { FALLBACK_MEDIA_TYPE, mediaTypeFor } from "./media_type.ts";
export { RATE_HISTORY_SAMPLES, RateHistory, type RateSample } from "./rate_history.ts";
export { readBodyCapped } from "./read_body.ts";
export { STATE_VERSION, StateStore, type TorrentRecord } from "./state_store.ts";
export { streamFile } from "./stream_route.ts";
export {
  type DetailSource,
  type FileJson,
  type PeerJson,
  type SummarySource,
  type TorrentDetail,
  torrentDetail,
  torrentFiles,
  type TorrentSummary,
  torrentSummary,
  type TrackerJson,
} from "./torrent_json.ts";
export { type AddRequest, PROGRESS_INTERVAL_MS, TorrentManager } from "./torrent_manager.ts";
export {
  MAX_WATCHED_FILE_BYTES,
  WATCH_SETTLE_MS,
  type WatchedTorrent,
  WatchFolder,
  type WatchFolderOptions,
} from "./watch_folder.ts";
export { loadWebAssets, PAGE_CSP, serveWebAsset, WEB_FILES, type WebAsset } from "./web_assets.ts";
export { writeFileAtomic } from "./write_file_atomic.ts";
