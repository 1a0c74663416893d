import type { PeerAddress } from "../wire/peer_address.ts";
import type { UdpSocket } from "./udp_socket.ts";

/** The events an announce may carry (BEP 3); a regular re-announce carries none. */
export type AnnounceEvent = "started" | "completed" | "stopped";

/** What a client tells a tracker in one announce (BEP 3, BEP 15). */
export interface AnnounceRequest {
  /** The torrent's 20-byte info hash. */
  infoHash: Uint8Array;
  /** This client's 20-byte peer id. */
  peerId: Uint8Array;
  /** The TCP port this client accepts peers on. */
  port: number;
  /** Bytes uploaded since the "started" announce. */
  uploaded: number;
  /** Bytes downloaded since the "started" announce. */
  downloaded: number;
  /** Bytes still missing. */
  left: number;
  /** The event, if any; none for a regular re-announce. */
  event?: AnnounceEvent;
  /** How many peers to ask for (trackers default to about 50). */
  numWant?: number;
  /** A random 32-bit number that proves it is the same client when its IP changes. */
  key?: number;
  /** The "tracker id" an HTTP tracker gave in an earlier response (BEP 3). */
  trackerId?: string;
}

/** What a tracker answered to an announce, checked and clamped to sane values. */
export interface AnnounceResponse {
  /** Peers in the swarm (IPv4 and IPv6 mixed; IPv6 hosts without brackets). */
  peers: PeerAddress[];
  /** Seconds to wait before the next regular announce (clamped to 60 s .. 2 h). */
  intervalSeconds: number;
  /** Seconds the tracker insists on between announces, if it said. */
  minIntervalSeconds?: number;
  /** The id to send back in later announces to this tracker (BEP 3). */
  trackerId?: string;
  /** The tracker's "warning message", and notes about bad data that was dropped. */
  warning?: string;
  /** Peers with the whole torrent ("complete"), if the tracker said. */
  seeders?: number;
  /** Peers still downloading ("incomplete"), if the tracker said. */
  leechers?: number;
  /** The address the tracker sees us at (BEP 24 `external ip`), if it said. */
  externalIp?: string;
}

/** Options for one announce to one tracker ({@linkcode announce}). */
export interface AnnounceOptions {
  /** Aborts the announce; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * This tracker's time budget, DNS look-up included: after it, the call gives up with a
   * {@linkcode TrackerError} that names the tracker. Default 15 s for HTTP and UDP alike
   * (`DEFAULT_TRACKER_TIMEOUT_MS`); `Infinity` for none. Must be positive.
   */
  timeoutMs?: number;
  /** UDP only: the socket to use (else a temporary one is opened and closed). */
  socket?: UdpSocket;
  /**
   * UDP only: the first retransmit timeout, doubled each time. BEP 15 says 15 s; by default
   * shoal uses a quarter of the time budget (at most 15 s), so that three tries fit in it.
   */
  udpRetransmitBaseMs?: number;
  /** UDP only: how many times a request is resent before giving up (BEP 15 allows 8; 3 here). */
  udpMaxRetransmits?: number;
  /** HTTP only: the largest response body accepted (default 1 MiB). */
  maxResponseBytes?: number;
  /**
   * UDP only: resolves the tracker's host name (default: the system resolver, `node:dns`).
   * However long it takes, the time budget still applies.
   */
  lookupHost?: HostLookup;
}

/** One address a {@linkcode HostLookup} found. */
export interface HostAddress {
  /** The IP address (IPv6 without brackets). */
  address: string;
  /** 4 or 6. */
  family: 4 | 6;
}

/**
 * Resolves a host name to IP addresses, like `node:dns`'s `lookup` with `all: true`.
 * @param host The host name.
 * @param options `family` wanted (undefined for either) and `signal` (may be ignored: the
 *   caller stops waiting when it aborts).
 * @returns The addresses found (none is an error for the caller).
 */
export type HostLookup = (
  host: string,
  options: { family: 4 | 6 | undefined; signal: AbortSignal },
) => Promise<readonly HostAddress[]>;
