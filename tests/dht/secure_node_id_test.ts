import { ok, strictEqual } from "node:assert/strict";
import { decodeHex, encodeHex } from "../../src/bytes/hex.ts";
import { crc32c } from "../../src/dht/crc32c.ts";
import { isLocalAddress, isSecureNodeId, secureNodeId } from "../../src/dht/secure_node_id.ts";

// BEP 42's test vectors: IP, rand (decimal), example node id.
const VECTORS: [string, number, string][] = [
  ["124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"],
  ["21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"],
  ["65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616"],
  ["84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41"],
  ["43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"],
];

Deno.test("crc32c() matches the standard check value and known vectors", () => {
  strictEqual(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  strictEqual(crc32c(new Uint8Array(0)), 0);
  strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
});

Deno.test("secureNodeId() reproduces the five BEP 42 test vectors", () => {
  for (const [ip, rand, expected] of VECTORS) {
    const example = decodeHex(expected);
    // Same random bytes as the example id: the whole id must come out identical.
    const random = example.slice();
    random[19] = rand;
    strictEqual(encodeHex(secureNodeId(ip, random)), expected, ip);
    // With other random bytes, the 21-bit prefix and the last byte still match.
    const other = crypto.getRandomValues(new Uint8Array(20));
    other[19] = rand;
    const id = secureNodeId(ip, other);
    strictEqual(id[0], example[0], ip);
    strictEqual(id[1], example[1], ip);
    strictEqual(id[2] & 0xf8, example[2] & 0xf8, ip);
    strictEqual(id[19], rand, ip);
  }
});

Deno.test("isSecureNodeId() accepts the vectors and refuses them for another address", () => {
  for (const [ip, , hex] of VECTORS) {
    ok(isSecureNodeId(decodeHex(hex), ip), ip);
    ok(!isSecureNodeId(decodeHex(hex), "8.8.8.8"), ip);
  }
  const id = decodeHex(VECTORS[0][2]);
  id[2] ^= 0x08; // bit 21 of the prefix
  ok(!isSecureNodeId(id, VECTORS[0][0]));
  ok(!isSecureNodeId(new Uint8Array(19), VECTORS[0][0]));
});

Deno.test("secureNodeId() works for IPv6 and checks against its own output", () => {
  for (let r = 0; r < 8; r++) {
    const random = crypto.getRandomValues(new Uint8Array(20));
    random[19] = r;
    const id = secureNodeId("2001:db8::1234", random);
    ok(isSecureNodeId(id, "2001:db8::1234"), `r=${r}`);
    ok(isSecureNodeId(id, "2001:db8::ffff"), `r=${r}: only the first 64 bits count`);
    ok(!isSecureNodeId(id, "2001:db9::1234"), `r=${r}: another prefix`);
  }
});

Deno.test("isLocalAddress() exempts loopback, private and link-local addresses", () => {
  for (
    const host of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.9.9",
      "192.168.0.1",
      "169.254.1.1",
      "::1",
      "fd00::2",
      "fe80::1",
    ]
  ) {
    ok(isLocalAddress(host), host);
  }
  for (const host of ["124.31.75.21", "172.32.0.1", "8.8.8.8", "2001:db8::1"]) {
    ok(!isLocalAddress(host), host);
  }
});
