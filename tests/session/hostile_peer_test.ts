// A shoal leecher downloads from an honest shoal seeder and, at the same time, from a hostile
// fake seeder written here with Deno.listen and the wire codecs: whatever the fake does, the
// download completes with the right bytes, run() does not throw, and the fake is dropped.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  createTorrent,
  HashPool,
  type Metainfo,
  parseTorrent,
  type PeerAddress,
  type SessionEvent,
} from "../../mod.ts";
import { BLOCK_SIZE } from "../../src/metainfo/geometry.ts";
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH } from "../../src/wire/handshake.ts";
import { decodeMessage, encodeMessage, type PeerMessage } from "../../src/wire/message.ts";
import { encodeHex } from "../../src/bytes/hex.ts";
import { equalBytes } from "../../src/bytes/bytes.ts";
import { formatPeerAddress } from "../../src/wire/peer_address.ts";
import { generatePeerId } from "../../src/wire/peer_id.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import type { TorrentSessionOptions } from "../../src/session/session_options.ts";
import { assertSameBytes, ofType, randomBytes } from "../test_util.ts";

const LOOPBACK = "127.0.0.1";

/** What the fake seeder does wrong. */
type Misbehaviour =
  | "wrong-data" // answers every request with a block of the wrong bytes
  | "huge-frame" // sends a frame whose length prefix is ~2 GiB
  | "unrequested-block" // sends a piece message for a block nobody asked for
  | "bad-bitfield" // sends a bitfield one byte too long
  | "bad-have" // sends a have for piece index == pieceCount
  | "silent" // unchokes, then never answers a request
  | "withhold-first-block" // answers every request with the right bytes, but never offset 0
  | "aliasing-block" // answers a request for piece i with offset 1 GiB, which once aliased piece i+1
  | "unaligned-block" // answers with the right bytes at an offset one byte off the block
  | "fast-unnegotiated"; // handshakes without the fast bit, then sends have-all anyway

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
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

/** Reads frames from a socket with the project's decoder. */
class FrameReader {
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  constructor(readonly conn: Deno.Conn) {}

  async #fill(): Promise<boolean> {
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
    const n = await this.conn.read(this.#buffer.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** Exactly `length` bytes, or `undefined` at end of stream. */
  async bytes(length: number): Promise<Uint8Array | undefined> {
    while (this.#end - this.#start < length) if (!(await this.#fill())) return undefined;
    const out = this.#buffer.slice(this.#start, this.#start + length);
    this.#start += length;
    return out;
  }

  /** The next message, or `undefined` at end of stream. */
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
}

/**
 * A fake seeder on 127.0.0.1: answers the handshake, claims every piece, unchokes, and then
 * misbehaves as told. Counts what it saw.
 */
class HostileSeeder implements AsyncDisposable {
  readonly peerId: Uint8Array = generatePeerId();
  readonly meta: Metainfo;
  readonly mode: Misbehaviour;
  /** TCP connections accepted. */
  connections = 0;
  /** Request messages received. */
  requests = 0;
  /** When each request arrived (performance.now()). */
  readonly requestTimes: number[] = [];
  /** Piece messages sent. */
  blocksSent = 0;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;

  /** The right bytes, for the modes that send some. */
  readonly data: Uint8Array | undefined;
  /** Peer ids (hex) of the clients that handshook with it, in order. */
  readonly handshakesFrom: string[] = [];
  /** Pieces whose first block it withheld. */
  readonly withheld: Set<number> = new Set();

  constructor(meta: Metainfo, mode: Misbehaviour, data?: Uint8Array) {
    this.meta = meta;
    this.mode = mode;
    this.data = data;
    this.#listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
    this.#accepting = this.#accept();
  }

  get address(): PeerAddress {
    return { host: LOOPBACK, port: this.#listener.addr.port };
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.connections++;
        this.#conns.add(conn);
        const task: Promise<void> = this.#serve(conn)
          .catch(() => {}) // the leecher hanging up on us is the point
          .finally(() => {
            this.#conns.delete(conn);
            this.#tasks.delete(task);
            try {
              conn.close();
            } catch {
              // already closed
            }
          });
        this.#tasks.add(task);
      }
    } catch {
      // listener closed
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const { meta } = this;
    const reader = new FrameReader(conn);
    const hello = await reader.bytes(HANDSHAKE_LENGTH);
    const theirs = hello && decodeHandshake(hello);
    if (!theirs || !equalBytes(theirs.infoHash, meta.infoHash)) return;
    this.handshakesFrom.push(encodeHex(theirs.peerId));
    await writeAll(
      conn,
      encodeHandshake({
        infoHash: meta.infoHash,
        peerId: this.peerId,
        reserved: this.mode === "fast-unnegotiated" ? new Uint8Array(8) : undefined,
      }),
    );
    const count = meta.pieceCount;
    const bitfieldBytes = Math.ceil(count / 8);
    const opening: Uint8Array[] = [];
    if (this.mode === "bad-bitfield") {
      opening.push(
        encodeMessage({ type: "bitfield", bytes: new Uint8Array(bitfieldBytes + 1).fill(0xff) }),
      );
    } else if (theirs.extensions.fast || this.mode === "fast-unnegotiated") {
      opening.push(encodeMessage({ type: "have-all" }));
    } else {
      const bytes = new Uint8Array(bitfieldBytes).fill(0xff);
      if (count % 8 !== 0) bytes[bitfieldBytes - 1] = (0xff << (8 - (count % 8))) & 0xff;
      opening.push(encodeMessage({ type: "bitfield", bytes }));
    }
    if (this.mode === "huge-frame") {
      // Length prefix 0x7ffffff0 (about 2 GiB), id 7 (piece), then a few bytes.
      opening.push(new Uint8Array([0x7f, 0xff, 0xff, 0xf0, 7, 0, 0, 0, 0, 0, 0, 0, 0]));
    }
    if (this.mode === "unrequested-block") {
      // We still choke the leecher, so it cannot have asked for anything.
      const index = count - 1;
      const length = Math.min(BLOCK_SIZE, meta.totalLength - index * meta.pieceLength);
      opening.push(
        encodeMessage({ type: "piece", index, begin: 0, block: new Uint8Array(length) }),
      );
      this.blocksSent++;
    }
    if (this.mode === "bad-have") opening.push(encodeMessage({ type: "have", index: count }));
    opening.push(encodeMessage({ type: "unchoke" }));
    await writeAll(conn, concat(opening));

    while (true) {
      const message = await reader.message();
      if (!message) return;
      if (message.type !== "request") continue;
      this.requests++;
      this.requestTimes.push(performance.now());
      if (this.mode === "wrong-data") {
        const block = randomBytes(message.length, 0xbad + this.requests);
        await writeAll(
          conn,
          encodeMessage({ type: "piece", index: message.index, begin: message.begin, block }),
        );
        this.blocksSent++;
      }
      if ((this.mode === "aliasing-block" || this.mode === "unaligned-block") && this.data) {
        const at = message.index * this.meta.pieceLength + message.begin;
        const block = this.data.slice(at, at + message.length);
        const begin = this.mode === "aliasing-block" ? 65536 * BLOCK_SIZE : message.begin + 1;
        await writeAll(conn, encodeMessage({ type: "piece", index: message.index, begin, block }));
        this.blocksSent++;
      }
      if (this.mode === "withhold-first-block" && this.data) {
        if (message.begin === 0) {
          this.withheld.add(message.index);
          continue;
        }
        const at = message.index * this.meta.pieceLength + message.begin;
        const block = this.data.slice(at, at + message.length);
        await writeAll(
          conn,
          encodeMessage({ type: "piece", index: message.index, begin: message.begin, block }),
        );
        this.blocksSent++;
      }
      // "silent" (and the modes that should have been dropped by now) answer nothing.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await Promise.allSettled([...this.#tasks]);
  }
}

/** Runs a session to its end, recording events; never rejects (the error is returned). */
async function drain(
  session: TorrentSession,
  events: SessionEvent[],
  onEvent?: (event: SessionEvent) => void,
): Promise<unknown> {
  try {
    for await (const event of session.run()) {
      events.push(event);
      onEvent?.(event);
    }
    return undefined;
  } catch (error) {
    return error ?? new Error("run() threw undefined");
  }
}

interface Outcome {
  meta: Metainfo;
  hostile: HostileSeeder;
  events: SessionEvent[];
  /** `peer disconnected` events about the hostile peer's address. */
  hostileDrops: { reason?: string }[];
  /** The leecher's peer id (hex). */
  leecherId: string;
}

/**
 * An honest seeder (upload-limited, so the download takes a while) and a hostile one; a
 * leecher told of both. Checks what every variant must satisfy and returns the rest.
 */
async function downloadBeside(
  mode: Misbehaviour,
  options: {
    size: number;
    seedRate: number;
    seed: number;
    leecher?: Partial<TorrentSessionOptions>;
  },
): Promise<Outcome> {
  const root = await Deno.makeTempDir({ prefix: `shoal-hostile-${mode}-` });
  await using pool = new HashPool();
  const seedDir = `${root}/seed`;
  await Deno.mkdir(seedDir);
  const data = randomBytes(options.size, options.seed);
  await Deno.writeFile(`${seedDir}/payload.bin`, data);
  const meta = parseTorrent(
    await createTorrent(`${seedDir}/payload.bin`, { pieceLength: 32 * 1024 }),
  );
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error("deadline")), 90_000);
  const stopSeeder = new AbortController();
  const seeder = new TorrentSession(meta, {
    dir: seedDir,
    seed: true,
    requireComplete: true,
    maxUploadRate: options.seedRate,
    listenHost: LOOPBACK,
    port: 0,
    trackers: false,
    hashPool: pool,
    signal: AbortSignal.any([stopSeeder.signal, deadline.signal]),
  });
  const seederReady = Promise.withResolvers<number>();
  const seederEvents: SessionEvent[] = [];
  const seederRun = drain(seeder, seederEvents, (event) => {
    if (event.type === "ready") seederReady.resolve(event.port ?? 0);
  });
  seederRun.then(() => seederReady.reject(new Error("seeder ended before ready")));
  await using hostile = new HostileSeeder(meta, mode, data);
  const events: SessionEvent[] = [];
  try {
    const seederPort = await seederReady.promise;
    const leecher = new TorrentSession(meta, {
      dir: `${root}/leech`,
      peers: [hostile.address, { host: LOOPBACK, port: seederPort }],
      listenHost: LOOPBACK,
      port: 0,
      trackers: false,
      hashPool: pool,
      signal: deadline.signal,
      ...options.leecher,
    });
    const error = await drain(leecher, events);
    strictEqual(error, undefined, `run() threw: ${error}`);
    ok(!deadline.signal.aborted, "the download finished before the deadline");
    strictEqual(ofType(events, "complete").length, 1, "the download completes");
    assertSameBytes(await Deno.readFile(`${root}/leech/payload.bin`), data, "downloaded copy");
    const hostileId = encodeHex(hostile.peerId);
    const pieces = ofType(events, "piece");
    strictEqual(pieces.length, meta.pieceCount, "every piece verified once");
    if (mode !== "withhold-first-block") {
      ok(
        pieces.every((p) => !p.from.includes(hostileId)),
        "no verified piece has a block from the hostile peer",
      );
    }
    ok(hostile.connections >= 1, "the leecher connected to the hostile peer");
    const where = formatPeerAddress(hostile.address);
    const hostileDrops = ofType(events, "peer").filter((e) =>
      e.change === "disconnected" && e.address === where
    );
    return { meta, hostile, events, hostileDrops, leecherId: encodeHex(leecher.peerId) };
  } finally {
    clearTimeout(timer);
    stopSeeder.abort();
    const seederError = await seederRun;
    await Deno.remove(root, { recursive: true });
    strictEqual(seederError, undefined, `the honest seeder's run() threw: ${seederError}`);
  }
}

const QUICK = { size: 2 * 1024 * 1024 + 4321, seedRate: 1024 * 1024 };

Deno.test("hostile peer sending wrong block data: warnings, banned, download still completes", async () => {
  // 4 MiB at 512 KiB/s takes ~8 s: longer than the 5 s after which a merely dropped (not
  // banned) address would be dialled again.
  const { hostile, events, hostileDrops, leecherId } = await downloadBeside("wrong-data", {
    size: 4 * 1024 * 1024,
    seedRate: 512 * 1024,
    seed: 1,
  });
  ok(hostile.blocksSent > 0, "the hostile peer was asked for blocks and sent bad ones");
  const warnings = ofType(events, "warning");
  ok(
    warnings.some((w) => /failed its SHA-1 check/.test(w.message)),
    `SHA-1 warnings expected, got ${JSON.stringify(warnings)}`,
  );
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  // (The honest seeder may meet the fake too, having heard of it by PEX: only the leecher's
  // own connections count.)
  strictEqual(
    hostile.handshakesFrom.filter((id) => id === leecherId).length,
    1,
    "banned: the leecher never dialled it again",
  );
});

Deno.test("hostile peer sending a frame with a huge length prefix is dropped", async () => {
  const { hostileDrops } = await downloadBeside("huge-frame", { ...QUICK, seed: 2 });
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  ok(
    /frame length \d+ is over the limit/.test(hostileDrops[0].reason ?? ""),
    `reason: ${hostileDrops[0].reason}`,
  );
});

Deno.test("hostile peer sending a block never requested is dropped", async () => {
  const { hostile, hostileDrops } = await downloadBeside("unrequested-block", {
    ...QUICK,
    seed: 3,
  });
  strictEqual(hostile.blocksSent >= 1, true);
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  ok(/never asked for/.test(hostileDrops[0].reason ?? ""), `reason: ${hostileDrops[0].reason}`);
});

Deno.test("hostile peer sending a bitfield of the wrong length is dropped", async () => {
  const { hostile, hostileDrops } = await downloadBeside("bad-bitfield", { ...QUICK, seed: 4 });
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  ok(/Bad bitfield/.test(hostileDrops[0].reason ?? ""), `reason: ${hostileDrops[0].reason}`);
  strictEqual(hostile.requests, 0, "nothing was requested from it");
});

Deno.test("hostile peer sending have with an out-of-range index is dropped", async () => {
  const { meta, hostileDrops } = await downloadBeside("bad-have", { ...QUICK, seed: 5 });
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  ok(
    hostileDrops[0].reason?.includes(`piece index ${meta.pieceCount} is out of range`),
    `reason: ${hostileDrops[0].reason}`,
  );
});

Deno.test("a peer that never answers requests is snubbed and does not stop the download", async () => {
  // 3 MiB at 512 KiB/s takes ~6 s: many times the 500 ms snub timeout.
  const { hostile, events } = await downloadBeside("silent", {
    size: 3 * 1024 * 1024,
    seedRate: 512 * 1024,
    seed: 6,
    leecher: { snubTimeoutMs: 500, requestTimeoutMs: 60_000 },
  });
  strictEqual(hostile.blocksSent, 0);
  deepStrictEqual(ofType(events, "warning"), [], "no hash failures");
  // Its first pipeline fills at once and is never answered. Unsnubbed, those requests would sit
  // there (each times out only after 60 s) and it would never be asked again; snubbed, they are
  // released and it is asked one block at a time, again and again, until the download ends.
  const times = hostile.requestTimes;
  const spread = times[times.length - 1] - times[0];
  ok(spread > 2_000, `requests came over only ${spread.toFixed(0)} ms: never snubbed`);
  const late = times.filter((t) => t - times[0] > 1_000).length;
  ok(late >= 3, `${late} requests after the first second`);
});

Deno.test("blocks a peer sits on are fetched from another peer after the request timeout", async () => {
  // The fake answers everything at once except the first block of each piece. Those pieces
  // stay open and fill the leecher's small memory budget, so without request timeouts the
  // download would stall (the fake keeps sending, so it is never snubbed, and endgame never
  // starts while the budget is full).
  const { hostile, events } = await downloadBeside("withhold-first-block", {
    size: 4 * 1024 * 1024,
    seedRate: 512 * 1024,
    seed: 7,
    // Snubbing (which would also free the blocks after the fake stalls) is pushed past the
    // test deadline, so only the request timeout can rescue the download.
    leecher: { requestTimeoutMs: 1000, snubTimeoutMs: 600_000, maxActiveBytes: 512 * 1024 },
  });
  ok(hostile.withheld.size > 16, `withheld the first block of ${hostile.withheld.size} pieces`);
  ok(hostile.blocksSent > 0, "the fake delivered the other blocks");
  const fromFake = ofType(events, "piece").filter((p) =>
    p.from.includes(encodeHex(hostile.peerId))
  );
  ok(fromFake.length > 0, "pieces were assembled from both peers");
});

Deno.test("hostile peer sending a block at offset 1 GiB (aliasing another piece's block) is dropped", async () => {
  const { hostile, hostileDrops } = await downloadBeside("aliasing-block", { ...QUICK, seed: 8 });
  ok(hostile.blocksSent >= 1, "it sent its aliasing block");
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  ok(/outside its piece/.test(hostileDrops[0].reason ?? ""), `reason: ${hostileDrops[0].reason}`);
});

Deno.test("hostile peer sending a block at an unaligned offset is dropped", async () => {
  const { hostile, hostileDrops } = await downloadBeside("unaligned-block", { ...QUICK, seed: 9 });
  ok(hostile.blocksSent >= 1);
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  ok(/outside its piece/.test(hostileDrops[0].reason ?? ""), `reason: ${hostileDrops[0].reason}`);
});

Deno.test("a peer that sends fast-extension messages without negotiating it is dropped", async () => {
  const { hostile, hostileDrops } = await downloadBeside("fast-unnegotiated", {
    ...QUICK,
    seed: 10,
  });
  strictEqual(hostile.requests, 0, "nothing was requested from it");
  ok(hostileDrops.length >= 1, "the hostile peer was disconnected");
  ok(
    /without negotiating the fast extension/.test(hostileDrops[0].reason ?? ""),
    `reason: ${hostileDrops[0].reason}`,
  );
});
