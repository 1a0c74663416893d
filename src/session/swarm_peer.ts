import { Bitfield } from "../bytes/bitfield.ts";
import { encodeHex } from "../bytes/hex.ts";
import { BLOCK_SIZE } from "../metainfo/geometry.ts";
import type { PeerConnection } from "../peer/connection.ts";
import type { PeerAddress } from "../wire/peer_address.ts";
import { Notifier } from "../scheduler/notifier.ts";
import type { BlockRequest } from "../scheduler/piece_scheduler.ts";
import type { PipelinePeer } from "../scheduler/request_pipeline.ts";
import { RateMeter } from "../scheduler/rate_meter.ts";

/** Requests kept outstanding to a new peer before its rate is known. */
export const INITIAL_QUEUE_DEPTH = 64;
/** Most allowed-fast or suggested pieces remembered from one peer. */
export const MAX_HINTS = 32;
/** Fewest requests kept outstanding to a peer. */
export const MIN_QUEUE_DEPTH = 16;
/** Most requests kept outstanding to one peer (8 MiB of blocks). */
export const MAX_QUEUE_DEPTH = 500;
/** The pipeline is sized to hold this many seconds of the peer's download rate. */
export const QUEUE_SECONDS = 2;

/**
 * The part of a {@linkcode PeerConnection} the session uses: tests of the peer handler pass a
 * fake with the same members.
 */
export type PeerLink = Pick<
  PeerConnection,
  "remote" | "peerId" | "extensions" | "messages" | "send" | "close" | "closed"
>;

/**
 * One connected peer as the session sees it: BEP 3 choke and interest state, the pieces it
 * has, our outstanding requests, its queued requests to us, and rate meters.
 * It holds the connection but does no I/O of its own.
 */
export class SwarmPeer implements PipelinePeer {
  /** The connection. */
  readonly conn: PeerLink;
  /** `true` when we dialed the peer, `false` when it connected to us. */
  readonly outgoing: boolean;
  /** The peer's id as hex text (unique among connected peers). */
  readonly id: string;
  /** Pieces the peer has. */
  readonly has: Bitfield;
  /** Our outstanding requests: block key -> time sent. */
  readonly outstanding: Map<number, number> = new Map();
  /** Its requests to us, waiting to be served. */
  readonly uploadQueue: BlockRequest[] = [];
  /** Woken when the upload queue gains requests. */
  readonly uploadWake: Notifier = new Notifier();
  /** Rate at which the peer sends us payload. */
  readonly downRate: RateMeter = new RateMeter();
  /** Rate at which we send the peer payload. */
  readonly upRate: RateMeter = new RateMeter();
  /** When the connection was made (ms, performance clock). */
  readonly connectedAtMs: number = performance.now();
  /** BEP 3 state. */
  amChoking = true;
  /** BEP 3 state. */
  amInterested = false;
  /** BEP 3 state. */
  peerChoking = true;
  /** BEP 3 state. */
  peerInterested = false;
  /** Requests to keep outstanding. */
  queueDepth: number = INITIAL_QUEUE_DEPTH;
  /** Last time the peer delivered a block, or we started asking after a pause. */
  lastProgressAtMs: number = performance.now();
  /** Last time we unchoked the peer. */
  lastUnchokedAtMs: number | undefined;
  /** `true` after it sat on our requests too long. */
  snubbed = false;
  /** BEP 6: pieces it lets us request while it chokes us (at most {@linkcode MAX_HINTS}). */
  readonly allowedFast: Set<number> = new Set();
  /** BEP 6: pieces it suggested, oldest first (at most {@linkcode MAX_HINTS}). */
  readonly suggested: Set<number> = new Set();
  /** BEP 6: pieces we let it request while we choke it. */
  grantedFast: ReadonlySet<number> = new Set();
  /** The peer's message id for ut_pex (BEP 11), once its extension handshake named one. */
  pexId: number | undefined;
  /** The peer's message id for ut_metadata (BEP 9), once its extension handshake named one. */
  metadataId: number | undefined;
  /** Our ut_metadata replies to it not yet handed to the socket. */
  metadataInFlight = 0;
  /** Its ut_metadata requests we refused as out of range or beyond the queue. */
  metadataStrikes = 0;
  /** Pieces verified that it lacks, waiting to be announced with `have`. */
  readonly pendingHaves: number[] = [];
  /** A batch of `have`s is in its send queue. */
  havesInFlight = false;
  /** Its client name and version, from its extension handshake (`v`). */
  clientName: string | undefined;
  /** The port it listens on, from its extension handshake (`p`). */
  listenPort: number | undefined;
  /** Most requests it accepts queued (`reqq`); our pipeline never goes deeper. */
  maxRequests: number | undefined;
  /** Addresses we told it about by PEX and have not said dropped, by `host:port`. */
  readonly pexSent: Map<string, PeerAddress> = new Map();
  /** When it last sent us a PEX message (ms, performance clock). */
  lastPexAtMs: number = -Infinity;
  /** Requests received while we choke it, since the last unchoke. */
  chokedRequests = 0;
  /** Requests refused because its queue with us was full. */
  overflowRequests = 0;
  /** Pieces it contributed to that failed their hash check. */
  hashFailures = 0;

  /**
   * Wraps a connection that finished its handshake.
   * @param conn The connection.
   * @param pieceCount Pieces in the torrent.
   * @param outgoing `true` when we dialed the peer.
   */
  constructor(conn: PeerLink, pieceCount: number, outgoing = false) {
    this.conn = conn;
    this.outgoing = outgoing;
    this.id = encodeHex(conn.peerId);
    this.has = new Bitfield(pieceCount);
  }

  /**
   * Resizes the request pipeline to about {@linkcode QUEUE_SECONDS} of the peer's rate.
   * @param nowMs The current time.
   */
  adaptQueueDepth(nowMs: number): void {
    const perSecond = this.downRate.rate(nowMs) / BLOCK_SIZE;
    const wanted = Math.round(perSecond * QUEUE_SECONDS);
    this.queueDepth = Math.min(
      this.maxRequests ?? MAX_QUEUE_DEPTH,
      MAX_QUEUE_DEPTH,
      Math.max(MIN_QUEUE_DEPTH, wanted, this.queueDepth >> 1),
    );
  }
}
