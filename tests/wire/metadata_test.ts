import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { encodeBencode } from "../../src/bencode/encode.ts";
import {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  type MetadataMessage,
} from "../../src/wire/metadata.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";

Deno.test("decodeMetadataMessage() round-trips request, data and reject", () => {
  const full = new Uint8Array(METADATA_PIECE_SIZE).fill(7);
  const messages: MetadataMessage[] = [
    { type: "request", piece: 2 },
    { type: "reject", piece: 0 },
    { type: "data", piece: 0, totalSize: 20000, data: full },
    { type: "data", piece: 1, totalSize: 20000, data: new Uint8Array(20000 - 16384).fill(1) },
  ];
  for (const message of messages) {
    deepStrictEqual(decodeMetadataMessage(encodeMetadataMessage(message)), message);
  }
});

Deno.test("decodeMetadataMessage() takes the raw bytes after the dictionary as data", () => {
  const dict = new TextEncoder().encode("d8:msg_typei1e5:piecei0e10:total_sizei3ee");
  const payload = new Uint8Array([...dict, 0x64, 0x65, 0x66]);
  const message = decodeMetadataMessage(payload);
  strictEqual(message.type, "data");
  deepStrictEqual((message as { data: Uint8Array }).data, new Uint8Array([0x64, 0x65, 0x66]));
});

Deno.test("decodeMetadataMessage() refuses bad fields with ProtocolError", () => {
  const bad = [
    encodeBencode({ msg_type: "x", piece: 0 }),
    encodeBencode({ msg_type: 0 }),
    encodeBencode({ msg_type: 0, piece: -1 }),
    encodeBencode({ msg_type: 1, piece: 0 }),
    encodeBencode({ msg_type: 1, piece: 1, total_size: 16384 }),
    encodeBencode({ msg_type: 1, piece: 0, total_size: 10 }), // no data
    new Uint8Array([...encodeBencode({ msg_type: 1, piece: 0, total_size: 1 }), 1, 2]),
    encodeBencode([0]),
    new TextEncoder().encode("d8:msg_type"),
  ];
  for (const payload of bad) throws(() => decodeMetadataMessage(payload), ProtocolError);
});

Deno.test("decodeMetadataMessage() returns an unknown msg_type as such, to be ignored (BEP 9)", () => {
  deepStrictEqual(decodeMetadataMessage(encodeBencode({ msg_type: 5, piece: 3 })), {
    type: "unknown",
    msgType: 5,
    piece: 3,
  });
});

Deno.test("decodeMetadataMessage() throws nothing but ProtocolError for mutations", () => {
  const base = encodeMetadataMessage({
    type: "data",
    piece: 0,
    totalSize: 4,
    data: new Uint8Array(4),
  });
  let seed = 99;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 5000; round++) {
    const bytes = base.slice(0, random(base.length + 1));
    for (let k = random(3); k >= 0 && bytes.length; k--) bytes[random(bytes.length)] = random(256);
    try {
      decodeMetadataMessage(bytes);
    } catch (error) {
      ok(error instanceof ProtocolError, String(error));
    }
  }
});
