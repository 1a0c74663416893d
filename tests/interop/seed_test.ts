/**
 * Interop: real BitTorrent programs download from a shoal seeder on 127.0.0.1, and hostile
 * downloaders (raw TCP clients) try to upset one.
 *
 * The first tests run shoal's CLI (`shoal create`, `shoal seed`) and have libtorrent and aria2c
 * download from it: each alone, with a single-file and a multi-file torrent, then both together
 * through opentracker. The hostile tests run an in-process {@linkcode TorrentSession} seeder,
 * attack it with raw `Deno.connect` clients, check that each attacker is dropped, then check that
 * libtorrent still downloads identical bytes from the same seeder and that the session's `run()`
 * iteration never threw.
 */

import { AssertionError, deepStrictEqual, equal, ok } from "node:assert/strict";
import { createTorrent, type Metainfo, parseTorrent, type SessionEvent } from "../../mod.ts";
import { concatBytes } from "../../src/bytes/bytes.ts";
import { CONNECT_TIMEOUT_MS } from "../../src/peer/connection.ts";
import {
  decodeHandshake,
  encodeHandshake,
  encodeReserved,
  type Handshake,
  HANDSHAKE_LENGTH,
} from "../../src/wire/handshake.ts";
import {
  decodeMessage,
  encodeMessage,
  MAX_FRAME_BYTES,
  type PeerMessage,
} from "../../src/wire/message.ts";
import { encodeHex } from "../../src/bytes/hex.ts";
import { generatePeerId } from "../../src/wire/peer_id.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import {
  freePort,
  interopTest,
  makePayload,
  runShoal,
  sameTree,
  type ShoalProcess,
  startAria2,
  startLibtorrent,
  startOpentracker,
  startShoal,
} from "./harness.ts";

const KIB = 1 << 10;
const MIB = 1 << 20;
const TEST_TIMEOUT_MS = 90_000;
/** How long a download from the seeder may take (2 busy cores, generous). */
const DOWNLOAD_LIMIT_MS = 60_000;
/** How long a hostile connection may stay open after its offence. */
const DROP_LIMIT_MS = 15_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shoal-seed-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Resolves `promise`, or throws `message` after `ms` (the promise is left to settle alone). */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AssertionError({ message })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// shoal CLI seeder

/** A `shoal seed --json` process, with its ready port and the latest progress it printed. */
interface CliSeeder extends AsyncDisposable {
  proc: ShoalProcess;
  port: number;
  /** Bytes uploaded, from the last `progress` line. */
  uploaded(): number;
  /** Addresses of every peer that connected (from `peer` lines). */
  peersSeen: Set<string>;
  /** JSON lines that failed to parse or were warnings (for failure messages). */
  notes: string[];
}

async function startCliSeeder(
  torrent: string,
  dir: string,
  extraArgs: string[] = [],
): Promise<CliSeeder> {
  const port = freePort();
  const args = [
    "seed",
    torrent,
    "-o",
    dir,
    "--listen-host",
    "127.0.0.1",
    "--port",
    String(port),
    "--json",
    ...extraArgs,
  ];
  const proc = startShoal(args, { timeoutMs: TEST_TIMEOUT_MS + 30_000 });
  let uploaded = 0;
  const notes: string[] = [];
  const peersSeen = new Set<string>();
  let onReady!: (port: number) => void;
  const ready = new Promise<number>((resolve) => onReady = resolve);
  const pump = (async () => {
    for await (const line of proc.lines) {
      let event: SessionEvent;
      try {
        event = JSON.parse(line);
      } catch {
        notes.push(line);
        continue;
      }
      if (event.type === "ready") onReady(event.port ?? -1);
      else if (event.type === "progress") uploaded = event.uploaded;
      else if (event.type === "peer" && event.change === "connected") peersSeen.add(event.address);
      else if (event.type === "warning") notes.push(line);
    }
  })();
  const exitedEarly = proc.exited.then(async (code) => {
    throw new Error(`shoal seed exited with ${code} before it was ready:\n${await proc.stderr}`);
  });
  try {
    const readyPort = await within(
      Promise.race([ready, exitedEarly]),
      45_000,
      "shoal seed printed no ready event within 45 s",
    );
    equal(readyPort, port, "shoal seed listens on the --port it was given");
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
  exitedEarly.catch(() => {});
  return {
    proc,
    port,
    notes,
    peersSeen,
    uploaded: () => uploaded,
    async [Symbol.asyncDispose]() {
      await proc[Symbol.asyncDispose]();
      await pump;
    },
  };
}

/** Waits until the seeder reports having uploaded at least `bytes`. */
async function waitUploaded(seeder: CliSeeder, bytes: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (seeder.uploaded() < bytes) {
    if (Date.now() > deadline) {
      throw new AssertionError({
        message: `shoal seed reports ${seeder.uploaded()} bytes uploaded, expected >= ${bytes}` +
          (seeder.notes.length > 0 ? `; it said:\n${seeder.notes.join("\n")}` : ""),
      });
    }
    await delay(100);
  }
}

/** The two torrent layouts: one file (named by the file), or a folder of files. */
type Layout = "single-file" | "multi-file";

/** A torrent made by `shoal create` over a payload under `${dir}/seed`. */
interface CreatedTorrent {
  torrent: string;
  meta: Metainfo;
  /** The payload: the file itself (single-file) or the folder (multi-file), `${dir}/seed/<name>`. */
  source: string;
}

/**
 * Makes a payload under `${dir}/seed` and a torrent of it with `shoal create`: a folder
 * `payload` holding `files` (multi-file), or, for `layout` "single-file", the one file
 * `files[0]` with `create` pointed at the file itself.
 */
async function createWithShoal(
  dir: string,
  files: { path: string; size: number }[],
  extraArgs: string[] = [],
  layout: Layout = "multi-file",
): Promise<CreatedTorrent> {
  const single = layout === "single-file";
  if (single) equal(files.length, 1, "a single-file payload has one file");
  if (single) await makePayload(`${dir}/seed`, files);
  else await makePayload(`${dir}/seed/payload`, files);
  const source = single ? `${dir}/seed/${files[0].path}` : `${dir}/seed/payload`;
  const torrent = `${dir}/t.torrent`;
  const created = await runShoal(["create", source, "-o", torrent, ...extraArgs]);
  equal(created.code, 0, `shoal create failed:\n${created.stderr}${created.stdout}`);
  const meta = parseTorrent(await Deno.readFile(torrent));
  equal(meta.name, single ? files[0].path : "payload");
  equal(meta.multiFile, !single, `a ${layout} torrent`);
  equal(meta.files.filter((f) => !f.padding).length, files.length);
  equal(meta.totalLength, files.reduce((sum, f) => sum + f.size, 0));
  return { torrent, meta, source };
}

// ---------------------------------------------------------------------------------------------
// 1-3: real downloaders against `shoal seed`

/** Payloads of the libtorrent-only test: a folder with odd sizes, or one file. */
const LT_ONLY_PAYLOADS: Record<Layout, { path: string; size: number }[]> = {
  "multi-file": [
    { path: "a.bin", size: 9 * MIB + 12_345 },
    { path: "docs/b.txt", size: 70_001 },
    { path: "docs/deep/c.bin", size: 2 * MIB + 1 },
    { path: "d.bin", size: 333 },
  ],
  "single-file": [{ path: "payload.bin", size: 7 * MIB + 12_345 }],
};

for (const layout of ["single-file", "multi-file"] satisfies Layout[]) {
  interopTest(
    `libtorrent downloads a ${layout} torrent made by \`shoal create\` from \`shoal seed\` alone`,
    ["libtorrent"],
    async () => {
      await withTempDir(async (dir) => {
        const { torrent, meta, source } = await createWithShoal(
          dir,
          LT_ONLY_PAYLOADS[layout],
          [],
          layout,
        );
        await using seeder = await startCliSeeder(torrent, `${dir}/seed`);
        await using lt = await startLibtorrent({
          torrent,
          dir: `${dir}/get`,
          seed: false,
          peers: [{ host: "127.0.0.1", port: seeder.port }],
        });
        await lt.waitComplete(DOWNLOAD_LIMIT_MS);
        await sameTree(source, `${dir}/get/${meta.name}`);
        // shoal was the only source, so at least one whole copy left it.
        await waitUploaded(seeder, meta.totalLength, 10_000);
        await lt[Symbol.asyncDispose]();
        const stillRunning = await Promise.race([
          seeder.proc.exited.then(() => false),
          delay(300).then(() => true),
        ]);
        ok(stillRunning, "shoal seed keeps running after the download");
        // SIGINT stops `shoal seed` cleanly with exit code 130 and no stack trace.
        seeder.proc.kill("SIGINT");
        const code = await within(seeder.proc.exited, 15_000, "shoal seed ignored SIGINT");
        const stderr = await seeder.proc.stderr;
        equal(code, 130, `shoal seed exit code after SIGINT; stderr:\n${stderr}`);
        ok(!/\n\s+at /.test(stderr), `no stack trace on stderr:\n${stderr}`);
      });
    },
    { timeoutMs: TEST_TIMEOUT_MS },
  );
}

/** Payloads of the aria2c-only test (32 KiB pieces): a folder, or one file. */
const ARIA_ONLY_PAYLOADS: Record<Layout, { path: string; size: number }[]> = {
  "multi-file": [
    { path: "one.bin", size: 6 * MIB + 777 },
    { path: "sub/two.bin", size: 40_000 },
    { path: "sub/three.bin", size: MIB - 1 },
  ],
  "single-file": [{ path: "payload.bin", size: 5 * MIB + 777 }],
};

for (const layout of ["single-file", "multi-file"] satisfies Layout[]) {
  interopTest(
    `aria2c downloads a ${layout} torrent made by \`shoal create\` from \`shoal seed\` alone`,
    ["aria2c"],
    async () => {
      await withTempDir(async (dir) => {
        const { torrent, meta, source } = await createWithShoal(
          dir,
          ARIA_ONLY_PAYLOADS[layout],
          ["--piece-length", String(32 * KIB)],
          layout,
        );
        equal(meta.pieceLength, 32 * KIB);
        await using seeder = await startCliSeeder(torrent, `${dir}/seed`);
        await using aria = await startAria2({
          torrent,
          dir: `${dir}/get`,
          seed: false,
          peers: [{ host: "127.0.0.1", port: seeder.port }],
          timeoutMs: DOWNLOAD_LIMIT_MS + 10_000,
        });
        const code = await aria.exited;
        equal(code, 0, `aria2c failed:\n${await aria.output}`);
        await sameTree(source, `${dir}/get/${meta.name}`);
        await waitUploaded(seeder, meta.totalLength, 10_000);
      });
    },
    { timeoutMs: TEST_TIMEOUT_MS },
  );
}

/** How many seeds opentracker counts for `infoHashHex` (HTTP scrape). */
async function scrapeSeeds(announceUrl: string, infoHashHex: string): Promise<number> {
  const url = announceUrl.replace(/\/announce$/, "/scrape") + "?info_hash=" +
    infoHashHex.replace(/../g, (pair) => `%${pair}`);
  const body = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const match = /8:completei(\d+)e/.exec(new TextDecoder("latin1").decode(body));
  return match ? Number(match[1]) : 0;
}

interopTest(
  "libtorrent and aria2c download together from one `shoal seed` found through opentracker",
  ["libtorrent", "aria2c", "opentracker"],
  async () => {
    await withTempDir(async (dir) => {
      await using tracker = await startOpentracker([]);
      const { torrent, meta } = await createWithShoal(dir, [
        { path: "big.bin", size: 14 * MIB + 4321 },
        { path: "x/small.bin", size: 123_456 },
        { path: "x/y/z.bin", size: 3 * MIB },
      ], ["--tracker", tracker.httpUrl, "--piece-length", String(256 * KIB)]);
      deepStrictEqual(meta.announce, [[tracker.httpUrl]]);
      await tracker.addInfoHash(meta.infoHashHex);
      // An upload limit stretches the downloads so that the two overlap.
      await using seeder = await startCliSeeder(torrent, `${dir}/seed`, ["--max-up", "3m"]);
      // Wait until opentracker lists the seeder, so the downloaders find it on their first announce.
      let deadline = Date.now() + 20_000;
      while (await scrapeSeeds(tracker.httpUrl, meta.infoHashHex) < 1) {
        if (Date.now() > deadline) throw new Error("shoal seed never announced to opentracker");
        await delay(200);
      }
      // Neither downloader is told any peer address: the tracker is their only way to shoal.
      // aria2c starts first: it is the slower of the two to announce and connect.
      await using aria = await startAria2({
        torrent,
        dir: `${dir}/aria`,
        seed: false,
        timeoutMs: DOWNLOAD_LIMIT_MS + 10_000,
      });
      deadline = Date.now() + 30_000;
      while (seeder.peersSeen.size < 1) {
        if (Date.now() > deadline) throw new Error("aria2c never connected to shoal seed");
        await delay(100);
      }
      await using lt = await startLibtorrent({ torrent, dir: `${dir}/lt`, seed: false });
      const [, code] = await Promise.all([lt.waitComplete(DOWNLOAD_LIMIT_MS), aria.exited]);
      equal(code, 0, `aria2c failed:\n${await aria.output}`);
      await sameTree(`${dir}/seed/payload`, `${dir}/lt/payload`);
      await sameTree(`${dir}/seed/payload`, `${dir}/aria/payload`);
      // Every piece came from shoal at least once, whichever of the two fetched it.
      await waitUploaded(seeder, meta.totalLength, 10_000);
      ok(
        seeder.peersSeen.size >= 2,
        `both downloaders connected to shoal: ${[...seeder.peersSeen].join(", ")}`,
      );
    });
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

// ---------------------------------------------------------------------------------------------
// In-process seeder for the hostile tests

/** Single-ish payload: last piece shorter than a block, so end-of-piece checks matter. */
const HOSTILE_FILES = [
  { path: "a.bin", size: 3 * MIB + 12_345 },
  { path: "b.bin", size: 5_000 },
];
const HOSTILE_PIECE_LENGTH = 64 * KIB;

interface InProcessSeeder {
  meta: Metainfo;
  port: number;
  torrent: string;
  payload: string;
  events: SessionEvent[];
  /** `true` while `run()` is still being iterated. */
  running(): boolean;
  /** Waits for a `peer disconnected` event for `address`; returns its reason. */
  waitDisconnect(address: string, limitMs: number, what: string): Promise<string>;
}

/**
 * Starts a seeding {@linkcode TorrentSession} on 127.0.0.1 (any port), runs `body` against it,
 * then has libtorrent download the torrent from it and compares the bytes, runs what `body`
 * returned (checks for after the download), then stops the seeder and checks that `run()` never
 * threw and ended with a `stopped` event.
 */
async function withHostileSeeder(
  dir: string,
  body: (seeder: InProcessSeeder) => Promise<(() => Promise<void>) | void>,
): Promise<void> {
  const payload = `${dir}/seed/payload`;
  await makePayload(payload, HOSTILE_FILES, 3);
  const torrentBytes = await createTorrent(payload, { pieceLength: HOSTILE_PIECE_LENGTH });
  const torrent = `${dir}/t.torrent`;
  await Deno.writeFile(torrent, torrentBytes);
  const meta = parseTorrent(torrentBytes);
  const controller = new AbortController();
  const session = new TorrentSession(meta, {
    dir: `${dir}/seed`,
    seed: true,
    requireComplete: true,
    trackers: false,
    listenHost: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
  const events: SessionEvent[] = [];
  const waiters = new Set<() => void>();
  let running = true;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => onReady = resolve);
  const iteration = (async () => {
    try {
      for await (const event of session.run()) {
        events.push(event);
        if (event.type === "ready") onReady();
        for (const wake of waiters) wake();
      }
    } finally {
      running = false;
      for (const wake of waiters) wake();
    }
  })();
  let runError: unknown;
  let threw = false;
  const settled = iteration.catch((error) => {
    threw = true;
    runError = error;
  });
  try {
    await within(Promise.race([ready, settled]), 30_000, "seeder was not ready within 30 s");
    if (threw) throw runError;
    const readyEvent = events.find((e) => e.type === "ready");
    const port = session.port;
    ok(port !== undefined && port > 0, "session.port is set after ready");
    deepStrictEqual(readyEvent, {
      type: "ready",
      have: meta.pieceCount,
      pieceCount: meta.pieceCount,
      port,
      hashed: meta.pieceCount, // a first start: no resume data, every piece is checked
      trusted: 0,
    });
    const seeder: InProcessSeeder = {
      meta,
      port,
      torrent,
      payload,
      events,
      running: () => running,
      async waitDisconnect(address, limitMs, what) {
        const deadline = Date.now() + limitMs;
        while (true) {
          const found = events.find((e) =>
            e.type === "peer" && e.change === "disconnected" && e.address === address
          );
          if (found && found.type === "peer") return found.reason ?? "";
          if (!running) throw new AssertionError({ message: `${what}: the session stopped` });
          const left = deadline - Date.now();
          if (left <= 0) {
            throw new AssertionError({
              message: `${what}: the seeder did not drop ${address} within ${limitMs} ms` +
                ` (still connected: ${peersConnected(events).join(", ") || "none"})`,
            });
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, Math.min(left, 250));
            function done() {
              clearTimeout(timer);
              waiters.delete(done);
              resolve();
            }
            waiters.add(done);
          });
        }
      },
    };
    const afterDownload = await body(seeder);
    ok(running, "the seeder still runs after the hostile peers");
    // A well-behaved downloader still gets every byte from the same seeder.
    {
      await using lt = await startLibtorrent({
        torrent,
        dir: `${dir}/get`,
        seed: false,
        peers: [{ host: "127.0.0.1", port }],
      });
      await lt.waitComplete(DOWNLOAD_LIMIT_MS);
    }
    await sameTree(payload, `${dir}/get/payload`);
    ok(running, "the seeder still runs after serving libtorrent");
    await afterDownload?.();
  } finally {
    controller.abort();
    await within(settled, 20_000, "the seeder's run() did not end within 20 s of abort");
  }
  if (threw) {
    throw new AssertionError({ message: `the seeder's run() threw: ${runError}` });
  }
  equal(events.at(-1)?.type, "stopped", "run() ends with a stopped event after abort");
}

/** Addresses with a `connected` event and no `disconnected` event after it. */
function peersConnected(events: SessionEvent[]): string[] {
  const open = new Set<string>();
  for (const e of events) {
    if (e.type !== "peer") continue;
    if (e.change === "connected") open.add(e.address);
    else open.delete(e.address);
  }
  return [...open];
}

// ---------------------------------------------------------------------------------------------
// Raw hostile client

function isResetError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted || error instanceof Deno.errors.BrokenPipe;
}

/** A raw TCP client that speaks as much (or as little) of the peer wire as a test wants. */
class RawPeer {
  readonly conn: Deno.TcpConn;
  readonly #chunk = new Uint8Array(64 * KIB);
  #pending = new Uint8Array(0);
  #closed = false;
  /** Every byte received, as read. */
  readonly raw: Uint8Array[] = [];
  /** Types of the messages received so far (after the handshake). */
  readonly received: PeerMessage["type"][] = [];
  /** The `piece` messages received (blocks copied). */
  readonly blocks: { index: number; begin: number; block: Uint8Array }[] = [];

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async open(port: number): Promise<RawPeer> {
    return new RawPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Our address as the seeder sees it ("127.0.0.1:PORT"). */
  get address(): string {
    return `127.0.0.1:${(this.conn.localAddr as Deno.NetAddr).port}`;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  /** Writes everything; returns the error if the seeder hung up meanwhile. */
  async write(bytes: Uint8Array): Promise<Error | undefined> {
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
      return undefined;
    } catch (error) {
      if (isResetError(error)) return error as Error;
      throw error;
    }
  }

  /** One read, bounded in time; null at EOF. Throws on timeout (and closes the socket). */
  async #readOnce(limitMs: number): Promise<number | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reading = this.conn.read(this.#chunk);
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(1, limitMs));
    });
    try {
      const result = await Promise.race([reading, timeout]);
      if (result === "timeout") {
        this.close();
        await reading.catch(() => {});
        throw new TimeoutReached();
      }
      if (result !== null) {
        this.raw.push(this.#chunk.slice(0, result));
        const grown = new Uint8Array(this.#pending.length + result);
        grown.set(this.#pending);
        grown.set(this.#chunk.subarray(0, result), this.#pending.length);
        this.#pending = grown;
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads the seeder's 68-byte handshake. */
  async readHandshake(limitMs: number): Promise<Handshake> {
    const deadline = Date.now() + limitMs;
    while (this.#pending.length < HANDSHAKE_LENGTH) {
      const n = await this.#readOnce(deadline - Date.now());
      if (n === null) throw new Error("the seeder hung up before its handshake");
    }
    const handshake = decodeHandshake(this.#pending.subarray(0, HANDSHAKE_LENGTH));
    if (!handshake) throw new Error("incomplete handshake");
    this.#pending = this.#pending.slice(HANDSHAKE_LENGTH);
    return handshake;
  }

  /** Moves complete frames from the read buffer into `received` (and `blocks`). */
  #parse(): void {
    let at = 0;
    while (true) {
      const decoded = decodeMessage(this.#pending.subarray(at));
      if (!decoded) break;
      at += decoded.size;
      const { message } = decoded;
      this.received.push(message.type);
      if (message.type === "piece") {
        this.blocks.push({
          index: message.index,
          begin: message.begin,
          block: message.block.slice(),
        });
      }
    }
    if (at > 0) this.#pending = this.#pending.slice(at);
  }

  /** Reads until a message of `type` arrives. */
  async waitFor(type: PeerMessage["type"], limitMs: number): Promise<void> {
    const deadline = Date.now() + limitMs;
    let seen = this.received.length;
    while (true) {
      this.#parse();
      if (this.received.slice(seen).includes(type)) return;
      seen = this.received.length;
      let n: number | null;
      try {
        n = await this.#readOnce(deadline - Date.now());
      } catch (error) {
        if (error instanceof TimeoutReached) {
          throw new AssertionError({ message: `no ${type} within ${limitMs} ms` });
        }
        throw error;
      }
      if (n === null) {
        throw new AssertionError({
          message: `the seeder hung up while we waited for ${type} (got ${this.received})`,
        });
      }
    }
  }

  /**
   * Reads (and parses, when `parse`) until the seeder closes the connection. Fails when it is
   * still open after `limitMs`.
   * @returns How it ended.
   */
  async expectDropped(limitMs: number, what: string, parse = true): Promise<"eof" | "reset"> {
    const deadline = Date.now() + limitMs;
    try {
      while (true) {
        if (parse) this.#parse();
        else this.#pending = new Uint8Array(0);
        const n = await this.#readOnce(deadline - Date.now());
        if (n === null) return "eof";
      }
    } catch (error) {
      if (error instanceof TimeoutReached) {
        throw new AssertionError({
          message: `${what}: the seeder kept the connection open for ${limitMs} ms`,
        });
      }
      if (isResetError(error)) return "reset";
      throw error;
    } finally {
      this.close();
    }
  }
}

class TimeoutReached extends Error {}

function handshakeFor(meta: Metainfo, fast = true): Uint8Array {
  return encodeHandshake({
    infoHash: meta.infoHash,
    peerId: generatePeerId(),
    reserved: encodeReserved({ extended: false, fast, dht: false }),
  });
}

/** Connects, exchanges handshakes (checking the seeder's), and reads its have-all/bitfield. */
async function handshaken(seeder: InProcessSeeder, fast = true): Promise<RawPeer> {
  const peer = await RawPeer.open(seeder.port);
  equal(await peer.write(handshakeFor(seeder.meta, fast)), undefined);
  const theirs = await peer.readHandshake(10_000);
  equal(encodeHex(theirs.infoHash), seeder.meta.infoHashHex);
  await peer.waitFor(fast ? "have-all" : "bitfield", 10_000);
  return peer;
}

/** As {@linkcode handshaken}, then `interested` and waits for `unchoke`. */
async function unchoked(seeder: InProcessSeeder): Promise<RawPeer> {
  const peer = await handshaken(seeder);
  equal(await peer.write(encodeMessage({ type: "interested" })), undefined);
  await peer.waitFor("unchoke", 15_000);
  return peer;
}

/** The torrent's bytes as one array, read from the files under `dir` (the download folder). */
async function readTorrentData(meta: Metainfo, dir: string): Promise<Uint8Array> {
  const out = new Uint8Array(meta.totalLength);
  for (const file of meta.files) {
    if (file.padding) continue;
    const bytes = await Deno.readFile(`${dir}/${file.path.join("/")}`);
    equal(bytes.length, file.length);
    out.set(bytes, file.offset);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 4: hostile downloaders

interopTest(
  "a seeding session drops garbage and wrong-torrent handshakes and keeps serving",
  ["libtorrent"],
  async () => {
    await withTempDir((dir) =>
      withHostileSeeder(dir, async (seeder) => {
        const http = new TextEncoder().encode(
          "GET /announce?info_hash=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".padEnd(HANDSHAKE_LENGTH),
        );
        const badProtocol = handshakeFor(seeder.meta);
        badProtocol.set(new TextEncoder().encode("BitTorrent protocoX"), 1);
        const otherTorrent = encodeHandshake({
          infoHash: new Uint8Array(20).fill(0xee),
          peerId: generatePeerId(),
        });
        const longPstr = new Uint8Array(300).fill(0x41);
        longPstr[0] = 255;
        const cases: [string, Uint8Array][] = [
          ["68 bytes of 0xab", new Uint8Array(HANDSHAKE_LENGTH).fill(0xab)],
          ["an HTTP request", http],
          ["a wrong protocol string", badProtocol],
          ["another torrent's info hash", otherTorrent],
          ["a 255-byte protocol string", longPstr],
        ];
        // Openings that are not a plain handshake are taken for Message Stream Encryption:
        // the seeder may answer with its MSE key and padding (raw bytes, at most 96 + 512), but
        // drops the peer once the handshake cannot complete (within its 10 s handshake limit)
        // and never sends a BitTorrent message. All cases run at once to bound the time.
        const plainStart = handshakeFor(seeder.meta).subarray(0, 20);
        await Promise.all(cases.map(async ([what, bytes]) => {
          const peer = await RawPeer.open(seeder.port);
          await peer.write(bytes);
          const plain = bytes.subarray(0, 20).every((b, i) => b === plainStart[i]);
          await peer.expectDropped(DROP_LIMIT_MS, what, plain);
          equal(peer.received.length, 0, `${what}: no messages before the drop`);
          if (!plain) {
            // At most an MSE key and its padding came back, never a BitTorrent handshake.
            const got = concatBytes(peer.raw);
            ok(got.length <= 96 + 512, `${what}: ${got.length} bytes came back`);
            ok(!contains(got, plainStart), `${what}: the seeder answered with a plain handshake`);
          }
        }));
        // None of them became a peer.
        deepStrictEqual(seeder.events.filter((e) => e.type === "peer"), []);
      })
    );
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "a seeding session drops a peer whose frame length prefix is 4 GiB or just over the limit",
  ["libtorrent"],
  async () => {
    await withTempDir((dir) =>
      withHostileSeeder(dir, async (seeder) => {
        const prefix = (length: number): Uint8Array => {
          const bytes = new Uint8Array(4 + 16);
          new DataView(bytes.buffer).setUint32(0, length);
          bytes[4] = 7; // a "piece" id, then junk
          return bytes;
        };
        const cases: [string, number, boolean][] = [
          ["length prefix 0xffffffff", 0xffff_ffff, false],
          ["length prefix 0xffffffff, one byte per write", 0xffff_ffff, true],
          ["length prefix 0x80000000", 0x8000_0000, false],
          [
            `length prefix MAX_FRAME_BYTES + 1 (${MAX_FRAME_BYTES + 1})`,
            MAX_FRAME_BYTES + 1,
            false,
          ],
        ];
        for (const [what, length, trickle] of cases) {
          const peer = await handshaken(seeder);
          const bytes = prefix(length);
          if (trickle) {
            for (const byte of bytes.subarray(0, 5)) {
              if (await peer.write(new Uint8Array([byte]))) break;
              await delay(20);
            }
          } else {
            await peer.write(bytes);
          }
          await peer.expectDropped(DROP_LIMIT_MS, what);
          const reason = await seeder.waitDisconnect(peer.address, DROP_LIMIT_MS, what);
          ok(reason.length > 0, `${what}: a reason is given`);
        }
      })
    );
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "a seeding session serves a valid request but drops out-of-range and oversized requests",
  ["libtorrent"],
  async () => {
    await withTempDir((dir) =>
      withHostileSeeder(dir, async (seeder) => {
        const { meta } = seeder;
        const last = meta.pieceCount - 1;
        const lastSize = meta.totalLength - last * meta.pieceLength;
        ok(lastSize > 16 * KIB && lastSize < 32 * KIB, `last piece is ${lastSize} bytes`);
        // Control: a valid request is served with the right bytes and the peer stays connected.
        {
          const peer = await unchoked(seeder);
          const begin = 16 * KIB;
          const length = lastSize - begin; // the short tail block of the last piece
          equal(
            await peer.write(encodeMessage({ type: "request", index: last, begin, length })),
            undefined,
          );
          await peer.waitFor("piece", 15_000);
          equal(peer.blocks.length, 1);
          const { index, begin: gotBegin, block } = peer.blocks[0];
          deepStrictEqual([index, gotBegin, block.length], [last, begin, length]);
          const data = await readTorrentData(meta, `${seeder.payload}/..`);
          const at = last * meta.pieceLength + begin;
          deepStrictEqual(block, data.subarray(at, at + length), "the block's bytes");
          ok(seeder.running());
          ok(peersConnected(seeder.events).includes(peer.address), "control peer still connected");
          peer.close();
          await seeder.waitDisconnect(peer.address, DROP_LIMIT_MS, "control peer leaving");
        }
        const bad: [string, number, number, number][] = [
          ["piece index = piece count", meta.pieceCount, 0, 16 * KIB],
          ["piece index 0xffffffff", 0xffff_ffff, 0, 16 * KIB],
          ["begin + length past a full piece", 0, meta.pieceLength - 100, 16 * KIB],
          ["begin + length past the short last piece", last, 16 * KIB, 16 * KIB],
          ["begin 0xffffffff", 0, 0xffff_ffff, 1],
          ["length 128 KiB + 1", 0, 0, 128 * KIB + 1],
          ["length 16 MiB", 0, 0, 16 * MIB],
        ];
        for (const [what, index, begin, length] of bad) {
          const peer = await unchoked(seeder);
          await peer.write(encodeMessage({ type: "request", index, begin, length }));
          await peer.expectDropped(DROP_LIMIT_MS, what);
          equal(peer.blocks.length, 0, `${what}: no block was sent`);
          const reason = await seeder.waitDisconnect(peer.address, DROP_LIMIT_MS, what);
          ok(reason.length > 0, `${what}: a reason is given`);
        }
      })
    );
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

/** `count` valid 16 KiB requests cycling over every block of the torrent, as one buffer. */
function requestFlood(meta: Metainfo, count: number): Uint8Array {
  const blocks: { index: number; begin: number; length: number }[] = [];
  for (let index = 0; index < meta.pieceCount; index++) {
    const size = Math.min(meta.pieceLength, meta.totalLength - index * meta.pieceLength);
    for (let begin = 0; begin < size; begin += 16 * KIB) {
      blocks.push({ index, begin, length: Math.min(16 * KIB, size - begin) });
    }
  }
  const out = new Uint8Array(count * 17);
  for (let i = 0; i < count; i++) {
    out.set(encodeMessage({ type: "request", ...blocks[i % blocks.length] }), i * 17);
  }
  return out;
}

interopTest(
  "a seeding session drops an unchoked peer that floods thousands of requests without reading",
  ["libtorrent"],
  async () => {
    await withTempDir((dir) =>
      withHostileSeeder(dir, async (seeder) => {
        const peer = await unchoked(seeder);
        // 20,000 requests (312 MiB asked for), written without reading a byte of the answers.
        const writeError = await peer.write(requestFlood(seeder.meta, 20_000));
        // The seeder says it dropped us while we still read nothing...
        const reason = await seeder.waitDisconnect(peer.address, DROP_LIMIT_MS, "request flood");
        ok(reason.length > 0, "a reason is given");
        // ... and the socket really ends once we drain what it had sent.
        await peer.expectDropped(DROP_LIMIT_MS, "request flood", false);
        ok(writeError === undefined || isResetError(writeError));
      })
    );
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "a seeding session drops a choked fast-extension peer that floods requests without reading",
  ["libtorrent"],
  async () => {
    await withTempDir((dir) =>
      withHostileSeeder(dir, async (seeder) => {
        // Never interested, so never unchoked: every request can only be rejected (BEP 6).
        // 200,000 requests (3.4 MB) make 3.4 MB of rejects, more than loopback socket buffers
        // hold for a reader that reads nothing.
        const peer = await handshaken(seeder, true);
        await peer.write(requestFlood(seeder.meta, 200_000));
        const reason = await seeder.waitDisconnect(
          peer.address,
          DROP_LIMIT_MS,
          "request flood while choked",
        );
        ok(reason.length > 0, "a reason is given");
        await peer.expectDropped(DROP_LIMIT_MS, "request flood while choked", false);
      })
    );
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

interopTest(
  "a seeding session keeps serving while silent connections idle, and drops them before a handshake",
  ["libtorrent"],
  async () => {
    await withTempDir((dir) =>
      withHostileSeeder(dir, async (seeder) => {
        const openedAt = Date.now();
        const silent: RawPeer[] = [];
        for (let i = 0; i < 10; i++) silent.push(await RawPeer.open(seeder.port));
        // Half a handshake, then nothing.
        for (let i = 0; i < 3; i++) {
          const peer = await RawPeer.open(seeder.port);
          equal(await peer.write(handshakeFor(seeder.meta).subarray(0, 30)), undefined);
          silent.push(peer);
        }
        // Reading sends nothing: start waiting for the handshake timeout at once.
        const limit = CONNECT_TIMEOUT_MS + 25_000;
        const drops = silent.map((peer, i) =>
          peer.expectDropped(limit - (Date.now() - openedAt), `silent connection ${i}`)
        );
        for (const drop of drops) drop.catch(() => {}); // awaited after the download
        // Three more complete the handshake and then say nothing (may stay: idle limit is 2 min).
        const idle: RawPeer[] = [];
        for (let i = 0; i < 3; i++) idle.push(await handshaken(seeder));
        // libtorrent downloads (in withHostileSeeder) while all of them are still open.
        return async () => {
          try {
            await Promise.all(drops);
            equal(silent.reduce((n, p) => n + p.received.length, 0), 0, "nothing sent to them");
            for (const peer of idle) {
              deepStrictEqual(peer.received, ["have-all"], "idle peers got have-all only");
              ok(peersConnected(seeder.events).includes(peer.address), "idle peer kept");
            }
          } finally {
            for (const peer of idle) peer.close();
          }
        };
      })
    );
  },
  { timeoutMs: TEST_TIMEOUT_MS },
);

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
