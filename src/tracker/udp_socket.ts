import dgram from "node:dgram";

/** One datagram received by a {@linkcode UdpSocket}. */
export interface UdpMessage {
  /** The datagram's bytes (a fresh copy). */
  data: Uint8Array;
  /** The sender's IP address (IPv6 without brackets). */
  host: string;
  /** The sender's UDP port. */
  port: number;
}

/** Options for {@linkcode openUdpSocket}. */
export interface OpenUdpSocketOptions {
  /** The local port to bind (default 0: any free port). */
  port?: number;
  /**
   * The local address to bind (default "0.0.0.0"; an address with ":" makes an IPv6 socket,
   * e.g. "::" or "::1").
   */
  host?: string;
}

/**
 * A bound UDP socket: the one place shoal touches UDP (trackers per BEP 15, and the DHT), built
 * on `node:dgram` so that `deno run` needs no unstable flag.
 */
export interface UdpSocket extends AsyncDisposable {
  /** 4 for an IPv4 socket, 6 for IPv6. */
  readonly family: 4 | 6;
  /** The bound local address. */
  readonly localHost: string;
  /** The bound local port. */
  readonly localPort: number;
  /** Whether {@linkcode UdpSocket.close} was called. */
  readonly closed: boolean;
  /**
   * Sends one datagram.
   * @param data The bytes.
   * @param host The destination IP address or host name.
   * @param port The destination port.
   * @returns Resolves once handed to the system.
   */
  send(data: Uint8Array, host: string, port: number): Promise<void>;
  /**
   * Registers a handler called for every datagram received from now on.
   * @param handler Called with each datagram; its exceptions are swallowed.
   * @returns A function that unregisters the handler.
   */
  onMessage(handler: (message: UdpMessage) => void): () => void;
  /**
   * Iterates the datagrams received from now on, until the socket closes or `signal` aborts.
   * At most 1,024 unread datagrams are held; later ones are dropped until the reader catches up.
   * @param options `signal` ends the iteration.
   * @returns The datagrams.
   */
  messages(options?: { signal?: AbortSignal }): AsyncIterable<UdpMessage>;
  /**
   * Closes the socket; idempotent.
   * @returns Resolves once closed.
   */
  close(): Promise<void>;
}

const MAX_QUEUED_MESSAGES = 1024;

class NodeUdpSocket implements UdpSocket {
  readonly family: 4 | 6;
  readonly localHost: string;
  readonly localPort: number;
  #socket: dgram.Socket;
  #handlers = new Set<(message: UdpMessage) => void>();
  #closing: Promise<void> | undefined;
  #closeWaiters = new Set<() => void>();

  constructor(socket: dgram.Socket, family: 4 | 6) {
    this.#socket = socket;
    this.family = family;
    const address = socket.address();
    this.localHost = address.address;
    this.localPort = address.port;
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      const message = { data: new Uint8Array(msg), host: rinfo.address, port: rinfo.port };
      for (const handler of [...this.#handlers]) {
        try {
          handler(message);
        } catch {
          // a handler's bug must not stop the others
        }
      }
    });
    // A send error (e.g. ICMP unreachable) is reported through send's callback; an 'error'
    // event without a listener would throw, so keep one.
    socket.on("error", () => {});
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  send(data: Uint8Array, host: string, port: number): Promise<void> {
    if (this.#closing) return Promise.reject(new Error("Cannot send: the UDP socket is closed"));
    return new Promise((resolve, reject) => {
      this.#socket.send(data, port, host, (error: Error | null) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  onMessage(handler: (message: UdpMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async *messages(options: { signal?: AbortSignal } = {}): AsyncGenerator<UdpMessage> {
    const { signal } = options;
    const queue: UdpMessage[] = [];
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const off = this.onMessage((message) => {
      if (queue.length < MAX_QUEUED_MESSAGES) queue.push(message);
      notify();
    });
    signal?.addEventListener("abort", notify);
    this.#closeWaiters.add(notify);
    try {
      while (true) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.#closing || signal?.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      off();
      signal?.removeEventListener("abort", notify);
      this.#closeWaiters.delete(notify);
    }
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#handlers.clear();
      for (const waiter of this.#closeWaiters) waiter();
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Opens and binds a UDP socket (IPv4 unless `host` is an IPv6 address).
 * @param options `port` (default 0) and `host` (default "0.0.0.0").
 * @returns The bound socket; close it (or `await using` it) when done.
 * @throws {Error} If the address cannot be bound.
 * @example
 * ```ts
 * import { openUdpSocket } from "@shoal/shoal/tracker";
 * import { deepStrictEqual } from "node:assert/strict";
 * await using a = await openUdpSocket({ host: "127.0.0.1" });
 * await using b = await openUdpSocket({ host: "127.0.0.1" });
 * const received = a.messages()[Symbol.asyncIterator]().next();
 * await b.send(new Uint8Array([1, 2, 3]), "127.0.0.1", a.localPort);
 * deepStrictEqual((await received).value?.data, new Uint8Array([1, 2, 3]));
 * ```
 */
export function openUdpSocket(options: OpenUdpSocketOptions = {}): Promise<UdpSocket> {
  const host = options.host ?? "0.0.0.0";
  const family: 4 | 6 = host.includes(":") ? 6 : 4;
  const socket = dgram.createSocket({ type: family === 6 ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      try {
        socket.close();
      } catch {
        // never bound
      }
      reject(error);
    };
    socket.once("error", onError);
    socket.bind({ port: options.port ?? 0, address: host }, () => {
      socket.off("error", onError);
      resolve(new NodeUdpSocket(socket, family));
    });
  });
}
