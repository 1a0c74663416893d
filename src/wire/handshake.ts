import { ProtocolError } from "./protocol_error.ts";

/** Length of a BEP 3 handshake in bytes: 1 + 19 + 8 + 20 + 20. */
export const HANDSHAKE_LENGTH = 68;

const PROTOCOL = "BitTorrent protocol";
const PROTOCOL_BYTES = new TextEncoder().encode(PROTOCOL);

/** Extensions a peer announces in its handshake's reserved bytes. */
export interface HandshakeExtensions {
  /** BEP 10 extension protocol (`reserved[5] & 0x10`). */
  extended: boolean;
  /** BEP 6 fast extension (`reserved[7] & 0x04`). */
  fast: boolean;
  /** BEP 5 DHT port message (`reserved[7] & 0x01`). */
  dht: boolean;
}

/** A decoded BEP 3 handshake. */
export interface Handshake {
  /** The 20-byte info hash (a copy). */
  infoHash: Uint8Array;
  /** The 20-byte peer id (a copy). */
  peerId: Uint8Array;
  /** The 8 reserved bytes (a copy). */
  reserved: Uint8Array;
  /** The extensions the reserved bytes announce. */
  extensions: HandshakeExtensions;
}

/** What {@linkcode encodeHandshake} needs. */
export interface HandshakeInput {
  /** The 20-byte info hash. */
  infoHash: Uint8Array;
  /** The 20-byte peer id. */
  peerId: Uint8Array;
  /** The 8 reserved bytes; {@linkcode OUR_RESERVED} when omitted. */
  reserved?: Uint8Array;
}

/**
 * Builds reserved bytes announcing the given extensions.
 * @param extensions Which extensions to announce.
 * @returns 8 reserved bytes.
 * @example
 * ```ts
 * import { encodeReserved } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(encodeReserved({ extended: true, fast: false, dht: false })[5], 0x10);
 * ```
 */
export function encodeReserved(extensions: HandshakeExtensions): Uint8Array {
  const reserved = new Uint8Array(8);
  if (extensions.extended) reserved[5] |= 0x10;
  if (extensions.fast) reserved[7] |= 0x04;
  if (extensions.dht) reserved[7] |= 0x01;
  return reserved;
}

/**
 * Reads which extensions 8 reserved bytes announce (BEP 10, BEP 6, BEP 5).
 * @param reserved The 8 reserved bytes of a handshake.
 * @returns The extension flags.
 * @example
 * ```ts
 * import { decodeReserved, OUR_RESERVED } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(decodeReserved(OUR_RESERVED), { extended: true, fast: true, dht: false });
 * ```
 */
export function decodeReserved(reserved: Uint8Array): HandshakeExtensions {
  return {
    extended: (reserved[5] & 0x10) !== 0,
    fast: (reserved[7] & 0x04) !== 0,
    dht: (reserved[7] & 0x01) !== 0,
  };
}

/** The reserved bytes shoal sends: BEP 10 extension protocol and BEP 6 fast extension. */
export const OUR_RESERVED: Uint8Array = encodeReserved({ extended: true, fast: true, dht: false });

/**
 * Encodes a BEP 3 handshake: `<19>"BitTorrent protocol"<reserved 8><info hash 20><peer id 20>`.
 * @param handshake Info hash, peer id and optional reserved bytes.
 * @returns The 68 handshake bytes.
 * @throws {RangeError} If the info hash or peer id is not 20 bytes, or reserved not 8.
 * @example
 * ```ts
 * import { decodeHandshake, encodeHandshake } from "@shoal/shoal/wire";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const bytes = encodeHandshake({ infoHash: new Uint8Array(20).fill(1), peerId: new Uint8Array(20) });
 * strictEqual(bytes.length, 68);
 * deepStrictEqual(decodeHandshake(bytes)?.infoHash, new Uint8Array(20).fill(1));
 * ```
 */
export function encodeHandshake(handshake: HandshakeInput): Uint8Array {
  const { infoHash, peerId, reserved = OUR_RESERVED } = handshake;
  if (infoHash.length !== 20) {
    throw new RangeError(`Cannot encode handshake: info hash is ${infoHash.length} bytes, not 20`);
  }
  if (peerId.length !== 20) {
    throw new RangeError(`Cannot encode handshake: peer id is ${peerId.length} bytes, not 20`);
  }
  if (reserved.length !== 8) {
    throw new RangeError(`Cannot encode handshake: reserved is ${reserved.length} bytes, not 8`);
  }
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out[0] = PROTOCOL_BYTES.length;
  out.set(PROTOCOL_BYTES, 1);
  out.set(reserved, 20);
  out.set(infoHash, 28);
  out.set(peerId, 48);
  return out;
}

/**
 * Decodes a BEP 3 handshake from the front of `bytes`. The protocol string is
 * checked as soon as its bytes arrive, so a non-BitTorrent peer fails early.
 * @param bytes Received bytes (extra bytes after the 68 are ignored).
 * @returns The handshake, or `undefined` while fewer than 68 bytes are present.
 * @throws {ProtocolError} If the protocol length or string is wrong.
 * @example
 * ```ts
 * import { decodeHandshake, encodeHandshake } from "@shoal/shoal/wire";
 * import { ok, strictEqual } from "node:assert/strict";
 * const bytes = encodeHandshake({ infoHash: new Uint8Array(20), peerId: new Uint8Array(20) });
 * strictEqual(decodeHandshake(bytes.subarray(0, 67)), undefined);
 * ok(decodeHandshake(bytes)?.extensions.extended);
 * ```
 */
export function decodeHandshake(bytes: Uint8Array): Handshake | undefined {
  if (bytes.length === 0) return undefined;
  if (bytes[0] !== PROTOCOL_BYTES.length) {
    throw new ProtocolError(
      `Cannot decode handshake: protocol length ${bytes[0]}, expected ${PROTOCOL_BYTES.length}`,
    );
  }
  const end = Math.min(bytes.length, 1 + PROTOCOL_BYTES.length);
  for (let i = 1; i < end; i++) {
    if (bytes[i] !== PROTOCOL_BYTES[i - 1]) {
      throw new ProtocolError(
        `Cannot decode handshake: protocol string is not "${PROTOCOL}" at byte ${i}`,
      );
    }
  }
  if (bytes.length < HANDSHAKE_LENGTH) return undefined;
  const reserved = bytes.slice(20, 28);
  return {
    infoHash: bytes.slice(28, 48),
    peerId: bytes.slice(48, 68),
    reserved,
    extensions: decodeReserved(reserved),
  };
}
