// Fuzz target: the BEP 3 handshake decoder (src/wire/handshake.ts), a "need more" decoder.
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH } from "../../src/wire/handshake.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";
import { type FuzzTarget, invariant, invariantEqual, mustNotThrow } from "./fuzz_target.ts";

const id = (fill: number): Uint8Array => new Uint8Array(20).map((_, i) => (i * fill) & 0xff);

/** `decodeHandshake`: ProtocolError or undefined; a decoded handshake re-encodes to its bytes. */
export const handshakeTarget: FuzzTarget = {
  name: "handshake",
  description: "decodeHandshake: only ProtocolError escapes; undefined only below 68 bytes; a " +
    "decoded handshake re-encodes to the first 68 bytes; every proper prefix gives undefined",
  allowed: [ProtocolError],
  profile: "binary",
  dictionary: ["\x13BitTorrent protocol", "\x00\x00\x00\x00\x00\x10\x00\x05"],
  corpus: () => [
    encodeHandshake({ infoHash: id(7), peerId: id(3) }),
    encodeHandshake({ infoHash: id(1), peerId: id(9), reserved: new Uint8Array(8).fill(0xff) }),
    encodeHandshake({ infoHash: id(0), peerId: id(0), reserved: new Uint8Array(8) }),
  ],
  run(input) {
    const handshake = decodeHandshake(input);
    if (handshake === undefined) {
      invariant(input.length < HANDSHAKE_LENGTH, `undefined for ${input.length} bytes`);
      return "incomplete";
    }
    invariant(input.length >= HANDSHAKE_LENGTH, `decoded from ${input.length} bytes`);
    invariant(
      handshake.infoHash.length === 20 && handshake.peerId.length === 20 &&
        handshake.reserved.length === 8,
      "field lengths",
    );
    const again = mustNotThrow(
      "encodeHandshake(decoded)",
      () => encodeHandshake({ ...handshake, reserved: handshake.reserved }),
    );
    invariantEqual(again, input.slice(0, HANDSHAKE_LENGTH), "encode(decode(x))");
    for (let n = 0; n < HANDSHAKE_LENGTH; n++) {
      const part = mustNotThrow(
        `decodeHandshake(first ${n} bytes)`,
        () => decodeHandshake(input.subarray(0, n)),
      );
      invariant(part === undefined, `first ${n} bytes decoded`);
    }
    return "accepted";
  },
};
