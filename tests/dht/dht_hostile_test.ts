// A running DhtNode against hostile input: it stays healthy, bounded, and useful.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { DhtNode } from "../../src/dht/dht_node.ts";
import { FLOOD_MAX_PACKETS } from "../../src/dht/flood_guard.ts";
import { decodeKrpc, encodeKrpc, type KrpcMessage } from "../../src/dht/krpc.ts";
import { MAX_STORED_TORRENTS } from "../../src/dht/peer_store.ts";
import { randomBytes } from "../test_util.ts";
import { collect, RawKrpc, Swarm, waitFor } from "./dht_fixture.ts";

const MIN = 60_000;
const attackerId = randomBytes(20, 666);

/** Checks the node still answers a ping from a fresh address. */
async function stillAnswers(node: DhtNode): Promise<void> {
  await using probe = await RawKrpc.open();
  const pong = await probe.ask({ type: "ping", id: randomBytes(20, 1) }, node.port);
  ok(pong.type === "response");
  deepStrictEqual(pong.id, node.nodeId);
}

Deno.test("DhtNode drops garbage, oversized and truncated packets and keeps working", async () => {
  await using swarm = await Swarm.open(5);
  const target = swarm.nodes[0];
  await using attacker = await RawKrpc.open();
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) packets.push(randomBytes(1 + (i * 37) % 900, 1000 + i));
  for (let i = 0; i < 5; i++) packets.push(randomBytes(3000 + i * 5000, 2000 + i)); // oversized
  const query = encodeKrpc({
    type: "get_peers",
    transactionId: new Uint8Array([1, 2]),
    id: attackerId,
    infoHash: randomBytes(20, 3),
  });
  for (let n = 1; n < query.length; n += 3) packets.push(query.subarray(0, n)); // truncated
  packets.push(encodeBencode(["not", "a", "dict"]));
  packets.push(encodeBencode({ t: new Uint8Array(20), y: "q", q: "ping", a: { id: attackerId } }));
  const nodes27 = encodeBencode({
    t: "ab",
    y: "r",
    r: { id: attackerId, nodes: new Uint8Array(27) },
  });
  packets.push(nodes27);
  packets.push(new Uint8Array(0));
  ok(packets.length < FLOOD_MAX_PACKETS, "stay under the flood limit here");
  const before = target.stats();
  for (const packet of packets) await attacker.send(packet, target.port);
  await waitFor(
    () => target.stats().packetsIn >= before.packetsIn + packets.length,
    5000,
    "every packet to arrive",
  );
  const after = target.stats();
  strictEqual(after.dropped - before.dropped, after.packetsIn - before.packetsIn, "all dropped");
  strictEqual(after.packetsOut, before.packetsOut, "nothing answerable: nothing sent back");
  strictEqual(attacker.received.length, 0);
  await stillAnswers(target);
  const infoHash = randomBytes(20, 4);
  await swarm.nodes[2].announce(infoHash, 2222);
  deepStrictEqual(await collect(target.getPeers(infoHash)), [{ host: "127.0.0.1", port: 2222 }]);
});

Deno.test("DhtNode answers malformed queries with 203 and unknown methods with 204", async () => {
  await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [] });
  await using attacker = await RawKrpc.open();
  const send = (dict: Record<string, unknown>) =>
    attacker.send(encodeBencode(dict as Parameters<typeof encodeBencode>[0]), node.port);
  const error = (t: string) =>
    attacker.waitMessage(
      (m) => m.type === "error" && new TextDecoder().decode(m.transactionId) === t,
      3000,
    );
  await send({ t: "e1", y: "q", q: "find_node", a: { id: attackerId } });
  const missing = await error("e1");
  ok(missing.type === "error" && missing.code === 203);
  await send({
    t: "e2",
    y: "q",
    q: "sample_infohashes",
    a: { id: attackerId, target: attackerId },
  });
  const unknown = await error("e2");
  ok(unknown.type === "error" && unknown.code === 204);
  await send({ t: "e3", y: "q", q: "get_peers", a: { id: attackerId, info_hash: "short" } });
  const short = await error("e3");
  ok(short.type === "error" && short.code === 203);
  strictEqual(
    node.stats().ipv4!.good + node.stats().ipv4!.questionable,
    0,
    "no table entry from junk",
  );
});

Deno.test("DhtNode ignores an address that floods it, and only that address", async () => {
  await using swarm = await Swarm.open(4);
  const target = swarm.nodes[0];
  await using flooder = await RawKrpc.open();
  const before = target.stats();
  const ping = (i: number) =>
    encodeKrpc({ type: "ping", transactionId: new Uint8Array([i >> 8, i & 0xff]), id: attackerId });
  const count = 1000;
  // In batches, each waited for, so the kernel's receive buffer never overflows.
  for (let i = 0; i < count; i += 100) {
    for (let j = i; j < i + 100; j++) await flooder.send(ping(j), target.port);
    await waitFor(() => target.stats().packetsIn >= before.packetsIn + i + 100, 5000, "a batch");
  }
  const after = target.stats();
  strictEqual(after.blockedAddresses, 1);
  ok(
    after.dropped - before.dropped >= count - FLOOD_MAX_PACKETS,
    `dropped ${after.dropped - before.dropped}`,
  );
  const pongs = () => flooder.received.filter((r) => r.message?.type === "response").length;
  await waitFor(() => pongs() >= FLOOD_MAX_PACKETS - 10, 5000, "the replies");
  ok(pongs() <= FLOOD_MAX_PACKETS, `${pongs()} replies`);
  // Blocked now: a further ping gets nothing, while others are served.
  const seen = pongs();
  await flooder.send(ping(5000), target.port);
  await stillAnswers(target);
  strictEqual(pongs(), seen);
  const infoHash = randomBytes(20, 8);
  await swarm.nodes[1].announce(infoHash, 3333);
  deepStrictEqual(await collect(target.getPeers(infoHash)), [{ host: "127.0.0.1", port: 3333 }]);
});

Deno.test("DhtNode refuses announces with forged, stolen or expired tokens", async () => {
  let clock = 1_000_000;
  await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [], now: () => clock });
  await using peer = await RawKrpc.open();
  await using thief = await RawKrpc.open("127.0.0.2"); // Linux routes all of 127/8 to loopback
  const infoHash = randomBytes(20, 10);
  const reply = await peer.ask({ type: "get_peers", id: attackerId, infoHash }, node.port);
  ok(reply.type === "response" && reply.token);
  const token = reply.token;
  const announce = (from: RawKrpc, tok: Uint8Array, hash = infoHash): Promise<KrpcMessage> =>
    from.ask({
      type: "announce_peer",
      id: attackerId,
      infoHash: hash,
      port: 7000,
      impliedPort: false,
      token: tok,
    }, node.port);
  const refused = (m: KrpcMessage) => m.type === "error" && m.code === 203;
  ok(refused(await announce(peer, new Uint8Array(8))), "forged");
  ok(refused(await announce(peer, token, randomBytes(20, 11))), "another info hash");
  if (thief.socket.localHost === "127.0.0.2") {
    ok(refused(await announce(thief, token)), "another IP");
  }
  strictEqual(node.stats().peers, 0);
  clock += 9 * MIN;
  ok((await announce(peer, token)).type === "response", "9 minutes old: still accepted");
  strictEqual(node.stats().peers, 1);
  clock += 11 * MIN;
  ok(refused(await announce(peer, token)), "expired");
  // The stored announce expires after 30 minutes.
  clock += 21 * MIN;
  const later = await peer.ask({ type: "get_peers", id: attackerId, infoHash }, node.port);
  ok(later.type === "response" && later.values === undefined);
});

Deno.test("DhtNode lookups survive a node that returns bogus addresses", async () => {
  await using swarm = await Swarm.open(8);
  const infoHash = randomBytes(20, 12);
  await swarm.nodes[3].announce(infoHash, 4444);
  // A liar: every find_node/get_peers reply lists 8 ids right next to the target, at addresses
  // that are unspecified, multicast, broadcast, or dead loopback ports.
  await using liar = await RawKrpc.open();
  const bogusHosts = ["0.0.0.0", "224.0.0.1", "255.255.255.255", "239.255.255.250"];
  let lies = 0;
  liar.socket.onMessage((raw) => {
    let m: KrpcMessage;
    try {
      m = decodeKrpc(raw.data);
    } catch {
      return;
    }
    if (m.type !== "find_node" && m.type !== "get_peers" && m.type !== "ping") return;
    const target = m.type === "find_node" ? m.target : m.type === "get_peers" ? m.infoHash : m.id;
    const nodes = Array.from({ length: 8 }, (_, i) => {
      const id = target.slice();
      id[19] ^= i + 1;
      const host = i < 4 ? bogusHosts[i] : "127.0.0.1";
      return { id, host, port: i < 4 ? 6881 : 1 + i }; // ports 5..8 on loopback: nobody there
    });
    lies++;
    const reply = {
      type: "response",
      transactionId: m.transactionId,
      id: randomBytes(20, 99),
      nodes,
      token: new Uint8Array([1]),
    } as const;
    liar.socket.send(encodeKrpc(reply), raw.host, raw.port).catch(() => {});
  });
  await using victim = await DhtNode.open({
    host: "127.0.0.1",
    bootstrap: [{ host: "127.0.0.1", port: liar.port }, {
      host: "127.0.0.1",
      port: swarm.nodes[0].port,
    }],
  });
  await victim.bootstrap();
  const peers = await collect(victim.getPeers(infoHash));
  deepStrictEqual(peers, [{ host: "127.0.0.1", port: 4444 }]);
  ok(lies >= 2);
  const stats = victim.stats();
  // Only nodes that answered are in the table: the swarm and the liar itself, no bogus id.
  ok(stats.ipv4!.good + stats.ipv4!.questionable <= 9, JSON.stringify(stats.ipv4));
  ok(stats.ipv4!.good >= 8);
  await waitFor(() => victim.stats().pendingQueries === 0, 8000, "the dead queries to time out");
});

Deno.test("DhtNode keeps its peer store within its caps under an announce spam", async () => {
  await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [] });
  const sockets = 30, perSocket = 70; // 140 packets per address: under the flood limit
  const senders = await Promise.all(Array.from({ length: sockets }, () => RawKrpc.open()));
  try {
    await Promise.all(senders.map(async (sender, s) => {
      for (let i = 0; i < perSocket; i++) {
        const infoHash = randomBytes(20, 100_000 + s * perSocket + i);
        const reply = await sender.ask({ type: "get_peers", id: attackerId, infoHash }, node.port);
        if (reply.type !== "response" || !reply.token) throw new Error("no token");
        const ack = await sender.ask({
          type: "announce_peer",
          id: attackerId,
          infoHash,
          port: 1 + i,
          impliedPort: false,
          token: reply.token,
        }, node.port);
        if (ack.type !== "response") throw new Error("announce refused");
      }
    }));
  } finally {
    await Promise.all(senders.map((s) => s[Symbol.asyncDispose]()));
  }
  const stats = node.stats();
  ok(sockets * perSocket > MAX_STORED_TORRENTS);
  strictEqual(stats.torrents, MAX_STORED_TORRENTS);
  strictEqual(stats.peers, MAX_STORED_TORRENTS);
  strictEqual(stats.blockedAddresses, 0);
  ok(stats.trackedAddresses <= sockets);
  await stillAnswers(node);
});
