import { formatPeerAddress, type PeerAddress } from "../wire/peer_address.ts";

/** First wait before dialling an address again after a failure. */
export const RETRY_BASE_MS = 5_000;
/** Longest wait between tries of one address. */
export const RETRY_MAX_MS = 10 * 60_000;
/** Most addresses remembered per torrent. */
export const MAX_KNOWN_PEERS = 2_000;

interface Entry {
  address: PeerAddress;
  failures: number;
  nextTryAtMs: number;
  connected: boolean;
  connecting: boolean;
  banned: boolean;
  seed: boolean;
}

/**
 * The addresses a torrent knows about, and which to dial next: new addresses first, failed
 * ones after an exponential back-off, banned ones never. Pure bookkeeping; time is passed in.
 * @example
 * ```ts
 * import { PeerBook } from "./peer_book.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const book = new PeerBook();
 * book.add({ host: "127.0.0.1", port: 6881 }, 0);
 * deepStrictEqual(book.next(0), { host: "127.0.0.1", port: 6881 });
 * ```
 */
export class PeerBook {
  #entries = new Map<string, Entry>();
  readonly #isSelf: (address: PeerAddress) => boolean;
  /** Banned addresses, kept apart so that neither the size limit nor eviction forgets them. */
  #banned = new Set<string>();

  /**
   * Makes an empty book.
   * @param isSelf Recognises our own listening address (never dialled).
   */
  constructor(isSelf: (address: PeerAddress) => boolean = () => false) {
    this.#isSelf = isSelf;
  }

  /** Number of addresses known. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Adds an address if it is new and usable (port 1..65535).
   * @param address The address.
   * @param nowMs The current time.
   * @returns `true` if it was new.
   */
  add(address: PeerAddress, nowMs: number): boolean {
    if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535) return false;
    if (address.host === "" || !isDialable(address.host) || this.#isSelf(address)) return false;
    const key = formatPeerAddress(address);
    if (this.#entries.has(key) || this.#banned.has(key)) return false;
    if (this.#entries.size >= MAX_KNOWN_PEERS && !this.#evictOne()) return false;
    this.#entries.set(key, {
      address,
      failures: 0,
      nextTryAtMs: nowMs,
      connected: false,
      connecting: false,
      banned: false,
      seed: false,
    });
    return true;
  }

  /**
   * Picks an address to dial now and marks it as connecting.
   * @param nowMs The current time.
   * @param skipSeeds Pass over addresses marked with {@linkcode PeerBook.markSeed} (a seed
   *   has nothing for another seed).
   * @returns The address, or `undefined` if none is due.
   */
  next(nowMs: number, skipSeeds = false): PeerAddress | undefined {
    let best: Entry | undefined;
    for (const entry of this.#entries.values()) {
      if (
        entry.banned || entry.connected || entry.connecting || entry.nextTryAtMs > nowMs ||
        (skipSeeds && entry.seed)
      ) {
        continue;
      }
      if (!best || entry.failures < best.failures) best = entry;
      if (best.failures === 0) break;
    }
    if (!best) return undefined;
    best.connecting = true;
    return best.address;
  }

  /**
   * Records the outcome of a dial, or that a connection (either direction) started or ended.
   * @param address The address.
   * @param state `connected`, `failed` (back off) or `closed` (may be dialled again later).
   * @param nowMs The current time.
   */
  mark(address: PeerAddress, state: "connected" | "failed" | "closed", nowMs: number): void {
    const key = formatPeerAddress(address);
    let entry = this.#entries.get(key);
    if (!entry) {
      if (state !== "connected") return;
      this.add(address, nowMs);
      entry = this.#entries.get(key);
      if (!entry) return;
    }
    entry.connecting = false;
    entry.connected = state === "connected";
    if (state === "connected") entry.failures = 0;
    else {
      if (state === "failed") entry.failures++;
      const wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, entry.failures - 1));
      entry.nextTryAtMs = nowMs + (state === "failed" ? wait : RETRY_BASE_MS);
    }
  }

  /**
   * Hands back an address `next` gave out but that was not dialled after all: it is due again
   * at once.
   * @param address The address.
   */
  unclaim(address: PeerAddress): void {
    const entry = this.#entries.get(formatPeerAddress(address));
    if (entry) entry.connecting = false;
  }

  /**
   * Remembers that the peer at this address has every piece.
   * @param address The address.
   */
  markSeed(address: PeerAddress): void {
    const entry = this.#entries.get(formatPeerAddress(address));
    if (entry) entry.seed = true;
  }

  /**
   * Never dials this address again.
   * @param address The address.
   */
  ban(address: PeerAddress): void {
    const key = formatPeerAddress(address);
    this.#banned.add(key);
    const entry = this.#entries.get(key);
    if (entry) entry.banned = true;
  }

  /** Forgets the known address that failed most (never a connected one) to make room. */
  #evictOne(): boolean {
    let worst: string | undefined;
    let worstFailures = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.connected || entry.connecting) continue;
      const failures = entry.banned ? Infinity : entry.failures;
      if (failures > worstFailures) {
        worst = key;
        worstFailures = failures;
      }
    }
    if (worst === undefined) return false;
    this.#entries.delete(worst);
    return true;
  }

  /**
   * The addresses known and not banned, for a session that takes over from this one (a
   * magnet's download after its metadata phase).
   * @returns Them, in the order they were added.
   */
  addresses(): PeerAddress[] {
    const out: PeerAddress[] = [];
    for (const entry of this.#entries.values()) if (!entry.banned) out.push(entry.address);
    return out;
  }

  /**
   * Tells whether an address is banned.
   * @param address The address.
   * @returns `true` if banned.
   */
  isBanned(address: PeerAddress): boolean {
    return this.#banned.has(formatPeerAddress(address));
  }
}

/**
 * Whether an address from the network (a tracker, PEX, the DHT) is one to dial at all: not
 * unspecified (0.0.0.0, ::, 0.x.x.x), not broadcast, not multicast.
 * @param host An IP address or a name.
 * @returns `false` for an address no peer can have.
 * @example
 * ```ts
 * import { isDialable } from "./peer_book.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(isDialable("127.0.0.1"), true);
 * strictEqual(isDialable("224.0.0.1"), false);
 * strictEqual(isDialable("::"), false);
 * ```
 */
export function isDialable(host: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const first = Number(v4[1]);
    if (first === 0 || first >= 224) return false; // unspecified, multicast, reserved, broadcast
    return true;
  }
  const lower = host.toLowerCase();
  if (lower.includes(":")) {
    if (/^[0:]*$/.test(lower) || lower === "::") return false; // unspecified
    if (lower.startsWith("ff")) return false; // multicast
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isDialable(mapped[1]);
  }
  return true;
}

/**
 * Recognises our own listening address as trackers, PEX or the DHT may hand it back to us:
 * our port on a loopback address or on the address we listen on.
 * @param port Our TCP port, once listening.
 * @param listenHost The address we listen on.
 * @returns The predicate for {@linkcode PeerBook}.
 */
export function ownListenAddress(
  port: () => number | undefined,
  listenHost: () => string | undefined,
): (address: PeerAddress) => boolean {
  return (address) => {
    if (address.port !== port()) return false;
    const host = address.host;
    return host === listenHost() || host === "127.0.0.1" || host === "::1" || host === "localhost";
  };
}
