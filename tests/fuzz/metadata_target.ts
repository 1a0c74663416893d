// Fuzz target: BEP 9 ut_metadata messages (src/wire/metadata.ts).
import {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  type MetadataMessage,
} from "../../src/wire/metadata.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";
import { type FuzzTarget, invariant, invariantEqual, mustNotThrow } from "./fuzz_target.ts";

const SEEDS: readonly MetadataMessage[] = [
  { type: "request", piece: 0 },
  { type: "reject", piece: 5 },
  { type: "data", piece: 0, totalSize: 100, data: new Uint8Array(100).fill(1) },
  { type: "data", piece: 1, totalSize: METADATA_PIECE_SIZE + 3, data: new Uint8Array(3) },
  {
    type: "data",
    piece: 0,
    totalSize: METADATA_PIECE_SIZE * 2,
    data: new Uint8Array(METADATA_PIECE_SIZE).fill(0x64),
  },
];

/** `decodeMetadataMessage`: piece and data length agree with total_size; round trips. */
export const metadataTarget: FuzzTarget = {
  name: "metadata",
  description: "decodeMetadataMessage: only ProtocolError escapes; piece is a non-negative " +
    "safe integer; data holds exactly the piece's share of total_size; decode(encode(m)) = m",
  allowed: [ProtocolError],
  profile: "bencode",
  dictionary: ["8:msg_type", "5:piece", "10:total_size", "i0e", "i1e", "i2e", "i16384e"],
  corpus: () => SEEDS.map(encodeMetadataMessage),
  run(input) {
    const m = decodeMetadataMessage(input);
    invariant(Number.isSafeInteger(m.piece) && m.piece >= 0, `piece ${m.piece}`);
    if (m.type === "data") {
      invariant(Number.isSafeInteger(m.totalSize) && m.totalSize > 0, `total ${m.totalSize}`);
      const start = m.piece * METADATA_PIECE_SIZE;
      invariant(start < m.totalSize, `piece ${m.piece} starts past total_size`);
      invariant(
        m.data.length === Math.min(METADATA_PIECE_SIZE, m.totalSize - start),
        () => `piece ${m.piece} of ${m.totalSize} has ${m.data.length} bytes`,
      );
    }
    if (m.type === "unknown") return "accepted"; // an unknown msg_type is ignored, never re-encoded
    const again = mustNotThrow("encodeMetadataMessage(decoded)", () => encodeMetadataMessage(m));
    invariantEqual(
      mustNotThrow("decodeMetadataMessage(re-encoded)", () => decodeMetadataMessage(again)),
      m,
      "decode(encode(decode(x)))",
    );
    return "accepted";
  },
};
