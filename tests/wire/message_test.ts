import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  decodeMessage,
  encodedMessageLength,
  encodeMessage,
  encodeMessageInto,
  encodePieceHeader,
  MAX_FRAME_BYTES,
  type PeerMessage,
  type PeerMessageType,
} from "../../src/wire/message.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";

const SAMPLES: PeerMessage[] = [
  { type: "keep-alive" },
  { type: "choke" },
  { type: "unchoke" },
  { type: "interested" },
  { type: "not-interested" },
  { type: "have", index: 0xfffffffe },
  { type: "bitfield", bytes: new Uint8Array([0xff, 0x80]) },
  { type: "request", index: 3, begin: 16384, length: 16384 },
  { type: "piece", index: 3, begin: 32768, block: new Uint8Array([1, 2, 3, 4, 5]) },
  { type: "cancel", index: 3, begin: 16384, length: 1 },
  { type: "port", port: 6881 },
  { type: "suggest", index: 9 },
  { type: "have-all" },
  { type: "have-none" },
  { type: "reject", index: 1, begin: 0, length: 16384 },
  { type: "allowed-fast", index: 12 },
  { type: "extended", id: 0, payload: new TextEncoder().encode("d1:md6:ut_pexi1eee") },
];

function frame(length: number, id: number, body: number[] = []): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(0, length);
  out[4] = id;
  out.set(body, 5);
  return out;
}

Deno.test("decodeMessage() round-trips every message type", () => {
  const types = new Set<PeerMessageType>();
  for (const message of SAMPLES) {
    const bytes = encodeMessage(message);
    strictEqual(bytes.length, encodedMessageLength(message));
    deepStrictEqual(decodeMessage(bytes), { message, size: bytes.length });
    types.add(message.type);
  }
  strictEqual(types.size, 17);
});

Deno.test("decodeMessage() returns undefined for every proper prefix", () => {
  for (const message of SAMPLES) {
    const bytes = encodeMessage(message);
    for (let n = 0; n < bytes.length; n++) {
      strictEqual(decodeMessage(bytes.subarray(0, n)), undefined, `${message.type} prefix ${n}`);
    }
  }
});

Deno.test("decodeMessage() reads one frame from the front and reports its size", () => {
  const all = new Uint8Array(SAMPLES.reduce((n, m) => n + encodedMessageLength(m), 0));
  let end = 0;
  for (const message of SAMPLES) end = encodeMessageInto(all, end, message);
  strictEqual(end, all.length);
  let offset = 0;
  const got: PeerMessage[] = [];
  while (offset < all.length) {
    const decoded = decodeMessage(all.subarray(offset));
    ok(decoded);
    got.push(decoded.message);
    offset += decoded.size;
  }
  deepStrictEqual(got, SAMPLES);
});

Deno.test("decodeMessage() gives piece.block as a view and copies bitfield and extended", () => {
  const piece = encodeMessage({ type: "piece", index: 0, begin: 0, block: new Uint8Array([1]) });
  const decoded = decodeMessage(piece)!.message as { block: Uint8Array };
  piece[13] = 99;
  strictEqual(decoded.block[0], 99);
  const bits = encodeMessage({ type: "bitfield", bytes: new Uint8Array([1]) });
  const bitfield = decodeMessage(bits)!.message as { bytes: Uint8Array };
  bits[5] = 2;
  strictEqual(bitfield.bytes[0], 1);
});

Deno.test("decodeMessage() refuses a length over the limit as soon as the prefix arrives", () => {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
  throws(() => decodeMessage(prefix), ProtocolError);
  new DataView(prefix.buffer).setUint32(0, 100);
  throws(() => decodeMessage(prefix, { maxLength: 99 }), /over the limit of 99/);
  strictEqual(decodeMessage(prefix, { maxLength: 100 }), undefined);
});

Deno.test("decodeMessage() refuses unknown ids and wrong lengths of fixed-size messages", () => {
  throws(() => decodeMessage(frame(1, 10)), /unknown id 10/);
  throws(() => decodeMessage(frame(1, 21)), /unknown id 21/);
  throws(() => decodeMessage(frame(2, 0)), /choke: frame length 2, expected 1/);
  throws(() => decodeMessage(frame(4, 4)), /have: frame length 4, expected 5/);
  throws(() => decodeMessage(frame(1000, 4)), /have: frame length 1000/); // early, only 5 bytes
  throws(() => decodeMessage(frame(14, 6)), /request: frame length 14/);
  throws(() => decodeMessage(frame(2, 9)), /port/);
  throws(() => decodeMessage(frame(1, 20)), /no extended id/);
});

Deno.test("decodeMessage() refuses block lengths outside 1..16 KiB", () => {
  throws(() => decodeMessage(frame(9, 7)), /piece: block length 0/);
  throws(() => decodeMessage(frame(9 + 16385, 7)), /piece: block length 16385/);
  const body = (length: number): number[] => [0, 0, 0, 0, 0, 0, 0, 0, ...u32(length)];
  throws(() => decodeMessage(frame(13, 6, body(0))), /request: block length 0/);
  throws(() => decodeMessage(frame(13, 6, body(16385))), /request: block length 16385/);
  throws(() => decodeMessage(frame(13, 8, body(0))), /cancel/);
  throws(() => decodeMessage(frame(13, 16, body(1 << 20))), /reject/);
});

function u32(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

Deno.test("decodeMessage() throws nothing but ProtocolError for random mutations", () => {
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let errors = 0, decoded = 0;
  for (let round = 0; round < 20000; round++) {
    const base = encodeMessage(SAMPLES[random(SAMPLES.length)]);
    const bytes = new Uint8Array(base.length + random(4));
    bytes.set(base);
    for (let k = random(4); k >= 0; k--) bytes[random(bytes.length)] = random(256);
    const cut = bytes.subarray(0, random(bytes.length + 1));
    try {
      if (decodeMessage(cut, { maxLength: 1 << 16 })) decoded++;
    } catch (error) {
      ok(error instanceof ProtocolError, String(error));
      errors++;
    }
  }
  ok(errors > 100 && decoded > 100, `errors ${errors}, decoded ${decoded}`);
});

Deno.test("encodeMessageInto() refuses a buffer too small and bad field values", () => {
  throws(() => encodeMessageInto(new Uint8Array(8), 0, { type: "have", index: 1 }), RangeError);
  throws(() => encodeMessageInto(new Uint8Array(9), 1, { type: "have", index: 1 }), RangeError);
  throws(() => encodeMessage({ type: "have", index: -1 }), RangeError);
  throws(() => encodeMessage({ type: "have", index: 2 ** 32 }), RangeError);
  throws(() => encodeMessage({ type: "port", port: 65536 }), RangeError);
  throws(() => encodeMessage({ type: "extended", id: 256, payload: new Uint8Array() }), RangeError);
});

Deno.test("encodePieceHeader() plus the block equals the encoded piece message", () => {
  const block = new Uint8Array(16384).map((_, i) => i * 7);
  const whole = encodeMessage({ type: "piece", index: 5, begin: 16384, block });
  const header = encodePieceHeader(5, 16384, block.length);
  strictEqual(header.length, 13);
  deepStrictEqual(whole.subarray(0, 13), header);
  deepStrictEqual(whole.subarray(13), block);
});
