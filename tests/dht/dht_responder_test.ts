import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { answerQuery, type ResponderContext } from "../../src/dht/dht_responder.ts";
import { DhtTokens, TOKEN_ROTATE_MS } from "../../src/dht/dht_tokens.ts";
import { decodeKrpc, encodeKrpc, type KrpcQuery } from "../../src/dht/krpc.ts";
import { PeerStore } from "../../src/dht/peer_store.ts";
import { RoutingTable } from "../../src/dht/routing_table.ts";
import { randomBytes } from "../test_util.ts";

const ownId = new Uint8Array(20);
const them = { id: randomBytes(20, 9), host: "10.0.0.9", port: 7000 };
const infoHash = randomBytes(20, 1);
const t = new Uint8Array([1, 2]);

function context(now = 0): ResponderContext {
  const table4 = new RoutingTable(ownId);
  const table6 = new RoutingTable(ownId);
  for (let i = 0; i < 20; i++) {
    table4.heardResponse(
      { id: randomBytes(20, 100 + i), host: `10.1.0.${i + 1}`, port: 1000 + i },
      0,
    );
    table6.heardResponse({
      id: randomBytes(20, 200 + i),
      host: `2001:db8::${i + 1}`,
      port: 2000 + i,
    }, 0);
  }
  return { ownId, table4, table6, tokens: new DhtTokens(0), peers: new PeerStore(), now };
}

function ask(query: KrpcQuery, ctx: ResponderContext, from = them) {
  const reply = answerQuery(query, from, ctx);
  // Every reply must encode within the packet limit and decode back the same.
  deepStrictEqual(decodeKrpc(encodeKrpc(reply)), reply);
  return reply;
}

Deno.test("answerQuery() answers ping and find_node with our id, the requester's ip and 8 nodes", () => {
  const ctx = context();
  const pong = ask({ type: "ping", transactionId: t, id: them.id }, ctx);
  ok(pong.type === "response");
  deepStrictEqual(pong.id, ownId);
  deepStrictEqual(pong.transactionId, t);
  deepStrictEqual(pong.ip, { host: them.host, port: them.port });
  const found = ask({ type: "find_node", transactionId: t, id: them.id, target: infoHash }, ctx);
  ok(found.type === "response");
  strictEqual(found.nodes?.length, 8);
  strictEqual(found.nodes6, undefined, "no want: the requester's family only");
  const both = ask({
    type: "find_node",
    transactionId: t,
    id: them.id,
    target: infoHash,
    want: ["n4", "n6"],
  }, ctx);
  ok(both.type === "response" && both.nodes?.length === 8 && both.nodes6?.length === 8);
  const v6 = ask({ type: "find_node", transactionId: t, id: them.id, target: infoHash }, ctx, {
    ...them,
    host: "2001:db8::99",
  });
  ok(v6.type === "response" && v6.nodes === undefined && v6.nodes6?.length === 8);
});

Deno.test("answerQuery() stores an announce only with a token for that address and info hash", () => {
  const ctx = context();
  const peers = ask({ type: "get_peers", transactionId: t, id: them.id, infoHash }, ctx);
  ok(peers.type === "response" && peers.token && peers.values === undefined);
  strictEqual(peers.nodes?.length, 8);
  const announce = (token: Uint8Array, from = them, hash = infoHash, impliedPort = false) =>
    ask(
      {
        type: "announce_peer",
        transactionId: t,
        id: them.id,
        infoHash: hash,
        port: 6881,
        impliedPort,
        token,
      },
      ctx,
      from,
    );
  const forged = announce(new Uint8Array(8));
  ok(forged.type === "error" && forged.code === 203);
  const stolen = announce(peers.token!, { ...them, host: "10.0.0.10" });
  ok(stolen.type === "error", "a token is bound to the address it was given to");
  const otherHash = announce(peers.token!, them, randomBytes(20, 2));
  ok(otherHash.type === "error", "and to the info hash");
  strictEqual(ctx.peers.peerCount, 0);
  ok(announce(peers.token!).type === "response");
  ok(announce(peers.token!, { ...them, port: 7777 }, infoHash, true).type === "response");
  const again = ask({ type: "get_peers", transactionId: t, id: them.id, infoHash }, ctx);
  ok(again.type === "response");
  deepStrictEqual(
    again.values?.map((p) => p.port).sort(),
    [6881, 7777],
    "implied_port uses the UDP port",
  );
  // An expired token (two rotations later) is refused.
  ctx.now = 2 * TOKEN_ROTATE_MS + 1;
  const expired = announce(peers.token!);
  ok(expired.type === "error" && expired.code === 203);
});

Deno.test("answerQuery() sends at most 100 peers, of the requester's family, within 1,500 bytes", () => {
  const ctx = context();
  for (let i = 0; i < 400; i++) {
    ctx.peers.add(infoHash, { host: `10.2.${i >> 8}.${i & 0xff}`, port: 1 + i }, 0);
  }
  for (let i = 0; i < 400; i++) {
    ctx.peers.add(infoHash, { host: `2001:db8:1::${(i + 1).toString(16)}`, port: 1 }, 0);
  }
  const four = ask({ type: "get_peers", transactionId: t, id: them.id, infoHash }, ctx);
  ok(four.type === "response");
  strictEqual(four.values?.length, 100);
  ok(four.values!.every((p) => !p.host.includes(":")));
  const six = ask(
    { type: "get_peers", transactionId: t, id: them.id, infoHash, want: ["n4", "n6"] },
    ctx,
    {
      ...them,
      host: "2001:db8::99",
    },
  );
  ok(
    six.type === "response" && six.values!.length > 0 &&
      six.values!.every((p) => p.host.includes(":")),
  );
});
