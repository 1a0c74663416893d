// The two Message Stream Encryption handshakes over a socket (initiator A, receiver B):
//
//   1 A->B: Ya, PadA
//   2 B->A: Yb, PadB
//   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//   4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
//   5 A->B: ENCRYPT2(payload)
//
// ENCRYPT is RC4 (keyA from A, keyB from B); ENCRYPT2 is the selected method. Every length read
// from the peer is bounded: pads by 512 bytes, IA by its 2-byte length, the two sync searches by
// the pad limit, so a handshake never buffers more than about 67 KiB.

import { concatBytes, equalBytes } from "../bytes/bytes.ts";
import {
  computeMseSecret,
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  deriveMseCiphers,
  encodeMsePublicKey,
  generateMsePrivateKey,
  MSE_KEY_BYTES,
  MSE_MAX_PAD_BYTES,
  MSE_VC_BYTES,
  type MseAllow,
  mseCryptoBits,
  mseMaskReq2Hash,
  mseReq1Hash,
  mseReq2Hash,
  selectMseCrypto,
} from "../wire/mse_crypto.ts";
import { formatPeerAddress } from "../wire/peer_address.ts";
import { ProtocolError } from "../wire/protocol_error.ts";
import { PeerError } from "./peer_error.ts";
import { closeQuietly, withDeadline, writeAll } from "../util/io_helpers.ts";
import { MseConn, type MseConnInit, PrefixedConn } from "./mse_conn.ts";

export { MseConn, type MseConnInit, PrefixedConn };

/** Default limit for a whole MSE handshake. */
export const MSE_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Largest initial payload (IA): its length field has 2 bytes. */
export const MSE_MAX_INITIAL_PAYLOAD_BYTES = 0xffff;

const HASH_BYTES = 20;
const PLAIN_HEADER = new Uint8Array([19, ...new TextEncoder().encode("BitTorrent protocol")]);

/**
 * Says whether the first bytes of an incoming connection are a plain BEP 3 handshake
 * (`\x13BitTorrent protocol`) rather than an MSE public key.
 * @param bytes The bytes received so far.
 * @returns `true` once all 20 header bytes match, `false` at the first byte that differs,
 *   `undefined` while every byte so far matches but fewer than 20 arrived.
 * @example
 * ```ts
 * import { isPlainHandshakeStart } from "@shoal/shoal/peer";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(isPlainHandshakeStart(new Uint8Array([19, 66])), undefined);
 * strictEqual(isPlainHandshakeStart(new Uint8Array([7])), false);
 * ```
 */
export function isPlainHandshakeStart(bytes: Uint8Array): boolean | undefined {
  const n = Math.min(bytes.length, PLAIN_HEADER.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== PLAIN_HEADER[i]) return false;
  return n === PLAIN_HEADER.length ? true : undefined;
}

/** Buffers handshake bytes read from a socket; never holds more than the largest `take`. */
class HandshakeReader {
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;

  constructor(readonly conn: Deno.Conn, readonly peer: string | undefined, first?: Uint8Array) {
    this.#buffer = new Uint8Array(Math.max(2048, first?.length ?? 0));
    if (first) this.#buffer.set(first);
    this.#end = first?.length ?? 0;
  }

  /** The bytes received and not consumed yet (valid until the next `fill`). */
  get available(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  /** Reads until at least `count` unconsumed bytes are buffered. */
  async fill(count: number, what: string): Promise<void> {
    while (this.#end - this.#start < count) {
      if (this.#start + count > this.#buffer.length) {
        const target = count > this.#buffer.length ? new Uint8Array(count + 2048) : this.#buffer;
        target.set(this.#buffer.subarray(this.#start, this.#end));
        this.#end -= this.#start;
        this.#start = 0;
        this.#buffer = target;
      }
      const n = await this.conn.read(this.#buffer.subarray(this.#end));
      if (n === null) {
        throw new PeerError(
          `Cannot complete MSE handshake: connection closed while reading ${what}`,
          { peer: this.peer },
        );
      }
      this.#end += n;
    }
  }

  /** Consumes `count` bytes (a view valid until the next `fill`). */
  async take(count: number, what: string): Promise<Uint8Array> {
    await this.fill(count, what);
    this.#start += count;
    return this.#buffer.subarray(this.#start - count, this.#start);
  }

  /** Consumes everything buffered, as a copy. */
  rest(): Uint8Array {
    const out = this.#buffer.slice(this.#start, this.#end);
    this.#start = this.#end;
    return out;
  }

  /**
   * Consumes bytes through the first `marker` that starts within `maxSkip` bytes, reading no
   * more than `maxSkip + marker.length` bytes to find it.
   */
  async syncOn(marker: Uint8Array, maxSkip: number, what: string): Promise<void> {
    let from = 0;
    while (true) {
      const view = this.available;
      for (let i = from; i <= maxSkip && i + marker.length <= view.length; i++) {
        if (equalBytes(view.subarray(i, i + marker.length), marker)) {
          this.#start += i + marker.length;
          return;
        }
      }
      from = Math.max(from, view.length - marker.length + 1);
      if (from > maxSkip) {
        throw new ProtocolError(
          `Cannot complete MSE handshake: ${what} not found within ${maxSkip} bytes of padding`,
          { peer: this.peer },
        );
      }
      await this.fill(view.length + 1, what);
    }
  }
}

function describePeer(conn: Deno.Conn): string | undefined {
  try {
    const addr = conn.remoteAddr;
    return addr.transport === "tcp"
      ? formatPeerAddress({ host: addr.hostname, port: addr.port })
      : undefined;
  } catch {
    return undefined;
  }
}

function randomPad(): Uint8Array {
  const length = crypto.getRandomValues(new Uint16Array(1))[0] % (MSE_MAX_PAD_BYTES + 1);
  return crypto.getRandomValues(new Uint8Array(length));
}

function secretOf(privateKey: bigint, theirKey: Uint8Array, peer?: string): Uint8Array {
  try {
    return computeMseSecret(privateKey, theirKey);
  } catch (error) {
    throw new ProtocolError((error as Error).message, { peer, cause: error });
  }
}

/** Encodes VC, a 4-byte crypto field, a 2-byte zero pad length and, if given, len(IA) and IA. */
function encodeCryptoHeader(crypto: number, initialPayload?: Uint8Array): Uint8Array {
  const iaBytes = initialPayload ? 2 + initialPayload.length : 0;
  const out = new Uint8Array(MSE_VC_BYTES + 4 + 2 + iaBytes);
  const view = new DataView(out.buffer);
  view.setUint32(MSE_VC_BYTES, crypto);
  if (initialPayload) {
    view.setUint16(MSE_VC_BYTES + 6, initialPayload.length);
    out.set(initialPayload, MSE_VC_BYTES + 8);
  }
  return out;
}

function readPadLength(bytes: Uint8Array, offset: number, name: string, peer?: string): number {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint16(offset);
  if (length > MSE_MAX_PAD_BYTES) {
    throw new ProtocolError(
      `Cannot complete MSE handshake: ${name} of ${length} bytes exceeds ${MSE_MAX_PAD_BYTES}`,
      { peer },
    );
  }
  return length;
}

/** Runs `body`; on abort or timeout closes `conn` so pending I/O ends; closes `conn` on failure. */
async function withHandshakeDeadline<T>(
  conn: Deno.Conn,
  peer: string | undefined,
  options: { signal?: AbortSignal; timeoutMs?: number },
  body: () => Promise<T>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? MSE_HANDSHAKE_TIMEOUT_MS;
  try {
    return await withDeadline(
      timeoutMs,
      options.signal,
      () => new PeerError(`MSE handshake timed out after ${timeoutMs} ms`, { peer }),
      body,
      () => closeQuietly(conn),
    );
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
}

/** Options for {@linkcode mseConnect}. */
export interface MseConnectOptions {
  /** The torrent's 20-byte info hash (SKEY). */
  infoHash: Uint8Array;
  /** Methods we offer for the payload: `"rc4"`, `"plaintext"` or `"both"`. */
  allow: MseAllow;
  /**
   * Initial payload (IA) sent inside the handshake, e.g. the BEP 3 handshake to save a round
   * trip; at most {@linkcode MSE_MAX_INITIAL_PAYLOAD_BYTES}. Empty by default: write it after.
   */
  initialPayload?: Uint8Array;
  /** Aborts the handshake (the socket is closed). */
  signal?: AbortSignal;
  /** Limit for the whole handshake; {@linkcode MSE_HANDSHAKE_TIMEOUT_MS} by default. */
  timeoutMs?: number;
}

/**
 * Runs the initiator (A) side of the MSE handshake on a fresh connection. The socket is closed
 * on any failure.
 * @param conn A connected socket on which nothing was sent yet.
 * @param options Info hash, offered methods, optional initial payload, signal and timeout.
 * @returns The connection, encrypting or plain as the peer selected; send the BEP 3 handshake
 *   through it (unless it went as `initialPayload`).
 * @throws {ProtocolError} If the peer's key is invalid, its reply is not found within the
 *   padding limit, its padding is too long or it selects a method we did not offer.
 * @throws {PeerError} If the peer hangs up (a peer that refuses MSE usually does) or on timeout.
 * @throws {RangeError} If the info hash is not 20 bytes or the initial payload is too long.
 * @example
 * ```ts
 * import { mseAccept, mseConnect } from "@shoal/shoal/peer";
 * import { strictEqual } from "node:assert/strict";
 * const infoHash = new Uint8Array(20).fill(1);
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepting = listener.accept().then(async (conn) => {
 *   const first = new Uint8Array(96);
 *   const n = (await conn.read(first)) ?? 0;
 *   return mseAccept(conn, first.subarray(0, n), { allow: "rc4", lookup: () => infoHash });
 * });
 * const socket = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using client = await mseConnect(socket, { infoHash, allow: "both" });
 * using server = (await accepting).conn;
 * strictEqual(client.method, "rc4");
 * await client.write(new TextEncoder().encode("hi"));
 * const buffer = new Uint8Array(2);
 * await server.read(buffer);
 * strictEqual(new TextDecoder().decode(buffer), "hi");
 * ```
 */
export async function mseConnect(conn: Deno.Conn, options: MseConnectOptions): Promise<MseConn> {
  const { infoHash, initialPayload } = options;
  if (infoHash.length !== HASH_BYTES) {
    throw new RangeError(`Cannot start MSE handshake: info hash has ${infoHash.length} bytes`);
  }
  if (initialPayload && initialPayload.length > MSE_MAX_INITIAL_PAYLOAD_BYTES) {
    throw new RangeError(
      `Cannot start MSE handshake: initial payload of ${initialPayload.length} bytes exceeds ${MSE_MAX_INITIAL_PAYLOAD_BYTES}`,
    );
  }
  const peer = describePeer(conn);
  return await withHandshakeDeadline(conn, peer, options, async () => {
    const privateKey = generateMsePrivateKey();
    await writeAll(conn, concatBytes([encodeMsePublicKey(privateKey), randomPad()]));
    const reader = new HandshakeReader(conn, peer);
    const theirKey = (await reader.take(MSE_KEY_BYTES, "the peer's public key")).slice();
    const secret = secretOf(privateKey, theirKey, peer);
    const ciphers = deriveMseCiphers(secret, infoHash, true);
    const provide = mseCryptoBits(options.allow);
    const header = encodeCryptoHeader(provide, initialPayload ?? new Uint8Array(0));
    await writeAll(
      conn,
      concatBytes([
        mseReq1Hash(secret),
        mseMaskReq2Hash(mseReq2Hash(infoHash), secret),
        ciphers.encrypt.process(header),
      ]),
    );
    const vc = ciphers.decrypt.process(new Uint8Array(MSE_VC_BYTES));
    await reader.syncOn(vc, MSE_MAX_PAD_BYTES, "the peer's verification constant");
    const fields = ciphers.decrypt.process(await reader.take(6, "crypto_select"));
    const select = new DataView(fields.buffer, fields.byteOffset).getUint32(0);
    if ((select !== CRYPTO_RC4 && select !== CRYPTO_PLAINTEXT) || (select & provide) === 0) {
      throw new ProtocolError(
        `Cannot complete MSE handshake: peer selected method 0x${
          select.toString(16)
        }, not one of 0x${provide.toString(16)} offered`,
        { peer },
      );
    }
    const padLength = readPadLength(fields, 4, "PadD", peer);
    ciphers.decrypt.process(await reader.take(padLength, "PadD"));
    const rest = reader.rest();
    if (select === CRYPTO_PLAINTEXT) return new MseConn(conn, { pending: rest });
    ciphers.decrypt.process(rest);
    return new MseConn(conn, { ciphers, pending: rest });
  });
}

/** Options for {@linkcode mseAccept}. */
export interface MseAcceptOptions {
  /**
   * Finds the torrent the peer asks for: gets HASH('req2', info hash) (see `mseReq2Hash`) and
   * returns that info hash, or `undefined` to refuse the peer.
   */
  lookup(req2Hash: Uint8Array): Uint8Array | undefined;
  /** Methods we accept for the payload; plaintext is chosen when both sides allow it. */
  allow: MseAllow;
  /** Aborts the handshake (the socket is closed). */
  signal?: AbortSignal;
  /** Limit for the whole handshake; {@linkcode MSE_HANDSHAKE_TIMEOUT_MS} by default. */
  timeoutMs?: number;
}

/** What {@linkcode mseAccept} returns. */
export interface MseAccepted {
  /** The connection, encrypting or plain as selected; its first bytes are the peer's IA. */
  conn: MseConn;
  /** The info hash the peer asked for (as `lookup` returned it). */
  infoHash: Uint8Array;
}

/**
 * Runs the receiver (B) side of the MSE handshake on an incoming connection whose first bytes
 * are not a plain BEP 3 handshake. The socket is closed on any failure.
 * @param conn The accepted socket.
 * @param firstBytes What was already read from it (may be empty).
 * @param options Torrent lookup, accepted methods, signal and timeout.
 * @returns The connection and the info hash it is for. The peer's BEP 3 handshake follows on
 *   the connection (it may have come as IA, which is read first); check that it names the same
 *   info hash.
 * @throws {ProtocolError} If the peer's key is invalid, HASH('req1', S) is not found within the
 *   padding limit, the torrent is unknown, VC is wrong, padding is too long, or there is no
 *   common method.
 * @throws {PeerError} If the peer hangs up or on timeout.
 * @example
 * ```ts ignore
 * const conn = await listener.accept();
 * const first = new Uint8Array(20);
 * const n = (await conn.read(first)) ?? 0;
 * if (isPlainHandshakeStart(first.subarray(0, n)) === false) {
 *   const { conn: wrapped, infoHash } = await mseAccept(conn, first.subarray(0, n), {
 *     allow: "both",
 *     lookup: (req2) => torrentsByReq2.get(encodeHex(req2)),
 *   });
 * }
 * ```
 */
export async function mseAccept(
  conn: Deno.Conn,
  firstBytes: Uint8Array,
  options: MseAcceptOptions,
): Promise<MseAccepted> {
  const peer = describePeer(conn);
  return await withHandshakeDeadline(conn, peer, options, async () => {
    if (isPlainHandshakeStart(firstBytes) === true) {
      throw new ProtocolError("Cannot run MSE handshake: peer sent a plain BitTorrent handshake", {
        peer,
      });
    }
    const reader = new HandshakeReader(conn, peer, firstBytes);
    const theirKey = (await reader.take(MSE_KEY_BYTES, "the peer's public key")).slice();
    const privateKey = generateMsePrivateKey();
    const secret = secretOf(privateKey, theirKey, peer);
    await writeAll(conn, concatBytes([encodeMsePublicKey(privateKey), randomPad()]));
    await reader.syncOn(mseReq1Hash(secret), MSE_MAX_PAD_BYTES, "HASH('req1', S)");
    const req2 = mseMaskReq2Hash(await reader.take(HASH_BYTES, "the info hash key"), secret);
    const infoHash = options.lookup(req2);
    if (!infoHash || !equalBytes(mseReq2Hash(infoHash), req2)) {
      throw new ProtocolError("Cannot complete MSE handshake: peer asks for an unknown torrent", {
        peer,
      });
    }
    const ciphers = deriveMseCiphers(secret, infoHash, false);
    const head = ciphers.decrypt.process(await reader.take(MSE_VC_BYTES + 6, "VC"));
    if (head.subarray(0, MSE_VC_BYTES).some((byte) => byte !== 0)) {
      throw new ProtocolError("Cannot complete MSE handshake: wrong verification constant", {
        peer,
      });
    }
    const provide = new DataView(head.buffer, head.byteOffset).getUint32(MSE_VC_BYTES);
    const padLength = readPadLength(head, MSE_VC_BYTES + 4, "PadC", peer);
    const padAndLength = ciphers.decrypt.process(await reader.take(padLength + 2, "PadC"));
    const iaLength = new DataView(padAndLength.buffer, padAndLength.byteOffset).getUint16(
      padLength,
    );
    const ia = ciphers.decrypt.process(await reader.take(iaLength, "the initial payload")).slice();
    const select = selectMseCrypto(provide, options.allow);
    if (select === 0) {
      throw new ProtocolError(
        `Cannot complete MSE handshake: peer offers methods 0x${
          provide.toString(16)
        }, we allow ${options.allow}`,
        { peer },
      );
    }
    await writeAll(conn, ciphers.encrypt.process(encodeCryptoHeader(select)));
    const rest = reader.rest();
    if (select === CRYPTO_PLAINTEXT) {
      return { conn: new MseConn(conn, { pending: concatBytes([ia, rest]) }), infoHash };
    }
    ciphers.decrypt.process(rest);
    return { conn: new MseConn(conn, { ciphers, pending: concatBytes([ia, rest]) }), infoHash };
  });
}
