import { BencodeError, decodeBencode } from "../bencode/decode.ts";
import { type BencodeInput, encodeBencode } from "../bencode/encode.ts";
import { bencodeText, isBencodeDict } from "../bencode/fields.ts";
import type { BencodeValue } from "../bencode/types.ts";
import { decodeIpAddress, encodeIpAddress } from "./peer_address.ts";
import { ProtocolError } from "./protocol_error.ts";

/** The extended message id of the BEP 10 extension handshake. */
export const EXTENSION_HANDSHAKE_ID = 0;

/**
 * A BEP 10 extension handshake: the payload of extended message 0.
 * Field names are BEP 10's own.
 */
export interface ExtensionHandshake {
  /**
   * Extension name to the extended message id the sender wants to receive it on
   * (e.g. `{ ut_metadata: 3 }`); id 0 means the extension is disabled.
   */
  m: Record<string, number>;
  /** Client name and version, e.g. "shoal 0.1.0". */
  v?: string;
  /** The sender's TCP listen port. */
  p?: number;
  /** How many outstanding requests the sender accepts. */
  reqq?: number;
  /** BEP 9: size in bytes of the info dictionary. */
  metadata_size?: number;
  /** The address the sender sees us at (IPv4 or IPv6 text). */
  yourip?: string;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function intIn(value: BencodeValue | undefined, min: number, max: number): number | undefined {
  return typeof value === "number" && value >= min && value <= max ? value : undefined;
}

/**
 * Encodes a BEP 10 extension handshake payload (a bencoded dictionary).
 * @param handshake The fields to send; `undefined` fields are left out.
 * @returns The payload, to send as `{ type: "extended", id: 0, payload }`.
 * @throws {RangeError} If an id in `m` is not an integer in 0..255.
 * @throws {SyntaxError} If `yourip` is not an IP address.
 * @example
 * ```ts
 * import { decodeExtensionHandshake, encodeExtensionHandshake } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const payload = encodeExtensionHandshake({ m: { ut_metadata: 3 }, metadata_size: 31235 });
 * deepStrictEqual(decodeExtensionHandshake(payload), { m: { ut_metadata: 3 }, metadata_size: 31235 });
 * ```
 */
export function encodeExtensionHandshake(handshake: ExtensionHandshake): Uint8Array {
  const m = new Map<string, BencodeInput>();
  for (const [name, id] of Object.entries(handshake.m)) {
    if (!Number.isInteger(id) || id < 0 || id > 255) {
      throw new RangeError(
        `Cannot encode extension handshake: id ${id} of "${name}" not in 0..255`,
      );
    }
    m.set(name, id);
  }
  return encodeBencode({
    m,
    v: handshake.v,
    p: handshake.p,
    reqq: handshake.reqq,
    metadata_size: handshake.metadata_size,
    yourip: handshake.yourip === undefined ? undefined : encodeIpAddress(handshake.yourip),
  });
}

/**
 * Decodes a BEP 10 extension handshake payload. Untrusted: unknown fields and fields
 * of the wrong type or range are dropped; `m` keeps only ids that are integers in 0..255.
 * @param payload The payload of extended message 0.
 * @returns The typed fields that were present and valid.
 * @throws {ProtocolError} If the payload is not one bencoded dictionary.
 * @example
 * ```ts
 * import { decodeExtensionHandshake } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const payload = new TextEncoder().encode("d1:md3:badi999e6:ut_pexi2ee1:pi6881e1:vi1ee");
 * deepStrictEqual(decodeExtensionHandshake(payload), { m: { ut_pex: 2 }, p: 6881 });
 * ```
 */
export function decodeExtensionHandshake(payload: Uint8Array): ExtensionHandshake {
  let dict: BencodeValue;
  try {
    dict = decodeBencode(payload);
  } catch (error) {
    if (!(error instanceof BencodeError)) throw error;
    throw new ProtocolError(`Cannot decode extension handshake: ${error.message}`, {
      cause: error,
    });
  }
  if (!isBencodeDict(dict)) {
    throw new ProtocolError("Cannot decode extension handshake: payload is not a dictionary");
  }
  const m: Record<string, number> = {};
  const rawM = dict.get("m");
  if (isBencodeDict(rawM)) {
    for (const [name, id] of rawM) {
      const valid = intIn(id, 0, 255);
      if (valid !== undefined && name !== "__proto__") m[name] = valid;
    }
  }
  const out: ExtensionHandshake = { m };
  const v = dict.get("v");
  if (v instanceof Uint8Array) out.v = bencodeText(v);
  const p = intIn(dict.get("p"), 1, 65535);
  if (p !== undefined) out.p = p;
  const reqq = intIn(dict.get("reqq"), 1, MAX_SAFE);
  if (reqq !== undefined) out.reqq = reqq;
  const metadataSize = intIn(dict.get("metadata_size"), 1, MAX_SAFE);
  if (metadataSize !== undefined) out.metadata_size = metadataSize;
  const yourip = dict.get("yourip");
  if (yourip instanceof Uint8Array && (yourip.length === 4 || yourip.length === 16)) {
    out.yourip = decodeIpAddress(yourip);
  }
  return out;
}
