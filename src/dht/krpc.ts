import { decodeBencode } from "../bencode/decode.ts";
import { encodeBencode } from "../bencode/encode.ts";
import { bencodeText, isBencodeDict, isBencodeInteger } from "../bencode/fields.ts";
import type { BencodeDict, BencodeValue } from "../bencode/types.ts";
import { decodeCompactPeers, encodeCompactPeer } from "../wire/peer_address.ts";
import { decodeCompactNodes, type DhtContact, encodeCompactNodes } from "./compact_nodes.ts";
import type { DhtAddress } from "./dht_address.ts";
import { KRPC_ERROR, KrpcError } from "./krpc_error.ts";
import { NODE_ID_BYTES } from "./node_id.ts";

/** The largest KRPC datagram accepted or sent, in bytes. */
export const MAX_KRPC_PACKET_BYTES = 1500;
/** The longest transaction id accepted (BEP 5 ids are "typically 2 characters"). */
export const MAX_TRANSACTION_ID_BYTES = 8;
/** The longest announce token accepted. */
export const MAX_TOKEN_BYTES = 64;
/** The longest client version string (`v`) accepted. */
export const MAX_VERSION_BYTES = 32;

/** Address families a query asks for with `want` (BEP 32). */
export type KrpcWant = "n4" | "n6";

/** Fields every KRPC message has. */
export interface KrpcHeader {
  /** The transaction id (`t`), echoed in the reply. */
  transactionId: Uint8Array;
  /** The sender's client version (`v`), when given. */
  version?: Uint8Array;
}

/** Fields of every query. */
export interface KrpcQueryHeader extends KrpcHeader {
  /** The querying node's id. */
  id: Uint8Array;
  /** `ro=1`: the sender is read-only and must not be added to routing tables (BEP 43). */
  readOnly?: boolean;
}

/** `ping` (BEP 5). */
export interface KrpcPing extends KrpcQueryHeader {
  /** Discriminant. */
  type: "ping";
}

/** `find_node` (BEP 5). */
export interface KrpcFindNode extends KrpcQueryHeader {
  /** Discriminant. */
  type: "find_node";
  /** The id looked for. */
  target: Uint8Array;
  /** Families of nodes wanted in the reply (BEP 32); absent means the query's own. */
  want?: KrpcWant[];
}

/** `get_peers` (BEP 5). */
export interface KrpcGetPeers extends KrpcQueryHeader {
  /** Discriminant. */
  type: "get_peers";
  /** The torrent's info hash. */
  infoHash: Uint8Array;
  /** Families of nodes wanted in the reply (BEP 32); absent means the query's own. */
  want?: KrpcWant[];
}

/** `announce_peer` (BEP 5). */
export interface KrpcAnnouncePeer extends KrpcQueryHeader {
  /** Discriminant. */
  type: "announce_peer";
  /** The torrent's info hash. */
  infoHash: Uint8Array;
  /** The announced TCP port (ignored when `impliedPort`). */
  port: number;
  /** `implied_port=1`: use the UDP source port instead of `port`. */
  impliedPort: boolean;
  /** The token from an earlier `get_peers` reply. */
  token: Uint8Array;
}

/** Any KRPC query. */
export type KrpcQuery = KrpcPing | KrpcFindNode | KrpcGetPeers | KrpcAnnouncePeer;

/** A query before it is given a transaction id. */
export type KrpcQueryBody = KrpcQuery extends infer Q
  ? Q extends KrpcQuery ? Omit<Q, "transactionId"> : never
  : never;

/** A reply (`y=r`). Which fields it has depends on the query it answers. */
export interface KrpcResponse extends KrpcHeader {
  /** Discriminant. */
  type: "response";
  /** The answering node's id. */
  id: Uint8Array;
  /** IPv4 nodes (`nodes`). */
  nodes?: DhtContact[];
  /** IPv6 nodes (`nodes6`, BEP 32). */
  nodes6?: DhtContact[];
  /** Peers of a `get_peers` reply (`values`). */
  values?: DhtAddress[];
  /** The token for a later `announce_peer`. */
  token?: Uint8Array;
  /** The requester's address as the replier sees it (top-level `ip`, BEP 42). */
  ip?: DhtAddress;
}

/** An error reply (`y=e`). */
export interface KrpcErrorReply extends KrpcHeader {
  /** Discriminant. */
  type: "error";
  /** 201 generic, 202 server, 203 protocol, 204 method unknown (BEP 5). */
  code: number;
  /** The error text (decoding keeps its first 256 characters). */
  message: string;
  /** The requester's address as the replier sees it (BEP 42). */
  ip?: DhtAddress;
}

/** Any KRPC message. */
export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcErrorReply;

const fail = (why: string, options?: { code?: number; transactionId?: Uint8Array }): never => {
  throw new KrpcError(`Cannot decode KRPC: ${why}`, options);
};

function bytesField(
  dict: BencodeDict,
  key: string,
  where: string,
  length: { min: number; max: number },
  t?: Uint8Array,
): Uint8Array | undefined {
  const value = dict.get(key);
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) {
    fail(`"${key}" in ${where} is not a byte string`, { transactionId: t });
  }
  const bytes = value as Uint8Array;
  if (bytes.length < length.min || bytes.length > length.max) {
    const expected = length.min === length.max ? `${length.min}` : `${length.min}..${length.max}`;
    fail(`"${key}" in ${where} has ${bytes.length} bytes, expected ${expected}`, {
      transactionId: t,
    });
  }
  return bytes.slice();
}

function requireBytes(
  dict: BencodeDict,
  key: string,
  where: string,
  length: { min: number; max: number },
  t?: Uint8Array,
): Uint8Array {
  const value = bytesField(dict, key, where, length, t);
  if (value === undefined) return fail(`"${key}" is missing from ${where}`, { transactionId: t });
  return value;
}

const ID_LENGTH = { min: NODE_ID_BYTES, max: NODE_ID_BYTES };

function flag(dict: BencodeDict, key: string, where: string, t?: Uint8Array): boolean | undefined {
  const value = dict.get(key);
  if (value === undefined) return undefined;
  if (!isBencodeInteger(value)) {
    fail(`"${key}" in ${where} is not an integer`, { transactionId: t });
  }
  return value !== 0 && value !== 0n;
}

function decodeWant(args: BencodeDict, t: Uint8Array): KrpcWant[] | undefined {
  const value = args.get("want");
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return fail(`"want" is not a list`, { transactionId: t });
  const out: KrpcWant[] = [];
  for (const item of value) {
    if (!(item instanceof Uint8Array)) fail(`"want" holds a non-string`, { transactionId: t });
    const text = bencodeText(item as Uint8Array);
    if ((text === "n4" || text === "n6") && !out.includes(text)) out.push(text);
  }
  // No known family left means the same as no `want` (and encodeKrpc leaves an empty one out).
  return out.length > 0 ? out : undefined;
}

function decodeQuery(top: BencodeDict, header: KrpcHeader): KrpcQuery {
  const t = header.transactionId;
  const method = top.get("q");
  if (!(method instanceof Uint8Array)) {
    return fail(`"q" is not a byte string`, { transactionId: t });
  }
  const args = top.get("a");
  if (!isBencodeDict(args)) return fail(`"a" is not a dictionary`, { transactionId: t });
  const id = requireBytes(args, "id", "the arguments", ID_LENGTH, t);
  const readOnly = flag(top, "ro", "the query", t);
  const base: KrpcQueryHeader = { ...header, id };
  if (readOnly) base.readOnly = true;
  const name = bencodeText(method);
  switch (name) {
    case "ping":
      return { type: "ping", ...base };
    case "find_node": {
      const target = requireBytes(args, "target", "find_node", ID_LENGTH, t);
      const want = decodeWant(args, t);
      return want
        ? { type: "find_node", ...base, target, want }
        : { type: "find_node", ...base, target };
    }
    case "get_peers": {
      const infoHash = requireBytes(args, "info_hash", "get_peers", ID_LENGTH, t);
      const want = decodeWant(args, t);
      return want
        ? { type: "get_peers", ...base, infoHash, want }
        : { type: "get_peers", ...base, infoHash };
    }
    case "announce_peer": {
      const infoHash = requireBytes(args, "info_hash", "announce_peer", ID_LENGTH, t);
      const token = requireBytes(
        args,
        "token",
        "announce_peer",
        { min: 1, max: MAX_TOKEN_BYTES },
        t,
      );
      const impliedPort = flag(args, "implied_port", "announce_peer", t) ?? false;
      const rawPort = args.get("port");
      let port = 0;
      if (rawPort !== undefined || !impliedPort) {
        if (typeof rawPort !== "number" || !Number.isInteger(rawPort)) {
          return fail(`"port" in announce_peer is missing or not an integer`, { transactionId: t });
        }
        if ((rawPort < 1 || rawPort > 65535) && !impliedPort) {
          return fail(`port ${rawPort} in announce_peer is outside 1..65535`, { transactionId: t });
        }
        port = rawPort >= 0 && rawPort <= 65535 ? rawPort : 0;
      }
      return { type: "announce_peer", ...base, infoHash, port, impliedPort, token };
    }
    default:
      return fail(`unknown method "${name.slice(0, 32)}"`, {
        code: KRPC_ERROR.methodUnknown,
        transactionId: t,
      });
  }
}

function decodeValues(value: BencodeValue | undefined): DhtAddress[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return fail(`"values" is not a list`);
  const out: DhtAddress[] = [];
  for (const item of value) {
    if (!(item instanceof Uint8Array) || (item.length !== 6 && item.length !== 18)) {
      fail(`"values" holds an entry that is not a 6- or 18-byte compact peer`);
    }
    const peers = decodeCompactPeers(item as Uint8Array, (item as Uint8Array).length === 6 ? 4 : 6);
    out.push(...peers);
  }
  return out;
}

function decodeResponse(top: BencodeDict, header: KrpcHeader): KrpcResponse {
  const r = top.get("r");
  if (!isBencodeDict(r)) return fail(`"r" is not a dictionary`);
  const out: KrpcResponse = {
    type: "response",
    ...header,
    id: requireBytes(r, "id", "the reply", ID_LENGTH),
  };
  const nodes = bytesField(r, "nodes", "the reply", { min: 0, max: MAX_KRPC_PACKET_BYTES });
  if (nodes) out.nodes = decodeCompactNodes(nodes, 4);
  const nodes6 = bytesField(r, "nodes6", "the reply", { min: 0, max: MAX_KRPC_PACKET_BYTES });
  if (nodes6) out.nodes6 = decodeCompactNodes(nodes6, 6);
  const values = decodeValues(r.get("values"));
  if (values) out.values = values;
  const token = bytesField(r, "token", "the reply", { min: 1, max: MAX_TOKEN_BYTES });
  if (token) out.token = token;
  const ip = decodeIpField(top);
  if (ip) out.ip = ip;
  return out;
}

/** The BEP 42 `ip` field: informational, so one that is not a 6- or 18-byte address is ignored. */
function decodeIpField(top: BencodeDict): DhtAddress | undefined {
  const ip = top.get("ip");
  if (!(ip instanceof Uint8Array) || (ip.length !== 6 && ip.length !== 18)) return undefined;
  return decodeCompactPeers(ip, ip.length === 6 ? 4 : 6)[0];
}

/**
 * The longest error text kept, in characters. It is cut after decoding, not before: cutting
 * the bytes made a text that grew when re-encoded (each invalid byte becomes a 3-byte U+FFFD),
 * so decoding it again cut it again.
 */
const MAX_ERROR_MESSAGE_CHARS = 256;

/** The first `max` characters (code points, so no surrogate pair is split) of `text`. */
function firstChars(text: string, max: number): string {
  let out = "";
  let count = 0;
  for (const ch of text) {
    if (count++ === max) break;
    out += ch;
  }
  return out;
}

function decodeErrorReply(top: BencodeDict, header: KrpcHeader): KrpcErrorReply {
  const e = top.get("e");
  if (!Array.isArray(e) || e.length < 2) return fail(`"e" is not a list of code and message`);
  const [code, message] = e;
  if (typeof code !== "number" || !Number.isInteger(code)) {
    return fail(`error code is not an integer`);
  }
  if (!(message instanceof Uint8Array)) return fail(`error message is not a byte string`);
  const out: KrpcErrorReply = {
    type: "error",
    ...header,
    code,
    message: firstChars(bencodeText(message), MAX_ERROR_MESSAGE_CHARS),
  };
  const ip = decodeIpField(top);
  if (ip) out.ip = ip;
  return out;
}

/**
 * Decodes one KRPC datagram (BEP 5, with BEP 32 `nodes6`/`want`, BEP 42 `ip` and BEP 43 `ro`),
 * checking every field it uses: ids and info hashes are 20 bytes, `nodes`/`nodes6` lengths are
 * multiples of 26/38, `values` entries are 6 or 18 bytes, the transaction id is 1..8 bytes,
 * ports are in range; the informational `ip` and `v` are dropped when malformed, unknown keys
 * ignored. A datagram is whole, so a truncated packet is malformed, never "need more".
 * @param bytes The datagram.
 * @returns The message; byte fields are fresh copies.
 * @throws {KrpcError} If the packet is over 1,500 bytes, not bencode, not a dictionary, or has a
 *   missing or malformed field; for an answerable query it carries the transaction id and the
 *   error code (203 or 204) to reply with.
 * @example
 * ```ts
 * import { decodeKrpc } from "@shoal/shoal/dht";
 * import { strictEqual } from "node:assert/strict";
 * const ping = new TextEncoder().encode("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe");
 * strictEqual(decodeKrpc(ping).type, "ping");
 * ```
 */
export function decodeKrpc(bytes: Uint8Array): KrpcMessage {
  if (bytes.length > MAX_KRPC_PACKET_BYTES) {
    fail(`packet of ${bytes.length} bytes exceeds ${MAX_KRPC_PACKET_BYTES}`);
  }
  let top: BencodeValue;
  try {
    top = decodeBencode(bytes);
  } catch (cause) {
    throw new KrpcError(`Cannot decode KRPC: not bencode (${(cause as Error).message})`, { cause });
  }
  if (!isBencodeDict(top)) return fail("the packet is not a dictionary");
  const transactionId = requireBytes(top, "t", "the packet", {
    min: 1,
    max: MAX_TRANSACTION_ID_BYTES,
  });
  const header: KrpcHeader = { transactionId };
  // `v` is informational: kept when it is a short byte string, ignored otherwise.
  const version = top.get("v");
  if (version instanceof Uint8Array && version.length <= MAX_VERSION_BYTES) {
    header.version = version.slice();
  }
  const y = top.get("y");
  const kind = y instanceof Uint8Array && y.length === 1 ? String.fromCharCode(y[0]) : "";
  if (kind === "q") return decodeQuery(top, header);
  if (kind === "r") return decodeResponse(top, header);
  if (kind === "e") return decodeErrorReply(top, header);
  return fail(`"y" is not "q", "r" or "e"`);
}

function wantList(want: KrpcWant[] | undefined): string[] | undefined {
  return want && want.length > 0 ? [...want] : undefined;
}

function encodeAddress(address: DhtAddress | undefined): Uint8Array | undefined {
  return address ? encodeCompactPeer(address) : undefined;
}

/**
 * Encodes a KRPC message as one datagram. A read-only query carries `ro=1` (BEP 43).
 * @param message The message.
 * @returns The bencoded bytes.
 * @throws {KrpcError} If the packet would exceed 1,500 bytes or a field cannot be encoded.
 * @example
 * ```ts
 * import { decodeKrpc, encodeKrpc } from "@shoal/shoal/dht";
 * import { deepStrictEqual } from "node:assert/strict";
 * const ping = { type: "ping", transactionId: new Uint8Array([1, 2]), id: new Uint8Array(20) } as const;
 * deepStrictEqual(decodeKrpc(encodeKrpc(ping)), ping);
 * ```
 */
export function encodeKrpc(message: KrpcMessage): Uint8Array {
  let packet: Uint8Array;
  try {
    packet = encodeBencode(toBencode(message));
  } catch (cause) {
    if (cause instanceof KrpcError) throw cause;
    throw new KrpcError(`Cannot encode KRPC: ${(cause as Error).message}`, { cause });
  }
  if (packet.length > MAX_KRPC_PACKET_BYTES) {
    throw new KrpcError(
      `Cannot encode KRPC: ${message.type} of ${packet.length} bytes exceeds ${MAX_KRPC_PACKET_BYTES}`,
    );
  }
  return packet;
}

type Encodable = Parameters<typeof encodeBencode>[0];

function toBencode(message: KrpcMessage): Encodable {
  const top: Record<string, Encodable | undefined> = {
    t: message.transactionId,
    v: message.version,
  };
  switch (message.type) {
    case "response": {
      top.y = "r";
      top.ip = encodeAddress(message.ip);
      top.r = {
        id: message.id,
        nodes: message.nodes ? encodeCompactNodes(message.nodes, 4) : undefined,
        nodes6: message.nodes6 ? encodeCompactNodes(message.nodes6, 6) : undefined,
        token: message.token,
        values: message.values?.map((peer) => encodeCompactPeer(peer)),
      };
      return top;
    }
    case "error":
      top.y = "e";
      top.ip = encodeAddress(message.ip);
      top.e = [message.code, message.message];
      return top;
    default: {
      top.y = "q";
      top.q = message.type;
      if (message.readOnly) top.ro = 1;
      const a: Record<string, Encodable | undefined> = { id: message.id };
      if (message.type === "find_node") {
        a.target = message.target;
        a.want = wantList(message.want);
      } else if (message.type === "get_peers") {
        a.info_hash = message.infoHash;
        a.want = wantList(message.want);
      } else if (message.type === "announce_peer") {
        a.info_hash = message.infoHash;
        a.port = message.port;
        a.token = message.token;
        if (message.impliedPort) a.implied_port = 1;
      }
      top.a = a;
      return top;
    }
  }
}
