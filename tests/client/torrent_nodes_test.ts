// A trackerless torrent's BEP 5 `nodes` bring the client's DHT into the swarm's DHT.
import { ok } from "node:assert/strict";
import { Client } from "../../src/client/client.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { Swarm } from "../dht/dht_fixture.ts";

Deno.test("Client: the nodes of a trackerless torrent are pinged and join its DHT table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal-nodes-" });
  try {
    await using swarm = await Swarm.open(3);
    const torrent = encodeBencode({
      nodes: [["127.0.0.1", swarm.nodes[1].port]],
      info: { length: 100, name: "t.bin", "piece length": 16384, pieces: new Uint8Array(20) },
    });
    await using client = new Client({
      dir,
      stateDir: `${dir}/state`,
      port: 0,
      listenHost: "127.0.0.1",
      dht: true,
      // A bootstrap node that never answers (the discard port): never the public routers.
      dhtNodes: [{ host: "127.0.0.1", port: 9 }],
    });
    const before = client.stats().dht?.nodes ?? 0;
    await client.add(torrent, { paused: true });
    const deadline = Date.now() + 10_000;
    while ((client.stats().dht?.nodes ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error("the torrent's node never joined the table");
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(before === 0, "the DHT knew nobody before the torrent came");
    ok((client.stats().dht?.nodes ?? 0) >= 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
