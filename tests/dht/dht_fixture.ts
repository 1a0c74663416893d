// Helpers for the tests that run DhtNode instances on loopback.
import { DhtNode } from "../../src/dht/dht_node.ts";
import type { DhtNodeOptions } from "../../src/dht/dht_types.ts";
import {
  decodeKrpc,
  encodeKrpc,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcQueryBody,
} from "../../src/dht/krpc.ts";
import { openUdpSocket, type UdpMessage, type UdpSocket } from "../../src/tracker/udp_socket.ts";

/** Several DhtNode instances on one host, each bootstrapped from the first. */
export class Swarm implements AsyncDisposable {
  readonly nodes: DhtNode[] = [];

  /** Opens `count` nodes; node 0 starts alone, the others from node 0; then all bootstrap twice. */
  static async open(
    count: number,
    options: DhtNodeOptions & { host?: string } = {},
  ): Promise<Swarm> {
    const swarm = new Swarm();
    const host = options.host ?? "127.0.0.1";
    try {
      swarm.nodes.push(await DhtNode.open({ ...options, host, bootstrap: [] }));
      const first = { host: host === "::" ? "127.0.0.1" : host, port: swarm.nodes[0].port };
      for (let i = 1; i < count; i++) {
        swarm.nodes.push(await DhtNode.open({ ...options, host, bootstrap: [first] }));
      }
      // Round two lets the early nodes learn of the late ones through lookups of their own.
      for (let round = 0; round < 2; round++) {
        for (const node of swarm.nodes) await node.bootstrap();
      }
    } catch (error) {
      await swarm[Symbol.asyncDispose]();
      throw error;
    }
    return swarm;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}

/** Polls `condition` every 10 ms until it holds; throws after `ms`. */
export async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Collects every item of an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A raw UDP socket speaking KRPC by hand, to play a hostile or fake node. */
export class RawKrpc implements AsyncDisposable {
  readonly socket: UdpSocket;
  readonly received: { message?: KrpcMessage; raw: UdpMessage }[] = [];
  #waiters: (() => void)[] = [];
  #next = 1;
  /** When set, every query received is answered with this id and no nodes (a dull node). */
  answerAs: Uint8Array | undefined;

  private constructor(socket: UdpSocket) {
    this.socket = socket;
    socket.onMessage((raw) => {
      let message: KrpcMessage | undefined;
      try {
        message = decodeKrpc(raw.data);
      } catch {
        message = undefined;
      }
      this.received.push({ message, raw });
      if (message && this.answerAs && message.type !== "response" && message.type !== "error") {
        const reply = {
          type: "response",
          transactionId: message.transactionId,
          id: this.answerAs,
        } as const;
        socket.send(encodeKrpc(reply), raw.host, raw.port).catch(() => {});
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static async open(host = "127.0.0.1"): Promise<RawKrpc> {
    return new RawKrpc(await openUdpSocket({ host }));
  }

  get port(): number {
    return this.socket.localPort;
  }

  /** Sends raw bytes. */
  send(bytes: Uint8Array, port: number, host = "127.0.0.1"): Promise<void> {
    return this.socket.send(bytes, host, port);
  }

  /** Sends a query with a fresh transaction id and waits for the message that answers it. */
  async ask(
    query: KrpcQueryBody,
    port: number,
    ms = 3000,
  ): Promise<KrpcMessage> {
    const transactionId = new Uint8Array([0xee, this.#next++ & 0xff]);
    await this.send(encodeKrpc({ ...query, transactionId } as KrpcQuery), port);
    return await this.waitMessage(
      (m) =>
        (m.type === "response" || m.type === "error") && m.transactionId.length === 2 &&
        m.transactionId[0] === 0xee && m.transactionId[1] === transactionId[1],
      ms,
    );
  }

  /** Waits for a received message that matches. */
  async waitMessage(match: (m: KrpcMessage) => boolean, ms: number): Promise<KrpcMessage> {
    const deadline = Date.now() + ms;
    let seen = 0;
    while (true) {
      for (; seen < this.received.length; seen++) {
        const m = this.received[seen].message;
        if (m && match(m)) return m;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching KRPC message within ${ms} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const wake of this.#waiters.splice(0)) wake();
    await this.socket.close();
  }
}
