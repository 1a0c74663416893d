import type { DhtContact } from "./compact_nodes.ts";
import { addressFamily, type DhtAddress } from "./dht_address.ts";
import type { DhtTokens } from "./dht_tokens.ts";
import type { KrpcErrorReply, KrpcQuery, KrpcResponse, KrpcWant } from "./krpc.ts";
import { KRPC_ERROR } from "./krpc_error.ts";
import type { PeerStore } from "./peer_store.ts";
import { BUCKET_SIZE, type RoutingTable } from "./routing_table.ts";

/** The most IPv6 peers in one reply (18-byte entries; keeps the packet under 1,500 bytes). */
export const MAX_IPV6_PEERS_PER_REPLY = 60;
/** Above this many peers in `values`, a `get_peers` reply leaves `nodes` out. */
const VALUES_WITHOUT_NODES = 40;

/** What {@linkcode answerQuery} reads and updates. */
export interface ResponderContext {
  /** Our node id. */
  ownId: Uint8Array;
  /** The IPv4 table, when we have one. */
  table4?: RoutingTable;
  /** The IPv6 table (BEP 32), when we have one. */
  table6?: RoutingTable;
  /** Announce tokens. */
  tokens: DhtTokens;
  /** Announced peers. */
  peers: PeerStore;
  /** The current time in ms. */
  now: number;
}

function closestNodes(
  table: RoutingTable | undefined,
  target: Uint8Array,
  now: number,
): DhtContact[] | undefined {
  if (!table) return undefined;
  return table.closest(target, BUCKET_SIZE, now).map((n) => ({
    id: n.id,
    host: n.host,
    port: n.port,
  }));
}

function addNodes(
  reply: KrpcResponse,
  want: KrpcWant[] | undefined,
  family: 4 | 6,
  target: Uint8Array,
  context: ResponderContext,
): void {
  const wanted = want && want.length > 0 ? want : [family === 4 ? "n4" : "n6"];
  if (wanted.includes("n4")) {
    reply.nodes = closestNodes(context.table4, target, context.now) ?? [];
  }
  if (wanted.includes("n6") && context.table6) {
    reply.nodes6 = closestNodes(context.table6, target, context.now);
  }
}

/**
 * Answers a query (BEP 5, BEP 32 `want`/`nodes6`, BEP 42 `ip`): `ping`, `find_node` (the 8
 * closest nodes of each wanted family), `get_peers` (a token bound to the requester's IP and
 * the info hash, up to 100 stored peers of the requester's family, and nodes), `announce_peer`
 * (checks the token, honours `implied_port`, stores the peer). Every reply carries the
 * requester's address in `ip`.
 * @param query The decoded query.
 * @param from The requester's UDP address (canonical host).
 * @param context Our id, tables, tokens, peer store and the time.
 * @returns The reply to send: a response, or error 203 for a bad token.
 * @example
 * ```ts
 * import { answerQuery, DhtTokens, PeerStore, RoutingTable } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const ownId = new Uint8Array(20);
 * const context = { ownId, table4: new RoutingTable(ownId), tokens: new DhtTokens(0), peers: new PeerStore(), now: 0 };
 * const reply = answerQuery(
 *   { type: "ping", transactionId: new Uint8Array([1]), id: new Uint8Array(20).fill(1) },
 *   { host: "10.0.0.9", port: 6881 },
 *   context,
 * );
 * strictEqual(reply.type === "response" && reply.ip?.host, "10.0.0.9");
 * ```
 */
export function answerQuery(
  query: KrpcQuery,
  from: DhtAddress,
  context: ResponderContext,
): KrpcResponse | KrpcErrorReply {
  const family = addressFamily(from.host);
  const reply: KrpcResponse = {
    type: "response",
    transactionId: query.transactionId,
    id: context.ownId,
    ip: { host: from.host, port: from.port },
  };
  switch (query.type) {
    case "ping":
      return reply;
    case "find_node":
      addNodes(reply, query.want, family, query.target, context);
      return reply;
    case "get_peers": {
      reply.token = context.tokens.issue(from.host, query.infoHash, context.now);
      const max = family === 4 ? undefined : MAX_IPV6_PEERS_PER_REPLY;
      const values = context.peers.get(query.infoHash, family, context.now, max);
      if (values.length > 0) reply.values = values;
      if (values.length <= VALUES_WITHOUT_NODES) {
        addNodes(reply, query.want, family, query.infoHash, context);
      }
      return reply;
    }
    case "announce_peer": {
      if (!context.tokens.check(query.token, from.host, query.infoHash, context.now)) {
        return {
          type: "error",
          transactionId: query.transactionId,
          code: KRPC_ERROR.protocol,
          message: "bad token",
        };
      }
      const port = query.impliedPort ? from.port : query.port;
      context.peers.add(query.infoHash, { host: from.host, port }, context.now);
      return reply;
    }
  }
}
