/**
 * The bencode codec (BEP 3): a strict decoder that reports byte offsets and keeps the raw
 * spans of dictionaries (for info hashes), an encoder, and field helpers. Pure.
 * @module
 */

export type { BencodeDict, BencodeSpan, BencodeValue } from "./types.ts";
export {
  BencodeError,
  type BencodePrefix,
  decodeBencode,
  type DecodeBencodeOptions,
  decodeBencodePrefix,
  MAX_BENCODE_DEPTH,
  MAX_LENIENT_BENCODE_DEPTH,
} from "./decode.ts";
export { type BencodeInput, encodeBencode } from "./encode.ts";
export { bencodeText, isBencodeDict, isBencodeInteger } from "./fields.ts";
