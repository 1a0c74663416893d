import { BLOCK_SIZE, pieceSize } from "../metainfo/geometry.ts";
import type { RateLimiter } from "../peer/rate_limiter.ts";
import type { ActivePiece, PieceScheduler } from "../scheduler/piece_scheduler.ts";
import { requestBatches } from "../scheduler/request_pipeline.ts";
import type { ChokeDriver } from "../upload/choke_driver.ts";
import { MAX_QUEUED_UPLOADS, type UploadServer } from "../upload/upload_server.ts";
import { VERSION } from "../version.ts";
import {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  EXTENSION_HANDSHAKE_ID,
} from "../wire/extension.ts";
import type { PeerMessage } from "../wire/message.ts";
import { formatPeerAddress } from "../wire/peer_address.ts";
import { decodeMetadataMessage, encodeMetadataMessage } from "../wire/metadata.ts";
import { checkMetadataRequest, metadataDataReply } from "../upload/metadata_requests.ts";
import type { SessionEvent } from "./events.ts";
import type { PexExchange } from "./pex_exchange.ts";
import { UT_PEX_ID } from "./pex_exchange.ts";

/** Messages only a peer that negotiated the fast extension (BEP 6) may send. */
const FAST_MESSAGES: ReadonlySet<PeerMessage["type"]> = new Set([
  "have-all",
  "have-none",
  "suggest",
  "reject",
  "allowed-fast",
]);

/** Our message id for ut_metadata (BEP 9) in the extension handshake. */
export const UT_METADATA_ID = 2;
import type { SessionStats } from "./stats.ts";
import { MAX_HINTS, type SwarmPeer } from "./swarm_peer.ts";
import { allowedFastSet } from "../wire/allowed_fast.ts";
import { errorMessage } from "../util/printable.ts";

/** What the peer handler needs from the session. */
export interface PeerHandlerInit {
  /** The torrent's scheduler (it owns `have`). */
  readonly scheduler: PieceScheduler<SwarmPeer>;
  /** Serves the peer's requests. */
  readonly upload: UploadServer;
  /** Re-chokes when an interested peer arrives. */
  readonly choker: ChokeDriver<SwarmPeer>;
  /** Peer exchange. */
  readonly pex: PexExchange;
  /** Transfer counters. */
  readonly stats: SessionStats;
  /** The download rate limit (our requests are metered). */
  readonly downloadLimit: RateLimiter;
  /** The session's signal: every peer stops when it aborts. */
  readonly signal: AbortSignal;
  /** The port we accept peers on (sent in the extension handshake). */
  readonly port: () => number | undefined;
  /** Timeouts of the request pipeline. */
  readonly requestTimeoutMs?: number;
  /** A peer silent this long while holding requests is snubbed. */
  readonly snubTimeoutMs?: number;
  /** Session events. */
  readonly emit: (event: SessionEvent) => void;
  /** Our DHT node's UDP port, sent to peers that set the DHT bit (BEP 5). */
  readonly dhtPort?: number;
  /** A peer's `port` message named its DHT node. */
  readonly onDhtNode?: (address: { host: string; port: number }) => void;
  /** A peer's extension handshake said the address it sees us at (`yourip`). */
  readonly onExternalAddress?: (ip: string, source: string) => void;
  /** The torrent's info dictionary, served to peers that ask for it (BEP 9). */
  readonly infoBytes: Uint8Array;
  /** The torrent's info hash (it seeds each peer's allowed-fast set, BEP 6). */
  readonly infoHash: Uint8Array;
  /** A piece has every block: verify it (runs in the background). */
  readonly onPieceComplete: (piece: ActivePiece) => void;
}

/**
 * Runs one connected peer (BEP 3, 6, 10): sends our opening (extension handshake, bitfield),
 * reads its messages and keeps its state (choke, interest, pieces), feeds its blocks to the
 * scheduler, keeps our request pipeline to it full, serves its requests through the upload
 * server, and drops it with a reason when it misbehaves. Never throws.
 */
export class PeerHandler {
  readonly #init: PeerHandlerInit;

  /**
   * Makes the handler (one per torrent; it runs any number of peers).
   * @param init The torrent's parts and callbacks.
   */
  constructor(init: PeerHandlerInit) {
    this.#init = init;
  }

  /**
   * Runs a peer until it leaves or the session stops.
   * @param peer The peer, already in the session's peer map.
   * @returns When the peer is gone (never rejects).
   */
  async run(peer: SwarmPeer): Promise<void> {
    const { scheduler, signal: sessionSignal } = this.#init;
    const conn = peer.conn;
    const address = formatPeerAddress(conn.remote);
    scheduler.addPeer(peer);
    this.#init.emit({ type: "peer", change: "connected", address });
    let reason: string | undefined;
    const peerAbort = new AbortController();
    const signal = AbortSignal.any([sessionSignal, peerAbort.signal]);
    const loops: Promise<void>[] = [];
    try {
      await this.#sendOpening(peer);
      loops.push(this.#requestLoop(peer, signal), this.#init.upload.run(peer, signal));
      for (const loop of loops) {
        loop.catch((error) => {
          reason ??= errorMessage(error);
          peerAbort.abort();
          conn.close();
        });
      }
      for await (const message of conn.messages()) {
        let problem = this.#handleMessage(peer, message);
        if (problem instanceof Promise) problem = await problem; // most messages need no await
        if (problem) {
          reason = problem;
          break;
        }
        // The download limit meters bytes received: not reading on makes TCP slow the sender.
        // (Unlimited: not even an await.)
        const { downloadLimit } = this.#init;
        if (message.type === "piece" && downloadLimit.bytesPerSecond !== undefined) {
          await downloadLimit.take(message.block.length, signal);
        }
      }
      reason ??= "connection closed";
    } catch (error) {
      reason ??= errorMessage(error);
    } finally {
      peerAbort.abort();
      conn.close();
      await Promise.allSettled(loops);
      scheduler.removePeer(peer);
      if (!sessionSignal.aborted) {
        this.#init.emit({ type: "peer", change: "disconnected", address, reason });
      }
    }
  }

  /**
   * Drops interest in peers that no longer have anything we need (run on the session's tick;
   * not awaited, so a stuck peer never stalls the tick); with `all`, also becomes interested
   * in peers that now have something (after the wanted pieces changed).
   * @param all Check every peer, not only those we are interested in.
   */
  updateInterests(all = false): void {
    const { scheduler } = this.#init;
    for (const peer of scheduler.peers()) {
      if (all || (peer.amInterested && !scheduler.isInteresting(peer))) {
        this.#updateInterest(peer).catch(() => {});
      }
    }
  }

  /** Keeps the peer's request pipeline full, metered by the download limit. */
  async #requestLoop(peer: SwarmPeer, signal: AbortSignal): Promise<void> {
    const { scheduler } = this.#init;
    try {
      const batches = requestBatches(scheduler, peer, {
        signal,
        requestTimeoutMs: this.#init.requestTimeoutMs,
        snubTimeoutMs: this.#init.snubTimeoutMs,
      });
      for await (const batch of batches) {
        await peer.conn.send(batch.map((r) => ({ type: "request", ...r })));
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  async #sendOpening(peer: SwarmPeer): Promise<void> {
    const messages: PeerMessage[] = [];
    const { pex, scheduler } = this.#init;
    if (peer.conn.extensions.extended) {
      // BEP 10: peer exchange unless the torrent is private (BEP 27), and `reqq` to tell the
      // peer how deep it may pipeline.
      const payload = encodeExtensionHandshake({
        m: { ...pex.offered, ut_metadata: UT_METADATA_ID },
        v: `shoal ${VERSION}`,
        reqq: MAX_QUEUED_UPLOADS,
        p: this.#init.port(),
        metadata_size: this.#init.infoBytes.length,
      });
      messages.push({ type: "extended", id: EXTENSION_HANDSHAKE_ID, payload });
    }
    const have = scheduler.have;
    if (peer.conn.extensions.fast && have.count === 0) messages.push({ type: "have-none" });
    else if (peer.conn.extensions.fast && have.complete) messages.push({ type: "have-all" });
    else if (have.count > 0) messages.push({ type: "bitfield", bytes: have.bytes.slice() });
    if (peer.conn.extensions.fast && !have.complete) {
      // BEP 6: a few pieces it may have while we choke it, so a newcomer can start. A seed
      // grants none: its unchoke slots rotate anyway, and a leecher has fewer to give.
      const granted = allowedFastSet(peer.conn.remote.host, this.#init.infoHash, have.size)
        .filter((index) => have.has(index));
      peer.grantedFast = new Set(granted);
      for (const index of granted) messages.push({ type: "allowed-fast", index });
    }
    const dhtPort = this.#init.dhtPort;
    if (dhtPort !== undefined && peer.conn.extensions.dht) {
      messages.push({ type: "port", port: dhtPort });
    }
    if (messages.length > 0) await peer.conn.send(messages);
  }

  /** Remembers a piece the peer suggests or allows fast (hints: never a reason to drop it). */
  #onHint(peer: SwarmPeer, type: "suggest" | "allowed-fast", index: number): void {
    const { scheduler } = this.#init;
    if (index >= scheduler.geometry.pieceCount || scheduler.have.has(index)) return;
    const hints = type === "suggest" ? peer.suggested : peer.allowedFast;
    if (hints.has(index)) return;
    if (hints.size >= MAX_HINTS) {
      if (type === "allowed-fast") return; // a peer does not widen its grant by repeating it
      hints.delete(hints.values().next().value!); // the oldest suggestion
    }
    hints.add(index);
    if (type === "allowed-fast" && peer.peerChoking) scheduler.wake(peer);
  }

  /** Handles one message; returns a reason to drop the peer, if any (a promise when it waits). */
  #handleMessage(
    peer: SwarmPeer,
    message: PeerMessage,
  ): string | undefined | Promise<string | undefined> {
    const { scheduler } = this.#init;
    const { extensions } = peer.conn;
    if (FAST_MESSAGES.has(message.type) && !extensions.fast) {
      return `sent ${message.type} without negotiating the fast extension (BEP 6)`;
    }
    if (message.type === "extended" && !extensions.extended) {
      return "sent an extended message without negotiating the extension protocol (BEP 10)";
    }
    switch (message.type) {
      case "port":
        if (message.port > 0) {
          this.#init.onDhtNode?.({ host: peer.conn.remote.host, port: message.port });
        }
        return undefined;
      case "keep-alive":
        return undefined;
      case "suggest":
      case "allowed-fast":
        this.#onHint(peer, message.type, message.index);
        return undefined;
      case "extended":
        return this.#onExtended(peer, message.id, message.payload);
      case "choke":
        peer.peerChoking = true;
        // A fast peer rejects what it will not serve (BEP 6) and may still serve its
        // allowed-fast pieces; without the extension, a choke drops every request.
        if (!extensions.fast) scheduler.releaseAll(peer);
        return undefined;
      case "unchoke":
        peer.peerChoking = false;
        peer.lastProgressAtMs = performance.now();
        scheduler.wake(peer);
        return undefined;
      case "interested":
        peer.peerInterested = true;
        this.#init.choker.rechokeSoon();
        return undefined;
      case "not-interested":
        peer.peerInterested = false;
        return undefined;
      case "have":
        if (!scheduler.peerHave(peer, message.index)) return this.#dropIfBothSeeds(peer);
        return this.#updateInterest(peer).then(() => this.#dropIfBothSeeds(peer));
      case "bitfield":
      case "have-all":
      case "have-none": {
        const pieces = message.type === "bitfield" ? message.bytes : message.type === "have-all";
        scheduler.setPeerPieces(peer, pieces);
        return this.#updateInterest(peer).then(() => this.#dropIfBothSeeds(peer));
      }
      case "request":
        return this.#init.upload.onRequest(peer, message);
      case "cancel":
        this.#init.upload.onCancel(peer, message);
        return undefined;
      case "reject":
        if (!this.#isBlock(message.index, message.begin, message.length)) {
          return `rejected a block we never ask for (piece ${message.index}, offset ${message.begin}, ${message.length} bytes)`;
        }
        scheduler.release(peer, message);
        return undefined;
      case "piece":
        if (!this.#isBlock(message.index, message.begin, message.block.length)) {
          return `sent a block outside its piece (piece ${message.index}, offset ${message.begin}, ${message.block.length} bytes)`;
        }
        return this.#onBlock(peer, message.index, message.begin, message.block);
    }
  }

  /** BEP 10 messages: the extension handshake and ut_pex. Returns a reason to drop the peer. */
  #onExtended(peer: SwarmPeer, id: number, payload: Uint8Array): string | undefined {
    if (id === EXTENSION_HANDSHAKE_ID) {
      let handshake;
      try {
        handshake = decodeExtensionHandshake(payload);
      } catch (error) {
        return errorMessage(error);
      }
      peer.clientName = handshake.v?.slice(0, 64);
      if (handshake.yourip) {
        this.#init.onExternalAddress?.(handshake.yourip, `peer ${peer.conn.remote.host}`);
      }
      const metadataId = handshake.m.ut_metadata;
      peer.metadataId = metadataId !== undefined && metadataId > 0 ? metadataId : undefined;
      if (handshake.reqq !== undefined) {
        peer.maxRequests = Math.max(1, handshake.reqq);
        peer.queueDepth = Math.min(peer.queueDepth, peer.maxRequests);
      }
      this.#init.pex.onHandshake(peer, handshake);
      return undefined;
    }
    if (id === UT_PEX_ID) return this.#init.pex.onMessage(peer, payload);
    if (id === UT_METADATA_ID) return this.#onMetadata(peer, payload);
    return undefined; // extensions we did not offer are ignored
  }

  /** BEP 9: answers a peer's requests for our info dictionary. */
  #onMetadata(peer: SwarmPeer, payload: Uint8Array): string | undefined {
    let message;
    try {
      message = decodeMetadataMessage(payload);
    } catch (error) {
      return errorMessage(error);
    }
    if (message.type !== "request") return undefined; // we fetch nothing: data and rejects are ignored
    const { infoBytes } = this.#init;
    const verdict = checkMetadataRequest(message.piece, {
      metadataSize: infoBytes.length,
      queued: peer.metadataInFlight,
      strikes: peer.metadataStrikes,
    });
    if (verdict.action === "drop") return verdict.reason;
    const id = peer.metadataId;
    if (id === undefined) return undefined; // it never offered ut_metadata: nowhere to answer
    const reply = verdict.action === "serve"
      ? metadataDataReply(infoBytes, message.piece)
      : { type: "reject" as const, piece: message.piece };
    if (verdict.action === "reject" && verdict.strike) peer.metadataStrikes++;
    peer.metadataInFlight++;
    peer.conn.send({ type: "extended", id, payload: encodeMetadataMessage(reply) })
      .catch(() => {})
      .finally(() => peer.metadataInFlight--);
    return undefined;
  }

  /**
   * Whether index, offset and length name one of the blocks we request: 16 KiB-aligned, inside
   * the piece, and exactly a block long (shorter only at the piece's end). Checked before any
   * bookkeeping: a block key made from a bad offset would alias another piece's block.
   */
  #isBlock(index: number, begin: number, length: number): boolean {
    const geometry = this.#init.scheduler.geometry;
    if (!Number.isInteger(index) || index < 0 || index >= geometry.pieceCount) return false;
    const size = pieceSize(geometry, index);
    return begin % BLOCK_SIZE === 0 && begin >= 0 && begin < size &&
      length === Math.min(BLOCK_SIZE, size - begin);
  }

  #onBlock(peer: SwarmPeer, index: number, begin: number, block: Uint8Array): string | undefined {
    const { scheduler, stats } = this.#init;
    const outcome = scheduler.receiveBlock(peer, peer.id, index, begin, block);
    if (!outcome) {
      return `sent a block we never asked for (piece ${index}, offset ${begin}, ${block.length} bytes)`;
    }
    if (outcome.late) return undefined;
    const now = performance.now();
    peer.lastProgressAtMs = now;
    peer.snubbed = false;
    peer.downRate.add(block.length, now);
    stats.addDownloaded(block.length, now);
    for (const other of outcome.cancel) {
      other.conn.send({ type: "cancel", index, begin, length: block.length }).catch(() => {});
    }
    if (outcome.completed) this.#init.onPieceComplete(outcome.completed);
    return undefined;
  }

  #dropIfBothSeeds(peer: SwarmPeer): string | undefined {
    return this.#init.scheduler.finished && peer.has.complete ? "both of us are seeds" : undefined;
  }

  async #updateInterest(peer: SwarmPeer): Promise<void> {
    const interesting = this.#init.scheduler.isInteresting(peer);
    if (interesting === peer.amInterested) return;
    peer.amInterested = interesting;
    await peer.conn.send({ type: interesting ? "interested" : "not-interested" });
    if (interesting) this.#init.scheduler.wake(peer);
  }
}
