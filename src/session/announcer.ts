import type { Metainfo } from "../metainfo/types.ts";
import { announce } from "../tracker/announce.ts";
import { announceEvent, announcePeers } from "../tracker/announce_peers.ts";
import { TrackerTiers } from "../tracker/tracker_tiers.ts";
import type { AnnounceRequest } from "../tracker/types.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import type { SessionStats } from "./stats.ts";
import { errorMessage } from "../util/printable.ts";

/** Peers asked of a tracker per announce. */
export const ANNOUNCE_NUM_WANT = 80;
/** Time limit of the `completed` announce. */
const COMPLETED_TIMEOUT_MS = 5_000;
/** Time limit of the `stopped` announce at shutdown. */
const STOPPED_TIMEOUT_MS = 3_000;

/** What we last heard from one tracker. */
export interface TrackerStatus {
  /** The announce URL. */
  readonly url: string;
  /** Its tier (BEP 12), from 0. */
  readonly tier: number;
  /** `"idle"` before the first announce, then whether the last one worked. */
  readonly status: "idle" | "working" | "failed";
  /** When it was last announced to (ms since 1970). */
  readonly lastAnnounceAt?: number;
  /** Peers it gave the last time it answered. */
  readonly peers?: number;
  /** Seeders and leechers it reported, when it did. */
  readonly seeders?: number;
  /** Leechers it reported, when it did. */
  readonly leechers?: number;
  /** Why the last announce failed. */
  readonly error?: string;
}

/**
 * The trackers of a torrent before any announce: each `"idle"`, in tier order.
 * @param metainfo The torrent.
 * @returns One status per tracker URL.
 */
export function idleTrackers(metainfo: Pick<Metainfo, "announce">): TrackerStatus[] {
  return metainfo.announce.flatMap((urls, tier) =>
    urls.map((url) => ({ url, tier, status: "idle" as const }))
  );
}

/** What the announcer needs from the session. */
export interface AnnouncerInit {
  /** The torrent's info hash and trackers. */
  readonly metainfo: Pick<Metainfo, "infoHash" | "announce">;
  /** Our peer id. */
  readonly peerId: Uint8Array;
  /** The port we accept peers on, once known. */
  readonly port: () => number | undefined;
  /** Bytes still to download (the tracker's `left`). */
  readonly left: () => number;
  /** Bytes up and down. */
  readonly stats: SessionStats;
  /** Time limit of one announce to one tracker. */
  readonly timeoutMs?: number;
  /** Peers from trackers go here. */
  readonly onPeers: (peers: readonly PeerAddress[]) => void;
  /** A tracker said the address it sees us at (BEP 24). */
  readonly onExternalAddress?: (ip: string, source: string) => void;
  /** Tracker warnings go here. */
  readonly onWarning: (message: string) => void;
}

/**
 * Talks to a torrent's trackers (BEP 3, 12, 15): announces `started` and then at the
 * trackers' interval, hands the peers it gets to the session, and sends `completed` and
 * `stopped` (each first to the tracker that answered last, under a short time limit).
 */
export class Announcer {
  readonly #init: AnnouncerInit;
  readonly #tiers: TrackerTiers;
  readonly #status = new Map<string, TrackerStatus>();
  /** BEP 3 `key`: lets a tracker know us across address changes. */
  readonly #key = crypto.getRandomValues(new Uint32Array(1))[0];

  /**
   * Makes the announcer (nothing is sent before {@linkcode Announcer.run}).
   * @param init The torrent, our id and port, counters and callbacks.
   */
  constructor(init: AnnouncerInit) {
    this.#init = init;
    init.metainfo.announce.forEach((urls, tier) => {
      for (const url of urls) this.#status.set(url, { url, tier, status: "idle" });
    });
    this.#tiers = new TrackerTiers(init.metainfo.announce, {
      announce: async (url, request, options) => {
        const at = Date.now();
        const tier = this.#status.get(url)?.tier ?? 0;
        try {
          const response = await announce(url, request, options);
          if (response.externalIp) this.#init.onExternalAddress?.(response.externalIp, url);
          this.#status.set(url, {
            url,
            tier,
            status: "working",
            lastAnnounceAt: at,
            peers: response.peers.length,
            seeders: response.seeders,
            leechers: response.leechers,
          });
          return response;
        } catch (error) {
          const message = errorMessage(error);
          this.#status.set(url, {
            url,
            tier,
            status: "failed",
            lastAnnounceAt: at,
            error: message,
          });
          throw error;
        }
      },
    });
  }

  /** What we last heard from each tracker, in tier order. */
  get trackers(): TrackerStatus[] {
    return [...this.#status.values()];
  }

  /**
   * Announces (`started`, then at the trackers' interval) until the signal aborts, passing
   * peers to `onPeers`.
   * @param signal Stops the loop.
   * @returns When stopped.
   * @throws The signal's reason when it aborts.
   */
  async run(signal: AbortSignal): Promise<void> {
    const timeoutMs = this.#init.timeoutMs;
    const batches = announcePeers(this.#tiers, () => this.#request(), {
      signal,
      announce: timeoutMs === undefined ? undefined : { timeoutMs },
      onWarning: this.#init.onWarning,
    });
    for await (const batch of batches) this.#init.onPeers(batch);
  }

  /** Tells the trackers the download completed (not awaited by the session). */
  completed(): void {
    announceEvent(this.#tiers, this.#request("completed"), { timeoutMs: COMPLETED_TIMEOUT_MS })
      .catch(() => {});
  }

  /**
   * Tells the trackers we leave.
   * @returns When sent, failed or timed out.
   */
  async stopped(): Promise<void> {
    await announceEvent(this.#tiers, this.#request("stopped"), { timeoutMs: STOPPED_TIMEOUT_MS })
      .catch(() => {});
  }

  #request(event?: AnnounceRequest["event"]): AnnounceRequest {
    const { metainfo, stats } = this.#init;
    return {
      infoHash: metainfo.infoHash,
      peerId: this.#init.peerId,
      port: this.#init.port() ?? 6881,
      uploaded: stats.uploaded,
      downloaded: stats.downloaded,
      left: this.#init.left(),
      event,
      numWant: ANNOUNCE_NUM_WANT,
      key: this.#key,
    };
  }
}
