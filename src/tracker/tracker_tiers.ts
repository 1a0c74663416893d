import { announce } from "./announce.ts";
import { checkAnnounceRequest } from "./build_announce_url.ts";
import { TrackerError } from "./tracker_error.ts";
import type { AnnounceOptions, AnnounceRequest, AnnounceResponse } from "./types.ts";

/** An announce answer together with the tracker that gave it. */
export interface TieredAnnounceResponse extends AnnounceResponse {
  /** The URL of the tracker that answered. */
  url: string;
  /** Trackers tried before it that failed this time, each with its error. */
  skipped: readonly TrackerError[];
}

/** How {@linkcode TrackerTiers} announces to one tracker (tests pass a fake). */
export type AnnounceFunction = (
  url: string,
  request: AnnounceRequest,
  options: AnnounceOptions,
) => Promise<AnnounceResponse>;

/** Options for the {@linkcode TrackerTiers} constructor. */
export interface TrackerTiersOptions {
  /** Random numbers in [0, 1) for the shuffle (default `Math.random`). */
  random?: () => number;
  /** Announces to one tracker (default {@linkcode announce}). */
  announce?: AnnounceFunction;
}

/**
 * The trackers of a torrent, in tiers (BEP 12). Each tier is shuffled once when made; an
 * announce tries tier by tier, tracker by tracker, and the first tracker that answers moves to
 * the front of its tier. The `tracker id` a tracker hands out is remembered and sent back to it.
 * @example
 * ```ts
 * import { TrackerTiers } from "@shoal/shoal/tracker";
 * import { deepStrictEqual } from "node:assert/strict";
 * const tiers = new TrackerTiers([["udp://a.example:1"], ["http://b.example/announce"]], {
 *   announce: (url) =>
 *     url.startsWith("udp")
 *       ? Promise.reject(new Error("down"))
 *       : Promise.resolve({ peers: [{ host: "10.0.0.1", port: 1 }], intervalSeconds: 1800 }),
 * });
 * const request = {
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 0,
 * };
 * const response = await tiers.announce(request);
 * deepStrictEqual(response.url, "http://b.example/announce");
 * deepStrictEqual(response.peers, [{ host: "10.0.0.1", port: 1 }]);
 * ```
 */
export class TrackerTiers {
  #tiers: string[][];
  #announce: AnnounceFunction;
  #trackerIds = new Map<string, string>();
  #completedAnnounced = false;
  #lastUrl: string | undefined;

  /**
   * Makes the tiers: empty tiers and repeated URLs are dropped, each tier is shuffled.
   * @param tiers Announce URLs by tier, as in a torrent's `announce-list`.
   * @param options `random` for the shuffle, `announce` to replace the network.
   */
  constructor(tiers: readonly (readonly string[])[], options: TrackerTiersOptions = {}) {
    const random = options.random ?? Math.random;
    const seen = new Set<string>();
    this.#tiers = [];
    for (const tier of tiers) {
      const urls = tier.map((url) => url.trim()).filter((url) => {
        if (url === "" || seen.has(url)) return false;
        seen.add(url);
        return true;
      });
      for (let i = urls.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [urls[i], urls[j]] = [urls[j], urls[i]];
      }
      if (urls.length > 0) this.#tiers.push(urls);
    }
    this.#announce = options.announce ?? announce;
  }

  /**
   * The tiers in their current order (a copy).
   * @returns Announce URLs by tier.
   */
  get tiers(): string[][] {
    return this.#tiers.map((tier) => [...tier]);
  }

  /**
   * How many trackers there are in all tiers.
   * @returns The count.
   */
  get size(): number {
    return this.#tiers.reduce((sum, tier) => sum + tier.length, 0);
  }

  /**
   * Whether a tracker has accepted a "completed" announce through these tiers, so that
   * {@linkcode announcePeers} does not send another one.
   * @returns `true` once "completed" was announced.
   */
  get completedAnnounced(): boolean {
    return this.#completedAnnounced;
  }

  /** The tracker that answered the last successful announce, if any. */
  get lastUrl(): string | undefined {
    return this.#lastUrl;
  }

  /**
   * Announces to the first tracker that answers, tier by tier (BEP 12); that tracker moves to
   * the front of its tier. A request without `trackerId` gets the one the tracker gave before.
   * @param request The announce.
   * @param options Passed to each tracker's announce (`signal`, `timeoutMs`, ...).
   * @returns The answer and the URL of the tracker that gave it.
   * @throws {TrackerError} If every tracker failed (`errors` lists each one's error), or there
   *   are no trackers.
   * @throws {RangeError} If a request field is out of range.
   */
  async announce(
    request: AnnounceRequest,
    options: AnnounceOptions = {},
  ): Promise<TieredAnnounceResponse> {
    options.signal?.throwIfAborted();
    checkAnnounceRequest(request);
    const errors: TrackerError[] = [];
    // An event (completed, stopped) goes first to the tracker that knows us: it is the one
    // that needs it, and a dead tracker ahead of it in the tiers must not eat the time limit.
    const first = request.event === "completed" || request.event === "stopped"
      ? this.#lastUrl
      : undefined;
    const order = first === undefined ? this.#tiers : [[first], ...this.#tiers];
    const tried = new Set<string>();
    for (const tier of order) {
      for (const url of [...tier]) {
        if (tried.has(url)) continue;
        tried.add(url);
        const trackerId = request.trackerId ?? this.#trackerIds.get(url);
        const sent = trackerId === undefined ? request : { ...request, trackerId };
        try {
          const response = await this.#announce(url, sent, options);
          const index = tier.indexOf(url);
          if (index > 0) {
            tier.splice(index, 1);
            tier.unshift(url);
          }
          if (response.trackerId !== undefined) this.#trackerIds.set(url, response.trackerId);
          if (request.event === "completed") this.#completedAnnounced = true;
          this.#lastUrl = url;
          return { ...response, url, skipped: errors };
        } catch (error) {
          if (options.signal?.aborted) throw options.signal.reason;
          errors.push(
            error instanceof TrackerError ? error : new TrackerError(
              `Cannot announce to ${url}: ${error instanceof Error ? error.message : error}`,
              url,
              { cause: error },
            ),
          );
        }
      }
    }
    if (errors.length === 0) throw new TrackerError("Cannot announce: the torrent has no trackers");
    throw new TrackerError(
      `Cannot announce: all ${errors.length} trackers failed: ` +
        errors.map((e) => e.message).join("; "),
      "",
      { errors },
    );
  }
}
