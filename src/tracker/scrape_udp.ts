import { trackerBudgetMs, withTrackerDeadline } from "./deadline.ts";
import type { AnnounceOptions } from "./types.ts";
import { encodeUdpScrapeRequest, type UdpScrapeEntry } from "./udp_tracker_packets.ts";
import {
  exchangeConnectedUdp,
  hostOf,
  resolveUdpTracker,
  udpRetransmitBaseMs,
  withUdpSocket,
} from "./udp_tracker_transport.ts";
import { TrackerError } from "./tracker_error.ts";

/**
 * Asks a UDP tracker for the seeders, completed downloads and leechers of up to 74 torrents
 * (BEP 15 scrape), with the same time budget (default 15 s), connect, cache and retransmit
 * rules as {@linkcode announceUdp}.
 * @param url The tracker's `udp://host:port` URL.
 * @param infoHashes 20-byte info hashes (1..74).
 * @param options `signal`, `timeoutMs`, `socket`, `udpRetransmitBaseMs`, `udpMaxRetransmits`,
 *   `lookupHost`.
 * @returns One entry per info hash, in order.
 * @throws {TrackerError} If the tracker refuses, does not answer, or answers too few entries.
 * @throws {RangeError} If there are no hashes, too many, or one is not 20 bytes.
 * @example
 * ```ts
 * import { scrapeUdp } from "@shoal/shoal/tracker";
 * import { TrackerError } from "@shoal/shoal";
 * import { rejects } from "node:assert/strict";
 * await rejects(
 *   scrapeUdp("udp://127.0.0.1:9", [new Uint8Array(20)], {
 *     udpRetransmitBaseMs: 20,
 *     udpMaxRetransmits: 0,
 *   }),
 *   TrackerError,
 * );
 * ```
 */
export function scrapeUdp(
  url: string,
  infoHashes: readonly Uint8Array[],
  options: AnnounceOptions = {},
): Promise<UdpScrapeEntry[]> {
  encodeUdpScrapeRequest(0n, 0, infoHashes); // checks the hashes before any I/O
  const timeoutMs = trackerBudgetMs(options.timeoutMs);
  const deadline = { signal: options.signal, timeoutMs };
  return withTrackerDeadline(url, "scrape", deadline, async (signal, stage) => {
    stage(`resolving ${hostOf(url)}`);
    const target = await resolveUdpTracker(url, options.socket?.family, signal, options.lookupHost);
    const exchange = {
      signal,
      retransmitBaseMs: udpRetransmitBaseMs(timeoutMs, options.udpRetransmitBaseMs),
      maxRetransmits: options.udpMaxRetransmits,
      onStage: stage,
    };
    return await withUdpSocket(options.socket, target.family, async (socket) => {
      const reply = await exchangeConnectedUdp(
        socket,
        target,
        (connectionId, transactionId) =>
          encodeUdpScrapeRequest(connectionId, transactionId, infoHashes),
        "scrape",
        exchange,
      );
      if (reply.entries.length < infoHashes.length) {
        throw new TrackerError(
          `Cannot scrape ${url}: ${reply.entries.length} entries for ${infoHashes.length} hashes`,
          url,
        );
      }
      return reply.entries.slice(0, infoHashes.length);
    });
  });
}
