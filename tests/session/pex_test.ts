// Peer exchange (BEP 11) between shoal sessions on loopback: a leecher told only of the seeder
// learns of another leecher through the seeder's ut_pex message and connects to it; with a
// private torrent (BEP 27) no addresses are exchanged.
import { ok, strictEqual } from "node:assert/strict";
import {
  createTorrent,
  HashPool,
  type Metainfo,
  parseTorrent,
  type SessionEvent,
} from "../../mod.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import type { TorrentSessionOptions } from "../../src/session/session_options.ts";
import { assertSameBytes, ofType, randomBytes, within } from "../test_util.ts";

const LOOPBACK = "127.0.0.1";

interface Running {
  events: SessionEvent[];
  ready: Promise<number>;
  done: Promise<void>;
}

function start(meta: Metainfo, options: TorrentSessionOptions): Running {
  const session = new TorrentSession(meta, {
    listenHost: LOOPBACK,
    port: 0,
    trackers: false,
    ...options,
  });
  const events: SessionEvent[] = [];
  const ready = Promise.withResolvers<number>();
  ready.promise.catch(() => {});
  const done = (async () => {
    for await (const event of session.run()) {
      events.push(event);
      if (event.type === "ready") ready.resolve(event.port ?? 0);
    }
  })();
  done.then(() => ready.reject(new Error("ended before ready")), ready.reject);
  return { events, ready: ready.promise, done };
}

/** Seeder, then leecher A told of the seeder, then leecher B told of the seeder only. */
async function swarm(privateTorrent: boolean): Promise<{ aPort: number; bEvents: SessionEvent[] }> {
  const root = await Deno.makeTempDir({ prefix: "shoal-pex-" });
  await using pool = new HashPool({ size: 1 });
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(new Error("deadline")), 60_000);
  const running: Running[] = [];
  try {
    await Deno.mkdir(`${root}/seed`);
    const data = randomBytes(3 * 1024 * 1024 + 99, privateTorrent ? 21 : 22);
    await Deno.writeFile(`${root}/seed/payload.bin`, data);
    const meta = parseTorrent(
      await createTorrent(`${root}/seed/payload.bin`, {
        pieceLength: 32 * 1024,
        private: privateTorrent,
      }),
    );
    strictEqual(meta.private, privateTorrent);
    const common = { hashPool: pool, signal: stop.signal };
    const seeder = start(meta, {
      ...common,
      dir: `${root}/seed`,
      seed: true,
      requireComplete: true,
      maxUploadRate: 1024 * 1024, // slow enough that the leechers overlap
    });
    running.push(seeder);
    const seederPort = await within(seeder.ready, 30_000, "seeder ready");
    const toSeeder = [{ host: LOOPBACK, port: seederPort }];
    const a = start(meta, { ...common, dir: `${root}/a`, peers: toSeeder });
    running.push(a);
    const aPort = await within(a.ready, 30_000, "leecher A ready");
    const b = start(meta, { ...common, dir: `${root}/b`, peers: toSeeder });
    running.push(b);
    await within(b.done, 60_000, "leecher B done");
    await within(a.done, 60_000, "leecher A done");
    ok(!stop.signal.aborted, "both downloads finished before the deadline");
    for (const [name, events] of [["A", a.events], ["B", b.events]] as const) {
      strictEqual(ofType(events, "complete").length, 1, `${name} completed`);
      assertSameBytes(await Deno.readFile(`${root}/${name.toLowerCase()}/payload.bin`), data, name);
    }
    return { aPort, bEvents: b.events };
  } finally {
    clearTimeout(deadline);
    stop.abort();
    await Promise.allSettled(running.map((r) => r.done));
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("PEX: a leecher told only of the seeder finds the other leecher through it", async () => {
  const { aPort, bEvents } = await swarm(false);
  ok(
    ofType(bEvents, "peer").some((e) =>
      e.change === "connected" && e.address === `${LOOPBACK}:${aPort}`
    ),
    "B dialled A, whose address only the seeder's PEX message could give it",
  );
});

Deno.test("PEX is off for a private torrent (BEP 27): the leechers never meet", async () => {
  const { aPort, bEvents } = await swarm(true);
  ok(
    !ofType(bEvents, "peer").some((e) => e.address === `${LOOPBACK}:${aPort}`),
    "B must not learn A's address",
  );
});
