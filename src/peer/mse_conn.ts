// A socket carried by Message Stream Encryption after its handshake (RC4 both ways, or plain
// with bytes already read), and the plain-socket case of it: a connection whose first bytes
// were read to tell an encrypted handshake from a plain one.

import type { MseCiphers, Rc4 } from "../wire/mse_crypto.ts";
import { closeQuietly, writeAll } from "../util/io_helpers.ts";

/** What {@linkcode MseConn} wraps besides the socket. */
export interface MseConnInit {
  /** RC4 streams for the payload; absent for plaintext. */
  ciphers?: MseCiphers;
  /** Payload bytes already received (and decrypted), returned by `read` before the socket's. */
  pending?: Uint8Array;
}

/**
 * A `Deno.Conn` after an MSE handshake: with RC4 selected it encrypts what is written and
 * decrypts what is read; with plaintext it passes bytes through. Either way `read` first returns
 * the payload bytes that arrived during the handshake. Also useful without ciphers, to put bytes
 * peeked from a socket back in front of it. `close` tolerates "already closed".
 * @example
 * ```ts
 * import { MseConn } from "@shoal/shoal/peer";
 * import { strictEqual } from "node:assert/strict";
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = new MseConn(await listener.accept(), { pending: new Uint8Array([1]) });
 * await client.write(new Uint8Array([2]));
 * const buffer = new Uint8Array(4);
 * strictEqual(await server.read(buffer), 1);
 * strictEqual(buffer[0], 1); // the pending byte comes first
 * strictEqual(await server.read(buffer), 1);
 * strictEqual(buffer[0], 2);
 * strictEqual(server.method, "plaintext");
 * ```
 */
export class MseConn implements Deno.Conn {
  readonly #conn: Deno.Conn;
  readonly #encrypt: Rc4 | undefined;
  readonly #decrypt: Rc4 | undefined;
  #pending: Uint8Array;
  #writeChain: Promise<void> = Promise.resolve();
  #closed = false;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /**
   * Wraps a socket.
   * @param conn The socket; this object owns it from now on.
   * @param init Ciphers (for RC4) and bytes already received.
   */
  constructor(conn: Deno.Conn, init: MseConnInit = {}) {
    this.#conn = conn;
    this.#encrypt = init.ciphers?.encrypt;
    this.#decrypt = init.ciphers?.decrypt;
    this.#pending = init.pending ?? new Uint8Array(0);
  }

  /** The payload method in use: `"rc4"` or `"plaintext"`. */
  get method(): "rc4" | "plaintext" {
    return this.#encrypt ? "rc4" : "plaintext";
  }

  /** The local address of the socket. */
  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }

  /** The remote address of the socket. */
  get remoteAddr(): Deno.Addr {
    return this.#conn.remoteAddr;
  }

  /**
   * Reads payload bytes (decrypted when RC4 is in use).
   * @param p Where to put them.
   * @returns The number of bytes read, or `null` at end of stream.
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#pending.length > 0) {
      const n = Math.min(p.length, this.#pending.length);
      p.set(this.#pending.subarray(0, n));
      this.#pending = this.#pending.subarray(n);
      return n;
    }
    const n = await this.#conn.read(p);
    if (n !== null && this.#decrypt) this.#decrypt.process(p.subarray(0, n));
    return n;
  }

  /**
   * Writes payload bytes (encrypted into a copy when RC4 is in use; `p` is never changed).
   * Encrypted writes go out whole and in call order, so they may overlap.
   * @param p The bytes.
   * @returns The number of bytes written (all of `p` when encrypting).
   */
  write(p: Uint8Array): Promise<number> {
    if (!this.#encrypt) return this.#conn.write(p);
    const sealed = this.#encrypt.process(p, new Uint8Array(p.length));
    const sent = this.#writeChain.then(() => writeAll(this.#conn, sealed));
    this.#writeChain = sent;
    return sent.then(() => p.length);
  }

  /** Closes the socket; does nothing when it is already closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }

  /**
   * Shuts down the write side once pending writes are out.
   * @returns When done.
   */
  async closeWrite(): Promise<void> {
    await this.#writeChain;
    await this.#conn.closeWrite();
  }

  /** Lets the socket keep the event loop alive (the default). */
  ref(): void {
    this.#conn.ref();
  }

  /** Stops the socket from keeping the event loop alive. */
  unref(): void {
    this.#conn.unref();
  }

  /**
   * Sets `TCP_NODELAY` on the socket, when it is a TCP socket.
   * @param noDelay True disables Nagle's algorithm.
   */
  setNoDelay(noDelay = true): void {
    (this.#conn as Partial<Deno.TcpConn>).setNoDelay?.(noDelay);
  }

  /**
   * Turns TCP keep-alive probes on or off, when it is a TCP socket.
   * @param keepAlive True enables them.
   */
  setKeepAlive(keepAlive = true): void {
    (this.#conn as Partial<Deno.TcpConn>).setKeepAlive?.(keepAlive);
  }

  /** The payload as a stream (made on first use, over `read`). */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream({
      pull: async (controller) => {
        const buffer = new Uint8Array(64 * 1024);
        const n = await this.read(buffer);
        if (n === null) {
          controller.close();
          this.close();
        } else controller.enqueue(buffer.subarray(0, n));
      },
      cancel: () => this.close(),
    });
    return this.#readable;
  }

  /** A stream that writes payload (made on first use, over `write`). */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream({
      write: (chunk) => writeAll(this, chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
    return this.#writable;
  }

  /** Same as {@linkcode MseConn.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A plain socket with bytes already read from it put back in front: `read` returns `pending`
 * first, then the socket's bytes. Used after peeking at an incoming connection to tell a plain
 * BitTorrent handshake from an encrypted one.
 * @example
 * ```ts
 * import { PrefixedConn } from "@shoal/shoal/peer";
 * import { deepStrictEqual } from "node:assert/strict";
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = new PrefixedConn(await listener.accept(), new Uint8Array([1]));
 * await client.write(new Uint8Array([2]));
 * const buffer = new Uint8Array(1);
 * await server.read(buffer);
 * deepStrictEqual(buffer, new Uint8Array([1]));
 * ```
 */
export class PrefixedConn extends MseConn {
  /**
   * Wraps a socket.
   * @param conn The socket; this object owns it from now on.
   * @param pending Bytes already read from it.
   */
  constructor(conn: Deno.Conn, pending: Uint8Array) {
    super(conn, { pending });
  }
}
