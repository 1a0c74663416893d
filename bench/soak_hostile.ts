// Scripted hostile connections for bench/soak.ts, written with Deno.connect and the project's
// own wire codecs. Each worker holds at most one connection at a time and runs its kind over
// and over until stopped, so the number of workers bounds the connections open at once.
import { BLOCK_SIZE } from "../src/metainfo/geometry.ts";
import { encodeHandshake, encodeReserved, HANDSHAKE_LENGTH } from "../src/wire/handshake.ts";
import { decodeMessage, encodeMessage, type PeerMessage } from "../src/wire/message.ts";
import { generatePeerId } from "../src/wire/peer_id.ts";

/** What a hostile connection does. */
export type HostileKind =
  | "handshake-flood" // connect, handshake, close at once, repeat
  | "half-open" // connect and never send a byte
  | "slow-reader" // handshake, interested; once unchoked, request a lot and read 1 byte/s
  | "garbage" // bytes that are not a handshake (a wrong protocol string, or random bytes)
  | "mse-garbage" // a 96-byte random "public key", then random bytes
  | "huge-frame" // handshake, then a frame whose length prefix says 4 GiB
  | "choked-request-flood" // handshake, then requests without interest, never unchoked
  | "invalid-index"; // handshake, interested, then requests/haves/bitfields out of range

/** Every kind, in the order reports list them. */
export const HOSTILE_KINDS: readonly HostileKind[] = [
  "handshake-flood",
  "half-open",
  "slow-reader",
  "garbage",
  "mse-garbage",
  "huge-frame",
  "choked-request-flood",
  "invalid-index",
];

/** What the hostile side needs to know of the seeder. */
export interface HostileTarget {
  /** The seeder's port on 127.0.0.1. */
  port: number;
  /** The torrent's info hash. */
  infoHash: Uint8Array;
  /** Pieces in the torrent. */
  pieceCount: number;
  /** Its piece length. */
  pieceLength: number;
}

/** Counts for one kind. */
export interface HostileCounts {
  /** TCP connections established. */
  made: number;
  /** Connection attempts that failed (refused, reset during connect). */
  connectFailed: number;
  /** Connections the seeder closed (or reset) before we meant to. */
  droppedBySeeder: number;
  /** Connections we closed at the end of their hold time or the run. */
  closedByUs: number;
  /** Milliseconds from connect to the seeder's close, summed over `droppedBySeeder`. */
  dropMsTotal: number;
  /** Slow readers the seeder unchoked. */
  unchoked: number;
  /** Wire messages we sent (requests, haves, ...). */
  messagesSent: number;
  /** Bytes the seeder sent us. */
  bytesRead: number;
}

/** How long one connection of a kind is kept at most before we close it and start another. */
const HOLD_MS: Record<HostileKind, number> = {
  "handshake-flood": 0,
  "half-open": 60_000,
  "slow-reader": 600_000,
  garbage: 15_000,
  "mse-garbage": 15_000,
  "huge-frame": 15_000,
  "choked-request-flood": 15_000,
  "invalid-index": 30_000,
};
/** Pause between two connections of a worker, so floods load the seeder, not the machine. */
const PAUSE_MS: Record<HostileKind, number> = {
  "handshake-flood": 20,
  "half-open": 50,
  "slow-reader": 500,
  garbage: 20,
  "mse-garbage": 20,
  "huge-frame": 20,
  "choked-request-flood": 50,
  "invalid-index": 50,
};
/** Requests a slow reader sends once unchoked. */
const SLOW_READER_REQUESTS = 1000;
/** Requests a choked flooder sends (in batches of 500). */
const CHOKED_FLOOD_REQUESTS = 5000;
/** Bytes read while waiting for an unchoke before the slow reader slows down anyway. */
const SLOW_READER_FAST_BYTES = 1024 * 1024;

/** The socket was closed by us (hold time over, or the run stopped). */
class ClosedByUs extends Error {}

/** One connection: its socket, an idempotent close, and who closed it. */
class HostileConn {
  readonly conn: Deno.TcpConn;
  readonly openedMs = performance.now();
  closedByUs = false;
  #closed = false;
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  bytesRead = 0;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  close(byUs: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closedByUs = byUs;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      if (this.#closed) throw new ClosedByUs();
      done += await this.conn.write(bytes.subarray(done));
    }
  }

  /** Reads up to `max` bytes into the buffer; false at end of stream. */
  async #fill(max = this.#buffer.length): Promise<boolean> {
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buffer.length) {
      const grown = new Uint8Array(this.#buffer.length * 2);
      grown.set(this.#buffer);
      this.#buffer = grown;
    }
    const room = this.#buffer.subarray(this.#end, Math.min(this.#buffer.length, this.#end + max));
    const n = await this.conn.read(room);
    if (n === null) return false;
    this.#end += n;
    this.bytesRead += n;
    return true;
  }

  /** Exactly `length` bytes, or undefined at end of stream. */
  async bytes(length: number): Promise<Uint8Array | undefined> {
    while (this.#end - this.#start < length) if (!(await this.#fill())) return undefined;
    const out = this.#buffer.slice(this.#start, this.#start + length);
    this.#start += length;
    return out;
  }

  /** The next message (decoded with the project's codec), or undefined at end of stream. */
  async message(): Promise<PeerMessage | undefined> {
    while (true) {
      const decoded = decodeMessage(this.#buffer.subarray(this.#start, this.#end));
      if (decoded) {
        this.#start += decoded.size;
        return decoded.message;
      }
      if (!(await this.#fill())) return undefined;
    }
  }

  /** Reads and drops everything until the seeder closes. */
  async drain(): Promise<void> {
    this.#start = this.#end = 0;
    while (await this.#fill()) this.#start = this.#end = 0;
  }

  /** Reads one byte a second until the seeder closes. */
  async trickle(signal: AbortSignal): Promise<void> {
    this.#start = this.#end = 0;
    while (!signal.aborted) {
      if (!(await this.#fill(1))) return;
      this.#start = this.#end = 0;
      await pause(1_000, signal);
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(length, at + 65536)));
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A crowd of hostile connections against one seeder: `plan[kind]` workers of each kind, each
 * connecting again as soon as its connection ends. `stop()` closes every socket and waits for
 * every worker.
 */
export class HostileCrowd implements AsyncDisposable {
  /** Counts per kind. */
  readonly counts: Record<HostileKind, HostileCounts>;
  /** Connections open now. */
  open = 0;
  /** The most connections open at once, counting `others()` too. */
  maxOpen = 0;
  readonly #target: HostileTarget;
  readonly #others: () => number;
  readonly #controller = new AbortController();
  readonly #conns = new Set<HostileConn>();
  readonly #workers: Promise<void>[] = [];
  #round = 0;

  /**
   * Starts the workers.
   * @param target The seeder.
   * @param plan Workers per kind.
   * @param others Other connections to the seeder open now (added into `maxOpen`).
   */
  constructor(
    target: HostileTarget,
    plan: Partial<Record<HostileKind, number>>,
    others: () => number = () => 0,
  ) {
    this.#target = target;
    this.#others = others;
    this.counts = Object.fromEntries(HOSTILE_KINDS.map((kind) => [kind, {
      made: 0,
      connectFailed: 0,
      droppedBySeeder: 0,
      closedByUs: 0,
      dropMsTotal: 0,
      unchoked: 0,
      messagesSent: 0,
      bytesRead: 0,
    }])) as Record<HostileKind, HostileCounts>;
    for (const kind of HOSTILE_KINDS) {
      for (let i = 0; i < (plan[kind] ?? 0); i++) {
        // Spread the starts over the first second so they do not all hit the backlog at once.
        this.#workers.push(this.#work(kind, (i * 997) % 1000));
      }
    }
  }

  async #work(kind: HostileKind, delayMs: number): Promise<void> {
    const signal = this.#controller.signal;
    const counts = this.counts[kind];
    await pause(delayMs, signal);
    while (!signal.aborted) {
      let tcp: Deno.TcpConn;
      try {
        tcp = await Deno.connect({ hostname: "127.0.0.1", port: this.#target.port });
      } catch {
        counts.connectFailed++;
        await pause(200, signal);
        continue;
      }
      const conn = new HostileConn(tcp);
      this.#conns.add(conn);
      counts.made++;
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open + this.#others());
      const hold = HOLD_MS[kind] > 0 ? setTimeout(() => conn.close(true), HOLD_MS[kind]) : 0;
      try {
        if (signal.aborted) conn.close(true);
        else await this.#run(kind, conn, signal);
      } catch {
        // the seeder hung up on us (or we closed it): that ends this connection
      }
      clearTimeout(hold);
      if (conn.closed && conn.closedByUs) counts.closedByUs++;
      else if (kind === "handshake-flood") counts.closedByUs++;
      else {
        counts.droppedBySeeder++;
        counts.dropMsTotal += performance.now() - conn.openedMs;
      }
      conn.close(true);
      counts.bytesRead += conn.bytesRead;
      this.#conns.delete(conn);
      this.open--;
      await pause(PAUSE_MS[kind], signal);
    }
  }

  #handshake(reserved?: Uint8Array): Uint8Array {
    return encodeHandshake({ infoHash: this.#target.infoHash, peerId: generatePeerId(), reserved });
  }

  /** Runs one connection of `kind`; returns or throws when it is over. */
  async #run(kind: HostileKind, conn: HostileConn, signal: AbortSignal): Promise<void> {
    const counts = this.counts[kind];
    const { pieceCount, pieceLength } = this.#target;
    const round = this.#round++;
    switch (kind) {
      case "handshake-flood":
        await conn.write(this.#handshake());
        conn.close(true);
        return;
      case "half-open":
        await conn.drain();
        return;
      case "slow-reader": {
        // No fast extension: a plain BEP 3 peer that the seeder has every reason to unchoke.
        await conn.write(
          concat([
            this.#handshake(encodeReserved({ extended: false, fast: false, dht: false })),
            encodeMessage({ type: "interested" }),
          ]),
        );
        counts.messagesSent++;
        if (!(await conn.bytes(HANDSHAKE_LENGTH))) return;
        let unchoked = false;
        while (!unchoked && conn.bytesRead < SLOW_READER_FAST_BYTES) {
          const message = await conn.message();
          if (!message) return;
          unchoked = message.type === "unchoke";
        }
        if (unchoked) counts.unchoked++;
        const requests: Uint8Array[] = [];
        for (let i = 0; i < SLOW_READER_REQUESTS; i++) {
          const index = (round * 7 + i) % pieceCount;
          const begin = (i * BLOCK_SIZE) % pieceLength;
          const length = Math.min(BLOCK_SIZE, pieceLength - begin);
          requests.push(encodeMessage({ type: "request", index, begin, length }));
        }
        await conn.write(concat(requests));
        counts.messagesSent += requests.length;
        await conn.trickle(signal);
        return;
      }
      case "garbage": {
        const junk = randomBytes(68 + (round % 4) * 1024);
        if (round % 2 === 0) {
          // A handshake-shaped blob whose protocol string is wrong.
          junk[0] = 19;
          junk.set(new TextEncoder().encode("BitTorrent protocoX"), 1);
        }
        await conn.write(junk);
        await conn.drain();
        return;
      }
      case "mse-garbage":
        await conn.write(randomBytes(96));
        await pause(100, signal);
        await conn.write(randomBytes(512 + (round % 8) * 256));
        await conn.drain();
        return;
      case "huge-frame":
        await conn.write(concat([
          this.#handshake(),
          new Uint8Array([0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, 0, 0, 0, 0, 0]),
          randomBytes(4096),
        ]));
        await conn.drain();
        return;
      case "choked-request-flood": {
        const reading = conn.drain().catch(() => {});
        await conn.write(this.#handshake());
        for (let sent = 0; sent < CHOKED_FLOOD_REQUESTS && !conn.closed; sent += 500) {
          const batch: Uint8Array[] = [];
          for (let i = 0; i < 500; i++) {
            const index = (sent + i) % pieceCount;
            batch.push(encodeMessage({ type: "request", index, begin: 0, length: BLOCK_SIZE }));
          }
          await conn.write(concat(batch));
          counts.messagesSent += batch.length;
        }
        await reading;
        return;
      }
      case "invalid-index": {
        const reading = conn.drain().catch(() => {});
        const variant = round % 5;
        const bad: PeerMessage[] = variant === 0
          ? [{ type: "request", index: pieceCount, begin: 0, length: BLOCK_SIZE }]
          : variant === 1
          ? [{ type: "request", index: 0xffffffff, begin: 0, length: BLOCK_SIZE }]
          : variant === 2
          ? [{ type: "request", index: 0, begin: pieceLength, length: BLOCK_SIZE }]
          : variant === 3
          ? [{ type: "have", index: pieceCount + 5 }]
          : [{ type: "bitfield", bytes: new Uint8Array(Math.ceil(pieceCount / 8) + 3).fill(255) }];
        await conn.write(concat([
          this.#handshake(),
          encodeMessage({ type: "interested" }),
          ...bad.map(encodeMessage),
        ]));
        counts.messagesSent += 1 + bad.length;
        await reading;
        return;
      }
    }
  }

  /**
   * Stops every worker and closes every socket.
   * @returns When all workers have ended.
   */
  async stop(): Promise<void> {
    this.#controller.abort();
    for (const conn of this.#conns) conn.close(true);
    await Promise.allSettled(this.#workers);
  }

  /**
   * Same as {@linkcode HostileCrowd.stop}.
   * @returns When stopped.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
