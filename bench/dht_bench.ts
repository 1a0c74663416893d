// DHT lookups in an 8-node libtorrent DHT on 127.0.0.1 (python3-libtorrent 2.0.8).
//
// Each round a libtorrent peer announces a fresh info hash (to 4 or more nodes), then:
//   cold:  a new shoal DhtNode, bootstrapped from one libtorrent node, looks it up at once
//          (its packets include the start-up bootstrap lookup running alongside);
//   warm:  one shoal DhtNode kept for all rounds (its table full) looks up a second fresh hash.
//   Both are read-only (BEP 43): libtorrent never adds them, so it never announces to them (the
//   peer must come from the lookup, not from shoal's own store) and closed nodes of earlier
//   rounds do not slow later lookups. Queries are the same as a normal node's but for `ro=1`.
//   libtorrent: one libtorrent node's dht_get_peers for the same hash (the baseline; its time
//   includes the helper's pipe and 5 ms alert polling).
// Figures: time to the first peer, time to the end of the lookup, packets shoal sent per lookup.
// Run: deno run -A bench/dht_bench.ts [--rounds 5]   (needs python3-libtorrent; under a minute)

import { parseArgs } from "node:util";
import { DhtNode } from "@shoal/shoal/dht";
import { startLibtorrentDht } from "../tests/interop/dht_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "5" } },
});
const ROUNDS = Number(values.rounds);

interface Lookup {
  firstPeerMs: number;
  doneMs: number;
  packets: number;
}

async function lookup(node: DhtNode, infoHash: Uint8Array, port: number): Promise<Lookup> {
  const packetsBefore = node.stats().packetsOut;
  const start = performance.now();
  let firstPeerMs = NaN;
  for await (const peer of node.getPeers(infoHash)) {
    if (peer.port === port && Number.isNaN(firstPeerMs)) firstPeerMs = performance.now() - start;
  }
  return {
    firstPeerMs,
    doneMs: performance.now() - start,
    packets: node.stats().packetsOut - packetsBefore,
  };
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const results = { cold: [] as Lookup[], warm: [] as Lookup[], libtorrent: [] as number[] };
{
  await using dht = await startLibtorrentDht({ nodes: 8, timeoutMs: 120_000 });
  await using warmNode = await DhtNode.open({
    host: "127.0.0.1",
    bootstrap: [dht.nodes[0]],
    readOnly: true,
  });
  await warmNode.bootstrap();
  for (let round = 0; round < ROUNDS; round++) {
    const coldHash = crypto.getRandomValues(new Uint8Array(20));
    const warmHash = crypto.getRandomValues(new Uint8Array(20));
    const cold = await dht.announce(coldHash, { minNodes: 4 });
    const warm = await dht.announce(warmHash, { minNodes: 4 });
    await using coldNode = await DhtNode.open({
      host: "127.0.0.1",
      bootstrap: [dht.nodes[round % 8]],
      readOnly: true,
    });
    results.cold.push(await lookup(coldNode, coldHash, cold.port));
    results.warm.push(await lookup(warmNode, warmHash, warm.port));
    const start = performance.now();
    const peers = await dht.getPeers(warmHash, { node: (round + 4) % 8 });
    if (!peers.some((p) => p.port === warm.port)) throw new Error("libtorrent missed the peer");
    results.libtorrent.push(performance.now() - start);
  }
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;
console.log(`DHT lookups, 8 libtorrent nodes on loopback, ${ROUNDS} rounds (medians)`);
console.log("| lookup | first peer | lookup done | packets sent |");
console.log("|---|---|---|---|");
for (const kind of ["cold", "warm"] as const) {
  const list = results[kind];
  console.log(
    `| shoal ${kind} | ${ms(median(list.map((l) => l.firstPeerMs)))} | ${
      ms(median(list.map((l) => l.doneMs)))
    } | ${median(list.map((l) => l.packets))} |`,
  );
}
console.log(`| libtorrent dht_get_peers (baseline) | - | ${ms(median(results.libtorrent))} | - |`);
