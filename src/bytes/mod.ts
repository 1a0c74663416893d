/**
 * Byte helpers: `Bitfield` (BEP 3 piece bitfields), hex, and small byte utilities. Pure.
 * @module
 */

export { binaryToBytes, bytesToBinary, concatBytes, equalBytes, utf8 } from "./bytes.ts";
export { decodeHex, encodeHex } from "./hex.ts";
export { Bitfield } from "./bitfield.ts";
