// The peer handler and the piece verifier against a fake connection: no sockets. Each test
// feeds messages in and reads what the handler sent back.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Bitfield } from "../../src/bytes/bitfield.ts";
import { BLOCK_SIZE, pieceSize } from "../../src/metainfo/geometry.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import type { Metainfo } from "../../src/metainfo/types.ts";
import { RateLimiter } from "../../src/peer/rate_limiter.ts";
import { ActivePiece, blockKey, PieceScheduler } from "../../src/scheduler/piece_scheduler.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { allowedFastSet } from "../../src/wire/allowed_fast.ts";
import { PeerHandler } from "../../src/session/peer_handler.ts";
import { PexExchange } from "../../src/session/pex_exchange.ts";
import { PieceVerifier } from "../../src/session/piece_verifier.ts";
import { SessionStats } from "../../src/session/stats.ts";
import { type PeerLink, SwarmPeer } from "../../src/session/swarm_peer.ts";
import { HashPool } from "../../src/sha1/hash_pool.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { TorrentStorage } from "../../src/storage/torrent_storage.ts";
import { ChokeDriver } from "../../src/upload/choke_driver.ts";
import { UploadServer } from "../../src/upload/upload_server.ts";
import { encodeExtensionHandshake } from "../../src/wire/extension.ts";
import type { HandshakeExtensions } from "../../src/wire/handshake.ts";
import type { PeerMessage } from "../../src/wire/message.ts";
import { randomBytes } from "../test_util.ts";

/** A connection that yields the messages a test pushes and records what is sent. */
class FakeLink implements PeerLink {
  readonly remote = { host: "127.0.0.1", port: 40000 + Math.floor(Math.random() * 20000) };
  readonly peerId: Uint8Array = crypto.getRandomValues(new Uint8Array(20));
  readonly extensions: HandshakeExtensions;
  readonly sent: PeerMessage[] = [];
  closed = false;
  #inbox: PeerMessage[] = [];
  #wake: (() => void) | undefined;
  #sentWake: (() => void) | undefined;

  constructor(extensions: Partial<HandshakeExtensions> = {}) {
    this.extensions = { extended: true, fast: true, dht: false, ...extensions };
  }

  push(...messages: PeerMessage[]): void {
    this.#inbox.push(...messages);
    this.#wake?.();
  }

  async *messages(): AsyncGenerator<PeerMessage> {
    while (!this.closed) {
      if (this.#inbox.length > 0) {
        yield this.#inbox.shift()!;
        continue;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  send(messages: PeerMessage | readonly PeerMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("closed"));
    const list = Array.isArray(messages) ? messages : [messages as PeerMessage];
    // piece blocks are views of reused buffers in the real connection: keep copies
    for (const m of list) this.sent.push(m.type === "piece" ? { ...m, block: m.block.slice() } : m);
    this.#sentWake?.();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    this.#wake?.();
    return Promise.resolve();
  }

  /** Waits until a sent message matches. */
  async waitFor<T extends PeerMessage["type"]>(
    type: T,
    predicate: (m: Extract<PeerMessage, { type: T }>) => boolean = () => true,
  ): Promise<Extract<PeerMessage, { type: T }>> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const found = this.sent.find((m): m is Extract<PeerMessage, { type: T }> =>
        m.type === type && predicate(m as Extract<PeerMessage, { type: T }>)
      );
      if (found) return found;
      const timer = setTimeout(() => this.#sentWake?.(), 100);
      await new Promise<void>((resolve) => this.#sentWake = resolve);
      clearTimeout(timer);
    }
    throw new Error(`no ${type} message was sent; sent: ${this.sent.map((m) => m.type)}`);
  }
}

interface Fixture extends AsyncDisposable {
  meta: Metainfo;
  payload: Uint8Array;
  scheduler: PieceScheduler<SwarmPeer>;
  handler: PeerHandler;
  verifier: PieceVerifier;
  peers: Map<string, SwarmPeer>;
  events: SessionEvent[];
  completed: ActivePiece[];
  run(link: FakeLink): { peer: SwarmPeer; done: Promise<void> };
}

/**
 * A torrent of 4 pieces of 32 KiB (or `pieces`); `seed` puts its data on disk and marks it
 * had; `has` marks only those pieces had (the data is on disk).
 */
async function fixture(
  seed: boolean,
  options: { pieces?: number; has?: readonly number[] } = {},
): Promise<Fixture> {
  const dir = await Deno.makeTempDir();
  const payload = randomBytes((options.pieces ?? 4) * 32768 - 100, 7);
  await Deno.writeFile(`${dir}/file.bin`, payload);
  const meta = parseTorrent(await createTorrent(`${dir}/file.bin`, { pieceLength: 32768 }));
  if (!seed && !options.has) await Deno.remove(`${dir}/file.bin`);
  const have = new Bitfield(meta.pieceCount);
  if (seed) have.fill();
  for (const index of options.has ?? []) have.set(index);
  const storage = await TorrentStorage.open(meta, dir);
  const pool = new HashPool({ size: 0 });
  const scheduler = new PieceScheduler<SwarmPeer>(meta, have);
  const peers = new Map<string, SwarmPeer>();
  const events: SessionEvent[] = [];
  const completed: ActivePiece[] = [];
  const controller = new AbortController();
  const limit = new RateLimiter(undefined);
  const stats = new SessionStats();
  const upload = new UploadServer({
    info: meta,
    storage,
    have,
    limit,
    onSent: (_peer, bytes) => stats.addUploaded(bytes, performance.now()),
  });
  const choker = new ChokeDriver<SwarmPeer>(peers, () => have.complete, (p) => upload.onChoked(p));
  const pex = new PexExchange(true, peers, () => {});
  const verifier = new PieceVerifier({
    metainfo: meta,
    scheduler,
    pool,
    storage,
    peers,
    stopped: () => controller.signal.aborted,
    isBanned: () => false,
    ban: (peer) => peer.conn.close(),
    onVerified: () => {},
    onWarning: (message) => events.push({ type: "warning", message }),
  });
  const handler = new PeerHandler({
    scheduler,
    upload,
    choker,
    pex,
    stats,
    downloadLimit: limit,
    signal: controller.signal,
    port: () => 6881,
    emit: (event) => events.push(event),
    onPieceComplete: (piece) => completed.push(piece),
    infoBytes: meta.infoBytes,
    infoHash: meta.infoHash,
  });
  const running: Promise<void>[] = [];
  const links: FakeLink[] = [];
  return {
    meta,
    payload,
    scheduler,
    handler,
    verifier,
    peers,
    events,
    completed,
    run(link) {
      links.push(link);
      const peer = new SwarmPeer(link, meta.pieceCount, true);
      peers.set(peer.id, peer);
      const done = handler.run(peer).finally(() => peers.delete(peer.id));
      running.push(done);
      return { peer, done };
    },
    async [Symbol.asyncDispose]() {
      controller.abort();
      for (const link of links) await link.close();
      await Promise.allSettled(running);
      limit.close();
      pool.close();
      await storage.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("PeerHandler opens with an extension handshake and have-none, and asks an unchoking seed for blocks", async () => {
  await using f = await fixture(false);
  const link = new FakeLink();
  const { peer, done } = f.run(link);
  await link.waitFor("have-none");
  ok(link.sent[0].type === "extended", "the extension handshake goes first");
  link.push({ type: "have-all" });
  await link.waitFor("interested");
  strictEqual(link.sent.some((m) => m.type === "request"), false, "no request while choked");
  link.push({ type: "unchoke" });
  const request = await link.waitFor("request");
  ok(request.length <= BLOCK_SIZE && request.index < f.meta.pieceCount);
  ok(peer.outstanding.size > 0);
  // A fast peer that chokes us rejects what it will not serve (BEP 6): until then the
  // requests stay ours; each reject releases one for other peers.
  link.push({ type: "choke" }, { type: "keep-alive" });
  await until(() => peer.peerChoking);
  const held = peer.outstanding.size;
  ok(held > 0, "a fast peer's choke alone releases nothing");
  const sent = link.sent.filter((m) => m.type === "request");
  for (const r of sent) {
    link.push({ type: "reject", index: r.index, begin: r.begin, length: r.length });
  }
  await until(() => peer.outstanding.size === 0);
  strictEqual(f.peers.size, 1, "rejects of our requests are no offence");
  await link.close();
  await done;
});

/** Waits (up to 5 s) for a condition the handler makes true in the background. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the handler");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("PeerHandler: a peer without the fast extension that chokes us drops every request", async () => {
  await using f = await fixture(false);
  const link = new FakeLink({ fast: false });
  const { peer, done } = f.run(link);
  link.push({ type: "bitfield", bytes: new Uint8Array([0xf0]) }, { type: "unchoke" });
  await link.waitFor("request");
  ok(peer.outstanding.size > 0);
  link.push({ type: "choke" });
  await until(() => peer.outstanding.size === 0);
  await link.close();
  await done;
});

Deno.test("PeerHandler asks a peer that chokes us for its allowed-fast pieces only", async () => {
  await using f = await fixture(false);
  const link = new FakeLink();
  const { peer, done } = f.run(link);
  link.push(
    { type: "have-all" },
    { type: "allowed-fast", index: 2 },
    { type: "allowed-fast", index: 99 }, // beyond the torrent: ignored, not an offence
  );
  await link.waitFor("request");
  const requests = link.sent.filter((m) => m.type === "request");
  deepStrictEqual(new Set(requests.map((r) => r.index)), new Set([2]), "only piece 2");
  strictEqual(requests.length, 2, "both blocks of piece 2");
  deepStrictEqual([...peer.allowedFast], [2]);
  strictEqual(peer.peerChoking, true);
  link.push({ type: "unchoke" });
  await link.waitFor("request", (r) => r.index !== 2);
  await link.close();
  await done;
});

Deno.test("PeerHandler starts with a piece the peer suggested", async () => {
  for (const suggested of [1, 3, 0, 2]) { // a picker ignoring it matches all four 1 in 256
    await using f = await fixture(false);
    const link = new FakeLink();
    const { done } = f.run(link);
    link.push({ type: "have-all" }, { type: "suggest", index: suggested }, { type: "unchoke" });
    const first = await link.waitFor("request");
    strictEqual(first.index, suggested, "the suggested piece is asked for first");
    await link.close();
    await done;
  }
});

Deno.test("PeerHandler grants a peer the BEP 6 allowed-fast pieces it has and serves them while choking it", async () => {
  // 16 pieces, we have 0-11: the canonical set for 127.0.0.1 (10 pieces) less those we lack.
  await using f = await fixture(false, { pieces: 16, has: [...Array(12).keys()] });
  const expected = allowedFastSet("127.0.0.1", f.meta.infoHash, 16).filter((i) => i < 12);
  ok(expected.length > 0 && expected.length < 12, `granted ${expected}`);
  const link = new FakeLink();
  const { peer, done } = f.run(link);
  await link.waitFor("bitfield");
  await until(() => link.sent.filter((m) => m.type === "allowed-fast").length === expected.length);
  deepStrictEqual(
    link.sent.filter((m) => m.type === "allowed-fast").map((m) => m.index),
    expected,
  );
  strictEqual(peer.amChoking, true);
  const granted = expected[0];
  const other = [...Array(12).keys()].find((i) => !expected.includes(i))!;
  link.push(
    { type: "request", index: other, begin: 0, length: BLOCK_SIZE },
    { type: "request", index: granted, begin: 0, length: BLOCK_SIZE },
  );
  const piece = await link.waitFor("piece");
  strictEqual(piece.index, granted, "the allowed-fast piece is served while choked");
  const at = granted * f.meta.pieceLength;
  deepStrictEqual(piece.block, f.payload.subarray(at, at + BLOCK_SIZE));
  const reject = await link.waitFor("reject");
  strictEqual(reject.index, other, "any other piece is rejected while choked");
  strictEqual(link.sent.filter((m) => m.type === "piece").length, 1);
  await link.close();
  await done;
});

Deno.test("PeerHandler: a seed grants no allowed-fast pieces", async () => {
  await using f = await fixture(true);
  const link = new FakeLink();
  const { done } = f.run(link);
  await link.waitFor("have-all");
  strictEqual(link.sent.some((m) => m.type === "allowed-fast"), false);
  await link.close();
  await done;
});

Deno.test("PeerHandler completes a piece from the blocks a peer sends and hands it over", async () => {
  await using f = await fixture(false);
  const link = new FakeLink();
  const { done } = f.run(link);
  link.push({ type: "have-all" }, { type: "unchoke" });
  await link.waitFor("request");
  const requests = link.sent.filter((m) => m.type === "request");
  const first = requests[0];
  const piece = requests.filter((r) => r.index === first.index);
  const base = first.index * f.meta.pieceLength;
  for (const r of piece) {
    link.push({
      type: "piece",
      index: r.index,
      begin: r.begin,
      block: f.payload.subarray(base + r.begin, base + r.begin + r.length),
    });
  }
  for (let i = 0; i < 100 && f.completed.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  strictEqual(f.completed.length, 1);
  strictEqual(f.completed[0].index, first.index);
  await link.close();
  await done;
});

Deno.test("PeerHandler drops a peer that sends a block nobody asked for", async () => {
  await using f = await fixture(false);
  const link = new FakeLink();
  const { done } = f.run(link);
  link.push({ type: "have-all" }, {
    type: "piece",
    index: 2,
    begin: 0,
    block: new Uint8Array(BLOCK_SIZE),
  });
  await done;
  const gone = f.events.find((e) => e.type === "peer" && e.change === "disconnected");
  ok(
    gone && gone.type === "peer" && /never asked for/.test(gone.reason ?? ""),
    JSON.stringify(gone),
  );
});

Deno.test("PeerHandler serves requests from an unchoked peer and rejects them while choked", async () => {
  await using f = await fixture(true);
  const link = new FakeLink();
  const { peer, done } = f.run(link);
  await link.waitFor("have-all");
  link.push({ type: "request", index: 1, begin: 0, length: BLOCK_SIZE });
  const reject = await link.waitFor("reject");
  deepStrictEqual(reject, { type: "reject", index: 1, begin: 0, length: BLOCK_SIZE });
  link.push({ type: "interested" });
  await link.waitFor("unchoke");
  strictEqual(peer.amChoking, false);
  link.push({ type: "request", index: 1, begin: BLOCK_SIZE, length: BLOCK_SIZE });
  const piece = await link.waitFor("piece");
  deepStrictEqual(
    piece.block,
    f.payload.subarray(f.meta.pieceLength + BLOCK_SIZE, f.meta.pieceLength + 2 * BLOCK_SIZE),
  );
  await link.close();
  await done;
});

Deno.test("PeerHandler keeps the pipeline within the peer's reqq", async () => {
  await using f = await fixture(false);
  const link = new FakeLink();
  const { peer, done } = f.run(link);
  link.push(
    { type: "extended", id: 0, payload: encodeExtensionHandshake({ m: {}, reqq: 3 }) },
    { type: "have-all" },
    { type: "unchoke" },
  );
  await link.waitFor("request");
  strictEqual(peer.maxRequests, 3);
  ok(peer.outstanding.size <= 3, `${peer.outstanding.size} outstanding`);
  await link.close();
  await done;
});

Deno.test("PieceVerifier sends have only to peers that lack the piece", async () => {
  await using f = await fixture(false);
  const lacking = new FakeLink(), holding = new FakeLink();
  const a = f.run(lacking), b = f.run(holding);
  lacking.push({ type: "have-none" });
  holding.push({ type: "have", index: 0 }, { type: "have", index: 1 }, { type: "unchoke" });
  const requests: PeerMessage[] = [];
  await holding.waitFor("request");
  for (const m of holding.sent) if (m.type === "request" && m.index === 0) requests.push(m);
  // deliver piece 0 from `holding`; the verifier writes it and announces it
  const base = 0;
  for (const m of holding.sent) {
    if (m.type !== "request" || m.index !== 0) continue;
    holding.push({
      type: "piece",
      index: 0,
      begin: m.begin,
      block: f.payload.subarray(base + m.begin, base + m.begin + m.length),
    });
  }
  for (let i = 0; i < 100 && f.completed.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  ok(requests.length > 0, "piece 0 was requested from the peer that has it");
  strictEqual(f.completed.length, 1);
  await f.verifier.verify(f.completed[0]);
  ok(f.scheduler.have.has(0));
  await lacking.waitFor("have", (m) => m.index === 0);
  strictEqual(
    holding.sent.some((m) => m.type === "have"),
    false,
    "no have to the peer that has it",
  );
  await lacking.close();
  await holding.close();
  await Promise.all([a.done, b.done]);
});

Deno.test("PieceVerifier keeps one batch of haves in flight per peer and drops a peer that stops reading", async () => {
  await using f = await fixture(false);
  const verifier = new PieceVerifier({
    metainfo: f.meta,
    scheduler: f.scheduler,
    pool: new HashPool({ size: 0 }),
    storage: await TorrentStorage.open(f.meta, await Deno.makeTempDir()),
    peers: f.peers,
    stopped: () => false,
    isBanned: () => false,
    ban: () => {},
    onVerified: () => {},
    onWarning: () => {},
    maxPendingHaves: 2,
  });
  // A peer whose send queue never drains: the first have stays "in flight" forever.
  const stuck = new FakeLink();
  let sends = 0;
  stuck.send = () => {
    sends++;
    return new Promise<void>(() => {});
  };
  const peer = new SwarmPeer(stuck, f.meta.pieceCount, true);
  f.peers.set(peer.id, peer);
  for (let index = 0; index < f.meta.pieceCount; index++) {
    const piece = new ActivePiece(index, pieceSize(f.meta, index));
    piece.data.set(
      f.payload.subarray(index * f.meta.pieceLength, index * f.meta.pieceLength + piece.size),
    );
    await verifier.verify(piece);
  }
  strictEqual(sends, 1, "one have batch was queued; the rest waited instead of piling up");
  ok(stuck.closed, "the peer with more than 2 haves waiting was dropped");
  f.peers.delete(peer.id);
});

Deno.test("PeerHandler: in endgame, a block from one peer cancels it on the wire at the other", async () => {
  await using f = await fixture(false);
  const a = new FakeLink(), b = new FakeLink();
  const runA = f.run(a);
  a.push({ type: "have-all" }, { type: "unchoke" });
  // A alone takes every block of the torrent (its pipeline is deeper than the torrent).
  await until(() => a.sent.filter((m) => m.type === "request").length === 8);
  strictEqual(f.scheduler.endgame, true, "every block is asked for");
  const runB = f.run(b);
  b.push({ type: "have-all" }, { type: "unchoke" });

  const duplicate = await b.waitFor("request"); // endgame: B is asked for A's blocks too
  const at = duplicate.index * f.meta.pieceLength + duplicate.begin;
  a.push({
    type: "piece",
    index: duplicate.index,
    begin: duplicate.begin,
    block: f.payload.subarray(at, at + duplicate.length),
  });
  const cancel = await b.waitFor("cancel");
  strictEqual(cancel.index, duplicate.index);
  strictEqual(cancel.begin, duplicate.begin);
  strictEqual(cancel.length, duplicate.length);
  strictEqual(a.sent.some((m) => m.type === "cancel"), false, "the sender gets no cancel");
  ok(
    !runB.peer.outstanding.has(blockKey(duplicate.index, duplicate.begin)),
    "B's copy is forgotten",
  );
  await a.close();
  await b.close();
  await runA.done;
  await runB.done;
});
