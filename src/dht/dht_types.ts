import type { DhtContact } from "./compact_nodes.ts";
import type { DhtAddress } from "./dht_address.ts";

/** Options of {@linkcode DhtNode.open}. */
export interface DhtNodeOptions {
  /** UDP port to bind (0 = any). */
  port?: number;
  /**
   * Address to bind, default "0.0.0.0". An IPv6 address enables the BEP 32 table: "::" binds a
   * dual-stack socket with both tables, "::1" or another IPv6 address the IPv6 table only.
   */
  host?: string;
  /** Nodes to start from; replaces the public routers when given (even empty). */
  bootstrap?: readonly DhtAddress[];
  /** BEP 43: answer no queries, mark ours `ro=1`. */
  readOnly?: boolean;
  /** Routing table and node id are loaded from here at start and saved periodically and on close. */
  stateFile?: string;
  /** Our node id (default: the saved one, else random); a given id is kept even under BEP 42. */
  nodeId?: Uint8Array;
  /** Outgoing queries per second at most (default 250). */
  maxQueriesPerSecond?: number;
  /** Closes the node when aborted. */
  signal?: AbortSignal;
  /**
   * The clock (ms) for node states, tokens, peer expiry and votes (default `Date.now`); tests and
   * simulations pass their own. Timeouts and pacing use real timers.
   */
  now?: () => number;
}

/** Node counts of one routing table. */
export interface DhtTableStats {
  /** Good nodes (answered within 15 minutes). */
  good: number;
  /** Questionable nodes. */
  questionable: number;
  /** Bad nodes not yet replaced. */
  bad: number;
  /** Verified nodes waiting in replacement caches. */
  replacements: number;
  /** Buckets. */
  buckets: number;
}

/** A snapshot of a node's state and counters. */
export interface DhtStats {
  /** The IPv4 table, when the node has one. */
  ipv4?: DhtTableStats;
  /** The IPv6 table (BEP 32), when the node has one. */
  ipv6?: DhtTableStats;
  /** Torrents with announced peers in the peer store. */
  torrents: number;
  /** Announced peers in the peer store. */
  peers: number;
  /** Datagrams received. */
  packetsIn: number;
  /** Datagrams sent. */
  packetsOut: number;
  /** Datagrams dropped: malformed, unmatched, from a flooding address, or refused to send. */
  dropped: number;
  /** Our queries awaiting an answer. */
  pendingQueries: number;
  /** Our queries waiting for the rate limiter. */
  queuedQueries: number;
  /** Addresses ignored for flooding. */
  blockedAddresses: number;
  /** Addresses the flood guard tracks. */
  trackedAddresses: number;
}

/** What {@linkcode DhtNode.announce} did. */
export interface AnnounceResult {
  /** Peers the lookup found, deduplicated. */
  peers: DhtAddress[];
  /** Nodes that accepted our `announce_peer`. */
  nodes: DhtContact[];
  /** Queries sent (lookup and announces). */
  queries: number;
}
