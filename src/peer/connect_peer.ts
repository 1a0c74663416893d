// Connecting to a peer and accepting one: TCP (optionally MSE) and the BEP 3 handshakes, then
// a PeerConnection for the framed messages.

import { equalBytes } from "../bytes/bytes.ts";
import {
  decodeHandshake,
  encodeHandshake,
  type Handshake,
  HANDSHAKE_LENGTH,
} from "../wire/handshake.ts";
import { formatPeerAddress, type PeerAddress } from "../wire/peer_address.ts";
import { ProtocolError } from "../wire/protocol_error.ts";
import { isPlainHandshakeStart, mseAccept, mseConnect, PrefixedConn } from "./mse.ts";
import { PeerError } from "./peer_error.ts";
import { closeQuietly, withDeadline, writeAll } from "../util/io_helpers.ts";
import { PeerConnection, type PeerConnectionOptions } from "./connection.ts";

/** Default limit for connecting and exchanging handshakes. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Options for {@linkcode connectPeer}. */
export interface ConnectPeerOptions extends PeerConnectionOptions {
  /** The torrent's 20-byte info hash. */
  infoHash: Uint8Array;
  /** Our 20-byte peer id. */
  peerId: Uint8Array;
  /** Reserved bytes to send; `OUR_RESERVED` by default. */
  reserved?: Uint8Array;
  /** Number of pieces, when known (not yet for a magnet link). */
  pieceCount?: number;
  /** Aborts connecting and the handshake (not the connection once made). */
  signal?: AbortSignal;
  /** Limit for connecting plus the handshake exchange; {@linkcode CONNECT_TIMEOUT_MS} by default. */
  connectTimeoutMs?: number;
  /**
   * `"mse"` opens with a Message Stream Encryption handshake (offering plaintext and RC4 for
   * what follows), for peers that refuse a plain BitTorrent handshake; `"none"` (the default)
   * sends the plain handshake.
   */
  encryption?: "none" | "mse";
}

/** Options for {@linkcode acceptPeer}. */
export interface AcceptPeerOptions extends PeerConnectionOptions {
  /** Our 20-byte peer id. */
  peerId: Uint8Array;
  /** Finds the torrent an incoming info hash names; `undefined` refuses the peer. */
  lookup(infoHash: Uint8Array): { pieceCount?: number } | undefined;
  /** Reserved bytes to send; `OUR_RESERVED` by default. */
  reserved?: Uint8Array;
  /** Aborts the handshake. */
  signal?: AbortSignal;
  /** Limit for the handshake exchange; {@linkcode CONNECT_TIMEOUT_MS} by default. */
  timeoutMs?: number;
  /**
   * Accepts peers that open with a Message Stream Encryption handshake: given
   * HASH('req2', info hash) from the peer, returns the info hash of the torrent it names.
   * Without it such peers are refused.
   */
  mseLookup?: (req2Hash: Uint8Array) => Uint8Array | undefined;
}

function handshakeTimeout(peer: string, timeoutMs: number): PeerError {
  return new PeerError(`Peer handshake timed out after ${timeoutMs} ms`, { peer });
}

/**
 * Reads the first bytes of an incoming connection, just enough to tell a plain BitTorrent
 * handshake from an MSE one (at most 20 bytes).
 */
async function readOpening(conn: Deno.Conn, peer: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(20);
  let end = 0;
  while (isPlainHandshakeStart(buffer.subarray(0, end)) === undefined) {
    const n = await conn.read(buffer.subarray(end));
    if (n === null) {
      throw new PeerError(`Cannot read handshake: connection closed after ${end} bytes`, {
        peer,
        code: "hung-up",
      });
    }
    end += n;
  }
  return buffer.slice(0, end);
}

/** Reads exactly one handshake (68 bytes, nothing more, so no frame bytes are taken). */
async function readHandshake(conn: Deno.Conn, peer: string): Promise<Handshake> {
  const buffer = new Uint8Array(HANDSHAKE_LENGTH);
  let end = 0;
  while (true) {
    let handshake;
    try {
      handshake = decodeHandshake(buffer.subarray(0, end));
    } catch (error) {
      throw new ProtocolError((error as Error).message, { peer, cause: error });
    }
    if (handshake) return handshake;
    const n = await conn.read(buffer.subarray(end));
    if (n === null) {
      throw new PeerError(`Cannot read handshake: connection closed after ${end} bytes`, {
        peer,
        code: "hung-up",
      });
    }
    end += n;
  }
}

/**
 * Connects to a peer over TCP and exchanges BEP 3 handshakes: sends ours, reads
 * theirs and checks the info hash. The socket is closed on any failure.
 * A peer id equal to ours means we reached ourselves; that policy is the caller's.
 * @param address The peer.
 * @param options Info hash, our peer id, piece count, timeout and signal.
 * @returns The open connection, ready for `messages()` and `send()`.
 * @throws {ProtocolError} If the peer's handshake is malformed or names another torrent.
 * @throws {PeerError} On timeout or if the peer hangs up during the handshake.
 * @throws {Deno.errors.ConnectionRefused} And other socket errors from connecting.
 * @example
 * ```ts
 * import { acceptPeer, connectPeer } from "@shoal/shoal/peer";
 * import { generatePeerId } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * const infoHash = new Uint8Array(20).fill(7);
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepting = listener.accept().then((conn) =>
 *   acceptPeer(conn, { peerId: generatePeerId(), lookup: () => ({ pieceCount: 4 }) })
 * );
 * await using client = await connectPeer(
 *   { host: "127.0.0.1", port: listener.addr.port },
 *   { infoHash, peerId: generatePeerId(), pieceCount: 4 },
 * );
 * await using server = await accepting;
 * await client.send({ type: "have", index: 2 });
 * const { value } = await server.messages().next();
 * strictEqual(value?.type, "have");
 * ```
 */
export async function connectPeer(
  address: PeerAddress,
  options: ConnectPeerOptions,
): Promise<PeerConnection> {
  const peer = formatPeerAddress(address);
  const timeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  let conn: Deno.Conn | undefined;
  try {
    return await withDeadline(
      timeoutMs,
      options.signal,
      () => handshakeTimeout(peer, timeoutMs),
      async (signal) => {
        conn = await Deno.connect({ hostname: address.host, port: address.port, signal });
        const opened = conn;
        signal.addEventListener("abort", () => closeQuietly(opened), { once: true });
        if (signal.aborted) throw signal.reason;
        let stream: Deno.Conn = opened;
        if (options.encryption === "mse") {
          stream = await mseConnect(opened, {
            infoHash: options.infoHash,
            allow: "both",
            initialPayload: encodeHandshake(options),
            signal,
          });
        } else {
          await writeAll(opened, encodeHandshake(options));
        }
        const theirs = await readHandshake(stream, peer);
        if (!equalBytes(theirs.infoHash, options.infoHash)) {
          throw new ProtocolError("Peer handshake names a different info hash", { peer });
        }
        return new PeerConnection(stream, {
          ...options,
          remote: { host: address.host, port: address.port },
          peerId: theirs.peerId,
          ourPeerId: options.peerId,
          extensions: theirs.extensions,
        });
      },
    );
  } catch (error) {
    if (conn) closeQuietly(conn);
    throw error;
  }
}

/**
 * Completes an incoming connection: reads the peer's BEP 3 handshake, asks `lookup`
 * for the torrent, and replies with our handshake. The socket is closed on any failure.
 * @param conn A freshly accepted TCP connection.
 * @param options Our peer id, the torrent lookup, timeout and signal.
 * @returns The open connection.
 * @throws {ProtocolError} If the handshake is malformed or names an unknown torrent.
 * @throws {PeerError} On timeout or if the peer hangs up during the handshake.
 * @example
 * ```ts
 * import { acceptPeer, connectPeer } from "@shoal/shoal/peer";
 * import { encodeHex } from "@shoal/shoal/bytes";
 * import { generatePeerId } from "@shoal/shoal/wire";
 * import { strictEqual } from "node:assert/strict";
 * const infoHash = new Uint8Array(20).fill(9);
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepting = listener.accept().then((conn) =>
 *   acceptPeer(conn, {
 *     peerId: generatePeerId(),
 *     lookup: (hash) => encodeHex(hash) === encodeHex(infoHash) ? { pieceCount: 1 } : undefined,
 *   })
 * );
 * await using client = await connectPeer(
 *   { host: "127.0.0.1", port: listener.addr.port },
 *   { infoHash, peerId: generatePeerId() },
 * );
 * await using server = await accepting;
 * strictEqual(encodeHex(server.peerId), encodeHex(client.ourPeerId));
 * ```
 */
export async function acceptPeer(
  conn: Deno.Conn,
  options: AcceptPeerOptions,
): Promise<PeerConnection> {
  const addr = conn.remoteAddr as Deno.NetAddr;
  const remote = { host: addr.hostname, port: addr.port };
  const peer = formatPeerAddress(remote);
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  try {
    return await withDeadline(
      timeoutMs,
      options.signal,
      () => handshakeTimeout(peer, timeoutMs),
      async (signal) => {
        const first = await readOpening(conn, peer);
        let stream: Deno.Conn;
        let mseInfoHash: Uint8Array | undefined;
        if (isPlainHandshakeStart(first)) {
          stream = new PrefixedConn(conn, first);
        } else if (options.mseLookup) {
          const accepted = await mseAccept(conn, first, {
            lookup: options.mseLookup,
            allow: "both",
            signal,
          });
          stream = accepted.conn;
          mseInfoHash = accepted.infoHash;
        } else {
          throw new ProtocolError("Peer opened with an encrypted (MSE) handshake, which is off", {
            peer,
          });
        }
        const theirs = await readHandshake(stream, peer);
        const torrent = options.lookup(theirs.infoHash);
        if (!torrent) {
          throw new ProtocolError("Peer handshake names an unknown info hash", { peer });
        }
        if (mseInfoHash && !equalBytes(mseInfoHash, theirs.infoHash)) {
          throw new ProtocolError("Peer handshake names another torrent than its MSE handshake", {
            peer,
          });
        }
        await writeAll(
          stream,
          encodeHandshake({
            infoHash: theirs.infoHash,
            peerId: options.peerId,
            reserved: options.reserved,
          }),
        );
        return new PeerConnection(stream, {
          ...options,
          remote,
          infoHash: theirs.infoHash,
          peerId: theirs.peerId,
          extensions: theirs.extensions,
          ourPeerId: options.peerId,
          pieceCount: torrent.pieceCount,
        });
      },
      () => closeQuietly(conn),
    );
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
}
