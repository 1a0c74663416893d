import type { RateLimiter } from "../peer/rate_limiter.ts";
import type { DialSlots } from "./connector.ts";
import type { MemoryBudget } from "../scheduler/memory_budget.ts";
import type { HashPool } from "../sha1/hash_pool.ts";
import type { PeerListener } from "../client/peer_listener.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import type { SessionStats } from "./stats.ts";

/** Default for {@linkcode TorrentSessionOptions.maxPeers}. */
export const DEFAULT_MAX_PEERS = 50;

/** When to stop seeding after a download completes. */
export interface SeedLimits {
  /** Stop once uploaded / torrent size reaches this ratio. */
  ratio?: number;
  /** Stop after seeding this many seconds. */
  seconds?: number;
}

/** Options for {@linkcode TorrentSession}. */
export interface TorrentSessionOptions {
  /** Folder the torrent's data lives in. */
  dir: string;
  /** Our peer id (BEP 20); random by default. */
  peerId?: Uint8Array;
  /** Listen for incoming peers (default `true`; ignored when `listener` is given). */
  listen?: boolean;
  /** A listener shared with other torrents (a client's); the session registers with it. */
  listener?: PeerListener;
  /** TCP port to listen on: 0 for any free port; default 6881 or the next free one. */
  port?: number;
  /** Address to listen on (default `0.0.0.0`). */
  listenHost?: string;
  /** Peers to dial directly. */
  peers?: readonly PeerAddress[];
  /** Announce to the torrent's trackers (default `true`). */
  trackers?: boolean;
  /** Most connected peers (default 50), or a function giving the current cap (a client's share). */
  maxPeers?: number | (() => number);
  /** Keep seeding after the download completes; `true` seeds until aborted. */
  seed?: boolean | SeedLimits;
  /** Upload limit in bytes per second (default unlimited; ignored when `uploadLimit` is given). */
  maxUploadRate?: number;
  /** An upload limiter shared with other torrents (a client's). */
  uploadLimit?: RateLimiter;
  /** A download limiter shared with other torrents (a client's). */
  downloadLimit?: RateLimiter;
  /** A memory budget shared with other torrents (a client's); `maxActiveBytes` is then ignored. */
  budget?: MemoryBudget;
  /** One priority level per file (0 skip, 1 normal, 2 high); every file normal by default. */
  filePriorities?: Uint8Array;
  /** Download in piece order, first and last piece of each selected file first. */
  sequential?: boolean;
  /** Hash every piece on disk, whatever the resume file says. */
  recheck?: boolean;
  /** The folder of resume files, instead of `<dir>/.shoal` (a daemon's state folder). */
  resumeDir?: string;
  /** Our DHT node's UDP port: announced in handshakes (BEP 5) and sent in `port` messages. */
  dhtPort?: number;
  /** Half-open dial slots shared with the client's other torrents. */
  dialSlots?: DialSlots;
  /** A peer told us the address it sees us at (BEP 10 `yourip`), or a tracker did. */
  onExternalAddress?: (ip: string, source: string) => void;
  /** A peer told us its DHT port (BEP 5 `port` message): ping it. */
  onDhtNode?: (address: PeerAddress) => void;
  /** Start paused: check the data, then wait for `resume()` before any network activity. */
  paused?: boolean;
  /** Download limit in bytes per second (default unlimited). */
  maxDownloadRate?: number;
  /** A hash pool to share between sessions; one is made (and closed) otherwise. */
  hashPool?: HashPool;
  /** Bytes of piece buffers in memory at once (default 16 MiB, or 4 pieces if more). */
  maxActiveBytes?: number;
  /** Time limit of one announce to one tracker (default: the tracker module's). */
  trackerTimeoutMs?: number;
  /** A single request unanswered this long is asked of another peer (default 20 s). */
  requestTimeoutMs?: number;
  /** A peer that sends no block for this long while holding requests is snubbed (default 30 s). */
  snubTimeoutMs?: number;
  /** Refuse to start unless every piece is already here (for `shoal seed`). */
  requireComplete?: boolean;
  /** Stops the session. */
  signal?: AbortSignal;
}

/** The torrent's data is incomplete where the caller asked for a complete copy. */
export class IncompleteDataError extends Error {
  /**
   * Makes the error.
   * @param have Pieces present.
   * @param total Pieces in the torrent.
   */
  constructor(readonly have: number, readonly total: number) {
    super(`Cannot seed: only ${have} of ${total} pieces are present and valid`);
    this.name = "IncompleteDataError";
  }
}

/**
 * Whether a session should go on seeding now.
 * @param options The session's `seed` and `requireComplete` options.
 * @param stats Its counters (upload total and completion time).
 * @param totalLength The torrent's size in bytes.
 * @param nowMs The time.
 * @returns `false` once a seed limit is reached (or seeding was not asked for).
 */
export function wantsSeeding(
  options: Pick<TorrentSessionOptions, "seed" | "requireComplete">,
  stats: Pick<SessionStats, "uploaded" | "completedAtMs">,
  totalLength: number,
  nowMs: number = performance.now(),
): boolean {
  const seed = options.seed;
  if (!seed) return !!options.requireComplete;
  const completedAtMs = stats.completedAtMs;
  if (seed === true || completedAtMs === undefined) return true;
  if (seed.ratio !== undefined && stats.uploaded >= seed.ratio * totalLength) return false;
  if (seed.seconds !== undefined && nowMs - completedAtMs >= seed.seconds * 1000) return false;
  return true;
}
