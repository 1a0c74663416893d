import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  decodeCompactPeers,
  decodeIpAddress,
  encodeCompactPeer,
  encodeCompactPeers,
  encodeIpAddress,
  formatPeerAddress,
} from "../../src/wire/peer_address.ts";

Deno.test("encodeIpAddress() and decodeIpAddress() round-trip IPv4 and IPv6", () => {
  for (const host of ["0.0.0.0", "255.255.255.255", "10.1.2.3"]) {
    strictEqual(decodeIpAddress(encodeIpAddress(host)), host);
  }
  for (const host of ["::", "::1", "2001:db8::1", "fe80::1:2", "1:2:3:4:5:6:7:8", "1::8"]) {
    strictEqual(decodeIpAddress(encodeIpAddress(host)), host);
  }
});

Deno.test("decodeIpAddress() writes RFC 5952 text", () => {
  strictEqual(decodeIpAddress(encodeIpAddress("2001:0DB8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  strictEqual(decodeIpAddress(encodeIpAddress("1:0:2:3:4:5:6:7")), "1:0:2:3:4:5:6:7");
  strictEqual(decodeIpAddress(encodeIpAddress("::ffff:1.2.3.4")), "::ffff:102:304");
  throws(() => decodeIpAddress(new Uint8Array(5)), RangeError);
});

Deno.test("encodeIpAddress() refuses what is not an IP address", () => {
  for (
    const host of [
      "example.com",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      "g::1",
      "",
    ]
  ) {
    throws(() => encodeIpAddress(host), SyntaxError, host);
  }
});

Deno.test("encodeCompactPeer() and decodeCompactPeers() round-trip both families", () => {
  const v4 = [{ host: "10.0.0.1", port: 6881 }, { host: "192.168.1.9", port: 65535 }];
  const v6 = [{ host: "2001:db8::7", port: 51413 }];
  deepStrictEqual(decodeCompactPeers(encodeCompactPeers([...v4, ...v6], 4), 4), v4);
  deepStrictEqual(decodeCompactPeers(encodeCompactPeers([...v4, ...v6], 6), 6), v6);
  strictEqual(encodeCompactPeer(v6[0]).length, 18);
  throws(() => encodeCompactPeer({ host: "10.0.0.1", port: 70000 }), RangeError);
});

Deno.test("decodeCompactPeers() skips a trailing partial entry and port 0", () => {
  const bytes = new Uint8Array([1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 1, 9, 9]);
  deepStrictEqual(decodeCompactPeers(bytes, 4), [{ host: "5.6.7.8", port: 1 }]);
});

Deno.test("formatPeerAddress() brackets IPv6", () => {
  strictEqual(formatPeerAddress({ host: "1.2.3.4", port: 1 }), "1.2.3.4:1");
  strictEqual(formatPeerAddress({ host: "::1", port: 2 }), "[::1]:2");
});
