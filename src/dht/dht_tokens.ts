import { concatBytes, equalBytes, utf8 } from "../bytes/bytes.ts";
import { sha1 } from "../sha1/sha1.ts";
import { encodeIpAddress } from "../wire/peer_address.ts";
import { canonicalHost } from "./dht_address.ts";

/** How often the token secret changes; the previous secret is still accepted (BEP 5). */
export const TOKEN_ROTATE_MS = 5 * 60_000;
/** Bytes in a token shoal hands out. */
export const TOKEN_BYTES = 8;
const SECRET_BYTES = 16;

/**
 * Announce tokens (BEP 5): a token is the first 8 bytes of SHA-1(requester IP + info hash +
 * secret), so it is bound to both the address and the torrent (a token for one info hash cannot
 * announce another). The secret rotates every 5 minutes and the previous one is still accepted,
 * so a token lives between 5 and 10 minutes. Pure: every method takes the time.
 * @example
 * ```ts
 * import { DhtTokens } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * const tokens = new DhtTokens(0);
 * const infoHash = new Uint8Array(20).fill(1);
 * const token = tokens.issue("10.0.0.1", infoHash, 0);
 * ok(tokens.check(token, "10.0.0.1", infoHash, 60_000));
 * ok(!tokens.check(token, "10.0.0.2", infoHash, 60_000));
 * ```
 */
export class DhtTokens {
  #current: Uint8Array;
  #previous: Uint8Array;
  #rotatedAt: number;
  #random: (bytes: Uint8Array) => Uint8Array;

  /**
   * Makes fresh secrets.
   * @param now The current time in ms.
   * @param random Source of random bytes (default `crypto.getRandomValues`).
   */
  constructor(
    now: number,
    random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
  ) {
    this.#random = random;
    this.#current = random(new Uint8Array(SECRET_BYTES));
    this.#previous = random(new Uint8Array(SECRET_BYTES));
    this.#rotatedAt = now;
  }

  /**
   * The token for a requester and torrent, to put in a `get_peers` reply.
   * @param host The requester's IP address.
   * @param infoHash The 20-byte info hash it asked for.
   * @param now The current time in ms.
   * @returns An 8-byte token.
   */
  issue(host: string, infoHash: Uint8Array, now: number): Uint8Array {
    this.#rotate(now);
    return this.#token(this.#current, host, infoHash);
  }

  /**
   * Checks an `announce_peer` token.
   * @param token The token the requester sent.
   * @param host The requester's IP address.
   * @param infoHash The 20-byte info hash it announces.
   * @param now The current time in ms.
   * @returns `true` when it was issued to that address for that info hash under the current or
   *   the previous secret.
   */
  check(token: Uint8Array, host: string, infoHash: Uint8Array, now: number): boolean {
    this.#rotate(now);
    if (token.length !== TOKEN_BYTES) return false;
    return equalBytes(token, this.#token(this.#current, host, infoHash)) ||
      equalBytes(token, this.#token(this.#previous, host, infoHash));
  }

  #rotate(now: number): void {
    const periods = Math.floor((now - this.#rotatedAt) / TOKEN_ROTATE_MS);
    if (periods <= 0) return;
    this.#previous = periods === 1 ? this.#current : this.#random(new Uint8Array(SECRET_BYTES));
    this.#current = this.#random(new Uint8Array(SECRET_BYTES));
    this.#rotatedAt += periods * TOKEN_ROTATE_MS;
  }

  #token(secret: Uint8Array, host: string, infoHash: Uint8Array): Uint8Array {
    let ip: Uint8Array;
    try {
      ip = encodeIpAddress(canonicalHost(host));
    } catch {
      ip = utf8(host);
    }
    return sha1(concatBytes([ip, infoHash, secret])).slice(0, TOKEN_BYTES);
  }
}
