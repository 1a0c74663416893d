import type { DhtContact } from "./compact_nodes.ts";
import { addressKey, type DhtAddress } from "./dht_address.ts";
import { compareDistance } from "./node_id.ts";
import { bytesToBinary } from "../bytes/bytes.ts";

/** Queries in flight at once in a lookup (Kademlia's alpha). */
export const LOOKUP_ALPHA = 3;
/** How many answered nodes closest to the target a lookup ends with (K). */
export const LOOKUP_K = 8;
/** The most queries one lookup sends. */
export const MAX_LOOKUP_QUERIES = 64;
/** The most candidates one lookup keeps; the farthest unqueried ones make room. */
export const MAX_LOOKUP_CANDIDATES = 96;

/** A node to query: an address with its id when known (a bootstrap router's is not). */
export interface LookupContact extends DhtAddress {
  /** The node's id, `undefined` for a node known only by address. */
  id?: Uint8Array;
}

/** Where a candidate stands. */
type CandidateState = "new" | "pending" | "slow" | "answered" | "failed";

interface Candidate {
  contact: LookupContact;
  key: string;
  state: CandidateState;
  token?: Uint8Array;
}

/** An answered node of a finished lookup, with the token it gave (for `announce_peer`). */
export interface LookupResultNode {
  /** The node (its id is the one it answered with). */
  contact: DhtContact;
  /** Its `get_peers` token, if any. */
  token?: Uint8Array;
}

/** Limits of a {@linkcode Lookup} (defaults: the exported constants). */
export interface LookupOptions {
  /** Queries in flight at once. */
  alpha?: number;
  /** Answered nodes to end with. */
  k?: number;
  /** Most queries in all. */
  maxQueries?: number;
  /** Most candidates kept. */
  maxCandidates?: number;
}

/**
 * The state of one iterative Kademlia lookup (BEP 5), pure: the caller sends the queries that
 * {@linkcode Lookup.next} hands out and reports each outcome. It keeps `alpha` queries in flight
 * among the `k` closest candidates that have not failed; a query reported slow stops counting
 * (the branch widens to the next candidate) but may still answer. It is done when the `k`
 * closest are answered (slow ones are waited for only while fewer than `k` answered), when
 * nothing is left to ask, or when `maxQueries` is spent. Nodes known only by address (bootstrap
 * routers) are asked first.
 * @example
 * ```ts
 * import { Lookup } from "@shoal/shoal/dht";
 * import { ok, strictEqual } from "node:assert/strict";
 * const lookup = new Lookup(new Uint8Array(20));
 * lookup.add([{ host: "10.0.0.1", port: 6881 }]);
 * const [first] = lookup.next();
 * lookup.answered(first, new Uint8Array(20).fill(1), [], undefined);
 * ok(lookup.done);
 * strictEqual(lookup.closest().length, 1);
 * ```
 */
export class Lookup {
  /** The id looked up. */
  readonly target: Uint8Array;
  #candidates = new Map<string, Candidate>();
  #ids = new Set<string>();
  #alpha: number;
  #k: number;
  #maxQueries: number;
  #maxCandidates: number;
  #queries = 0;

  /**
   * Starts a lookup.
   * @param target The 20-byte id or info hash looked up.
   * @param options Limits.
   */
  constructor(target: Uint8Array, options: LookupOptions = {}) {
    this.target = target.slice();
    this.#alpha = options.alpha ?? LOOKUP_ALPHA;
    this.#k = options.k ?? LOOKUP_K;
    this.#maxQueries = options.maxQueries ?? MAX_LOOKUP_QUERIES;
    this.#maxCandidates = options.maxCandidates ?? MAX_LOOKUP_CANDIDATES;
  }

  /** Queries handed out so far. */
  get queries(): number {
    return this.#queries;
  }

  /**
   * Adds candidates (from the routing table, or a reply's `nodes`); known addresses and ids are
   * skipped.
   * @param contacts The nodes.
   */
  add(contacts: readonly LookupContact[]): void {
    for (const contact of contacts) {
      const key = addressKey(contact);
      if (this.#candidates.has(key)) continue;
      if (contact.id) {
        const idKey = bytesToBinary(contact.id);
        if (this.#ids.has(idKey)) continue;
        this.#ids.add(idKey);
      }
      this.#candidates.set(key, {
        contact: { host: contact.host, port: contact.port, id: contact.id?.slice() },
        key,
        state: "new",
      });
    }
    this.#prune();
  }

  /**
   * The queries to send now; each returned node counts as in flight.
   * @returns Nodes to query (none when `alpha` are in flight or nothing is worth asking).
   */
  next(): LookupContact[] {
    const out: LookupContact[] = [];
    let inFlight = 0;
    for (const c of this.#candidates.values()) if (c.state === "pending") inFlight++;
    for (const c of this.#window()) {
      if (inFlight >= this.#alpha || this.#queries >= this.#maxQueries) break;
      if (c.state !== "new") continue;
      c.state = "pending";
      inFlight++;
      this.#queries++;
      out.push(c.contact);
    }
    return out;
  }

  /**
   * Reports that a query takes long (the short timeout passed): it stops counting as in flight.
   * @param contact The node, as {@linkcode Lookup.next} returned it.
   */
  slow(contact: DhtAddress): void {
    const c = this.#candidates.get(addressKey(contact));
    if (c?.state === "pending") c.state = "slow";
  }

  /**
   * Reports that a query failed (timeout or error reply).
   * @param contact The node.
   */
  failed(contact: DhtAddress): void {
    const c = this.#candidates.get(addressKey(contact));
    if (c && (c.state === "pending" || c.state === "slow")) c.state = "failed";
  }

  /**
   * Reports an answer.
   * @param contact The node that answered.
   * @param id The id it answered with.
   * @param nodes The nodes it returned (new candidates).
   * @param token Its `get_peers` token, if any.
   */
  answered(
    contact: DhtAddress,
    id: Uint8Array,
    nodes: readonly LookupContact[],
    token: Uint8Array | undefined,
  ): void {
    const c = this.#candidates.get(addressKey(contact));
    if (!c || (c.state !== "pending" && c.state !== "slow")) return;
    c.state = "answered";
    c.contact.id = id.slice();
    this.#ids.add(bytesToBinary(id));
    if (token) c.token = token.slice();
    this.add(nodes);
  }

  /** Whether the lookup is over (see the class description). */
  get done(): boolean {
    let pending = 0;
    for (const c of this.#candidates.values()) if (c.state === "pending") pending++;
    if (pending > 0) return false;
    if (this.#queries < this.#maxQueries && this.#window().some((c) => c.state === "new")) {
      return false;
    }
    const ranked = this.#ranked((c) => c.state !== "failed").slice(0, this.#k);
    const answered = this.#ranked((c) => c.state === "answered").length;
    return answered >= this.#k || !ranked.some((c) => c.state === "slow");
  }

  /**
   * The answered nodes closest to the target.
   * @returns Up to `k`, closest first.
   */
  closest(): LookupResultNode[] {
    return this.#ranked((c) => c.state === "answered").slice(0, this.#k).map((c) => ({
      contact: { id: c.contact.id!, host: c.contact.host, port: c.contact.port },
      token: c.token,
    }));
  }

  /** Candidates that may be asked now: the k closest that are neither failed nor slow. */
  #window(): Candidate[] {
    return this.#ranked((c) => c.state !== "failed" && c.state !== "slow").slice(0, this.#k);
  }

  #ranked(keep: (c: Candidate) => boolean): Candidate[] {
    const out = [...this.#candidates.values()].filter(keep);
    out.sort((a, b) => {
      const ia = a.contact.id, ib = b.contact.id;
      if (!ia || !ib) return (ia ? 1 : 0) - (ib ? 1 : 0);
      return compareDistance(ia, ib, this.target);
    });
    return out;
  }

  #prune(): void {
    if (this.#candidates.size <= this.#maxCandidates) return;
    for (const c of [...this.#candidates.values()]) {
      if (this.#candidates.size <= this.#maxCandidates) return;
      if (c.state === "failed") this.#candidates.delete(c.key);
    }
    const fresh = this.#ranked((c) => c.state === "new");
    for (let i = fresh.length - 1; i >= 0 && this.#candidates.size > this.#maxCandidates; i--) {
      this.#candidates.delete(fresh[i].key);
    }
  }
}
