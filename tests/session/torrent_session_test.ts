// TorrentSession end to end, in process, with shoal's own sessions only (loopback).
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  createTorrent,
  HashPool,
  IncompleteDataError,
  type Metainfo,
  parseTorrent,
  type PeerAddress,
  type SessionEvent,
} from "../../mod.ts";
import { encodeHex } from "../../src/bytes/hex.ts";
import { loadResume, resumePath } from "../../src/storage/resume.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import type { TorrentSessionOptions } from "../../src/session/session_options.ts";
import { assertSameBytes, ofType, randomBytes, within } from "../test_util.ts";

const LOOPBACK = "127.0.0.1";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

interface Payload {
  meta: Metainfo;
  data: Uint8Array;
  /** Folder holding the complete data (the seeder's `dir`). */
  seedDir: string;
}

/** Writes `<root>/seed/payload.bin` and makes a torrent for it with shoal's creator. */
async function makePayload(
  root: string,
  size: number,
  pieceLength: number,
  seed: number,
): Promise<Payload> {
  const seedDir = `${root}/seed`;
  await Deno.mkdir(seedDir, { recursive: true });
  const data = randomBytes(size, seed);
  await Deno.writeFile(`${seedDir}/payload.bin`, data);
  const meta = parseTorrent(await createTorrent(`${seedDir}/payload.bin`, { pieceLength }));
  strictEqual(meta.name, "payload.bin");
  strictEqual(meta.totalLength, size);
  return { meta, data, seedDir };
}

/** A timer that aborts `signal` when it fires; dispose to clear it. */
class Deadline implements Disposable {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  constructor(ms: number, what: string) {
    this.#timer = setTimeout(
      () => this.#controller.abort(new Error(`${what}: deadline of ${ms} ms passed`)),
      ms,
    );
  }
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  get expired(): boolean {
    return this.#controller.signal.aborted;
  }
  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
  }
}

/** A session running in the background, its events recorded. */
interface Running {
  session: TorrentSession;
  events: SessionEvent[];
  /** The listening port, from the `ready` event. */
  ready: Promise<number>;
  /** Settles when `run()` ends (rejects if it threw). */
  done: Promise<void>;
  /** Stops the session (if it was given `controller`'s signal) and waits for `run()`. */
  stop(): Promise<void>;
}

function start(
  meta: Metainfo,
  options: TorrentSessionOptions,
  onEvent?: (event: SessionEvent) => void,
): Running {
  const controller = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, controller.signal])
    : controller.signal;
  const session = new TorrentSession(meta, {
    listenHost: LOOPBACK,
    port: 0,
    trackers: false,
    ...options,
    signal,
  });
  const events: SessionEvent[] = [];
  const ready = Promise.withResolvers<number>();
  ready.promise.catch(() => {});
  const done = (async () => {
    for await (const event of session.run()) {
      events.push(event);
      if (event.type === "ready") ready.resolve(event.port ?? 0);
      onEvent?.(event);
    }
  })();
  done.then(
    () => ready.reject(new Error("run() ended before ready")),
    (error) => ready.reject(error),
  );
  return {
    session,
    events,
    ready: ready.promise,
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

function startSeeder(
  payload: Payload,
  pool: HashPool,
  extra: Partial<TorrentSessionOptions> = {},
): Running {
  return start(payload.meta, {
    dir: payload.seedDir,
    seed: true,
    requireComplete: true,
    hashPool: pool,
    ...extra,
  });
}

function peerAt(port: number): PeerAddress {
  return { host: LOOPBACK, port };
}

Deno.test("a leecher downloads from a seeder, reports complete, saves resume data and stops by itself", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-session-" });
  await using pool = new HashPool();
  using deadline = new Deadline(60_000, "download");
  const payload = await makePayload(root, 4 * 1024 * 1024 + 12345, 32 * 1024, 11);
  const { meta } = payload;
  const seeder = startSeeder(payload, pool);
  try {
    const port = await within(seeder.ready, 30_000, "seeder ready");
    const leechDir = `${root}/leech`;
    const leecher = start(meta, {
      dir: leechDir,
      peers: [peerAt(port)],
      hashPool: pool,
      signal: deadline.signal,
    });
    await leecher.done; // ends by itself (no `seed`), or at the deadline
    ok(!deadline.expired, "the download finished before the deadline");
    const events = leecher.events;
    const ready = ofType(events, "ready");
    strictEqual(ready.length, 1);
    strictEqual(ready[0].have, 0);
    strictEqual(ready[0].pieceCount, meta.pieceCount);
    const complete = ofType(events, "complete");
    strictEqual(complete.length, 1, "one complete event");
    strictEqual(events.at(-1)?.type, "complete", "run() ends right after complete");
    ok(complete[0].downloaded >= meta.totalLength, `downloaded ${complete[0].downloaded}`);
    strictEqual(ofType(events, "stopped").length, 0, "not stopped: it finished");
    const pieces = ofType(events, "piece");
    deepStrictEqual(
      pieces.map((p) => p.index).sort((a, b) => a - b),
      Array.from({ length: meta.pieceCount }, (_, i) => i),
      "every piece verified exactly once",
    );
    const seederId = encodeHex(seeder.session.peerId);
    ok(pieces.every((p) => p.from.length === 1 && p.from[0] === seederId), "all from the seeder");
    ok(
      ofType(events, "peer").some((e) =>
        e.change === "connected" && e.address === `${LOOPBACK}:${port}`
      ),
    );
    assertSameBytes(await Deno.readFile(`${leechDir}/payload.bin`), payload.data, "leecher copy");
    ok(await exists(resumePath(leechDir, meta)), "resume file written");
    const saved = await loadResume(leechDir, meta);
    ok(saved?.complete, "resume file says every piece is here");
    ok(leecher.session.have?.complete);
  } finally {
    await seeder.stop();
    await Deno.remove(root, { recursive: true });
  }
  const seederEvents = seeder.events;
  strictEqual(ofType(seederEvents, "ready")[0]?.have, meta.pieceCount, "seeder checked its data");
  deepStrictEqual(
    seederEvents.at(-1),
    { type: "stopped", have: meta.pieceCount, pieceCount: meta.pieceCount },
    "an aborted seeder reports stopped",
  );
});

Deno.test("a swarm of 4 leechers behind a slow seeder trades pieces among leechers", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-swarm-" });
  await using pool = new HashPool();
  using deadline = new Deadline(150_000, "swarm");
  const payload = await makePayload(root, 8 * 1024 * 1024, 16 * 1024, 22);
  const { meta } = payload;
  const leecherCount = 4;
  const seeder = startSeeder(payload, pool, {
    maxUploadRate: 1024 * 1024,
    signal: deadline.signal,
  });
  const leechers: Running[] = [];
  const allComplete = Promise.withResolvers<void>();
  let completed = 0;
  try {
    const seederPort = await within(seeder.ready, 30_000, "seeder ready");
    for (let i = 0; i < leecherCount; i++) {
      leechers.push(start(meta, {
        dir: `${root}/leech-${i}`,
        seed: true, // keep uploading to the others after finishing
        hashPool: pool,
        signal: deadline.signal,
      }, (event) => {
        if (event.type === "complete" && ++completed === leecherCount) allComplete.resolve();
      }));
    }
    const ports = await within(Promise.all(leechers.map((l) => l.ready)), 30_000, "leechers ready");
    for (let i = 0; i < leecherCount; i++) {
      leechers[i].session.addPeer(peerAt(seederPort));
      for (let j = 0; j < leecherCount; j++) {
        if (j !== i) leechers[i].session.addPeer(peerAt(ports[j]));
      }
    }
    await Promise.race([
      allComplete.promise,
      ...leechers.map((l) => l.done), // a leecher ending early (error or deadline) is a failure
    ]);
    strictEqual(completed, leecherCount, "every leecher completed before the deadline");
  } finally {
    await Promise.allSettled(leechers.map((l) => l.stop()));
    await seeder.stop().catch(() => {});
  }
  try {
    for (const leecher of leechers) await leecher.done; // none threw
    const seederId = encodeHex(seeder.session.peerId);
    const leecherIds = new Set(leechers.map((l) => encodeHex(l.session.peerId)));
    let fromLeechers = 0;
    let total = 0;
    const shares: string[] = [];
    /** Per leecher: pieces none of whose blocks came from the seeder. */
    const mineBy: number[] = [];
    for (let i = 0; i < leecherCount; i++) {
      const pieces = ofType(leechers[i].events, "piece");
      strictEqual(pieces.length, meta.pieceCount, `leecher ${i} verified every piece once`);
      const own = encodeHex(leechers[i].session.peerId);
      let mine = 0;
      for (const piece of pieces) {
        ok(piece.from.length > 0, "a piece names its contributors");
        for (const id of piece.from) {
          ok(id === seederId || (leecherIds.has(id) && id !== own), `unknown contributor ${id}`);
        }
        if (!piece.from.includes(seederId)) mine++;
      }
      fromLeechers += mine;
      mineBy.push(mine);
      total += pieces.length;
      shares.push(`${Math.round((100 * mine) / pieces.length)}%`);
      assertSameBytes(
        await Deno.readFile(`${root}/leech-${i}/payload.bin`),
        payload.data,
        `leecher ${i} copy`,
      );
    }
    ok(
      fromLeechers > total * 0.25,
      `only ${fromLeechers} of ${total} pieces came from other leechers (${shares.join(", ")})`,
    );
    // Not just some leechers: every one of them got a substantial share from the others (so each
    // was unchoked by, and downloaded from, its fellow leechers, not only the seeder).
    for (let i = 0; i < leecherCount; i++) {
      ok(
        mineBy[i] > meta.pieceCount * 0.1,
        `leecher ${i} got only ${mineBy[i]} of ${meta.pieceCount} pieces from other leechers` +
          ` (shares: ${shares.join(", ")})`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an interrupted download resumes from its resume file without re-checking", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-resume-" });
  await using pool = new HashPool();
  using deadline = new Deadline(90_000, "resume");
  const payload = await makePayload(root, 4 * 1024 * 1024, 16 * 1024, 33);
  const { meta } = payload;
  const seeder = startSeeder(payload, pool, { maxUploadRate: 1024 * 1024 });
  const leechDir = `${root}/leech`;
  try {
    const port = await within(seeder.ready, 30_000, "seeder ready");
    const stopAfter = Math.floor(meta.pieceCount / 4);
    const interrupt = new AbortController();
    let verified = 0;
    const first = start(meta, {
      dir: leechDir,
      peers: [peerAt(port)],
      hashPool: pool,
      signal: AbortSignal.any([interrupt.signal, deadline.signal]),
    }, (event) => {
      if (event.type === "piece" && ++verified === stopAfter) interrupt.abort();
    });
    await first.done;
    ok(interrupt.signal.aborted && !deadline.expired, "interrupted after some pieces");
    strictEqual(ofType(first.events, "complete").length, 0, "the first run did not finish");
    const stopped = ofType(first.events, "stopped");
    strictEqual(stopped.length, 1, "a stopped event arrives");
    strictEqual(first.events.at(-1)?.type, "stopped", "stopped is the last event");
    const stoppedHave = stopped[0].have;
    ok(stoppedHave >= stopAfter && stoppedHave < meta.pieceCount, `stopped with ${stoppedHave}`);
    ok(stoppedHave >= ofType(first.events, "piece").length, "stopped counts every piece");
    ok(await exists(resumePath(leechDir, meta)), "resume file written on stop");

    const second = start(meta, {
      dir: leechDir,
      peers: [peerAt(port)],
      hashPool: pool,
      signal: deadline.signal,
    });
    await second.done;
    ok(!deadline.expired, "the resumed download finished before the deadline");
    const events = second.events;
    strictEqual(ofType(events, "checking").length, 0, "no re-check: the resume file was used");
    const ready = ofType(events, "ready");
    strictEqual(ready.length, 1);
    strictEqual(ready[0].have, stoppedHave, "every piece verified before the stop is kept");
    const complete = ofType(events, "complete");
    strictEqual(complete.length, 1, "the resumed download completes");
    const missingBytes = (meta.pieceCount - stoppedHave) * meta.pieceLength;
    ok(
      complete[0].downloaded >= missingBytes && complete[0].downloaded < meta.totalLength,
      `downloaded ${complete[0].downloaded} of ${meta.totalLength} (missing ${missingBytes})`,
    );
    const indices = new Set(ofType(events, "piece").map((p) => p.index));
    strictEqual(indices.size, meta.pieceCount - stoppedHave, "only missing pieces fetched");
    for (const piece of ofType(first.events, "piece")) {
      ok(!indices.has(piece.index), `piece ${piece.index} fetched twice`);
    }
    assertSameBytes(await Deno.readFile(`${leechDir}/payload.bin`), payload.data, "resumed copy");
  } finally {
    await seeder.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("corrupt pieces found by the start-up check are downloaded again", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-corrupt-" });
  await using pool = new HashPool();
  using deadline = new Deadline(60_000, "repair");
  const payload = await makePayload(root, 2 * 1024 * 1024 + 777, 32 * 1024, 44);
  const { meta } = payload;
  const leechDir = `${root}/leech`;
  await Deno.mkdir(leechDir);
  const damaged = payload.data.slice();
  const last = meta.pieceCount - 1;
  const bad = [0, 17, 40, last];
  for (const index of bad) {
    const at = index * meta.pieceLength + (index === last ? 5 : 1000 + index);
    damaged[at] ^= 0x5a;
  }
  await Deno.writeFile(`${leechDir}/payload.bin`, damaged);
  ok(!(await exists(resumePath(leechDir, meta))));
  const seeder = startSeeder(payload, pool);
  try {
    const port = await within(seeder.ready, 30_000, "seeder ready");
    const leecher = start(meta, {
      dir: leechDir,
      peers: [peerAt(port)],
      hashPool: pool,
      signal: deadline.signal,
    });
    await leecher.done;
    ok(!deadline.expired, "the repair finished before the deadline");
    const events = leecher.events;
    const checking = ofType(events, "checking");
    ok(checking.length > 0, "the data was checked");
    deepStrictEqual(checking.at(-1), {
      type: "checking",
      checked: meta.pieceCount,
      total: meta.pieceCount,
    });
    const ready = ofType(events, "ready");
    strictEqual(ready[0]?.have, meta.pieceCount - bad.length, "the check finds the bad pieces");
    deepStrictEqual(
      ofType(events, "piece").map((p) => p.index).sort((a, b) => a - b),
      bad,
      "exactly the bad pieces are downloaded",
    );
    strictEqual(ofType(events, "complete").length, 1);
    assertSameBytes(await Deno.readFile(`${leechDir}/payload.bin`), payload.data, "repaired copy");
  } finally {
    await seeder.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("aborting during the start-up check ends run() promptly", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-abort-check-" });
  await using pool = new HashPool();
  // 48 MiB in 16 KiB pieces: thousands of pieces to read and hash.
  const payload = await makePayload(root, 48 * 1024 * 1024, 16 * 1024, 55);
  const { meta } = payload;
  const controller = new AbortController();
  const reason = new DOMException("test stops the check", "AbortError");
  const events: SessionEvent[] = [];
  const session = new TorrentSession(meta, {
    dir: payload.seedDir,
    listenHost: LOOPBACK,
    port: 0,
    trackers: false,
    hashPool: pool,
    signal: controller.signal,
  });
  try {
    let abortedAt = 0;
    const run = (async () => {
      for await (const event of session.run()) {
        events.push(event);
        if (event.type === "checking" && !controller.signal.aborted) {
          abortedAt = performance.now();
          controller.abort(reason);
        }
      }
    })();
    let error: unknown;
    await within(run.catch((e) => (error = e)), 5_000, "run() ending after abort during check");
    ok(abortedAt > 0, "a checking event arrived");
    strictEqual(
      error,
      undefined,
      `run() ends quietly when its caller stops it, but threw ${error}`,
    );
    strictEqual(ofType(events, "ready").length, 0, "stopped during the check, before ready");
    const checking = ofType(events, "checking");
    ok(checking.every((e) => e.checked < meta.pieceCount), "the check did not run to the end");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("aborting while a peer's handshake is pending ends run() promptly with stopped", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-abort-dial-" });
  await using pool = new HashPool();
  const payload = await makePayload(root, 256 * 1024, 16 * 1024, 66);
  // A peer that accepts TCP connections but never answers the handshake.
  const mute = Deno.listen({ hostname: LOOPBACK, port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of mute) held.push(conn);
    } catch {
      // listener closed
    }
  })();
  const controller = new AbortController();
  try {
    const leecher = start(payload.meta, {
      dir: `${root}/leech`,
      peers: [peerAt(mute.addr.port)],
      hashPool: pool,
      signal: controller.signal,
    });
    await within(leecher.ready, 30_000, "leecher ready");
    const deadline = performance.now() + 10_000;
    while (held.length === 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    strictEqual(held.length, 1, "the leecher dialled the mute peer");
    controller.abort();
    // CONNECT_TIMEOUT_MS is 10 s: ending well before it means the abort reached the dial.
    await within(leecher.done, 5_000, "run() ending after abort");
    const events = leecher.events;
    strictEqual(ofType(events, "peer").filter((e) => e.change === "connected").length, 0);
    deepStrictEqual(events.at(-1), {
      type: "stopped",
      have: 0,
      pieceCount: payload.meta.pieceCount,
    });
  } finally {
    mute.close();
    await accepting;
    for (const conn of held) conn.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("requireComplete on incomplete data throws IncompleteDataError", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-incomplete-" });
  await using pool = new HashPool();
  const payload = await makePayload(root, 1024 * 1024, 32 * 1024, 77);
  const { meta } = payload;
  try {
    // Only the first half of the file is there.
    const half = payload.data.subarray(0, meta.totalLength / 2);
    await Deno.writeFile(`${payload.seedDir}/payload.bin`, half);
    const partial = new TorrentSession(meta, {
      dir: payload.seedDir,
      requireComplete: true,
      seed: true,
      listenHost: LOOPBACK,
      port: 0,
      trackers: false,
      hashPool: pool,
    });
    const events: SessionEvent[] = [];
    await rejects(
      async () => {
        for await (const event of partial.run()) events.push(event);
      },
      (error: unknown) => {
        ok(error instanceof IncompleteDataError, `threw ${error}`);
        strictEqual(error.total, meta.pieceCount);
        strictEqual(error.have, meta.pieceCount / 2);
        ok(/only 16 of 32 pieces/.test(error.message), error.message);
        return true;
      },
    );
    strictEqual(ofType(events, "ready").length, 0, "never ready");
    strictEqual(partial.port, undefined, "never listened");

    // No data at all.
    const empty = new TorrentSession(meta, {
      dir: `${root}/empty`,
      requireComplete: true,
      listenHost: LOOPBACK,
      port: 0,
      trackers: false,
      hashPool: pool,
    });
    await rejects(
      async () => {
        for await (const _ of empty.run()) { /* drain */ }
      },
      (error: unknown) => error instanceof IncompleteDataError && error.have === 0,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("addPeer() before run() is ready queues the address instead of throwing", async () => {
  const root = await Deno.makeTempDir({ prefix: "shoal-addpeer-" });
  await using pool = new HashPool();
  using deadline = new Deadline(60_000, "download");
  const payload = await makePayload(root, 512 * 1024, 32 * 1024, 88);
  const seeder = startSeeder(payload, pool);
  try {
    const port = await within(seeder.ready, 30_000, "seeder ready");
    const leecher = new TorrentSession(payload.meta, {
      dir: `${root}/leech`,
      listenHost: LOOPBACK,
      port: 0,
      trackers: false,
      hashPool: pool,
      signal: deadline.signal,
    });
    leecher.addPeer(peerAt(port)); // before run(): the only way this leecher learns of the seeder
    const events: SessionEvent[] = [];
    for await (const event of leecher.run()) events.push(event);
    strictEqual(ofType(events, "complete").length, 1, "completes from the address added early");
    assertSameBytes(await Deno.readFile(`${root}/leech/payload.bin`), payload.data, "copy");
  } finally {
    await seeder.stop();
    await Deno.remove(root, { recursive: true });
  }
});
