import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  decodeHandshake,
  decodeReserved,
  encodeHandshake,
  encodeReserved,
  HANDSHAKE_LENGTH,
  OUR_RESERVED,
} from "../../src/wire/handshake.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";

const infoHash = new Uint8Array(20).map((_, i) => i + 1);
const peerId = new TextEncoder().encode("-SH0100-abcdefghijkl");

Deno.test("encodeHandshake() lays out the BEP 3 handshake", () => {
  const bytes = encodeHandshake({ infoHash, peerId });
  strictEqual(bytes.length, HANDSHAKE_LENGTH);
  strictEqual(bytes[0], 19);
  strictEqual(new TextDecoder().decode(bytes.subarray(1, 20)), "BitTorrent protocol");
  deepStrictEqual(bytes.subarray(20, 28), OUR_RESERVED);
  deepStrictEqual(bytes.subarray(28, 48), infoHash);
  deepStrictEqual(bytes.subarray(48), peerId);
});

Deno.test("decodeHandshake() round-trips and reads the extension bits", () => {
  const reserved = encodeReserved({ extended: false, fast: true, dht: true });
  deepStrictEqual(reserved, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 5]));
  const decoded = decodeHandshake(encodeHandshake({ infoHash, peerId, reserved }));
  deepStrictEqual(decoded, {
    infoHash,
    peerId,
    reserved,
    extensions: { extended: false, fast: true, dht: true },
  });
  deepStrictEqual(decodeReserved(OUR_RESERVED), { extended: true, fast: true, dht: false });
});

Deno.test("decodeHandshake() returns undefined for every proper prefix", () => {
  const bytes = encodeHandshake({ infoHash, peerId });
  for (let n = 0; n < bytes.length; n++) {
    strictEqual(decodeHandshake(bytes.subarray(0, n)), undefined);
  }
});

Deno.test("decodeHandshake() ignores bytes after the handshake", () => {
  const bytes = new Uint8Array(80);
  bytes.set(encodeHandshake({ infoHash, peerId }));
  deepStrictEqual(decodeHandshake(bytes)?.peerId, peerId);
});

Deno.test("decodeHandshake() refuses a wrong protocol string early", () => {
  throws(() => decodeHandshake(new Uint8Array([18])), ProtocolError);
  const bytes = encodeHandshake({ infoHash, peerId });
  bytes[5] = 0x78;
  throws(() => decodeHandshake(bytes.subarray(0, 6)), /protocol string .* at byte 5/);
  throws(() => decodeHandshake(new TextEncoder().encode("GET / HTTP/1.1\r\n")), ProtocolError);
});

Deno.test("encodeHandshake() refuses wrong-sized fields", () => {
  throws(() => encodeHandshake({ infoHash: new Uint8Array(19), peerId }), RangeError);
  throws(() => encodeHandshake({ infoHash, peerId: new Uint8Array(21) }), RangeError);
  throws(() => encodeHandshake({ infoHash, peerId, reserved: new Uint8Array(7) }), RangeError);
});
