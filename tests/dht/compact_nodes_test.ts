import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { decodeCompactNodes, encodeCompactNodes } from "../../src/dht/compact_nodes.ts";
import { canonicalHost, isUsableAddress } from "../../src/dht/dht_address.ts";
import { KrpcError } from "../../src/dht/krpc_error.ts";

Deno.test("encodeCompactNodes() and decodeCompactNodes() round-trip both families", () => {
  const v4 = [{ id: new Uint8Array(20).fill(1), host: "1.2.3.4", port: 1 }];
  const v6 = [{ id: new Uint8Array(20).fill(2), host: "2001:db8::5", port: 65535 }];
  const bytes4 = encodeCompactNodes([...v4, ...v6], 4);
  deepStrictEqual(bytes4.length, 26);
  deepStrictEqual(decodeCompactNodes(bytes4, 4), v4);
  deepStrictEqual(decodeCompactNodes(encodeCompactNodes([...v4, ...v6], 6), 6), v6);
  throws(() => decodeCompactNodes(new Uint8Array(39), 6), KrpcError);
  throws(() => encodeCompactNodes([{ ...v4[0], id: new Uint8Array(3) }], 4), RangeError);
});

Deno.test("isUsableAddress() refuses bogus addresses and loopback from a remote node", () => {
  const remote = { host: "198.51.100.1", port: 1 };
  for (
    const host of [
      "0.0.0.0",
      "0.1.2.3",
      "224.0.0.1",
      "239.1.1.1",
      "255.255.255.255",
      "::",
      "ff02::1",
      "nonsense",
    ]
  ) {
    ok(!isUsableAddress({ host, port: 6881 }, remote), host);
  }
  ok(!isUsableAddress({ host: "1.2.3.4", port: 0 }, remote));
  ok(!isUsableAddress({ host: "127.0.0.1", port: 6881 }, remote));
  ok(!isUsableAddress({ host: "::1", port: 6881 }, remote));
  ok(isUsableAddress({ host: "127.0.0.1", port: 6881 }, { host: "127.0.0.1", port: 9 }));
  ok(
    isUsableAddress({ host: "::ffff:127.0.0.1", port: 6881 }, {
      host: "::ffff:127.0.0.1",
      port: 9,
    }),
  );
  ok(isUsableAddress({ host: "2001:db8::1", port: 6881 }, remote));
  deepStrictEqual(canonicalHost("2001:DB8::1"), "2001:db8::1");
});
