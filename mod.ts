/**
 * shoal: a BitTorrent client and library for Deno.
 *
 * @example
 * ```ts
 * import { decodeBencode } from "@shoal/shoal";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(decodeBencode(new TextEncoder().encode("i3e")), 3);
 * ```
 * @module
 */

export { binaryToBytes, bytesToBinary, concatBytes, equalBytes, utf8 } from "./src/bytes/bytes.ts";
export { decodeHex, encodeHex } from "./src/bytes/hex.ts";
export { Bitfield } from "./src/bytes/bitfield.ts";
export { Sha1, sha1 } from "./src/sha1/sha1.ts";
export type { BencodeDict, BencodeSpan, BencodeValue } from "./src/bencode/types.ts";
export {
  BencodeError,
  type BencodePrefix,
  decodeBencode,
  type DecodeBencodeOptions,
  decodeBencodePrefix,
  MAX_BENCODE_DEPTH,
} from "./src/bencode/decode.ts";
export { type BencodeInput, encodeBencode } from "./src/bencode/encode.ts";
export { bencodeText, isBencodeDict, isBencodeInteger } from "./src/bencode/fields.ts";
export type { Metainfo, TorrentFile, TorrentInfo } from "./src/metainfo/types.ts";
export {
  BLOCK_SIZE,
  blockCount,
  blockSize,
  expectedPieceCount,
  type FileSpan,
  fileSpans,
  type PieceGeometry,
  pieceSize,
} from "./src/metainfo/geometry.ts";

// Sections below are appended by each part of the project (one `export` block per module).
