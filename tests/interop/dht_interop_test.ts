// shoal's DhtNode in a DHT of 8 libtorrent nodes on 127.0.0.1 (python3-libtorrent 2.0.8).
import { deepStrictEqual, ok } from "node:assert/strict";
import { DhtNode } from "../../src/dht/dht_node.ts";
import { randomBytes } from "../test_util.ts";
import { startLibtorrentDht } from "./dht_harness.ts";
import { interopTest, libtorrentCreate, libtorrentInfo, makePayload } from "./harness.ts";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

interopTest(
  "DhtNode.getPeers() finds a peer that libtorrent announced",
  ["libtorrent"],
  async () => {
    await using dht = await startLibtorrentDht({ nodes: 8 });
    const infoHash = randomBytes(20, 501);
    const { port } = await dht.announce(infoHash, { minNodes: 3 });
    await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [dht.nodes[0]] });
    await node.bootstrap();
    ok(node.stats().ipv4!.good >= 7, `shoal learnt ${node.stats().ipv4!.good} libtorrent nodes`);
    const peers = await collect(node.getPeers(infoHash));
    deepStrictEqual(peers, [{ host: "127.0.0.1", port }]);
    // libtorrent took shoal into its routing tables (it answered and queried them).
    const sizes = await dht.tableSizes();
    ok(sizes.filter((n) => n >= 8).length >= 4, `libtorrent table sizes ${sizes}`);
  },
);

interopTest(
  "libtorrent's dht_get_peers finds the port shoal announced",
  ["libtorrent"],
  async () => {
    await using dht = await startLibtorrentDht({ nodes: 8 });
    await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [dht.nodes[3]] });
    await node.bootstrap();
    const infoHash = randomBytes(20, 502);
    const result = await node.announce(infoHash, 51413);
    ok(result.nodes.length >= 6, `libtorrent accepted ${result.nodes.length} announces (tokens)`);
    const received = await dht.announcesReceived(infoHash);
    ok(received.every((a) => a.port === 51413 && a.host === "127.0.0.1"));
    ok(received.length >= 6, `${received.length} libtorrent nodes stored it`);
    const peers = await dht.getPeers(infoHash, { node: 5 });
    deepStrictEqual(peers, [{ host: "127.0.0.1", port: 51413 }]);
    // implied_port: libtorrent stores shoal's UDP port.
    const other = randomBytes(20, 503);
    await node.announce(other, "implied");
    deepStrictEqual(await dht.getPeers(other, { node: 1 }), [{
      host: "127.0.0.1",
      port: node.port,
    }]);
  },
);

interopTest(
  "libtorrent keeps a read-only shoal node out of its tables (BEP 43)",
  ["libtorrent"],
  async () => {
    await using dht = await startLibtorrentDht({ nodes: 8 });
    const before = await dht.tableSizes();
    await using reader = await DhtNode.open({
      host: "127.0.0.1",
      readOnly: true,
      bootstrap: [dht.nodes[0]],
    });
    await reader.bootstrap();
    const infoHash = randomBytes(20, 504);
    const { port } = await dht.announce(infoHash, { minNodes: 3 });
    deepStrictEqual(await collect(reader.getPeers(infoHash)), [{ host: "127.0.0.1", port }]);
    const after = await dht.tableSizes();
    // The announcing session joined (one more node); the read-only shoal node did not.
    ok(after.every((n, i) => n <= before[i] + 1), `before ${before}, after ${after}`);
  },
);

interopTest("startLibtorrentDht() announces a seeder that shoal finds and can connect to", [
  "libtorrent",
], async () => {
  const dir = await Deno.makeTempDir();
  try {
    await makePayload(`${dir}/seed/pl`, [{ path: "a.bin", size: 1 << 20 }]);
    await libtorrentCreate(`${dir}/seed/pl`, `${dir}/t.torrent`, { pieceLength: 1 << 16 });
    const { infoHash } = await libtorrentInfo(`${dir}/t.torrent`);
    await using dht = await startLibtorrentDht({ nodes: 8 });
    const { port } = await dht.announce(infoHash, {
      torrent: `${dir}/t.torrent`,
      dir: `${dir}/seed`,
      minNodes: 3,
    });
    await using node = await DhtNode.open({ host: "127.0.0.1", bootstrap: [dht.nodes[2]] });
    const hash = Uint8Array.from(infoHash.match(/../g)!, (h) => parseInt(h, 16));
    deepStrictEqual(await collect(node.getPeers(hash)), [{ host: "127.0.0.1", port }]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close(); // the seeder listens on the announced port
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
