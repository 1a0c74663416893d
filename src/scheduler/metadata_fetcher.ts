import { equalBytes } from "../bytes/bytes.ts";
import { sha1 } from "../sha1/sha1.ts";
import { METADATA_PIECE_SIZE } from "../wire/metadata.ts";

/**
 * The largest info dictionary {@linkcode MetadataFetcher} accepts by default: 64 MiB.
 * Real dictionaries reach 14,292,960 bytes (rqbit #332) and 24 MB (qBittorrent #3360);
 * libtorrent allows 30 MiB, rqbit 32 MiB.
 */
export const MAX_METADATA_BYTES: number = 64 * 1024 * 1024;
/** A piece asked of one peer is asked of another after this long without an answer (3 s, as libtorrent and Transmission). */
export const METADATA_RETRY_AFTER_MS = 3_000;
/** How long a peer that sent a `reject` is left alone (60 s, as libtorrent). */
export const METADATA_REJECT_BACKOFF_MS = 60_000;
/** How long a peer that contributed to a dictionary failing its SHA-1 is left alone (5 min). */
export const METADATA_HASH_FAIL_BACKOFF_MS = 300_000;
/** Most `ut_metadata` requests outstanding at one peer (2, as libtorrent). */
export const METADATA_MAX_IN_FLIGHT_PER_PEER = 2;
/** An unanswered request stops taking one of the peer's slots after this long (it stays "asked"). */
export const METADATA_REQUEST_TIMEOUT_MS = 15_000;
/** A peer that sends more `reject`s than this is dropped as a reject storm. */
export const METADATA_MAX_REJECTS = 8;

/** Options of {@linkcode MetadataFetcher}; every field has a default named after it. */
export interface MetadataFetcherOptions {
  /** Largest accepted `metadata_size` / `total_size`; {@linkcode MAX_METADATA_BYTES}. */
  readonly maxBytes?: number;
  /** Re-ask another peer after this long; {@linkcode METADATA_RETRY_AFTER_MS}. */
  readonly retryAfterMs?: number;
  /** Back-off after a reject; {@linkcode METADATA_REJECT_BACKOFF_MS}. */
  readonly rejectBackoffMs?: number;
  /** Back-off after a hash failure (`Infinity`: never again); {@linkcode METADATA_HASH_FAIL_BACKOFF_MS}. */
  readonly hashFailBackoffMs?: number;
  /** Requests in flight per peer; {@linkcode METADATA_MAX_IN_FLIGHT_PER_PEER}. */
  readonly maxInFlightPerPeer?: number;
  /** When an unanswered request frees its slot; {@linkcode METADATA_REQUEST_TIMEOUT_MS}. */
  readonly requestTimeoutMs?: number;
  /** Rejects tolerated from one peer; {@linkcode METADATA_MAX_REJECTS}. */
  readonly maxRejects?: number;
}

/** What {@linkcode MetadataFetcher.onData} decided. At most one field is set. */
export interface MetadataDataOutcome {
  /** The peer misbehaved: drop it, for this reason. */
  readonly drop?: string;
  /** The fetch is complete: the info dictionary's bytes, whose SHA-1 is the info hash. */
  readonly done?: Uint8Array;
  /**
   * The dictionary failed its SHA-1: these peers contributed and are backed off; the fetch
   * restarted. One peer alone is proven to have lied (drop it); of several, any may have, so
   * they are suspects (keep them: once no other peer is usable, one suspect at a time is asked
   * for the whole dictionary alone).
   */
  readonly hashFailed?: readonly string[];
}

/** How far a {@linkcode MetadataFetcher} has got. */
export interface MetadataProgress {
  /** Bytes of the current attempt received so far. */
  readonly received: number;
  /** The size being fetched, or `undefined` before any usable peer. */
  readonly total: number | undefined;
  /** Peers added and not backed off for a hash failure (as of the latest time passed in). */
  readonly peers: number;
}

interface PeerState {
  /** The `metadata_size` the peer advertised. */
  readonly size: number;
  /** Our unanswered requests to it: piece -> time sent. */
  readonly asked: Map<number, number>;
  backoffUntilMs: number;
  rejects: number;
  /** Data messages it sent that passed the checks. */
  pieces: number;
}

function checkOption(name: string, value: number, allowInfinity = false): number {
  const ok = allowInfinity && value === Infinity ? true : Number.isSafeInteger(value) && value > 0;
  if (!ok) {
    throw new RangeError(
      `Cannot create metadata fetcher: ${name} ${value} is not a positive integer`,
    );
  }
  return value;
}

function pieceCountOf(size: number): number {
  return Math.ceil(size / METADATA_PIECE_SIZE);
}

/**
 * Fetches a magnet link's info dictionary from peers by BEP 9 (`ut_metadata`): pure policy,
 * no I/O and no timers (the caller passes the time in and sends what it is told to).
 *
 * - The dictionary is asked for in 16 KiB pieces spread over the peers, at most
 *   `maxInFlightPerPeer` (2) unanswered requests per peer; the same piece is asked of nobody
 *   again within `retryAfterMs` (3 s), and never twice of the same peer while unanswered.
 * - A `reject` backs the peer off for `rejectBackoffMs` (60 s) and frees the piece for others;
 *   more than `maxRejects` (8) rejects is a reject storm and the peer is to be dropped.
 * - The whole dictionary is checked with SHA-1 against the info hash. On a mismatch every
 *   peer that contributed a piece is backed off for `hashFailBackoffMs` (5 min; a reconnect does
 *   not clear it), and the fetch starts over with the others. When several contributed, the
 *   honest ones are backed off with the liar: so once no peer that is not backed off remains,
 *   one of those suspects is asked for the whole dictionary alone. If that fails, it alone is
 *   to blame (its back-off stays); if it succeeds, the fetch is done. A small swarm with one
 *   liar thus never waits out the back-off.
 * - A `metadata_size` over `maxBytes` (64 MiB) is refused. Data is refused (drop the peer) when
 *   its `total_size` is over the cap, changed since the peer's last piece or differs from what
 *   it advertised, its index is past the end, a piece is short or long, or it answers nothing
 *   we asked of it.
 *
 * Peers disagreeing on `metadata_size`: pieces of different dictionaries must never mix, so one
 * size is fetched at a time and only peers advertising it are asked. The size chosen is the one
 * advertised by the most peers not backed off for a hash failure (ties: the size seen first).
 * While nothing is received the choice follows the peers; once bytes have arrived it is kept as
 * long as any such peer of that size remains. When none remains, or all of its peers failed the
 * hash, the next most-advertised size is tried (the partial bytes are discarded).
 * @example
 * ```ts
 * import { MetadataFetcher } from "@shoal/shoal/scheduler";
 * import { sha1 } from "@shoal/shoal";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const info = new TextEncoder().encode("d4:name1:ae");
 * const fetcher = new MetadataFetcher(sha1(info));
 * fetcher.addPeer("127.0.0.1:6881", info.length, 0);
 * deepStrictEqual(fetcher.nextRequests("127.0.0.1:6881", 0), [0]);
 * const { done } = fetcher.onData("127.0.0.1:6881", 0, info.length, info, 10);
 * deepStrictEqual(done, info);
 * strictEqual(fetcher.done, true);
 * ```
 */
export class MetadataFetcher {
  readonly #infoHash: Uint8Array;
  readonly #maxBytes: number;
  readonly #retryAfterMs: number;
  readonly #rejectBackoffMs: number;
  readonly #hashFailBackoffMs: number;
  readonly #maxInFlight: number;
  readonly #requestTimeoutMs: number;
  readonly #maxRejects: number;

  readonly #peers = new Map<string, PeerState>();
  /** Peer -> time its hash-failure back-off ends; survives removePeer. */
  readonly #penalties = new Map<string, number>();
  /** Penalised peers that shared a failed dictionary with others: not proven to have lied. */
  readonly #suspects = new Set<string>();
  /** A suspect asked alone for the whole dictionary (its penalty is set aside meanwhile). */
  #solo: string | undefined;
  /** Size -> sequence number of the first peer that advertised it (tie-break). */
  readonly #firstSeen = new Map<number, number>();
  #sequence = 0;
  /** The latest time any call passed in (for removePeer, which is told none). */
  #nowMs = -Infinity;

  // The current attempt: one size, its pieces.
  #size: number | undefined;
  #buffer: Uint8Array | undefined;
  #have = new Uint8Array(0);
  #from: (string | undefined)[] = [];
  #lastAsked = new Float64Array(0);
  #lastAsker: (string | undefined)[] = [];
  #receivedPieces = 0;
  #receivedBytes = 0;
  #done: Uint8Array | undefined;

  /**
   * Makes a fetcher for one info hash.
   * @param infoHash The 20-byte v1 info hash the dictionary must match.
   * @param options Limits and timings; see {@linkcode MetadataFetcherOptions}.
   * @throws {RangeError} If the info hash is not 20 bytes or an option is not a positive integer.
   */
  constructor(infoHash: Uint8Array, options: MetadataFetcherOptions = {}) {
    if (infoHash.length !== 20) {
      throw new RangeError(
        `Cannot create metadata fetcher: info hash is ${infoHash.length} bytes, not 20`,
      );
    }
    this.#infoHash = infoHash.slice();
    this.#maxBytes = checkOption("maxBytes", options.maxBytes ?? MAX_METADATA_BYTES);
    this.#retryAfterMs = checkOption(
      "retryAfterMs",
      options.retryAfterMs ?? METADATA_RETRY_AFTER_MS,
    );
    this.#rejectBackoffMs = checkOption(
      "rejectBackoffMs",
      options.rejectBackoffMs ?? METADATA_REJECT_BACKOFF_MS,
    );
    this.#hashFailBackoffMs = checkOption(
      "hashFailBackoffMs",
      options.hashFailBackoffMs ?? METADATA_HASH_FAIL_BACKOFF_MS,
      true,
    );
    this.#maxInFlight = checkOption(
      "maxInFlightPerPeer",
      options.maxInFlightPerPeer ?? METADATA_MAX_IN_FLIGHT_PER_PEER,
    );
    this.#requestTimeoutMs = checkOption(
      "requestTimeoutMs",
      options.requestTimeoutMs ?? METADATA_REQUEST_TIMEOUT_MS,
    );
    this.#maxRejects = checkOption("maxRejects", options.maxRejects ?? METADATA_MAX_REJECTS);
  }

  /** Whether the dictionary has been fetched and verified. */
  get done(): boolean {
    return this.#done !== undefined;
  }

  /** Bytes received, the size being fetched and the usable peers. */
  get progress(): MetadataProgress {
    let peers = 0;
    for (const key of this.#peers.keys()) if (!this.#isPenalised(key, this.#nowMs)) peers++;
    const total = this.#done?.length ?? this.#size;
    return { received: this.#done?.length ?? this.#receivedBytes, total, peers };
  }

  /**
   * Adds a peer whose BEP 10 extension handshake offered `ut_metadata` with `metadata_size`.
   * Adding a known peer again replaces it (a later extension handshake).
   * @param peer The caller's key for the peer, e.g. "127.0.0.1:6881".
   * @param metadataSize The `metadata_size` it advertised.
   * @param nowMs The current time in milliseconds.
   * @returns `drop` with a reason when the size is refused (not a positive integer, or over the cap).
   */
  addPeer(peer: string, metadataSize: number, nowMs: number): { drop?: string } {
    this.#tick(nowMs);
    if (!Number.isSafeInteger(metadataSize) || metadataSize <= 0) {
      return { drop: `advertised metadata_size ${metadataSize}, not a positive integer` };
    }
    if (metadataSize > this.#maxBytes) {
      return {
        drop: `advertised metadata_size ${metadataSize}, over the ${this.#maxBytes}-byte cap`,
      };
    }
    if (this.#peers.has(peer)) this.removePeer(peer);
    this.#peers.set(peer, {
      size: metadataSize,
      asked: new Map(),
      backoffUntilMs: 0,
      rejects: 0,
      pieces: 0,
    });
    if (!this.#firstSeen.has(metadataSize)) this.#firstSeen.set(metadataSize, this.#sequence++);
    this.#chooseSize(nowMs);
    return {};
  }

  /**
   * Forgets a peer that went away; the pieces it still owed are free to ask of others at once.
   * A hash-failure back-off it earned is kept.
   * @param peer The peer's key.
   */
  removePeer(peer: string): void {
    const state = this.#peers.get(peer);
    if (!state) return;
    this.#peers.delete(peer);
    if (this.#solo === peer) this.#solo = undefined;
    if (state.size === this.#size) {
      for (const piece of state.asked.keys()) this.#release(piece, peer);
    }
    this.#chooseSize(this.#nowMs);
  }

  /**
   * The pieces to request from a peer now (send each as a `ut_metadata` request). Empty when the
   * fetch is done, the peer is unknown, backed off, advertises another size, or has no free slot.
   * @param peer The peer's key.
   * @param nowMs The current time in milliseconds.
   * @returns Piece indices, never-asked pieces first (lowest index first), then the longest-waiting.
   */
  nextRequests(peer: string, nowMs: number): number[] {
    this.#tick(nowMs);
    const state = this.#peers.get(peer);
    if (state) this.#trySolo(peer, state, nowMs);
    if (this.#done || !state || this.#isPenalised(peer, nowMs)) return [];
    if (nowMs < state.backoffUntilMs) return [];
    this.#chooseSize(nowMs);
    if (state.size !== this.#size) return [];
    let inFlight = 0;
    for (const sentMs of state.asked.values()) {
      if (nowMs - sentMs < this.#requestTimeoutMs) inFlight++;
    }
    const slots = this.#maxInFlight - inFlight;
    if (slots <= 0) return [];
    const fresh: number[] = [];
    const stale: number[] = [];
    for (let piece = 0; piece < this.#have.length && fresh.length < slots; piece++) {
      if (this.#have[piece] || state.asked.has(piece)) continue;
      const last = this.#lastAsked[piece];
      if (Number.isNaN(last)) fresh.push(piece);
      else if (nowMs - last >= this.#retryAfterMs) stale.push(piece);
    }
    stale.sort((a, b) => this.#lastAsked[a] - this.#lastAsked[b]);
    const chosen = [...fresh, ...stale].slice(0, slots);
    for (const piece of chosen) {
      this.#lastAsked[piece] = nowMs;
      this.#lastAsker[piece] = peer;
      state.asked.set(piece, nowMs);
    }
    return chosen;
  }

  /**
   * Takes a `ut_metadata` data message. Checks it (see the class doc), stores the piece and,
   * when it was the last one, verifies the whole dictionary. A late answer for a piece already
   * received, or of another size than the one being fetched, is ignored.
   * @param peer The peer's key.
   * @param piece The message's `piece`.
   * @param totalSize The message's `total_size`.
   * @param data The piece's bytes (copied; the caller may reuse its buffer).
   * @param nowMs The current time in milliseconds.
   * @returns `drop` for a hostile message, `done` with the verified bytes, `hashFailed` with the
   *   peers backed off when the SHA-1 did not match, or nothing.
   */
  onData(
    peer: string,
    piece: number,
    totalSize: number,
    data: Uint8Array,
    nowMs: number,
  ): MetadataDataOutcome {
    this.#tick(nowMs);
    const state = this.#peers.get(peer);
    if (!state) return { drop: "sent ut_metadata data before offering ut_metadata" };
    if (!Number.isSafeInteger(totalSize) || totalSize <= 0) {
      return { drop: `sent total_size ${totalSize}, not a positive integer` };
    }
    if (totalSize > this.#maxBytes) {
      return { drop: `sent total_size ${totalSize}, over the ${this.#maxBytes}-byte cap` };
    }
    if (totalSize !== state.size) {
      return state.pieces > 0
        ? { drop: `changed total_size from ${state.size} to ${totalSize} between pieces` }
        : { drop: `sent total_size ${totalSize} but advertised metadata_size ${state.size}` };
    }
    const count = pieceCountOf(totalSize);
    if (!Number.isSafeInteger(piece) || piece < 0 || piece >= count) {
      return { drop: `sent piece ${piece} of a ${count}-piece dictionary` };
    }
    const expected = Math.min(METADATA_PIECE_SIZE, totalSize - piece * METADATA_PIECE_SIZE);
    if (data.length !== expected) {
      const which = piece === count - 1 ? "final" : "non-final";
      return {
        drop: `sent ${data.length} bytes for ${which} piece ${piece}, expected ${expected}`,
      };
    }
    if (!state.asked.delete(piece)) return { drop: `sent piece ${piece}, never asked of it` };
    state.pieces++;
    if (this.#done || state.size !== this.#size || this.#isPenalised(peer, nowMs)) return {};
    if (this.#have[piece]) return {};
    this.#buffer ??= new Uint8Array(totalSize);
    this.#buffer.set(data, piece * METADATA_PIECE_SIZE);
    this.#have[piece] = 1;
    this.#from[piece] = peer;
    this.#receivedPieces++;
    this.#receivedBytes += data.length;
    if (this.#receivedPieces < count) return {};
    if (equalBytes(sha1(this.#buffer), this.#infoHash)) {
      this.#done = this.#buffer;
      this.#buffer = undefined;
      return { done: this.#done };
    }
    const culprits = [...new Set(this.#from.filter((p): p is string => p !== undefined))];
    for (const culprit of culprits) {
      this.#penalties.set(culprit, nowMs + this.#hashFailBackoffMs);
      if (culprits.length > 1) this.#suspects.add(culprit);
      else this.#suspects.delete(culprit); // the only contributor: proven
    }
    this.#solo = undefined;
    this.#restart(this.#size, false);
    this.#chooseSize(nowMs);
    return { hashFailed: culprits };
  }

  /**
   * Takes a `ut_metadata` reject: the peer is backed off, the piece is free for others.
   * @param peer The peer's key.
   * @param piece The rejected piece.
   * @param nowMs The current time in milliseconds.
   * @returns `drop` with a reason when the peer has now rejected more than `maxRejects` times.
   */
  onReject(peer: string, piece: number, nowMs: number): { drop?: string } {
    this.#tick(nowMs);
    const state = this.#peers.get(peer);
    if (!state) return { drop: "sent a ut_metadata reject before offering ut_metadata" };
    state.rejects++;
    state.backoffUntilMs = nowMs + this.#rejectBackoffMs;
    if (state.asked.delete(piece) && state.size === this.#size) this.#release(piece, peer);
    if (state.rejects > this.#maxRejects) {
      return { drop: `reject storm: ${state.rejects} rejects` };
    }
    return {};
  }

  /**
   * When the next request may become due without any message arriving (a re-ask, the end of a
   * back-off, a request timing out), so the caller can sleep exactly that long and then call
   * {@linkcode MetadataFetcher.nextRequests} for its peers.
   * @param nowMs The current time in milliseconds.
   * @returns That time in milliseconds (after `nowMs`), or `undefined` when nothing is pending.
   */
  nextWakeMs(nowMs: number): number | undefined {
    this.#tick(nowMs);
    if (this.#done) return undefined;
    let wake = Infinity;
    const consider = (at: number): void => {
      if (at > nowMs && at < wake) wake = at;
    };
    for (let piece = 0; piece < this.#have.length; piece++) {
      if (!this.#have[piece] && !Number.isNaN(this.#lastAsked[piece])) {
        consider(this.#lastAsked[piece] + this.#retryAfterMs);
      }
    }
    for (const [key, state] of this.#peers) {
      consider(state.backoffUntilMs);
      const penalty = this.#penalties.get(key);
      if (penalty !== undefined) consider(penalty);
      for (const sentMs of state.asked.values()) consider(sentMs + this.#requestTimeoutMs);
    }
    return wake === Infinity ? undefined : wake;
  }

  #tick(nowMs: number): void {
    if (nowMs > this.#nowMs) this.#nowMs = nowMs;
  }

  #isPenalised(peer: string, nowMs: number): boolean {
    if (peer === this.#solo) return false;
    const until = this.#penalties.get(peer);
    if (until === undefined) return false;
    if (nowMs < until) return true;
    this.#penalties.delete(peer);
    this.#suspects.delete(peer);
    return false;
  }

  /**
   * Makes `peer` the one suspect asked alone when no usable peer is left (or the one asked
   * alone so far is backed off after a reject: then the attempt starts over with this one).
   */
  #trySolo(peer: string, state: PeerState, nowMs: number): void {
    if (this.#done || !this.#suspects.has(peer) || peer === this.#solo) return;
    if (nowMs < state.backoffUntilMs || !this.#isPenalised(peer, nowMs)) return;
    const solo = this.#solo === undefined ? undefined : this.#peers.get(this.#solo);
    if (solo && nowMs >= solo.backoffUntilMs) return;
    for (const key of this.#peers.keys()) {
      if (key !== this.#solo && !this.#isPenalised(key, nowMs)) return;
    }
    this.#solo = peer;
    if (this.#receivedPieces > 0) this.#restart(this.#size, false);
  }

  /** Lets others be asked for `piece` at once when `peer` was the last one asked. */
  #release(piece: number, peer: string): void {
    if (piece < this.#lastAsker.length && this.#lastAsker[piece] === peer) {
      this.#lastAsked[piece] = NaN;
      this.#lastAsker[piece] = undefined;
    }
  }

  /** The size most usable peers advertise (ties: seen first), or undefined without peers. */
  #bestSize(nowMs: number): number | undefined {
    const votes = new Map<number, number>();
    for (const [key, state] of this.#peers) {
      if (!this.#isPenalised(key, nowMs)) votes.set(state.size, (votes.get(state.size) ?? 0) + 1);
    }
    let best: number | undefined;
    let bestVotes = 0;
    for (const [size, n] of votes) {
      if (
        n > bestVotes ||
        (n === bestVotes && this.#firstSeen.get(size)! < this.#firstSeen.get(best!)!)
      ) {
        best = size;
        bestVotes = n;
      }
    }
    return best;
  }

  #chooseSize(nowMs: number): void {
    if (this.#done) return;
    const best = this.#bestSize(nowMs);
    if (best === undefined || best === this.#size) return;
    if (this.#size !== undefined && this.#receivedPieces > 0) {
      for (const [key, state] of this.#peers) {
        if (state.size === this.#size && !this.#isPenalised(key, nowMs)) return;
      }
    }
    this.#restart(best, true);
  }

  /**
   * Starts an attempt at `size`. A new size (`fresh`) rebuilds the request times from the
   * peers' outstanding requests; after a hash failure the times of trusted askers are kept.
   */
  #restart(size: number | undefined, fresh: boolean): void {
    this.#buffer = undefined;
    this.#receivedPieces = 0;
    this.#receivedBytes = 0;
    if (size === undefined) return;
    const count = pieceCountOf(size);
    this.#have = new Uint8Array(count);
    this.#from = new Array(count).fill(undefined);
    if (fresh || this.#size !== size) {
      this.#size = size;
      this.#lastAsked = new Float64Array(count).fill(NaN);
      this.#lastAsker = new Array(count).fill(undefined);
      for (const [key, state] of this.#peers) {
        if (state.size !== size) continue;
        for (const [piece, sentMs] of state.asked) {
          if (Number.isNaN(this.#lastAsked[piece]) || sentMs > this.#lastAsked[piece]) {
            this.#lastAsked[piece] = sentMs;
            this.#lastAsker[piece] = key;
          }
        }
      }
    } else {
      for (let piece = 0; piece < count; piece++) {
        const asker = this.#lastAsker[piece];
        if (asker !== undefined && this.#penalties.has(asker)) this.#release(piece, asker);
      }
    }
  }
}
