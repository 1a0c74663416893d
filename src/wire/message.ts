import { BLOCK_SIZE } from "../metainfo/geometry.ts";
import { ProtocolError } from "./protocol_error.ts";

/**
 * The largest frame body (the value of the 4-byte length prefix) {@linkcode decodeMessage}
 * accepts by default: 1 MiB + 5, room for a bitfield of 8 Mi pieces.
 */
export const MAX_FRAME_BYTES: number = 1024 * 1024 + 5;

/** Length of the header {@linkcode encodePieceHeader} makes: 4 length + 1 id + 4 index + 4 begin. */
export const PIECE_HEADER_BYTES = 13;

/**
 * One peer wire message: BEP 3 core messages, BEP 5 `port`, BEP 6 fast-extension
 * messages and BEP 10 `extended`. Discriminated on `type`.
 */
export type PeerMessage =
  | { type: "keep-alive" }
  | { type: "choke" }
  | { type: "unchoke" }
  | { type: "interested" }
  | { type: "not-interested" }
  | { type: "have"; index: number }
  | { type: "bitfield"; bytes: Uint8Array }
  | { type: "request"; index: number; begin: number; length: number }
  | { type: "piece"; index: number; begin: number; block: Uint8Array }
  | { type: "cancel"; index: number; begin: number; length: number }
  | { type: "port"; port: number }
  | { type: "suggest"; index: number }
  | { type: "have-all" }
  | { type: "have-none" }
  | { type: "reject"; index: number; begin: number; length: number }
  | { type: "allowed-fast"; index: number }
  | { type: "extended"; id: number; payload: Uint8Array };

/** The `type` strings of {@linkcode PeerMessage}. */
export type PeerMessageType = PeerMessage["type"];

/** Options for {@linkcode decodeMessage}. */
export interface DecodeMessageOptions {
  /** Largest accepted length-prefix value; {@linkcode MAX_FRAME_BYTES} by default. */
  maxLength?: number;
}

/** One message decoded from the front of some bytes. */
export interface DecodedMessage {
  /** The message. */
  message: PeerMessage;
  /** How many bytes the frame used, length prefix included. */
  size: number;
}

const ID = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  "not-interested": 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  "have-all": 0x0e,
  "have-none": 0x0f,
  reject: 0x10,
  "allowed-fast": 0x11,
  extended: 20,
} as const;

/** Body length (id byte included) of every fixed-size message, by id. */
const FIXED_LENGTH: (number | undefined)[] = [];
FIXED_LENGTH[ID.choke] = 1;
FIXED_LENGTH[ID.unchoke] = 1;
FIXED_LENGTH[ID.interested] = 1;
FIXED_LENGTH[ID["not-interested"]] = 1;
FIXED_LENGTH[ID.have] = 5;
FIXED_LENGTH[ID.request] = 13;
FIXED_LENGTH[ID.cancel] = 13;
FIXED_LENGTH[ID.port] = 3;
FIXED_LENGTH[ID.suggest] = 5;
FIXED_LENGTH[ID["have-all"]] = 1;
FIXED_LENGTH[ID["have-none"]] = 1;
FIXED_LENGTH[ID.reject] = 13;
FIXED_LENGTH[ID["allowed-fast"]] = 5;

const NAMES: string[] = [];
for (const [name, id] of Object.entries(ID)) NAMES[id] = name;

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Cannot encode message: ${value} is not a 32-bit unsigned integer`);
  }
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

function checkRequestLength(name: string, length: number): void {
  if (length === 0 || length > BLOCK_SIZE) {
    throw new ProtocolError(
      `Cannot decode ${name}: block length ${length} is outside 1..${BLOCK_SIZE}`,
    );
  }
}

/**
 * Decodes one length-prefixed peer message from the front of `bytes` (BEP 3, 5, 6, 10).
 * The frame length is checked against the message id as soon as 5 bytes are present.
 * `piece.block` is a view into `bytes` (no copy): it is valid only until the caller
 * reuses that buffer; `bitfield.bytes` and `extended.payload` are copies.
 * @param bytes Received bytes; anything after the first frame is left alone.
 * @param options `maxLength`, the largest accepted length prefix.
 * @returns The message and the bytes it used, or `undefined` while incomplete.
 * @throws {ProtocolError} For an oversized frame, an unknown id, a wrong length for a
 *   fixed-size message, or a block length outside 1..16 KiB in piece/request/cancel/reject.
 * @example
 * ```ts
 * import { decodeMessage } from "@shoal/shoal/wire";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const have = new Uint8Array([0, 0, 0, 5, 4, 0, 0, 0, 7]);
 * deepStrictEqual(decodeMessage(have), { message: { type: "have", index: 7 }, size: 9 });
 * strictEqual(decodeMessage(have.subarray(0, 8)), undefined);
 * ```
 */
export function decodeMessage(
  bytes: Uint8Array,
  options: DecodeMessageOptions = {},
): DecodedMessage | undefined {
  if (bytes.length < 4) return undefined;
  const length = readU32(bytes, 0);
  const maxLength = options.maxLength ?? MAX_FRAME_BYTES;
  if (length > maxLength) {
    throw new ProtocolError(
      `Cannot decode message: frame length ${length} is over the limit of ${maxLength}`,
    );
  }
  if (length === 0) return { message: { type: "keep-alive" }, size: 4 };
  if (bytes.length < 5) return undefined;
  const id = bytes[4];
  const name = NAMES[id];
  if (name === undefined) throw new ProtocolError(`Cannot decode message: unknown id ${id}`);
  const fixed = FIXED_LENGTH[id];
  if (fixed !== undefined && length !== fixed) {
    throw new ProtocolError(
      `Cannot decode ${name}: frame length ${length}, expected ${fixed}`,
    );
  }
  if (id === ID.piece && (length < 10 || length > 9 + BLOCK_SIZE)) {
    throw new ProtocolError(
      `Cannot decode piece: block length ${length - 9} is outside 1..${BLOCK_SIZE}`,
    );
  }
  if (id === ID.extended && length < 2) {
    throw new ProtocolError(`Cannot decode extended: frame length ${length} has no extended id`);
  }
  const size = 4 + length;
  if (bytes.length < size) return undefined;
  let message: PeerMessage;
  switch (id) {
    case ID.choke:
      message = { type: "choke" };
      break;
    case ID.unchoke:
      message = { type: "unchoke" };
      break;
    case ID.interested:
      message = { type: "interested" };
      break;
    case ID["not-interested"]:
      message = { type: "not-interested" };
      break;
    case ID.have:
      message = { type: "have", index: readU32(bytes, 5) };
      break;
    case ID.bitfield:
      message = { type: "bitfield", bytes: bytes.slice(5, size) };
      break;
    case ID.request:
    case ID.cancel:
    case ID.reject: {
      const blockLength = readU32(bytes, 13);
      checkRequestLength(name, blockLength);
      message = {
        type: name as "request" | "cancel" | "reject",
        index: readU32(bytes, 5),
        begin: readU32(bytes, 9),
        length: blockLength,
      };
      break;
    }
    case ID.piece:
      message = {
        type: "piece",
        index: readU32(bytes, 5),
        begin: readU32(bytes, 9),
        block: bytes.subarray(13, size),
      };
      break;
    case ID.port:
      message = { type: "port", port: (bytes[5] << 8) | bytes[6] };
      break;
    case ID.suggest:
      message = { type: "suggest", index: readU32(bytes, 5) };
      break;
    case ID["have-all"]:
      message = { type: "have-all" };
      break;
    case ID["have-none"]:
      message = { type: "have-none" };
      break;
    case ID["allowed-fast"]:
      message = { type: "allowed-fast", index: readU32(bytes, 5) };
      break;
    default: // ID.extended, the only id left
      message = { type: "extended", id: bytes[5], payload: bytes.slice(6, size) };
  }
  return { message, size };
}

/**
 * Tells how many bytes {@linkcode encodeMessage} makes for `message`, length prefix included.
 * @param message The message.
 * @returns Its encoded size.
 * @example
 * ```ts
 * import { encodedMessageLength } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(encodedMessageLength({ type: "have", index: 1 }), 9);
 * ```
 */
export function encodedMessageLength(message: PeerMessage): number {
  switch (message.type) {
    case "keep-alive":
      return 4;
    case "bitfield":
      return 5 + message.bytes.length;
    case "piece":
      return PIECE_HEADER_BYTES + message.block.length;
    case "extended":
      return 6 + message.payload.length;
    default:
      return 4 + FIXED_LENGTH[ID[message.type]]!;
  }
}

/**
 * Encodes `message` into `buffer` at `offset`, for batching several messages into one write.
 * @param buffer Destination; must have room for {@linkcode encodedMessageLength} bytes.
 * @param offset Where to start writing.
 * @param message The message.
 * @returns The offset just past the written frame.
 * @throws {RangeError} If the buffer is too small or a field is out of range.
 * @example
 * ```ts
 * import { decodeMessage, encodeMessageInto } from "@shoal/shoal/wire";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const buffer = new Uint8Array(64);
 * let end = encodeMessageInto(buffer, 0, { type: "interested" });
 * end = encodeMessageInto(buffer, end, { type: "have", index: 3 });
 * strictEqual(end, 14);
 * deepStrictEqual(decodeMessage(buffer.subarray(5, end))?.message, { type: "have", index: 3 });
 * ```
 */
export function encodeMessageInto(
  buffer: Uint8Array,
  offset: number,
  message: PeerMessage,
): number {
  const size = encodedMessageLength(message);
  if (offset < 0 || offset + size > buffer.length) {
    throw new RangeError(
      `Cannot encode ${message.type}: needs ${size} bytes at offset ${offset} of ${buffer.length}`,
    );
  }
  writeU32(buffer, offset, size - 4);
  if (message.type === "keep-alive") return offset + 4;
  buffer[offset + 4] = ID[message.type];
  const at = offset + 5;
  switch (message.type) {
    case "have":
    case "suggest":
    case "allowed-fast":
      writeU32(buffer, at, message.index);
      break;
    case "bitfield":
      buffer.set(message.bytes, at);
      break;
    case "request":
    case "cancel":
    case "reject":
      writeU32(buffer, at, message.index);
      writeU32(buffer, at + 4, message.begin);
      writeU32(buffer, at + 8, message.length);
      break;
    case "piece":
      writeU32(buffer, at, message.index);
      writeU32(buffer, at + 4, message.begin);
      buffer.set(message.block, at + 8);
      break;
    case "port":
      if (!Number.isInteger(message.port) || message.port < 0 || message.port > 65535) {
        throw new RangeError(`Cannot encode port: ${message.port} is out of range 0..65535`);
      }
      buffer[at] = message.port >> 8;
      buffer[at + 1] = message.port & 0xff;
      break;
    case "extended":
      if (!Number.isInteger(message.id) || message.id < 0 || message.id > 255) {
        throw new RangeError(`Cannot encode extended: id ${message.id} is out of range 0..255`);
      }
      buffer[at] = message.id;
      buffer.set(message.payload, at + 1);
      break;
  }
  return offset + size;
}

/**
 * Encodes one peer wire message with its 4-byte length prefix (BEP 3).
 * @param message The message.
 * @returns The frame bytes.
 * @throws {RangeError} If a field is out of range.
 * @example
 * ```ts
 * import { encodeMessage } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(encodeMessage({ type: "have", index: 7 }), new Uint8Array([0, 0, 0, 5, 4, 0, 0, 0, 7]));
 * ```
 */
export function encodeMessage(message: PeerMessage): Uint8Array {
  const out = new Uint8Array(encodedMessageLength(message));
  encodeMessageInto(out, 0, message);
  return out;
}

/**
 * Encodes the 13-byte header of a `piece` message whose block follows separately,
 * so a block read from disk can be sent without copying it into a frame.
 * @param index Piece index.
 * @param begin Byte offset of the block in the piece.
 * @param length Block length in bytes.
 * @returns The 13 header bytes.
 * @throws {RangeError} If a field is not a 32-bit unsigned integer.
 * @example
 * ```ts
 * import { decodeMessage, encodePieceHeader } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const frame = new Uint8Array(15);
 * frame.set(encodePieceHeader(1, 0, 2));
 * frame.set([8, 9], 13);
 * deepStrictEqual(decodeMessage(frame)?.message, {
 *   type: "piece", index: 1, begin: 0, block: new Uint8Array([8, 9]),
 * });
 * ```
 */
export function encodePieceHeader(index: number, begin: number, length: number): Uint8Array {
  const out = new Uint8Array(PIECE_HEADER_BYTES);
  writeU32(out, 0, 9 + length);
  out[4] = ID.piece;
  writeU32(out, 5, index);
  writeU32(out, 9, begin);
  return out;
}
