import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { MAX_PEERS_PER_REPLY, PEER_TTL_MS, PeerStore } from "../../src/dht/peer_store.ts";

function hash(n: number): Uint8Array {
  const out = new Uint8Array(20);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

Deno.test("PeerStore refreshes an announce instead of duplicating it, and expires after 30 minutes", () => {
  const store = new PeerStore();
  store.add(hash(1), { host: "10.0.0.1", port: 1 }, 0);
  store.add(hash(1), { host: "::ffff:10.0.0.1", port: 1 }, 10 * 60_000);
  strictEqual(store.peerCount, 1);
  deepStrictEqual(store.get(hash(1), 4, PEER_TTL_MS + 1), [{ host: "10.0.0.1", port: 1 }]);
  deepStrictEqual(store.get(hash(1), 4, 10 * 60_000 + PEER_TTL_MS), []);
  store.expire(10 * 60_000 + PEER_TTL_MS);
  strictEqual(store.peerCount, 0);
  strictEqual(store.torrentCount, 0);
});

Deno.test("PeerStore.get() returns the requested family and at most 100 peers", () => {
  const store = new PeerStore();
  for (let i = 0; i < 300; i++) {
    store.add(hash(1), { host: `10.0.${i >> 8}.${i & 0xff}`, port: 1 }, 0);
  }
  store.add(hash(1), { host: "2001:db8::1", port: 2 }, 0);
  const four = store.get(hash(1), 4, 0);
  strictEqual(four.length, MAX_PEERS_PER_REPLY);
  strictEqual(new Set(four.map((p) => p.host)).size, MAX_PEERS_PER_REPLY);
  deepStrictEqual(store.get(hash(1), 6, 0), [{ host: "2001:db8::1", port: 2 }]);
  deepStrictEqual(store.get(hash(2), 4, 0), []);
});

Deno.test("PeerStore stays within its torrent, per-torrent and total caps", () => {
  const store = new PeerStore({ maxTorrents: 10, maxPeersPerTorrent: 5, maxPeers: 30 });
  for (let t = 0; t < 50; t++) {
    for (let p = 0; p < 20; p++) store.add(hash(t), { host: "10.0.0.1", port: p + 1 }, t * 100 + p);
    ok(store.torrentCount <= 10 && store.peerCount <= 30, `after torrent ${t}`);
  }
  strictEqual(store.torrentCount <= 10, true);
  strictEqual(store.peerCount, 30);
  // The newest announces survive: the last torrent keeps its last 5 peers.
  deepStrictEqual(store.get(hash(49), 4, 5000).map((p) => p.port).sort((a, b) => a - b), [
    16,
    17,
    18,
    19,
    20,
  ]);
  deepStrictEqual(store.get(hash(0), 4, 5000), [], "the oldest torrent made room");
});
