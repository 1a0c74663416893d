import { encodeIpAddress } from "../wire/peer_address.ts";
import { canonicalHost } from "./dht_address.ts";

/** Distinct sources that must agree before an external address is believed. */
export const EXTERNAL_ADDRESS_QUORUM = 3;
/** Sources remembered at most; the oldest vote makes room. */
export const MAX_ADDRESS_VOTERS = 64;

/**
 * Votes on our external IP address from several sources (a tracker's `external ip`, a peer's
 * BEP 10 `yourip`, a DHT reply's `ip`). One vote per source, the latest counting; an address is
 * agreed once `quorum` distinct sources name it and no other address has as many. Never one
 * source's word. Bounded to {@linkcode MAX_ADDRESS_VOTERS} sources.
 * @example
 * ```ts
 * import { ExternalAddressVotes } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const votes = new ExternalAddressVotes();
 * votes.vote("203.0.113.5", "tracker:a");
 * votes.vote("203.0.113.5", "tracker:a"); // the same source again: still one vote
 * votes.vote("203.0.113.5", "peer:1.2.3.4");
 * strictEqual(votes.agreed, undefined);
 * strictEqual(votes.vote("203.0.113.5", "dht:5.6.7.8"), "203.0.113.5");
 * ```
 */
export class ExternalAddressVotes {
  #votes = new Map<string, string>();
  #agreed: string | undefined;
  #quorum: number;

  /**
   * Makes an empty ballot.
   * @param quorum Distinct sources needed (default 3).
   */
  constructor(quorum: number = EXTERNAL_ADDRESS_QUORUM) {
    this.#quorum = quorum;
  }

  /** The agreed address, or `undefined` while there is none. */
  get agreed(): string | undefined {
    return this.#agreed;
  }

  /**
   * Records one source's view of our address.
   * @param host The address the source says we have (anything but an IP literal is ignored).
   * @param source Who says so (e.g. "tracker:URL", "peer:IP", "dht:IP"); one vote each.
   * @returns The newly agreed address when this vote changed it, else `undefined`.
   */
  vote(host: string, source: string): string | undefined {
    const ip = canonicalHost(host);
    try {
      encodeIpAddress(ip);
    } catch {
      return undefined;
    }
    this.#votes.delete(source);
    this.#votes.set(source, ip);
    if (this.#votes.size > MAX_ADDRESS_VOTERS) {
      this.#votes.delete(this.#votes.keys().next().value!);
    }
    const tally = new Map<string, number>();
    for (const value of this.#votes.values()) tally.set(value, (tally.get(value) ?? 0) + 1);
    let best: string | undefined;
    let bestCount = 0;
    let tie = false;
    for (const [value, count] of tally) {
      if (count > bestCount) {
        best = value;
        bestCount = count;
        tie = false;
      } else if (count === bestCount) {
        tie = true;
      }
    }
    if (best === undefined || tie || bestCount < this.#quorum || best === this.#agreed) {
      return undefined;
    }
    this.#agreed = best;
    return best;
  }
}
