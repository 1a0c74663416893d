// Fuzz target: KRPC datagrams (src/dht/krpc.ts with compact_nodes.ts), and the answer the DHT
// node would send to a decoded query (dht_responder.ts), which must encode within 1,500 bytes.
import type { DhtContact } from "../../src/dht/compact_nodes.ts";
import type { DhtAddress } from "../../src/dht/dht_address.ts";
import { answerQuery } from "../../src/dht/dht_responder.ts";
import { DhtTokens } from "../../src/dht/dht_tokens.ts";
import {
  decodeKrpc,
  encodeKrpc,
  type KrpcMessage,
  MAX_KRPC_PACKET_BYTES,
  MAX_TOKEN_BYTES,
  MAX_TRANSACTION_ID_BYTES,
  MAX_VERSION_BYTES,
} from "../../src/dht/krpc.ts";
import { KRPC_ERROR, KrpcError } from "../../src/dht/krpc_error.ts";
import { PeerStore } from "../../src/dht/peer_store.ts";
import { RoutingTable } from "../../src/dht/routing_table.ts";
import { type FuzzTarget, invariant, invariantEqual, mustNotThrow } from "./fuzz_target.ts";
import type { Prng } from "./prng.ts";

const id = (seed: number): Uint8Array =>
  new Uint8Array(20).map((_, i) => (seed * 31 + i * 7) & 0xff);
const T = new Uint8Array([0x61, 0x61]);
const INFO_HASH = id(1);
const nodes4: DhtContact[] = Array.from({ length: 8 }, (_, i) => ({
  id: id(10 + i),
  host: `10.0.0.${i + 1}`,
  port: 6881 + i,
}));
const nodes6: DhtContact[] = [{ id: id(30), host: "2001:db8::1", port: 6881 }];

const SEEDS: readonly KrpcMessage[] = [
  { type: "ping", transactionId: T, id: id(2) },
  {
    type: "ping",
    transactionId: T,
    id: id(2),
    readOnly: true,
    version: new Uint8Array([76, 84, 1, 2]),
  },
  { type: "find_node", transactionId: T, id: id(2), target: id(3), want: ["n4", "n6"] },
  { type: "get_peers", transactionId: T, id: id(2), infoHash: INFO_HASH },
  {
    type: "announce_peer",
    transactionId: T,
    id: id(2),
    infoHash: INFO_HASH,
    port: 6881,
    impliedPort: true,
    token: new Uint8Array(8).fill(9),
  },
  {
    type: "response",
    transactionId: T,
    id: id(4),
    nodes: nodes4,
    nodes6,
    token: new Uint8Array([1, 2, 3, 4]),
    values: [{ host: "127.0.0.1", port: 1 }, { host: "::1", port: 65535 }],
    ip: { host: "127.0.0.1", port: 6881 },
  },
  { type: "error", transactionId: T, code: 201, message: "A Generic Error Ocurred" },
];

function checkContacts(list: DhtContact[] | DhtAddress[] | undefined, family?: 4 | 6): void {
  for (const node of list ?? []) {
    invariant(node.port >= 1 && node.port <= 65535, `port ${node.port}`);
    if (family !== undefined) {
      invariant(node.host.includes(":") === (family === 6), `host ${node.host} not IPv${family}`);
    }
    if ("id" in node) invariant((node as DhtContact).id.length === 20, "node id length");
  }
}

function checkMessage(m: KrpcMessage): void {
  const t = m.transactionId.length;
  invariant(t >= 1 && t <= MAX_TRANSACTION_ID_BYTES, `transaction id of ${t} bytes`);
  invariant((m.version?.length ?? 0) <= MAX_VERSION_BYTES, "version too long");
  switch (m.type) {
    case "response":
      invariant(m.id.length === 20, "reply id");
      checkContacts(m.nodes, 4);
      checkContacts(m.nodes6, 6);
      checkContacts(m.values);
      checkContacts(m.ip ? [m.ip] : undefined);
      invariant(m.token === undefined || (m.token.length >= 1 && m.token.length <= 64), "token");
      break;
    case "error":
      invariant(Number.isInteger(m.code) && typeof m.message === "string", "error fields");
      break;
    default: {
      invariant(m.id.length === 20, "query id");
      if (m.type === "find_node") invariant(m.target.length === 20, "target");
      if (m.type === "get_peers" || m.type === "announce_peer") {
        invariant(m.infoHash.length === 20, "info hash");
      }
      if (m.type === "find_node" || m.type === "get_peers") {
        invariant(
          m.want === undefined || new Set(m.want).size === m.want.length,
          "want repeats a family",
        );
      }
      if (m.type === "announce_peer") {
        invariant(m.token.length >= 1 && m.token.length <= MAX_TOKEN_BYTES, "token");
        invariant(
          m.impliedPort ? m.port >= 0 && m.port <= 65535 : m.port >= 1 && m.port <= 65535,
          `port ${m.port}`,
        );
      }
    }
  }
}

function responder(rng: Prng): Parameters<typeof answerQuery>[2] {
  const ownId = id(99);
  const table4 = new RoutingTable(ownId);
  for (const node of nodes4) table4.heardResponse(node, 0);
  const table6 = new RoutingTable(ownId);
  for (let i = 0; i < 12; i++) {
    table6.heardResponse({ id: id(40 + i), host: `2001:db8::${i + 1}`, port: 1000 + i }, 0);
  }
  const peers = new PeerStore();
  const count = rng.pick([0, 1, 39, 40, 41, 100]);
  for (let i = 0; i < count; i++) {
    peers.add(INFO_HASH, { host: `10.1.${i >> 8}.${i & 255}`, port: 1 + i }, 0);
    peers.add(INFO_HASH, { host: `2001:db8::${(i + 1).toString(16)}`, port: 1 + i }, 0);
  }
  return { ownId, table4, table6, tokens: new DhtTokens(0, (b) => b.fill(7)), peers, now: 1 };
}

/** `decodeKrpc`: checked fields, round trips, and an answer that always fits a datagram. */
export const krpcTarget: FuzzTarget = {
  name: "krpc",
  description: "decodeKrpc: only KrpcError escapes (code 203 or 204, a 1..8-byte transaction " +
    "id when set); ids 20 bytes, nodes of the right family with ports 1..65535, tokens 1..64 " +
    "bytes; decode(encode(m)) = m; answerQuery's reply to any decoded query encodes within " +
    "1,500 bytes and decodes back",
  allowed: [KrpcError],
  profile: "bencode",
  dictionary: [
    "1:t",
    "1:y",
    "1:q",
    "1:r",
    "1:e",
    "1:a",
    "1:v",
    "2:ip",
    "2:ro",
    "2:id",
    "6:target",
    "9:info_hash",
    "5:token",
    "4:port",
    "12:implied_port",
    "4:want",
    "2:n4",
    "2:n6",
    "5:nodes",
    "6:nodes6",
    "6:values",
    "4:ping",
    "9:find_node",
    "9:get_peers",
    "13:announce_peer",
  ],
  corpus: () => SEEDS.map(encodeKrpc),
  run(input, { rng }) {
    let message: KrpcMessage;
    try {
      message = decodeKrpc(input);
    } catch (error) {
      if (error instanceof KrpcError) {
        invariant(
          error.code === KRPC_ERROR.protocol || error.code === KRPC_ERROR.methodUnknown,
          `KrpcError code ${error.code}`,
        );
        const t = error.transactionId?.length;
        invariant(t === undefined || (t >= 1 && t <= MAX_TRANSACTION_ID_BYTES), "error's t");
      }
      throw error;
    }
    checkMessage(message);
    const again = mustNotThrow("encodeKrpc(decoded)", () => encodeKrpc(message));
    invariantEqual(
      mustNotThrow("decodeKrpc(re-encoded)", () => decodeKrpc(again)),
      message,
      "decode(encode(decode(x)))",
    );
    if (message.type !== "response" && message.type !== "error") {
      const from = rng.chance(0.5)
        ? { host: "127.0.0.1", port: 6881 }
        : { host: "2001:db8::99", port: 6881 };
      const reply = answerQuery(message, from, responder(rng));
      const packet = mustNotThrow(`encodeKrpc(answer to ${message.type})`, () => encodeKrpc(reply));
      invariant(packet.length <= MAX_KRPC_PACKET_BYTES, "answer over 1,500 bytes");
      invariantEqual(
        mustNotThrow("decodeKrpc(answer)", () => decodeKrpc(packet)),
        reply,
        "decode(answer)",
      );
    }
    return "accepted";
  },
};
