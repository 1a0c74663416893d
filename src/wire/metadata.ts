import { BencodeError, decodeBencodePrefix } from "../bencode/decode.ts";
import { encodeBencode } from "../bencode/encode.ts";
import { isBencodeDict } from "../bencode/fields.ts";
import type { BencodeValue } from "../bencode/types.ts";
import { ProtocolError } from "./protocol_error.ts";

/** BEP 9: the info dictionary is exchanged in pieces of 16 KiB (the last may be shorter). */
export const METADATA_PIECE_SIZE = 16384;

/** A BEP 9 `ut_metadata` message. */
export type MetadataMessage =
  | { type: "request"; piece: number }
  | {
    type: "data";
    piece: number;
    /** Size of the whole info dictionary in bytes. */
    totalSize: number;
    /** This piece's bytes. */
    data: Uint8Array;
  }
  | { type: "reject"; piece: number }
  /** A `msg_type` this codec does not know: BEP 9 says to ignore it. Never encoded. */
  | { type: "unknown"; msgType: number; piece: number };

const MSG_TYPE = { request: 0, data: 1, reject: 2 } as const;

/**
 * Encodes a BEP 9 `ut_metadata` message payload: a bencoded dictionary, followed by
 * the raw piece bytes for `data`.
 * @param message The message.
 * @returns The payload, to send as `{ type: "extended", id: theirUtMetadataId, payload }`.
 * @example
 * ```ts
 * import { encodeMetadataMessage } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * const payload = encodeMetadataMessage({ type: "request", piece: 0 });
 * strictEqual(new TextDecoder().decode(payload), "d8:msg_typei0e5:piecei0ee");
 * ```
 */
export function encodeMetadataMessage(message: MetadataMessage): Uint8Array {
  if (message.type === "unknown") {
    throw new RangeError(`Cannot encode a metadata message of unknown msg_type ${message.msgType}`);
  }
  if (message.type !== "data") {
    return encodeBencode({ msg_type: MSG_TYPE[message.type], piece: message.piece });
  }
  const dict = encodeBencode({
    msg_type: MSG_TYPE.data,
    piece: message.piece,
    total_size: message.totalSize,
  });
  const out = new Uint8Array(dict.length + message.data.length);
  out.set(dict);
  out.set(message.data, dict.length);
  return out;
}

function isIndex(value: BencodeValue | undefined): value is number {
  return typeof value === "number" && value >= 0;
}

/**
 * Decodes a BEP 9 `ut_metadata` message payload. For `data`, the piece bytes are a view
 * into `payload`, and their length is checked against `total_size`.
 * @param payload The extended message payload.
 * @returns The message (`unknown` for an integer `msg_type` other than 0, 1 and 2, which BEP 9
 *   says to ignore).
 * @throws {ProtocolError} If the dictionary is malformed, `msg_type` is not an integer, a field
 *   is missing or out of range, or a data piece has the wrong length.
 * @example
 * ```ts
 * import { decodeMetadataMessage, encodeMetadataMessage } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const message = { type: "data", piece: 0, totalSize: 3, data: new Uint8Array([1, 2, 3]) } as const;
 * deepStrictEqual(decodeMetadataMessage(encodeMetadataMessage(message)), message);
 * ```
 */
export function decodeMetadataMessage(payload: Uint8Array): MetadataMessage {
  let value: BencodeValue, end: number;
  try {
    ({ value, end } = decodeBencodePrefix(payload, 0));
  } catch (error) {
    if (!(error instanceof BencodeError)) throw error;
    throw new ProtocolError(`Cannot decode metadata message: ${error.message}`, { cause: error });
  }
  if (!isBencodeDict(value)) {
    throw new ProtocolError("Cannot decode metadata message: payload is not a dictionary");
  }
  const msgType = value.get("msg_type");
  const piece = value.get("piece");
  if (!isIndex(piece)) {
    throw new ProtocolError("Cannot decode metadata message: missing or bad piece");
  }
  if (msgType === MSG_TYPE.request) return { type: "request", piece };
  if (msgType === MSG_TYPE.reject) return { type: "reject", piece };
  if (typeof msgType !== "number") {
    throw new ProtocolError(`Cannot decode metadata message: msg_type is not an integer`);
  }
  if (msgType !== MSG_TYPE.data) return { type: "unknown", msgType, piece };
  const totalSize = value.get("total_size");
  if (typeof totalSize !== "number" || totalSize <= 0) {
    throw new ProtocolError("Cannot decode metadata data: missing or bad total_size");
  }
  const start = piece * METADATA_PIECE_SIZE;
  if (start >= totalSize) {
    throw new ProtocolError(
      `Cannot decode metadata data: piece ${piece} is past total_size ${totalSize}`,
    );
  }
  const expected = Math.min(METADATA_PIECE_SIZE, totalSize - start);
  const data = payload.subarray(end);
  if (data.length !== expected) {
    throw new ProtocolError(
      `Cannot decode metadata data: piece ${piece} has ${data.length} bytes, expected ${expected}`,
    );
  }
  return { type: "data", piece, totalSize, data };
}
