import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { PeerFeed } from "../../src/dht/peer_feed.ts";

Deno.test("PeerFeed yields each usable peer once, waits for more, and ends when told", async () => {
  const feed = new PeerFeed();
  const remote = { host: "198.51.100.1", port: 6881 };
  const pending = feed.next();
  feed.add([{ host: "198.51.100.2", port: 1 }], remote);
  deepStrictEqual(await pending, { host: "198.51.100.2", port: 1 });
  feed.add([
    { host: "198.51.100.2", port: 1 }, // again
    { host: "::ffff:198.51.100.2", port: 1 }, // the same, mapped
    { host: "127.0.0.1", port: 2 }, // loopback from a remote node
    { host: "198.51.100.3", port: 0 },
    { host: "2001:db8::1", port: 3 },
  ], remote);
  feed.add([{ host: "127.0.0.1", port: 4 }]); // our own store: loopback is fine
  feed.end();
  feed.add([{ host: "198.51.100.9", port: 9 }], remote); // after the end: ignored
  deepStrictEqual(await feed.next(), { host: "2001:db8::1", port: 3 });
  deepStrictEqual(await feed.next(), { host: "127.0.0.1", port: 4 });
  strictEqual(await feed.next(), undefined);
  strictEqual(feed.found.length, 3);
});
