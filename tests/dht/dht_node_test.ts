import { deepStrictEqual, notDeepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { encodeHex } from "../../src/bytes/hex.ts";
import { DhtNode } from "../../src/dht/dht_node.ts";
import { loadDhtState } from "../../src/dht/dht_state.ts";
import { isSecureNodeId } from "../../src/dht/secure_node_id.ts";
import { randomBytes } from "../test_util.ts";
import { collect, RawKrpc, Swarm, waitFor } from "./dht_fixture.ts";

Deno.test("DhtNode instances on loopback find each other", async () => {
  await using swarm = await Swarm.open(6);
  for (const [i, node] of swarm.nodes.entries()) {
    const stats = node.stats();
    ok(stats.ipv4!.good >= 4, `node ${i} knows ${stats.ipv4!.good} good nodes`);
    strictEqual(stats.ipv6, undefined);
  }
  // Distinct random ids, and no node lists itself.
  strictEqual(new Set(swarm.nodes.map((n) => encodeHex(n.nodeId))).size, 6);
});

Deno.test("DhtNode.getPeers() on one node finds the port another node announced", async () => {
  await using swarm = await Swarm.open(5);
  const infoHash = randomBytes(20, 42);
  const announced = await swarm.nodes[1].announce(infoHash, 51413);
  ok(announced.nodes.length >= 3, `announced to ${announced.nodes.length} nodes`);
  deepStrictEqual(announced.peers, [], "nobody had announced before");
  const peers = await collect(swarm.nodes[4].getPeers(infoHash));
  deepStrictEqual(peers, [{ host: "127.0.0.1", port: 51413 }]);
  // implied_port: the announcing node's UDP port is stored instead.
  const other = randomBytes(20, 43);
  await swarm.nodes[2].announce(other, "implied");
  const implied = await collect(swarm.nodes[3].getPeers(other));
  deepStrictEqual(implied, [{ host: "127.0.0.1", port: swarm.nodes[2].port }]);
  // A second announce of the first torrent finds the first peer in passing, and names it to
  // onPeer as the reply comes, before the announce_peer round ends.
  const told: { port: number; ended: boolean }[] = [];
  let ended = false;
  const again = await swarm.nodes[3].announce(infoHash, 6000, {
    onPeer: (peer) => told.push({ port: peer.port, ended }),
  }).finally(() => ended = true);
  deepStrictEqual(again.peers, [{ host: "127.0.0.1", port: 51413 }]);
  deepStrictEqual(told, [{ port: 51413, ended: false }]);
  const both = (await collect(swarm.nodes[0].getPeers(infoHash))).map((p) => p.port).sort((a, b) =>
    a - b
  );
  deepStrictEqual(both, [6000, 51413]);
});

Deno.test("DhtNode.getPeers() stops when its signal aborts and refuses a bad info hash", async () => {
  await using swarm = await Swarm.open(4);
  const controller = new AbortController();
  controller.abort();
  await rejects(
    collect(swarm.nodes[0].getPeers(randomBytes(20, 1), { signal: controller.signal })),
  );
  await rejects(collect(swarm.nodes[0].getPeers(new Uint8Array(19))), RangeError);
  await rejects(swarm.nodes[0].announce(randomBytes(20, 1), 0), RangeError);
});

Deno.test("DhtNode saves its table and id, and restarts from them without any router", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stateFile = `${dir}/dht.json`;
    await using swarm = await Swarm.open(4);
    const seed = { host: "127.0.0.1", port: swarm.nodes[0].port };
    const first = await DhtNode.open({ host: "127.0.0.1", bootstrap: [seed], stateFile });
    await first.bootstrap();
    const infoHash = randomBytes(20, 7);
    await swarm.nodes[2].announce(infoHash, 1234);
    const id = first.nodeId;
    await first.close();
    const saved = await loadDhtState(stateFile);
    deepStrictEqual(saved?.nodeId, id);
    ok(saved!.nodes.length >= 4, `saved ${saved?.nodes.length} nodes`);
    // No `bootstrap` option: saved nodes take the place of the public routers.
    await using again = await DhtNode.open({ host: "127.0.0.1", stateFile });
    deepStrictEqual(again.nodeId, id);
    await again.bootstrap();
    ok(again.stats().ipv4!.good >= 4, "the saved nodes answered");
    deepStrictEqual(await collect(again.getPeers(infoHash)), [{ host: "127.0.0.1", port: 1234 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DhtNode.addNode() pings a node and bootstraps from it", async () => {
  await using swarm = await Swarm.open(4);
  await using lone = await DhtNode.open({ host: "127.0.0.1", bootstrap: [] });
  strictEqual(lone.stats().ipv4!.good, 0);
  lone.addNode({ host: "127.0.0.1", port: swarm.nodes[3].port });
  await waitFor(() => lone.stats().ipv4!.good >= 4, 5000, "bootstrap through addNode");
});

Deno.test("DhtNode in read-only mode (BEP 43) asks with ro=1, answers nothing, and is not added", async () => {
  await using swarm = await Swarm.open(4);
  await using raw = await RawKrpc.open();
  raw.answerAs = randomBytes(20, 77); // a dull node that answers every query
  await using reader = await DhtNode.open({
    host: "127.0.0.1",
    readOnly: true,
    bootstrap: [{ host: "127.0.0.1", port: raw.port }, {
      host: "127.0.0.1",
      port: swarm.nodes[0].port,
    }],
  });
  // Its bootstrap query reaches the raw socket: ro=1 is set.
  const query = await raw.waitMessage((m) => m.type === "find_node", 3000);
  ok(query.type === "find_node" && query.readOnly === true);
  await reader.bootstrap();
  ok(reader.stats().ipv4!.good >= 3, "a read-only node still learns the network");
  const infoHash = randomBytes(20, 9);
  await swarm.nodes[1].announce(infoHash, 4321);
  deepStrictEqual(await collect(reader.getPeers(infoHash)), [{ host: "127.0.0.1", port: 4321 }]);
  // Nobody added it: its queries carried ro=1.
  for (const node of swarm.nodes) {
    const reply = await raw.ask({
      type: "find_node",
      id: randomBytes(20, 5),
      target: reader.nodeId,
    }, node.port);
    ok(reply.type === "response");
    ok(!reply.nodes?.some((n) => n.port === reader.port), "the read-only node is in no table");
  }
  // It answers nothing: a ping is counted and dropped, no packet goes back.
  const before = reader.stats();
  await raw.send(
    new TextEncoder().encode("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:zz1:y1:qe"),
    reader.port,
  );
  await waitFor(() => reader.stats().packetsIn > before.packetsIn, 3000, "the ping to arrive");
  strictEqual(reader.stats().packetsOut, before.packetsOut);
  strictEqual(reader.stats().dropped, before.dropped + 1);
});

Deno.test("DhtNode takes a BEP 42 id once several sources agree on a public address", async () => {
  await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [] });
  const start = node.nodeId;
  node.setExternalAddress("124.31.75.21", "tracker:a");
  node.setExternalAddress("124.31.75.21", "tracker:a");
  node.setExternalAddress("124.31.75.21", "peer:10.0.0.1");
  deepStrictEqual(node.nodeId, start, "two sources are not enough");
  node.setExternalAddress("124.31.75.21", "dht:10.0.0.2");
  strictEqual(node.externalAddress, "124.31.75.21");
  ok(isSecureNodeId(node.nodeId, "124.31.75.21"));
  notDeepStrictEqual(node.nodeId, start);
  // A loopback or private address never changes the id.
  await using local = await DhtNode.open({ host: "127.0.0.1", bootstrap: [] });
  const localId = local.nodeId;
  for (const source of ["a", "b", "c", "d"]) local.setExternalAddress("192.168.1.20", source);
  strictEqual(local.externalAddress, "192.168.1.20");
  deepStrictEqual(local.nodeId, localId);
  // A given id is kept.
  const fixed = new Uint8Array(20).fill(7);
  await using pinned = await DhtNode.open({ host: "127.0.0.1", bootstrap: [], nodeId: fixed });
  for (const source of ["a", "b", "c"]) pinned.setExternalAddress("124.31.75.21", source);
  deepStrictEqual(pinned.nodeId, fixed);
});

Deno.test("DhtNode closes when its signal aborts, and close is idempotent", async () => {
  const controller = new AbortController();
  const node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [], signal: controller.signal });
  controller.abort();
  await node.close();
  await node.close();
  deepStrictEqual(await collect(node.getPeers(randomBytes(20, 1))), []);
  await rejects(DhtNode.open({ host: "127.0.0.1", bootstrap: [], signal: controller.signal }));
});

Deno.test("DhtNode on IPv6 loopback (BEP 32) keeps an IPv6 table and finds peers over it", async (t) => {
  try {
    (await DhtNode.open({ host: "::1", bootstrap: [] })).close();
  } catch {
    t.step({ name: "no IPv6 loopback here", ignore: true, fn: () => {} });
    return;
  }
  await using swarm = await Swarm.open(4, { host: "::1" });
  const stats = swarm.nodes[0].stats();
  strictEqual(stats.ipv4, undefined);
  ok(stats.ipv6!.good >= 3, `ipv6 good: ${stats.ipv6!.good}`);
  const infoHash = randomBytes(20, 61);
  await swarm.nodes[1].announce(infoHash, 6969);
  deepStrictEqual(await collect(swarm.nodes[3].getPeers(infoHash)), [{ host: "::1", port: 6969 }]);
  // A dual-stack node ("::") keeps both tables.
  await using dual = await DhtNode.open({
    host: "::",
    bootstrap: [{ host: "::1", port: swarm.nodes[0].port }],
  });
  await dual.bootstrap();
  ok(dual.stats().ipv4 !== undefined && dual.stats().ipv6!.good >= 3);
});
