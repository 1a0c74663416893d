import { BencodeError, decodeBencode } from "../bencode/decode.ts";
import { encodeBencode } from "../bencode/encode.ts";
import { isBencodeDict } from "../bencode/fields.ts";
import type { BencodeValue } from "../bencode/types.ts";
import { decodeIpAddress, encodeCompactPeers, type PeerAddress } from "./peer_address.ts";
import { ProtocolError } from "./protocol_error.ts";

/** BEP 11 `added.f` flag: the peer prefers encryption. */
export const PEX_FLAG_ENCRYPTION = 0x01;
/** BEP 11 `added.f` flag: the peer is a seed or upload-only. */
export const PEX_FLAG_SEED = 0x02;
/** BEP 11 `added.f` flag: the peer supports uTP. */
export const PEX_FLAG_UTP = 0x04;
/** BEP 11 `added.f` flag: the peer supports ut_holepunch. */
export const PEX_FLAG_HOLEPUNCH = 0x08;
/** BEP 11 `added.f` flag: the peer is reachable (outgoing connection seen). */
export const PEX_FLAG_REACHABLE = 0x10;

/** A BEP 11 `ut_pex` message. `addedFlags[i]` belongs to `added[i]` (0 when not sent). */
export interface PexMessage {
  /** IPv4 peers that joined. */
  added: PeerAddress[];
  /** Flags of `added`, same length. */
  addedFlags: number[];
  /** IPv6 peers that joined. */
  added6: PeerAddress[];
  /** Flags of `added6`, same length. */
  added6Flags: number[];
  /** IPv4 peers that left. */
  dropped: PeerAddress[];
  /** IPv6 peers that left. */
  dropped6: PeerAddress[];
}

function decodeEntries(
  raw: BencodeValue | undefined,
  rawFlags: BencodeValue | undefined,
  family: 4 | 6,
): { peers: PeerAddress[]; flags: number[] } {
  const peers: PeerAddress[] = [];
  const flags: number[] = [];
  if (!(raw instanceof Uint8Array)) return { peers, flags };
  const flagBytes = rawFlags instanceof Uint8Array ? rawFlags : new Uint8Array(0);
  const ipLength = family === 4 ? 4 : 16;
  const size = ipLength + 2;
  for (let i = 0, n = 0; i + size <= raw.length; i += size, n++) {
    const port = (raw[i + ipLength] << 8) | raw[i + ipLength + 1];
    if (port === 0) continue;
    peers.push({ host: decodeIpAddress(raw.subarray(i, i + ipLength)), port });
    flags.push(flagBytes[n] ?? 0);
  }
  return { peers, flags };
}

/**
 * Decodes a BEP 11 `ut_pex` payload. Untrusted: missing or mistyped fields count as
 * empty, trailing partial entries and port-0 entries are skipped.
 * @param payload The extended message payload.
 * @returns The added and dropped peers.
 * @throws {ProtocolError} If the payload is not one bencoded dictionary.
 * @example
 * ```ts
 * import { decodePex, encodePex } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const pex = decodePex(encodePex({ added: [{ host: "10.0.0.1", port: 6881 }], addedFlags: [2] }));
 * deepStrictEqual(pex.added, [{ host: "10.0.0.1", port: 6881 }]);
 * deepStrictEqual(pex.addedFlags, [2]);
 * ```
 */
export function decodePex(payload: Uint8Array): PexMessage {
  let dict: BencodeValue;
  try {
    dict = decodeBencode(payload);
  } catch (error) {
    if (!(error instanceof BencodeError)) throw error;
    throw new ProtocolError(`Cannot decode pex: ${error.message}`, { cause: error });
  }
  if (!isBencodeDict(dict)) {
    throw new ProtocolError("Cannot decode pex: payload is not a dictionary");
  }
  const added = decodeEntries(dict.get("added"), dict.get("added.f"), 4);
  const added6 = decodeEntries(dict.get("added6"), dict.get("added6.f"), 6);
  return {
    added: added.peers,
    addedFlags: added.flags,
    added6: added6.peers,
    added6Flags: added6.flags,
    dropped: decodeEntries(dict.get("dropped"), undefined, 4).peers,
    dropped6: decodeEntries(dict.get("dropped6"), undefined, 6).peers,
  };
}

/**
 * Encodes a BEP 11 `ut_pex` payload. Each list must hold peers of its own family
 * (hosts that are IP addresses); missing flags are sent as 0.
 * @param message The peers; any field may be left out.
 * @returns The payload, to send as `{ type: "extended", id: theirUtPexId, payload }`.
 * @throws {SyntaxError} If a host is not an IP address.
 * @example
 * ```ts
 * import { decodePex, encodePex } from "@shoal/shoal/wire";
 * import { deepStrictEqual } from "node:assert/strict";
 * const payload = encodePex({ dropped6: [{ host: "2001:db8::1", port: 51413 }] });
 * deepStrictEqual(decodePex(payload).dropped6, [{ host: "2001:db8::1", port: 51413 }]);
 * ```
 */
export function encodePex(message: Partial<PexMessage>): Uint8Array {
  const flags = (peers: PeerAddress[] | undefined, list: number[] | undefined): Uint8Array =>
    Uint8Array.from((peers ?? []).map((_, i) => list?.[i] ?? 0));
  const compact = (peers: PeerAddress[] | undefined, family: 4 | 6): Uint8Array => {
    for (const peer of peers ?? []) {
      if (peer.host.includes(":") !== (family === 6)) {
        throw new SyntaxError(`Cannot encode pex: "${peer.host}" is not an IPv${family} address`);
      }
    }
    return encodeCompactPeers(peers ?? [], family);
  };
  return encodeBencode({
    added: compact(message.added, 4),
    "added.f": flags(message.added, message.addedFlags),
    added6: compact(message.added6, 6),
    "added6.f": flags(message.added6, message.added6Flags),
    dropped: compact(message.dropped, 4),
    dropped6: compact(message.dropped6, 6),
  });
}
