import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  acceptPeer,
  connectPeer,
  type PeerConnection,
  PeerConnection as PeerConnectionClass,
  type PeerConnectionOptions,
} from "../../src/peer/connection.ts";
import { PeerError } from "../../src/peer/peer_error.ts";
import { decodeHandshake, encodeHandshake, OUR_RESERVED } from "../../src/wire/handshake.ts";
import { encodeMessage, type PeerMessage } from "../../src/wire/message.ts";
import { generatePeerId } from "../../src/wire/peer_id.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";

const INFO_HASH = new Uint8Array(20).map((_, i) => i * 3);
const PIECE_COUNT = 12;

/** Every message type, valid for a 12-piece torrent. */
const SAMPLES: PeerMessage[] = [
  { type: "bitfield", bytes: new Uint8Array([0xff, 0xf0]) },
  { type: "keep-alive" },
  { type: "choke" },
  { type: "unchoke" },
  { type: "interested" },
  { type: "not-interested" },
  { type: "have", index: 11 },
  { type: "request", index: 3, begin: 16384, length: 16384 },
  { type: "piece", index: 3, begin: 0, block: new Uint8Array(300).map((_, i) => i) },
  { type: "cancel", index: 3, begin: 16384, length: 16384 },
  { type: "port", port: 6881 },
  { type: "suggest", index: 9 },
  { type: "have-all" },
  { type: "have-none" },
  { type: "reject", index: 1, begin: 0, length: 16384 },
  { type: "allowed-fast", index: 0 },
  { type: "extended", id: 3, payload: new Uint8Array([100, 101]) },
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Copies views so collected messages outlive the read buffer. */
function keep(message: PeerMessage): PeerMessage {
  return message.type === "piece" ? { ...message, block: message.block.slice() } : message;
}

async function collect(connection: PeerConnection, limit = Infinity): Promise<PeerMessage[]> {
  const out: PeerMessage[] = [];
  for await (const message of connection.messages()) {
    out.push(keep(message));
    if (out.length >= limit) break;
  }
  return out;
}

async function connectedPair(
  options: PeerConnectionOptions & { sameId?: boolean } = {},
): Promise<{ client: PeerConnection; server: PeerConnection; clientId: Uint8Array }> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const clientId = generatePeerId();
  const serverId = options.sameId ? clientId : generatePeerId();
  const accepting = listener.accept().then((conn) =>
    acceptPeer(conn, {
      ...options,
      peerId: serverId,
      lookup: () => ({ pieceCount: PIECE_COUNT }),
    })
  );
  const client = await connectPeer({ host: "127.0.0.1", port: listener.addr.port }, {
    ...options,
    infoHash: INFO_HASH,
    peerId: clientId,
    pieceCount: PIECE_COUNT,
  });
  return { client, server: await accepting, clientId };
}

/**
 * A raw server: handshakes as a peer for INFO_HASH (or `infoHash`), then runs `body`
 * with the raw socket. Returns the port and the connection made by connectPeer.
 */
async function withRawPeer(
  body: (conn: Deno.Conn) => Promise<void>,
  test: (client: PeerConnection) => Promise<void>,
  options: PeerConnectionOptions = {},
): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    try {
      const buffer = new Uint8Array(68);
      let got = 0;
      while (got < 68) {
        const n = await conn.read(buffer.subarray(got));
        if (n === null) return;
        got += n;
      }
      await conn.write(encodeHandshake({ infoHash: INFO_HASH, peerId: generatePeerId() }));
      await body(conn);
    } finally {
      try {
        conn.close();
      } catch {
        // closed by the body
      }
    }
  })();
  const client = await connectPeer({ host: "127.0.0.1", port: listener.addr.port }, {
    ...options,
    infoHash: INFO_HASH,
    peerId: generatePeerId(),
    pieceCount: PIECE_COUNT,
  });
  try {
    await test(client);
  } finally {
    await client.close();
    await serving;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

Deno.test("connectPeer() and acceptPeer() exchange handshakes both ways", async () => {
  const { client, server, clientId } = await connectedPair();
  await using _c = client;
  await using _s = server;
  deepStrictEqual(server.peerId, clientId);
  deepStrictEqual(client.peerId, server.ourPeerId);
  deepStrictEqual(server.infoHash, INFO_HASH);
  deepStrictEqual(client.extensions, { extended: true, fast: true, dht: false });
  deepStrictEqual(server.extensions, { extended: true, fast: true, dht: false });
  strictEqual(client.remote.host, "127.0.0.1");
  strictEqual(server.remote.host, "127.0.0.1");
  strictEqual(server.pieceCount, PIECE_COUNT);
  await client.send({ type: "interested" });
  await server.send([{ type: "unchoke" }, { type: "have", index: 4 }]);
  deepStrictEqual(await collect(server, 1), [{ type: "interested" }]);
  deepStrictEqual(await collect(client, 2), [{ type: "unchoke" }, { type: "have", index: 4 }]);
});

Deno.test("a self-connection shows up as equal peer ids", async () => {
  const { client, server } = await connectedPair({ sameId: true });
  await using _c = client;
  await using _s = server;
  deepStrictEqual(client.peerId, client.ourPeerId);
  deepStrictEqual(server.peerId, server.ourPeerId);
});

Deno.test("acceptPeer() refuses an unknown info hash and closes the socket", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept().then((conn) =>
    acceptPeer(conn, { peerId: generatePeerId(), lookup: () => undefined })
  );
  const connecting = connectPeer({ host: "127.0.0.1", port: listener.addr.port }, {
    infoHash: INFO_HASH,
    peerId: generatePeerId(),
  });
  await rejects(
    accepting,
    (e) => e instanceof ProtocolError && /unknown info hash/.test(e.message),
  );
  await rejects(
    connecting,
    (e) => e instanceof PeerError && /closed after 0 bytes/.test(e.message),
  );
});

Deno.test("connectPeer() refuses a peer answering with another info hash", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = listener.accept().then(async (conn) => {
    const wrong = new Uint8Array(20).fill(0xee);
    await writeAll(conn, encodeHandshake({ infoHash: wrong, peerId: generatePeerId() }));
    const buffer = new Uint8Array(100);
    while ((await conn.read(buffer)) !== null);
    conn.close();
  });
  await rejects(
    connectPeer({ host: "127.0.0.1", port: listener.addr.port }, {
      infoHash: INFO_HASH,
      peerId: generatePeerId(),
    }),
    (e) => e instanceof ProtocolError && /different info hash/.test(e.message),
  );
  await serving; // ends because the client closed its socket
});

Deno.test("connectPeer() refuses a peer that does not speak BitTorrent", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = listener.accept().then(async (conn) => {
    await writeAll(conn, new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
    const buffer = new Uint8Array(100);
    while ((await conn.read(buffer)) !== null);
    conn.close();
  });
  await rejects(
    connectPeer({ host: "127.0.0.1", port: listener.addr.port }, {
      infoHash: INFO_HASH,
      peerId: generatePeerId(),
    }),
    (e) => e instanceof ProtocolError && e.peer !== undefined,
  );
  await serving;
});

Deno.test("connectPeer() times out on a silent peer and honours its signal", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for (let i = 0; i < 2; i++) accepted.push(await listener.accept());
  })();
  const address = { host: "127.0.0.1", port: listener.addr.port };
  await rejects(
    connectPeer(address, { infoHash: INFO_HASH, peerId: generatePeerId(), connectTimeoutMs: 100 }),
    (e) => e instanceof PeerError && /timed out after 100 ms/.test(e.message),
  );
  const controller = new AbortController();
  const connecting = connectPeer(address, {
    infoHash: INFO_HASH,
    peerId: generatePeerId(),
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("stop")), 50);
  await rejects(connecting, /stop/);
  await accepting;
  for (const conn of accepted) conn.close();
});

Deno.test("acceptPeer() times out when no handshake arrives", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept().then((conn) =>
    acceptPeer(conn, { peerId: generatePeerId(), lookup: () => ({ pieceCount: 1 }), timeoutMs: 80 })
  );
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await rejects(accepting, (e) => e instanceof PeerError && /timed out/.test(e.message));
  strictEqual(await raw.read(new Uint8Array(10)), null); // the server closed its side
  raw.close();
});

Deno.test("messages() round-trips every message type through the socket", async () => {
  const { client, server } = await connectedPair();
  await using _c = client;
  await using _s = server;
  await client.send(SAMPLES);
  await client.close();
  deepStrictEqual(await collect(server), SAMPLES);
  strictEqual(server.downloadedBytes, 300);
  strictEqual(client.uploadedBytes, 300);
});

Deno.test("messages() reassembles frames written one byte at a time", async () => {
  const bytes = concat(SAMPLES.map(encodeMessage));
  await withRawPeer(async (conn) => {
    for (let i = 0; i < bytes.length; i++) await conn.write(bytes.subarray(i, i + 1));
  }, async (client) => {
    deepStrictEqual(await collect(client), SAMPLES);
  });
});

/** A fake socket that hands out its bytes `chunk` at a time, to hit every read boundary. */
function trickleConn(bytes: Uint8Array, chunk: number): Deno.Conn {
  let offset = 0;
  let closed = false;
  const fake = {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    read(buffer: Uint8Array): Promise<number | null> {
      if (closed) return Promise.reject(new Deno.errors.BadResource("closed"));
      if (offset >= bytes.length) return Promise.resolve(null);
      const n = Math.min(chunk, buffer.length, bytes.length - offset);
      buffer.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
    write(data: Uint8Array): Promise<number> {
      return Promise.resolve(data.length);
    },
    close(): void {
      if (closed) throw new Deno.errors.BadResource("closed");
      closed = true;
    },
  };
  return fake as unknown as Deno.Conn;
}

function fakeConnection(conn: Deno.Conn, options: PeerConnectionOptions = {}): PeerConnection {
  return new PeerConnectionClass(conn, {
    ...options,
    remote: { host: "127.0.0.1", port: 1 },
    infoHash: INFO_HASH,
    peerId: generatePeerId(),
    ourPeerId: generatePeerId(),
    extensions: { extended: true, fast: true, dht: false },
    pieceCount: PIECE_COUNT,
  });
}

Deno.test("messages() splits frames correctly at every byte boundary", async () => {
  const bytes = concat(SAMPLES.map(encodeMessage));
  for (const chunk of [1, 2, 3, 5, 7, 13, 64]) {
    // a small read buffer forces compaction and growth on top of the split reads
    for (const readBufferBytes of [16, 1024, 256 * 1024]) {
      await using connection = fakeConnection(trickleConn(bytes, chunk), { readBufferBytes });
      deepStrictEqual(
        await collect(connection),
        SAMPLES,
        `chunk ${chunk} buffer ${readBufferBytes}`,
      );
    }
  }
});

Deno.test("messages() parses many frames from one read and keeps piece data intact", async () => {
  const pieces: PeerMessage[] = [];
  for (let i = 0; i < 200; i++) {
    pieces.push({ type: "have", index: i % PIECE_COUNT });
    pieces.push({
      type: "piece",
      index: i % PIECE_COUNT,
      begin: i * 16384,
      block: new Uint8Array(16384 - (i % 5)).fill(i & 0xff),
    });
  }
  const bytes = concat(pieces.map(encodeMessage));
  await withRawPeer((conn) => writeAll(conn, bytes), async (client) => {
    let count = 0;
    for await (const message of client.messages()) {
      deepStrictEqual(message, pieces[count], `message ${count}`);
      if (++count === pieces.length) break;
    }
    strictEqual(count, pieces.length);
  });
});

Deno.test("messages() resumes after a break", async () => {
  const bytes = concat(SAMPLES.map(encodeMessage));
  await using connection = fakeConnection(trickleConn(bytes, 1000));
  const first = await collect(connection, 3);
  const rest = await collect(connection);
  deepStrictEqual([...first, ...rest], SAMPLES);
});

async function expectProtocolError(frames: Uint8Array, pattern: RegExp): Promise<void> {
  // the peer writes the frames and hangs up, so a missed violation ends in EOF, not a hang
  await withRawPeer((conn) => writeAll(conn, frames), async (client) => {
    await rejects(collect(client), (e) => {
      ok(e instanceof ProtocolError, String(e));
      ok(pattern.test(e.message), e.message);
      strictEqual(e.peer, `127.0.0.1:${client.remote.port}`);
      return true;
    });
    ok(client.closed);
  });
}

Deno.test("messages() ends with ProtocolError for an oversized frame", async () => {
  await expectProtocolError(new Uint8Array([0, 0x20, 0, 0, 5]), /over the limit/);
});

Deno.test("messages() ends with ProtocolError for a bitfield of the wrong size", async () => {
  await expectProtocolError(
    encodeMessage({ type: "bitfield", bytes: new Uint8Array(3) }),
    /bitfield: 3 bytes, expected 2/,
  );
  await expectProtocolError(
    encodeMessage({ type: "bitfield", bytes: new Uint8Array([0, 0x08]) }),
    /spare bits/,
  );
});

Deno.test("messages() ends with ProtocolError for a piece index out of range", async () => {
  for (
    const message of [
      { type: "have", index: PIECE_COUNT },
      { type: "request", index: 1000, begin: 0, length: 16384 },
      { type: "piece", index: 12, begin: 0, block: new Uint8Array(1) },
      { type: "allowed-fast", index: 0xffffffff },
    ] as PeerMessage[]
  ) {
    await expectProtocolError(
      concat([encodeMessage({ type: "unchoke" }), encodeMessage(message)]),
      new RegExp(`${message.type}: piece index \\d+ is out of range 0..11`),
    );
  }
});

Deno.test("messages() ends with PeerError after the idle timeout", async () => {
  await withRawPeer(async (conn) => {
    await writeAll(conn, encodeMessage({ type: "choke" }));
    // silent until the client hangs up, or 3 s so a missed timeout fails instead of hanging
    let timer: ReturnType<typeof setTimeout> | undefined;
    const buffer = new Uint8Array(100);
    await Promise.race([
      (async () => {
        while ((await conn.read(buffer)) !== null);
      })(),
      new Promise((resolve) => timer = setTimeout(resolve, 3000)),
    ]);
    clearTimeout(timer);
  }, async (client) => {
    const got: PeerMessage[] = [];
    await rejects(
      (async () => {
        for await (const message of client.messages()) got.push(message);
      })(),
      (e) => e instanceof PeerError && /idle for 150 ms/.test(e.message),
    );
    deepStrictEqual(got, [{ type: "choke" }]);
    ok(client.closed);
  }, { idleTimeoutMs: 150 });
});

Deno.test("messages() ends normally on EOF and when closed locally", async () => {
  const { client, server } = await connectedPair();
  await using _c = client;
  await using _s = server;
  const reading = server.messages();
  await client.send({ type: "have-all" });
  deepStrictEqual((await reading.next()).value, { type: "have-all" }); // it arrived
  await server.close();
  strictEqual((await reading.next()).done, true, "closed locally: the iteration ends");
  deepStrictEqual(await collect(client), []); // EOF: the server hung up
});

Deno.test("send() keeps concurrent batches whole and in order", async () => {
  const { client, server } = await connectedPair();
  await using _c = client;
  await using _s = server;
  const sent: PeerMessage[] = [];
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) {
    const block = new Uint8Array(16384).fill(i);
    const batch: PeerMessage[] = [{ type: "have", index: i % PIECE_COUNT }];
    sent.push(...batch, { type: "piece", index: i % PIECE_COUNT, begin: i, block });
    sends.push(client.send(batch), client.sendPiece(i % PIECE_COUNT, i, block));
  }
  const reading = collect(server, sent.length);
  await Promise.all(sends);
  deepStrictEqual(await reading, sent);
  strictEqual(client.uploadedBytes, 100 * 16384);
  strictEqual(server.downloadedBytes, 100 * 16384);
});

Deno.test("messages() keeps frames whole while a fast sender makes the read buffer grow", async () => {
  const { client, server } = await connectedPair({ readBufferBytes: 20_000 });
  await using _c = client;
  await using _s = server;
  const blocks = Array.from({ length: 200 }, (_, i) => new Uint8Array(16384).fill(i));
  const sending = Promise.all(
    blocks.map((block, i) => client.sendPiece(i % PIECE_COUNT, i, block)),
  );
  await sending; // all queued in the socket before the first read: reads fill the buffer
  const got = await collect(server, blocks.length);
  deepStrictEqual(
    got,
    blocks.map((block, i) => ({ type: "piece", index: i % PIECE_COUNT, begin: i, block })),
  );
});

Deno.test("queuedBytes counts what send() accepted until it is written, failed sends included", async () => {
  const { client, server } = await connectedPair();
  await using _c = client;
  await using _s = server;
  strictEqual(client.queuedBytes, 0);
  const block = new Uint8Array(16384);
  const sends = [
    client.send([{ type: "have", index: 1 }, { type: "interested" }]),
    client.sendPiece(2, 0, block),
  ];
  strictEqual(client.queuedBytes, 9 + 5 + 13 + 16384);
  const reading = collect(server, 3);
  await Promise.all(sends);
  strictEqual(client.queuedBytes, 0);
  strictEqual((await reading).length, 3);
  await client.close();
  const failed = client.send({ type: "have", index: 3 });
  strictEqual(client.queuedBytes, 9);
  await rejects(failed, PeerError);
  strictEqual(client.queuedBytes, 0);
});

Deno.test("a keep-alive is sent when nothing else was sent for the interval", async () => {
  const { client, server } = await connectedPair({ keepAliveIntervalMs: 60 });
  await using _c = client;
  await using _s = server;
  deepStrictEqual(await collect(server, 1), [{ type: "keep-alive" }]);
});

Deno.test("close() is idempotent and later sends fail with PeerError", async () => {
  const { client, server } = await connectedPair();
  await server.close();
  await client.close();
  await client.close();
  await client[Symbol.asyncDispose]();
  ok(client.closed);
  await rejects(client.send({ type: "choke" }), PeerError);
  await rejects(client.sendPiece(0, 0, new Uint8Array(1)), PeerError);
});

Deno.test("OUR_RESERVED announces the extension protocol and the fast extension", () => {
  const bytes = encodeHandshake({ infoHash: INFO_HASH, peerId: generatePeerId() });
  deepStrictEqual(decodeHandshake(bytes)?.reserved, OUR_RESERVED);
});
