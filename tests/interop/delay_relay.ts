/**
 * A TCP relay on 127.0.0.1 that makes a peer slow to answer: bytes from the client go to the
 * peer at once, and so do the peer's BitTorrent handshake and its first message (the BEP 10
 * extension handshake); every later chunk from the peer waits `delayMs` first. Tests use it to
 * have a hostile peer's answers arrive after an honest peer's.
 * @module
 */

const HANDSHAKE_BYTES = 68;

/** A running relay; dispose it to close the listener and every connection. */
export class DelayRelay implements AsyncDisposable {
  /** The port to dial. */
  readonly port: number;
  readonly #listener: Deno.Listener;
  readonly #target: number;
  readonly #delayMs: number;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #controller = new AbortController();
  #closing: Promise<void> | undefined;

  /**
   * Listens on a free port of 127.0.0.1 and relays each connection to `target`.
   * @param target The peer's port on 127.0.0.1.
   * @param delayMs How long each chunk from the peer waits, after its extension handshake.
   */
  constructor(target: number, delayMs: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#target = target;
    this.#delayMs = delayMs;
    this.#track(this.#accept());
  }

  /** Closes everything and waits for the relaying to end. Idempotent. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#closing ??= (async () => {
      this.#controller.abort();
      this.#listener.close();
      for (const conn of this.#conns) closeQuietly(conn);
      while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    })();
    return this.#closing;
  }

  #track(task: Promise<void>): void {
    const tracked = task.catch(() => {}).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      this.#conns.add(client);
      this.#track(this.#relay(client));
    }
  }

  async #relay(client: Deno.Conn): Promise<void> {
    let peer: Deno.Conn | undefined;
    try {
      peer = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
      this.#conns.add(peer);
      const up = pump(client, peer, () => 0, this.#controller.signal);
      // The handshake and the first frame (learnt from its length prefix) go at once.
      const head: number[] = [];
      let passed = 0;
      let free: number | undefined;
      const down = pump(peer, client, (chunk) => {
        for (let i = 0; i < chunk.length && head.length < HANDSHAKE_BYTES + 4; i++) {
          head.push(chunk[i]);
        }
        if (free === undefined && head.length === HANDSHAKE_BYTES + 4) {
          const length = new DataView(Uint8Array.from(head).buffer).getUint32(HANDSHAKE_BYTES);
          free = HANDSHAKE_BYTES + 4 + length;
        }
        passed += chunk.length;
        return free === undefined || passed <= free ? 0 : this.#delayMs;
      }, this.#controller.signal);
      await Promise.race([up, down]);
    } finally {
      closeQuietly(client);
      if (peer) closeQuietly(peer);
      this.#conns.delete(client);
      if (peer) this.#conns.delete(peer);
    }
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}

/** Copies `from` to `to`, each chunk after `delayOf(chunk)` ms, until either side ends. */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  delayOf: (chunk: Uint8Array) => number,
  signal: AbortSignal,
): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const n = await from.read(buffer);
    if (n === null) return;
    const chunk = buffer.slice(0, n);
    const wait = delayOf(chunk);
    if (wait > 0) await sleep(wait, signal);
    for (let done = 0; done < chunk.length;) done += await to.write(chunk.subarray(done));
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
