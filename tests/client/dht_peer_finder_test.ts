import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type DhtLookups, DhtPeerFinder } from "../../src/client/dht_peer_finder.ts";
import type { PeerAddress } from "../../src/wire/peer_address.ts";

/** A DHT whose announces nobody accepts for the first `refusals` calls. */
function scriptedDht(refusals: number) {
  const announces: number[] = [];
  let wake: (() => void) | undefined;
  const dht: DhtLookups = {
    announce: (_hash, _port, options) => {
      announces.push(performance.now());
      wake?.();
      const accepted = announces.length > refusals;
      if (accepted) options?.onPeer?.({ host: "127.0.0.1", port: 7001 });
      return Promise.resolve({
        peers: accepted ? [{ host: "127.0.0.1", port: 7001 }] : [],
        nodes: accepted ? [{ host: "127.0.0.1", port: 7002 }] : [],
        queries: 1,
      } as Awaited<ReturnType<DhtLookups["announce"]>>);
    },
    // deno-lint-ignore require-yield
    getPeers: async function* () {
      return;
    },
  };
  const announced = async (count: number, limitMs: number) => {
    const deadline = performance.now() + limitMs;
    while (announces.length < count) {
      if (performance.now() > deadline) throw new Error(`only ${announces.length} announces`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  return { dht, announces, announced };
}

Deno.test("DhtPeerFinder retries an announce no node accepted, backing off, then waits the full interval", async () => {
  const { dht, announces, announced } = scriptedDht(2);
  const finder = new DhtPeerFinder(dht, () => 6881, { announceRetryMs: 100 });
  const found: PeerAddress[] = [];
  const stop = finder.track({
    infoHash: new Uint8Array(20),
    isPrivate: () => false,
    needsPeers: () => false,
    addPeer: (address) => found.push(address),
  });
  try {
    await announced(3, 3_000);
    const gaps = [announces[1] - announces[0], announces[2] - announces[1]];
    ok(gaps[0] >= 90 && gaps[0] < 1_000, `first retry after ${gaps[0]} ms`);
    ok(gaps[1] >= 190, `the second waits twice as long: ${gaps[1]} ms`);
    deepStrictEqual(found, [{ host: "127.0.0.1", port: 7001 }]);
    // Accepted: the next announce is 15 minutes away, not another retry.
    await new Promise((r) => setTimeout(r, 600));
    strictEqual(announces.length, 3);
  } finally {
    stop();
    await finder.close();
  }
});

Deno.test("DhtPeerFinder never announces a private torrent", async () => {
  const { dht, announces } = scriptedDht(0);
  const finder = new DhtPeerFinder(dht, () => 6881, { announceRetryMs: 10 });
  finder.track({
    infoHash: new Uint8Array(20),
    isPrivate: () => true,
    needsPeers: () => true,
    addPeer: () => {},
  });
  await finder.close();
  strictEqual(announces.length, 0);
});
