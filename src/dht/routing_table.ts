import type { DhtContact } from "./compact_nodes.ts";
import { addressKey } from "./dht_address.ts";
import { commonPrefixBits, compareDistance, NODE_ID_BITS, randomIdWithPrefix } from "./node_id.ts";
import { equalBytes } from "../bytes/bytes.ts";

/** K: nodes per bucket (BEP 5). */
export const BUCKET_SIZE = 8;
/** Verified nodes kept per bucket to replace nodes that go bad. */
export const REPLACEMENTS_PER_BUCKET = 8;
/** A node that answered (or once answered and queried us) this recently is good (BEP 5). */
export const NODE_GOOD_MS = 15 * 60_000;
/** A bucket unchanged for this long is refreshed with a lookup (BEP 5). */
export const BUCKET_REFRESH_MS = 15 * 60_000;
/** Failed queries in a row after which a node is bad. */
export const MAX_NODE_FAILURES = 3;

/** BEP 5 node states. */
export type NodeState = "good" | "questionable" | "bad";

/** A node in the routing table, with what the table knows of its history (times in ms). */
export interface RoutingNode extends DhtContact {
  /** When it last answered one of our queries, or `undefined` if it never did. */
  lastResponse: number | undefined;
  /** When it last queried us, or `undefined`. */
  lastQuery: number | undefined;
  /** Failed queries in a row since its last answer. */
  failures: number;
  /** When it entered the table. */
  added: number;
}

/**
 * The BEP 5 state of a node at time `now`: bad after {@linkcode MAX_NODE_FAILURES} failed
 * queries in a row, good when it answered within 15 minutes (or once answered and queried us
 * within 15 minutes) and has not failed since, questionable otherwise.
 * @param node The node's history.
 * @param now The current time in ms.
 * @returns Its state.
 * @example
 * ```ts
 * import { nodeState } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const node = { lastResponse: 0, lastQuery: undefined, failures: 0 };
 * strictEqual(nodeState(node, 14 * 60_000), "good");
 * strictEqual(nodeState(node, 15 * 60_000), "questionable");
 * ```
 */
export function nodeState(
  node: Pick<RoutingNode, "lastResponse" | "lastQuery" | "failures">,
  now: number,
): NodeState {
  if (node.failures >= MAX_NODE_FAILURES) return "bad";
  if (node.failures > 0 || node.lastResponse === undefined) return "questionable";
  if (now - node.lastResponse < NODE_GOOD_MS) return "good";
  if (node.lastQuery !== undefined && now - node.lastQuery < NODE_GOOD_MS) return "good";
  return "questionable";
}

/** What {@linkcode RoutingTable.heardResponse} did with a node. */
export type InsertOutcome =
  /** It is now in a bucket. */
  | "added"
  /** It was there already; its history was updated. */
  | "updated"
  /** Its bucket is full: it waits in the bucket's replacement cache. */
  | "replacement"
  /** Refused: our own id, or an address or id already held by a healthy node. */
  | "ignored";

/** Node counts of a table. */
export interface RoutingTableCounts {
  /** Good nodes. */
  good: number;
  /** Questionable nodes. */
  questionable: number;
  /** Bad nodes not yet replaced. */
  bad: number;
  /** Nodes waiting in replacement caches. */
  replacements: number;
  /** Buckets. */
  buckets: number;
}

interface Bucket {
  nodes: RoutingNode[];
  replacements: RoutingNode[];
  lastChanged: number;
}

/**
 * A Kademlia routing table (BEP 5), pure: every method takes the time. Bucket `i` holds the nodes
 * whose ids share exactly `i` leading bits with ours; the last bucket holds the rest and is the
 * only one that splits, so buckets split only where our id falls. Each holds at most K = 8 nodes
 * plus a replacement cache of verified nodes that take the place of nodes going bad. At most one
 * node per address. Only nodes that answered us enter (or saved nodes, while there is room), so
 * the table is bounded by 160 x (8 + 8) nodes whatever others send.
 * @example
 * ```ts
 * import { RoutingTable } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const table = new RoutingTable(new Uint8Array(20));
 * const id = new Uint8Array(20).fill(0x80);
 * strictEqual(table.heardResponse({ id, host: "10.0.0.1", port: 6881 }, 0), "added");
 * strictEqual(table.closest(new Uint8Array(20), 8, 0)[0].port, 6881);
 * ```
 */
export class RoutingTable {
  /** Our own node id. */
  readonly ownId: Uint8Array;
  #buckets: Bucket[];
  #byAddress = new Map<string, RoutingNode>();
  #size = 0;

  /**
   * Makes an empty table.
   * @param ownId Our 20-byte node id.
   * @param now The current time in ms (buckets count as fresh from then).
   */
  constructor(ownId: Uint8Array, now = 0) {
    this.ownId = ownId.slice();
    this.#buckets = [{ nodes: [], replacements: [], lastChanged: now }];
  }

  /** Nodes in buckets (not counting replacements). */
  get size(): number {
    return this.#size;
  }

  /** How many buckets the table has split into. */
  get bucketCount(): number {
    return this.#buckets.length;
  }

  /**
   * The bucket an id belongs to.
   * @param id A 20-byte id.
   * @returns The bucket index.
   */
  bucketIndex(id: Uint8Array): number {
    return Math.min(commonPrefixBits(id, this.ownId), this.#buckets.length - 1);
  }

  /**
   * Finds a node by id.
   * @param id A 20-byte id.
   * @returns The node, or `undefined`.
   */
  find(id: Uint8Array): RoutingNode | undefined {
    return this.#buckets[this.bucketIndex(id)].nodes.find((n) => equalBytes(n.id, id));
  }

  /**
   * Records that a node answered one of our queries: updates it, adds it, splits the last
   * bucket, replaces a bad node, or puts it in the replacement cache.
   * @param contact The node that answered.
   * @param now The current time in ms.
   * @returns What happened.
   */
  heardResponse(contact: DhtContact, now: number): InsertOutcome {
    return this.#insert(contact, now, true);
  }

  /**
   * Adds a node that has not answered yet (e.g. a saved one) if its bucket has room; it starts
   * questionable.
   * @param contact The node.
   * @param now The current time in ms.
   * @returns What happened ("replacement" is never returned: a full bucket means "ignored").
   */
  addUnverified(contact: DhtContact, now: number): InsertOutcome {
    return this.#insert(contact, now, false);
  }

  /**
   * Records that a node queried us. A node not in the table is not added (its address is
   * unproven): ping it and call {@linkcode RoutingTable.heardResponse} when it answers.
   * @param contact The querying node.
   * @param now The current time in ms.
   * @returns `true` when the node was in the table.
   */
  heardQuery(contact: DhtContact, now: number): boolean {
    const node = this.find(contact.id);
    if (!node || addressKey(node) !== addressKey(contact)) return false;
    node.lastQuery = now;
    return true;
  }

  /**
   * Tells whether a node that is not in the table would enter it if it answered: its bucket has
   * room, can split, or holds a node that is not good.
   * @param id The node's id.
   * @param now The current time in ms.
   * @returns `true` when pinging it is worthwhile.
   */
  wouldAccept(id: Uint8Array, now: number): boolean {
    if (equalBytes(id, this.ownId) || this.find(id)) return false;
    const index = this.bucketIndex(id);
    const bucket = this.#buckets[index];
    if (bucket.nodes.length < BUCKET_SIZE) return true;
    if (index === this.#buckets.length - 1 && this.#buckets.length < NODE_ID_BITS) return true;
    return bucket.nodes.some((n) => nodeState(n, now) !== "good");
  }

  /**
   * Records a failed query (timeout or error). A node that goes bad is replaced by the freshest
   * node of its bucket's replacement cache when there is one.
   * @param id The node's id.
   * @param now The current time in ms.
   * @returns The node's state after the failure, or `undefined` when it was not in the table.
   */
  failed(id: Uint8Array, now: number): NodeState | undefined {
    const bucket = this.#buckets[this.bucketIndex(id)];
    const spare = bucket.replacements.findIndex((n) => equalBytes(n.id, id));
    if (spare >= 0) {
      bucket.replacements.splice(spare, 1);
      return undefined;
    }
    const node = bucket.nodes.find((n) => equalBytes(n.id, id));
    if (!node) return undefined;
    node.failures++;
    const state = nodeState(node, now);
    if (state === "bad") {
      while (bucket.replacements.length > 0) {
        const fresh = bucket.replacements.pop()!;
        if (this.#byAddress.has(addressKey(fresh))) continue;
        this.#removeFrom(bucket, node);
        this.#place(bucket, fresh, now);
        break;
      }
    }
    return state;
  }

  /**
   * Removes a node.
   * @param id The node's id.
   * @returns `true` when it was there.
   */
  remove(id: Uint8Array): boolean {
    const bucket = this.#buckets[this.bucketIndex(id)];
    const node = bucket.nodes.find((n) => equalBytes(n.id, id));
    if (!node) return false;
    this.#removeFrom(bucket, node);
    return true;
  }

  /**
   * The nodes closest to a target by XOR distance, bad nodes left out.
   * @param target A 20-byte id.
   * @param count How many at most.
   * @param now The current time in ms.
   * @returns Up to `count` nodes, closest first.
   */
  closest(target: Uint8Array, count: number, now: number): RoutingNode[] {
    const all: RoutingNode[] = [];
    for (const bucket of this.#buckets) {
      for (const node of bucket.nodes) if (nodeState(node, now) !== "bad") all.push(node);
    }
    all.sort((a, b) => compareDistance(a.id, b.id, target));
    return all.slice(0, count);
  }

  /**
   * Every node in a bucket (for saving the table).
   * @returns The nodes, bucket by bucket.
   */
  nodes(): RoutingNode[] {
    return this.#buckets.flatMap((b) => b.nodes);
  }

  /**
   * Nodes worth a ping now, oldest answer first: questionable nodes (BEP 5 pings them before
   * replacing them).
   * @param now The current time in ms.
   * @param max How many at most.
   * @returns The nodes.
   */
  nodesToPing(now: number, max: number): RoutingNode[] {
    const out = this.nodes().filter((n) => nodeState(n, now) === "questionable");
    out.sort((a, b) => (a.lastResponse ?? -Infinity) - (b.lastResponse ?? -Infinity));
    return out.slice(0, max);
  }

  /**
   * Buckets unchanged for {@linkcode BUCKET_REFRESH_MS}, each with a random id in its range to
   * look up; each bucket returned counts as refreshed from `now`.
   * @param now The current time in ms.
   * @param max How many buckets at most (the others wait for a later call).
   * @param random Source of random bytes (default `crypto.getRandomValues`).
   * @returns One target id per stale bucket.
   */
  takeStaleBuckets(
    now: number,
    max: number = Infinity,
    random?: (bytes: Uint8Array) => Uint8Array,
  ): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#buckets.forEach((bucket, index) => {
      if (out.length >= max || now - bucket.lastChanged < BUCKET_REFRESH_MS) return;
      bucket.lastChanged = now;
      const last = index === this.#buckets.length - 1;
      out.push(randomIdWithPrefix(this.ownId, index, !last, random));
    });
    return out;
  }

  /**
   * Counts the nodes by state.
   * @param now The current time in ms.
   * @returns The counts.
   */
  counts(now: number): RoutingTableCounts {
    const out: RoutingTableCounts = {
      good: 0,
      questionable: 0,
      bad: 0,
      replacements: 0,
      buckets: this.#buckets.length,
    };
    for (const bucket of this.#buckets) {
      out.replacements += bucket.replacements.length;
      for (const node of bucket.nodes) out[nodeState(node, now)]++;
    }
    return out;
  }

  /**
   * A copy of this table under another own id (after a BEP 42 id change): every node and
   * replacement is placed again.
   * @param ownId The new id.
   * @param now The current time in ms.
   * @returns The new table.
   */
  withOwnId(ownId: Uint8Array, now: number): RoutingTable {
    const table = new RoutingTable(ownId, now);
    for (const bucket of this.#buckets) {
      for (const node of [...bucket.nodes, ...bucket.replacements]) {
        if (equalBytes(node.id, ownId)) continue;
        const outcome = node.lastResponse === undefined
          ? table.addUnverified(node, now)
          : table.heardResponse(node, node.lastResponse);
        const placed = table.find(node.id);
        if (placed && outcome !== "ignored") {
          placed.lastQuery = node.lastQuery;
          placed.failures = node.failures;
          placed.added = node.added;
        }
      }
    }
    return table;
  }

  #insert(contact: DhtContact, now: number, answered: boolean): InsertOutcome {
    if (equalBytes(contact.id, this.ownId)) return "ignored";
    const key = addressKey(contact);
    const existing = this.find(contact.id);
    if (existing) {
      if (addressKey(existing) !== key) {
        // The same id at another address: keep the known one unless it stopped answering.
        if (existing.failures === 0 || this.#byAddress.has(key)) return "ignored";
        this.#byAddress.delete(addressKey(existing));
        existing.host = contact.host;
        existing.port = contact.port;
        this.#byAddress.set(key, existing);
      }
      if (answered) {
        existing.lastResponse = now;
        existing.failures = 0;
        this.#buckets[this.bucketIndex(existing.id)].lastChanged = now;
      }
      return "updated";
    }
    const holder = this.#byAddress.get(key);
    if (holder) {
      // Another id at this address: one node per address, unless the old one went bad.
      if (!answered || nodeState(holder, now) !== "bad") return "ignored";
      this.remove(holder.id);
    }
    const node: RoutingNode = {
      id: contact.id.slice(),
      host: contact.host,
      port: contact.port,
      lastResponse: answered ? now : undefined,
      lastQuery: undefined,
      failures: 0,
      added: now,
    };
    while (true) {
      const index = this.bucketIndex(node.id);
      const bucket = this.#buckets[index];
      if (bucket.nodes.length < BUCKET_SIZE) {
        this.#place(bucket, node, now);
        return "added";
      }
      if (index === this.#buckets.length - 1 && this.#buckets.length < NODE_ID_BITS) {
        this.#split(now);
        continue;
      }
      if (!answered) return "ignored";
      const bad = bucket.nodes.find((n) => nodeState(n, now) === "bad");
      if (bad) {
        this.#removeFrom(bucket, bad);
        this.#place(bucket, node, now);
        return "added";
      }
      const spares = bucket.replacements.filter((n) =>
        !equalBytes(n.id, node.id) && addressKey(n) !== key
      );
      spares.push(node);
      bucket.replacements = spares.slice(-REPLACEMENTS_PER_BUCKET);
      return "replacement";
    }
  }

  #place(bucket: Bucket, node: RoutingNode, now: number): void {
    bucket.nodes.push(node);
    bucket.lastChanged = now;
    this.#byAddress.set(addressKey(node), node);
    this.#size++;
  }

  #removeFrom(bucket: Bucket, node: RoutingNode): void {
    bucket.nodes.splice(bucket.nodes.indexOf(node), 1);
    this.#byAddress.delete(addressKey(node));
    this.#size--;
  }

  #split(now: number): void {
    const last = this.#buckets[this.#buckets.length - 1];
    const depth = this.#buckets.length - 1;
    const next: Bucket = { nodes: [], replacements: [], lastChanged: now };
    const stay = (n: RoutingNode): boolean => commonPrefixBits(n.id, this.ownId) === depth;
    next.nodes = last.nodes.filter((n) => !stay(n));
    last.nodes = last.nodes.filter(stay);
    next.replacements = last.replacements.filter((n) => !stay(n));
    last.replacements = last.replacements.filter(stay);
    this.#buckets.push(next);
  }
}
