import type { Bitfield } from "../bytes/bitfield.ts";
import type { RateMeter } from "../scheduler/rate_meter.ts";
import type { PeerMessage } from "../wire/message.ts";
import { chooseUnchoked, type OptimisticUnchoke, RECHOKE_INTERVAL_MS } from "./choker.ts";

/** What the choke driver reads and updates about a peer. */
export interface ChokePeer {
  /** The peer's id (unique among connected peers). */
  readonly id: string;
  /** Where `choke`/`unchoke` go. */
  readonly conn: { send(messages: PeerMessage): Promise<void> };
  /** The peer's pieces. */
  readonly has: Bitfield;
  /** Rate at which it sends us payload. */
  readonly downRate: RateMeter;
  /** Rate at which we send it payload. */
  readonly upRate: RateMeter;
  /** When it connected (ms). */
  readonly connectedAtMs: number;
  /** BEP 3: it is interested in us. */
  readonly peerInterested: boolean;
  /** It sat on our requests too long. */
  readonly snubbed: boolean;
  /** BEP 3: we choke it. */
  amChoking: boolean;
  /** When we last unchoked it. */
  lastUnchokedAtMs: number | undefined;
  /** Requests it sent while choked, since the last unchoke. */
  chokedRequests: number;
}

/** Regular unchoke slots (BEP 3 practice: four, plus the optimistic one). */
export const UNCHOKE_SLOTS = 4;

/**
 * Runs the choker ({@linkcode chooseUnchoked}) over a torrent's peers: every
 * {@linkcode RECHOKE_INTERVAL_MS}, and at once when an interested peer arrives while a slot is
 * free. Sends `choke`/`unchoke` without waiting for them to go out.
 */
export class ChokeDriver<P extends ChokePeer = ChokePeer> {
  readonly #peers: ReadonlyMap<string, P>;
  readonly #seeding: () => boolean;
  readonly #onChoked: (peer: P) => void;
  #optimistic: OptimisticUnchoke | undefined;
  #lastRechokeMs = 0;

  /**
   * Makes the driver.
   * @param peers The torrent's connected peers.
   * @param seeding Whether we are a seed now (the choker then ranks by upload rate).
   * @param onChoked Called for each peer we choke (its queued requests are rejected).
   */
  constructor(
    peers: ReadonlyMap<string, P>,
    seeding: () => boolean,
    onChoked: (peer: P) => void,
  ) {
    this.#peers = peers;
    this.#seeding = seeding;
    this.#onChoked = onChoked;
  }

  /**
   * Re-chokes when the interval has passed.
   * @param nowMs The time.
   */
  tick(nowMs: number): void {
    if (nowMs - this.#lastRechokeMs >= RECHOKE_INTERVAL_MS) this.rechoke(nowMs);
  }

  /** Re-chokes at once when a slot is free, so new interested peers need not wait 10 s. */
  rechokeSoon(): void {
    let unchoked = 0;
    for (const peer of this.#peers.values()) if (!peer.amChoking) unchoked++;
    if (unchoked < UNCHOKE_SLOTS + 1) this.rechoke(performance.now(), true);
  }

  /**
   * Chooses who to unchoke and sends the changes.
   * @param nowMs The time.
   * @param keepOptimistic `true` for an early re-choke that keeps the interval's timing.
   */
  rechoke(nowMs: number, keepOptimistic = false): void {
    if (!keepOptimistic) this.#lastRechokeMs = nowMs;
    const decision = chooseUnchoked({
      seeding: this.#seeding(),
      nowMs,
      slots: UNCHOKE_SLOTS,
      optimistic: this.#optimistic,
      peers: [...this.#peers.values()].map((peer) => ({
        id: peer.id,
        interested: peer.peerInterested,
        isSeed: peer.has.complete,
        downloadRate: peer.downRate.rate(nowMs),
        uploadRate: peer.upRate.rate(nowMs),
        connectedAtMs: peer.connectedAtMs,
        lastUnchokedAtMs: peer.lastUnchokedAtMs,
        snubbed: peer.snubbed,
      })),
    });
    this.#optimistic = decision.optimistic;
    for (const peer of this.#peers.values()) {
      const unchoke = decision.unchoke.has(peer.id);
      if (unchoke === !peer.amChoking) continue;
      peer.amChoking = !unchoke;
      if (unchoke) {
        peer.lastUnchokedAtMs = nowMs;
        peer.chokedRequests = 0;
      } else {
        this.#onChoked(peer);
      }
      peer.conn.send({ type: unchoke ? "unchoke" : "choke" }).catch(() => {});
    }
  }
}
