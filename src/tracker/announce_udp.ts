import { trackerBudgetMs, withTrackerDeadline } from "./deadline.ts";
import { clampAnnounceInterval, dedupePeers } from "./parse_announce_response.ts";
import type { AnnounceOptions, AnnounceRequest, AnnounceResponse } from "./types.ts";
import { checkAnnounceRequest } from "./build_announce_url.ts";
import { encodeUdpAnnounceRequest } from "./udp_tracker_packets.ts";
import {
  exchangeConnectedUdp,
  hostOf,
  resolveUdpTracker,
  udpRetransmitBaseMs,
  withUdpSocket,
} from "./udp_tracker_transport.ts";

/**
 * Announces to a UDP tracker (BEP 15): resolve its host, connect (the connection id is cached
 * for 60 s per tracker), then announce. The whole call has a time budget, `timeoutMs` (default
 * 15 s, DNS included): a dead tracker costs no more, and the error says which step it was
 * waiting for. Within it, each request is resent after a quarter of the budget, then half of it
 * (BEP 15's doubling, starting at 15 s when the budget is a minute or more). Packets that are
 * short, malformed or carry another transaction id are ignored. Peers are IPv4 (6 bytes) when
 * the tracker is reached over IPv4 and IPv6 (18 bytes) over IPv6.
 * @param url The tracker's `udp://host:port` URL.
 * @param request The announce.
 * @param options `signal`, `timeoutMs`, `socket` (else a temporary socket is used),
 *   `udpRetransmitBaseMs`, `udpMaxRetransmits`, `lookupHost`.
 * @returns The tracker's answer (interval clamped to 60 s .. 2 h).
 * @throws {TrackerError} If the tracker refuses (error action, with its message), does not
 *   answer within the budget or the retransmissions, its host does not resolve, or the URL is
 *   not a UDP URL with a port.
 * @throws {RangeError} If a request field is out of range, or `timeoutMs` is not positive.
 * @example
 * ```ts
 * import { announceUdp } from "@shoal/shoal/tracker";
 * import { TrackerError } from "@shoal/shoal";
 * import { rejects } from "node:assert/strict";
 * const request = {
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 0,
 * };
 * // Nobody answers on port 9: two quick tries, then a TrackerError.
 * await rejects(
 *   announceUdp("udp://127.0.0.1:9", request, { udpRetransmitBaseMs: 20, udpMaxRetransmits: 1 }),
 *   TrackerError,
 * );
 * ```
 */
export function announceUdp(
  url: string,
  request: AnnounceRequest,
  options: AnnounceOptions = {},
): Promise<AnnounceResponse> {
  checkAnnounceRequest(request);
  const timeoutMs = trackerBudgetMs(options.timeoutMs);
  const deadline = { signal: options.signal, timeoutMs };
  return withTrackerDeadline(url, "announce", deadline, async (signal, stage) => {
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
          encodeUdpAnnounceRequest(connectionId, transactionId, request),
        "announce",
        exchange,
      );
      const notes: string[] = [];
      if (reply.droppedBytes > 0) {
        notes.push(`dropped ${reply.droppedBytes} bytes that did not make a whole peer`);
      }
      const response: AnnounceResponse = {
        peers: dedupePeers(reply.peers),
        intervalSeconds: clampAnnounceInterval(reply.intervalSeconds),
        seeders: reply.seeders,
        leechers: reply.leechers,
      };
      if (notes.length > 0) response.warning = notes.join("; ");
      return response;
    });
  });
}
