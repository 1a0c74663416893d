/**
 * The DHT (BEP 5 with BEP 32 IPv6, BEP 42 node ids and BEP 43 read-only mode): the KRPC codec,
 * the routing table, tokens, the peer store, lookups, rate limits, persistence, and
 * {@linkcode DhtNode}, which runs them on one UDP socket.
 *
 * @example
 * ```ts
 * import { DhtNode } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [] });
 * strictEqual(node.nodeId.length, 20);
 * ```
 * @module
 */

export { DEFAULT_BOOTSTRAP_NODES, resolveBootstrapNodes } from "./bootstrap_nodes.ts";
export {
  compactNodeSize,
  decodeCompactNodes,
  type DhtContact,
  encodeCompactNodes,
} from "./compact_nodes.ts";
export { crc32c } from "./crc32c.ts";
export {
  addressFamily,
  addressKey,
  canonicalHost,
  type DhtAddress,
  isUsableAddress,
} from "./dht_address.ts";
export { DhtNode, MAINTENANCE_INTERVAL_MS, SAVE_INTERVAL_MS } from "./dht_node.ts";
export { answerQuery, MAX_IPV6_PEERS_PER_REPLY, type ResponderContext } from "./dht_responder.ts";
export {
  decodeDhtState,
  type DhtState,
  encodeDhtState,
  loadDhtState,
  MAX_SAVED_NODES,
  saveDhtState,
} from "./dht_state.ts";
export { DhtTokens, TOKEN_BYTES, TOKEN_ROTATE_MS } from "./dht_tokens.ts";
export type { AnnounceResult, DhtNodeOptions, DhtStats, DhtTableStats } from "./dht_types.ts";
export {
  EXTERNAL_ADDRESS_QUORUM,
  ExternalAddressVotes,
  MAX_ADDRESS_VOTERS,
} from "./external_address_votes.ts";
export {
  FLOOD_BLOCK_MS,
  FLOOD_MAX_PACKETS,
  FLOOD_MAX_TRACKED,
  FLOOD_WINDOW_MS,
  FloodGuard,
  type FloodGuardOptions,
} from "./flood_guard.ts";
export {
  type LookupAnswer,
  type LookupOutcome,
  type LookupQuery,
  runLookup,
  type RunLookupOptions,
} from "./iterative_lookup.ts";
export {
  decodeKrpc,
  encodeKrpc,
  type KrpcAnnouncePeer,
  type KrpcErrorReply,
  type KrpcFindNode,
  type KrpcGetPeers,
  type KrpcHeader,
  type KrpcMessage,
  type KrpcPing,
  type KrpcQuery,
  type KrpcQueryBody,
  type KrpcQueryHeader,
  type KrpcResponse,
  type KrpcWant,
  MAX_KRPC_PACKET_BYTES,
  MAX_TOKEN_BYTES,
  MAX_TRANSACTION_ID_BYTES,
  MAX_VERSION_BYTES,
} from "./krpc.ts";
export { KRPC_ERROR, KrpcError } from "./krpc_error.ts";
export {
  type KrpcReply,
  KrpcTransactions,
  type KrpcTransactionsOptions,
  MAX_PENDING_QUERIES,
  QUERY_SLOW_MS,
  QUERY_TIMEOUT_MS,
  type StartedTransaction,
} from "./krpc_transactions.ts";
export {
  Lookup,
  LOOKUP_ALPHA,
  LOOKUP_K,
  type LookupContact,
  type LookupOptions,
  type LookupResultNode,
  MAX_LOOKUP_CANDIDATES,
  MAX_LOOKUP_QUERIES,
} from "./lookup.ts";
export {
  commonPrefixBits,
  compareBytes,
  compareDistance,
  NODE_ID_BITS,
  NODE_ID_BYTES,
  randomIdWithPrefix,
  randomNodeId,
  xorDistance,
} from "./node_id.ts";
export { MAX_FEED_PEERS, PeerFeed } from "./peer_feed.ts";
export {
  MAX_PEERS_PER_REPLY,
  MAX_PEERS_PER_TORRENT,
  MAX_STORED_PEERS,
  MAX_STORED_TORRENTS,
  PEER_TTL_MS,
  PeerStore,
  type PeerStoreOptions,
} from "./peer_store.ts";
export { DEFAULT_MAX_QUERIES_PER_SECOND, MAX_QUEUED_QUERIES, QueryPacer } from "./query_pacer.ts";
export {
  BUCKET_REFRESH_MS,
  BUCKET_SIZE,
  type InsertOutcome,
  MAX_NODE_FAILURES,
  NODE_GOOD_MS,
  type NodeState,
  nodeState,
  REPLACEMENTS_PER_BUCKET,
  type RoutingNode,
  RoutingTable,
  type RoutingTableCounts,
} from "./routing_table.ts";
export { isLocalAddress, isSecureNodeId, secureNodeId } from "./secure_node_id.ts";
export { TokenBucket } from "./token_bucket.ts";
