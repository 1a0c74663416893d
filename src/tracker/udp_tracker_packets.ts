import { decodeCompactPeers, type PeerAddress } from "../wire/peer_address.ts";
import { checkAnnounceRequest } from "./build_announce_url.ts";
import type { AnnounceRequest } from "./types.ts";

/** The magic connection id of a BEP 15 connect request. */
export const UDP_TRACKER_PROTOCOL_ID: bigint = 0x41727101980n;
/** The most info hashes one BEP 15 scrape request may carry. */
export const MAX_UDP_SCRAPE_HASHES: number = 74;

const ACTION_CONNECT = 0;
const ACTION_ANNOUNCE = 1;
const ACTION_SCRAPE = 2;
const ACTION_ERROR = 3;

const EVENT_CODES = { completed: 1, started: 2, stopped: 3 } as const;

/** Per-torrent counts from a BEP 15 scrape. */
export interface UdpScrapeEntry {
  /** Peers with the whole torrent. */
  seeders: number;
  /** Times the torrent was downloaded in full. */
  completed: number;
  /** Peers still downloading. */
  leechers: number;
}

/** A decoded BEP 15 response from a UDP tracker. */
export type UdpTrackerResponse =
  | { type: "connect"; transactionId: number; connectionId: bigint }
  | {
    type: "announce";
    transactionId: number;
    intervalSeconds: number;
    leechers: number;
    seeders: number;
    peers: PeerAddress[];
    /** Bytes at the end that did not make a whole peer entry. */
    droppedBytes: number;
  }
  | { type: "scrape"; transactionId: number; entries: UdpScrapeEntry[] }
  | { type: "error"; transactionId: number; message: string };

/**
 * Encodes a BEP 15 connect request (16 bytes).
 * @param transactionId A random 32-bit transaction id.
 * @returns The packet.
 * @example
 * ```ts
 * import { encodeUdpConnectRequest } from "@shoal/shoal/tracker";
 * import { strictEqual } from "node:assert/strict";
 * const packet = encodeUdpConnectRequest(7);
 * strictEqual(new DataView(packet.buffer).getBigUint64(0), 0x41727101980n);
 * ```
 */
export function encodeUdpConnectRequest(transactionId: number): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, UDP_TRACKER_PROTOCOL_ID);
  view.setUint32(8, ACTION_CONNECT);
  view.setUint32(12, transactionId >>> 0);
  return out;
}

/**
 * Encodes a BEP 15 announce request (98 bytes). `numWant` defaults to -1 (the tracker's choice);
 * the IP field is 0 (the sender's address).
 * @param connectionId The id from the connect response.
 * @param transactionId A random 32-bit transaction id.
 * @param request The announce.
 * @returns The packet.
 * @throws {RangeError} If a request field is out of range.
 * @example
 * ```ts
 * import { encodeUdpAnnounceRequest } from "@shoal/shoal/tracker";
 * import { strictEqual } from "node:assert/strict";
 * const packet = encodeUdpAnnounceRequest(1n, 2, {
 *   infoHash: new Uint8Array(20), peerId: new Uint8Array(20),
 *   port: 6881, uploaded: 0, downloaded: 0, left: 5, event: "started",
 * });
 * strictEqual(packet.length, 98);
 * strictEqual(new DataView(packet.buffer).getUint32(80), 2);
 * ```
 */
export function encodeUdpAnnounceRequest(
  connectionId: bigint,
  transactionId: number,
  request: AnnounceRequest,
): Uint8Array {
  checkAnnounceRequest(request);
  const out = new Uint8Array(98);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, connectionId));
  view.setUint32(8, ACTION_ANNOUNCE);
  view.setUint32(12, transactionId >>> 0);
  out.set(request.infoHash, 16);
  out.set(request.peerId, 36);
  view.setBigUint64(56, BigInt(request.downloaded));
  view.setBigUint64(64, BigInt(request.left));
  view.setBigUint64(72, BigInt(request.uploaded));
  view.setUint32(80, request.event ? EVENT_CODES[request.event] : 0);
  view.setUint32(84, 0);
  view.setUint32(88, (request.key ?? 0) >>> 0);
  view.setInt32(92, request.numWant === undefined ? -1 : Math.min(request.numWant, 0x7fffffff));
  view.setUint16(96, request.port);
  return out;
}

/**
 * Encodes a BEP 15 scrape request for up to {@linkcode MAX_UDP_SCRAPE_HASHES} info hashes.
 * @param connectionId The id from the connect response.
 * @param transactionId A random 32-bit transaction id.
 * @param infoHashes 20-byte info hashes.
 * @returns The packet.
 * @throws {RangeError} If there are no hashes, too many, or one is not 20 bytes.
 * @example
 * ```ts
 * import { encodeUdpScrapeRequest } from "@shoal/shoal/tracker";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(encodeUdpScrapeRequest(1n, 2, [new Uint8Array(20)]).length, 36);
 * ```
 */
export function encodeUdpScrapeRequest(
  connectionId: bigint,
  transactionId: number,
  infoHashes: readonly Uint8Array[],
): Uint8Array {
  if (infoHashes.length === 0 || infoHashes.length > MAX_UDP_SCRAPE_HASHES) {
    throw new RangeError(
      `Cannot scrape: ${infoHashes.length} info hashes, want 1..${MAX_UDP_SCRAPE_HASHES}`,
    );
  }
  const out = new Uint8Array(16 + 20 * infoHashes.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, connectionId));
  view.setUint32(8, ACTION_SCRAPE);
  view.setUint32(12, transactionId >>> 0);
  infoHashes.forEach((hash, i) => {
    if (hash.length !== 20) {
      throw new RangeError(`Cannot scrape: info hash ${i} is ${hash.length} bytes, not 20`);
    }
    out.set(hash, 16 + 20 * i);
  });
  return out;
}

const lenientUtf8 = new TextDecoder();

/**
 * Decodes a BEP 15 response packet. Untrusted: a packet that is too short or has an unknown
 * action gives `undefined` (the caller ignores it and keeps waiting). Announce peers are 6 bytes
 * each over IPv4 and 18 over IPv6 (`family`, the family of the socket it came in on); an
 * incomplete tail and peers with port 0 are dropped.
 * @param bytes The datagram.
 * @param family 4 or 6: the address family the tracker was reached over.
 * @returns The response, or `undefined` for a packet to ignore.
 * @example
 * ```ts
 * import { decodeUdpTrackerResponse } from "@shoal/shoal/tracker";
 * import { deepStrictEqual } from "node:assert/strict";
 * const packet = new Uint8Array(16);
 * new DataView(packet.buffer).setUint32(4, 9); // action 0, transaction 9
 * new DataView(packet.buffer).setBigUint64(8, 42n);
 * deepStrictEqual(decodeUdpTrackerResponse(packet, 4), {
 *   type: "connect", transactionId: 9, connectionId: 42n,
 * });
 * ```
 */
export function decodeUdpTrackerResponse(
  bytes: Uint8Array,
  family: 4 | 6,
): UdpTrackerResponse | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const action = view.getUint32(0);
  const transactionId = view.getUint32(4);
  switch (action) {
    case ACTION_CONNECT:
      if (bytes.length < 16) return undefined;
      return { type: "connect", transactionId, connectionId: view.getBigUint64(8) };
    case ACTION_ANNOUNCE: {
      if (bytes.length < 20) return undefined;
      const size = family === 4 ? 6 : 18;
      const peerBytes = bytes.subarray(20);
      const whole = peerBytes.length - (peerBytes.length % size);
      return {
        type: "announce",
        transactionId,
        intervalSeconds: view.getUint32(8),
        leechers: view.getUint32(12),
        seeders: view.getUint32(16),
        peers: decodeCompactPeers(peerBytes.subarray(0, whole), family),
        droppedBytes: peerBytes.length - whole,
      };
    }
    case ACTION_SCRAPE: {
      const entries: UdpScrapeEntry[] = [];
      for (let at = 8; at + 12 <= bytes.length; at += 12) {
        entries.push({
          seeders: view.getUint32(at),
          completed: view.getUint32(at + 4),
          leechers: view.getUint32(at + 8),
        });
      }
      return { type: "scrape", transactionId, entries };
    }
    case ACTION_ERROR:
      return { type: "error", transactionId, message: lenientUtf8.decode(bytes.subarray(8)) };
    default:
      return undefined;
  }
}
