// An in-memory Deno.Conn pair for driving socket code without sockets: what one end writes the
// other reads, in pieces no bigger than a chosen cap (so readers see split data), with
// half-close (closeWrite gives the other end EOF) and close (pending reads end, writes fail).

/** Splits reads: returns the most bytes one read may deliver. */
export type ReadCap = () => number;

const ADDR = (port: number): Deno.NetAddr => ({ transport: "tcp", hostname: "127.0.0.1", port });

/** One end of {@linkcode memoryConnPair}. */
export class MemoryConn implements Deno.Conn {
  #queue: Uint8Array[] = [];
  #eof = false;
  #closed = false;
  #waiter: (() => void) | undefined;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  /** The other end. */
  peer!: MemoryConn;

  /**
   * Makes one end; {@linkcode memoryConnPair} joins two.
   * @param localAddr This end's address.
   * @param remoteAddr The other end's address.
   * @param readCap The most bytes one read returns.
   */
  constructor(
    readonly localAddr: Deno.NetAddr,
    readonly remoteAddr: Deno.NetAddr,
    readonly readCap: ReadCap,
  ) {}

  /** Whether {@linkcode MemoryConn.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Called by the other end: bytes arrive. */
  deliver(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#queue.push(bytes);
    this.#wake();
  }

  /** Called by the other end: it will write no more. */
  end(): void {
    this.#eof = true;
    this.#wake();
  }

  /**
   * Reads what the other end wrote, at most `readCap()` bytes at a time.
   * @param p Where to put the bytes.
   * @returns How many, or `null` once the other end has ended and everything was read.
   */
  async read(p: Uint8Array): Promise<number | null> {
    while (true) {
      if (this.#closed) throw new Deno.errors.BadResource("read on a closed MemoryConn");
      const head = this.#queue[0];
      if (head) {
        const n = Math.min(p.length, head.length, Math.max(1, this.readCap()));
        p.set(head.subarray(0, n));
        if (n === head.length) this.#queue.shift();
        else this.#queue[0] = head.subarray(n);
        return n;
      }
      if (this.#eof) return null;
      if (this.#waiter) throw new Error("MemoryConn: two reads at once");
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
  }

  /**
   * Sends bytes to the other end (copied; all of them).
   * @param p The bytes.
   * @returns `p.length`.
   */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("write on a closed MemoryConn"));
    }
    if (this.peer.#closed) return Promise.reject(new Deno.errors.BrokenPipe("peer closed"));
    this.peer.deliver(p.slice());
    return Promise.resolve(p.length);
  }

  /** Closes this end: its pending read fails, the other end sees EOF. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("MemoryConn already closed");
    this.#closed = true;
    this.#wake();
    this.peer.end();
  }

  /**
   * Ends this end's writing: the other end reads EOF after what was sent.
   * @returns When done.
   */
  closeWrite(): Promise<void> {
    this.peer.end();
    return Promise.resolve();
  }

  /** Does nothing: no event-loop resource to hold. */
  ref(): void {}

  /** Does nothing: no event-loop resource to hold. */
  unref(): void {}

  /** The incoming bytes as a stream. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream({
      pull: async (controller) => {
        const buffer = new Uint8Array(16384);
        const n = await this.read(buffer);
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
    });
    return this.#readable;
  }

  /** A stream that writes to the other end. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream({ write: async (chunk) => void await this.write(chunk) });
    return this.#writable;
  }

  /** Closes this end if it is open. */
  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }
}

/**
 * Makes two joined in-memory connections.
 * @param readCapA The most bytes one read on the first end returns.
 * @param readCapB The same for the second end.
 * @returns The two ends.
 */
export function memoryConnPair(
  readCapA: ReadCap = () => Infinity,
  readCapB: ReadCap = () => Infinity,
): [MemoryConn, MemoryConn] {
  const a = new MemoryConn(ADDR(1), ADDR(2), readCapA);
  const b = new MemoryConn(ADDR(2), ADDR(1), readCapB);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
