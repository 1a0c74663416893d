/** Packets one address may send per window before it is ignored. */
export const FLOOD_MAX_PACKETS = 200;
/** The counting window, in ms. */
export const FLOOD_WINDOW_MS = 10_000;
/** How long a flooding address is ignored, in ms. */
export const FLOOD_BLOCK_MS = 5 * 60_000;
/** Addresses tracked at most; the oldest entry makes room. */
export const FLOOD_MAX_TRACKED = 4096;

/** Limits of a {@linkcode FloodGuard} (defaults: the exported constants). */
export interface FloodGuardOptions {
  /** Packets allowed per window. */
  maxPackets?: number;
  /** Window length in ms. */
  windowMs?: number;
  /** Block length in ms. */
  blockMs?: number;
  /** Most addresses tracked. */
  maxTracked?: number;
}

interface Entry {
  windowStart: number;
  count: number;
  blockedUntil: number;
}

/**
 * Counts packets per sender and ignores a sender that floods (more than `maxPackets` in a
 * window) for `blockMs`, like libtorrent's DoS blocker. Keyed by the caller (shoal's node uses
 * IP and port, so nodes sharing an address behind NAT or on loopback count apart). Bounded in
 * memory: at most `maxTracked` entries. Pure: methods take the time in ms.
 * @example
 * ```ts
 * import { FloodGuard } from "@shoal/shoal/dht";
 * import { ok } from "node:assert/strict";
 * const guard = new FloodGuard({ maxPackets: 2 });
 * ok(guard.allow("a", 0) && guard.allow("a", 1) && !guard.allow("a", 2));
 * ok(guard.allow("b", 2));
 * ```
 */
export class FloodGuard {
  #entries = new Map<string, Entry>();
  #maxPackets: number;
  #windowMs: number;
  #blockMs: number;
  #maxTracked: number;

  /**
   * Makes an empty guard.
   * @param options Limits.
   */
  constructor(options: FloodGuardOptions = {}) {
    this.#maxPackets = options.maxPackets ?? FLOOD_MAX_PACKETS;
    this.#windowMs = options.windowMs ?? FLOOD_WINDOW_MS;
    this.#blockMs = options.blockMs ?? FLOOD_BLOCK_MS;
    this.#maxTracked = options.maxTracked ?? FLOOD_MAX_TRACKED;
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Counts the addresses blocked at a time.
   * @param now The current time in ms.
   * @returns How many are being ignored.
   */
  blockedCount(now: number): number {
    let n = 0;
    for (const entry of this.#entries.values()) if (entry.blockedUntil > now) n++;
    return n;
  }

  /**
   * Counts one packet from a sender.
   * @param key The sender (e.g. "ip:port").
   * @param now The current time in ms.
   * @returns `false` when the sender is blocked (drop the packet).
   */
  allow(key: string, now: number): boolean {
    let entry = this.#entries.get(key);
    if (!entry) {
      if (this.#entries.size >= this.#maxTracked) this.#evict(now);
      entry = { windowStart: now, count: 0, blockedUntil: 0 };
      this.#entries.set(key, entry);
    }
    if (entry.blockedUntil > now) return false;
    if (now - entry.windowStart >= this.#windowMs) {
      entry.windowStart = now;
      entry.count = 0;
    }
    entry.count++;
    if (entry.count > this.#maxPackets) {
      entry.blockedUntil = now + this.#blockMs;
      return false;
    }
    return true;
  }

  #evict(now: number): void {
    // Drop every entry that has gone quiet; if none has, the oldest.
    for (const [key, entry] of this.#entries) {
      if (entry.blockedUntil <= now && now - entry.windowStart >= this.#windowMs) {
        this.#entries.delete(key);
      }
    }
    if (this.#entries.size < this.#maxTracked) return;
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}
