// A TorrentSession whose first tracker tier lies (garbage, odd peers, refusal, a hang, HTTP 500)
// still finds the seeder through the second tier (BEP 12), warns about the liar by URL, and
// sends started/completed with a key and a correctly percent-encoded info hash.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  createTorrent,
  HashPool,
  type Metainfo,
  parseTorrent,
  type SessionEvent,
} from "../../mod.ts";
import { TorrentSession } from "../../src/session/torrent_session.ts";
import { type FakeHttpTracker, startFakeHttpTracker } from "../tracker/fake_http_tracker.ts";
import { assertSameBytes, ofType, randomBytes, within } from "../test_util.ts";

const LOOPBACK = "127.0.0.1";
const PAYLOAD_SIZE = 1024 * 1024 + 4321;
const PIECE_LENGTH = 32 * 1024;
/** Longest a download may take before the test fails (2 shared cores: generous). */
const DOWNLOAD_LIMIT_MS = 90_000;
/** Longest the `completed` announce may take to reach the tracker after run() ends. */
const COMPLETED_LIMIT_MS = 15_000;

const latin1 = (text: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(text, (c) => c.charCodeAt(0));

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A bencoded byte string of ASCII text. */
const bstr = (text: string): string => `${text.length}:${text}`;

const REFUSAL = "torrent not registered";

/** The 6-byte compact form (BEP 23) of 127.0.0.1:port. */
function compactLoopback(port: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array([127, 0, 0, 1, port >> 8, port & 0xff]);
}

/** A bencoded announce answer: `d8:intervali<n>e5:peers<len>:<bytes>e`. */
function peersBody(interval: number, peers: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat(latin1(`d8:intervali${interval}e5:peers${peers.length}:`), peers, latin1("e"));
}

function bencodeResponse(body: Uint8Array<ArrayBuffer>, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain" } });
}

/** One query parameter's raw (still percent-encoded) value, or undefined. */
function rawParam(query: string, name: string): string | undefined {
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    if (eq !== -1 && pair.slice(0, eq) === name) return pair.slice(eq + 1);
  }
  return undefined;
}

function queryOf(target: string): string {
  const q = target.indexOf("?");
  return q === -1 ? "" : target.slice(q + 1);
}

/**
 * Decodes a percent-encoded byte string strictly (RFC 3986): only unreserved characters may
 * appear literally, everything else must be `%XX`. Throws on anything else (`+`, raw bytes,
 * a short escape).
 */
function strictPercentDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`bad escape at ${i} in ${text}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (/^[A-Za-z0-9\-._~]$/.test(c)) {
      out.push(c.charCodeAt(0));
    } else {
      throw new Error(`character ${JSON.stringify(c)} must be percent-encoded in ${text}`);
    }
  }
  return new Uint8Array(out);
}

/** Polls `check` every 50 ms until it holds or `ms` passes; returns whether it held. */
async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

const eventOf = (target: string): string | undefined => rawParam(queryOf(target), "event");

/**
 * Checks the announces one tracker received from the leecher: the first carries
 * `event=started`, one carries `event=completed`, every one has the same non-empty `key`,
 * the leecher's peer id, and an `info_hash` that decodes (strictly) to the torrent's.
 */
function assertAnnounces(
  requests: readonly string[],
  meta: Metainfo,
  peerId: Uint8Array,
  what: string,
): void {
  const context = `${what}: ${JSON.stringify(requests)}`;
  ok(requests.length >= 2, `at least started and completed expected, ${context}`);
  strictEqual(eventOf(requests[0]), "started", `first announce is started, ${context}`);
  strictEqual(
    requests.filter((r) => eventOf(r) === "started").length,
    1,
    `started is sent once, ${context}`,
  );
  strictEqual(
    requests.filter((r) => eventOf(r) === "completed").length,
    1,
    `completed is sent once, ${context}`,
  );
  const keys = new Set<string | undefined>();
  for (const target of requests) {
    const query = queryOf(target);
    const rawHash = rawParam(query, "info_hash");
    ok(rawHash !== undefined, `info_hash missing in ${target}`);
    deepStrictEqual(strictPercentDecode(rawHash), meta.infoHash, `info_hash of ${target}`);
    const rawPeerId = rawParam(query, "peer_id");
    ok(rawPeerId !== undefined, `peer_id missing in ${target}`);
    deepStrictEqual(strictPercentDecode(rawPeerId), peerId, `peer_id of ${target}`);
    keys.add(rawParam(query, "key"));
  }
  strictEqual(keys.size, 1, `one key for the whole session, ${context}`);
  const [key] = keys;
  ok(key !== undefined && key !== "", `key= present and non-empty, ${context}`);
}

/** How the lying tier-1 tracker misbehaves. */
type Liar = (query: string, release: Promise<void>) => Response | Promise<Response>;

interface Outcome {
  meta: Metainfo;
  events: SessionEvent[];
  leecherPeerId: Uint8Array;
  liar: FakeHttpTracker;
  honest: FakeHttpTracker;
  /** The seeder's listening port. */
  seederPort: number;
}

/**
 * Runs one download: a seeder (no trackers), a torrent with tiers [[liar], [honest]], the
 * honest tracker answering the seeder's compact address, and a leecher using the trackers only.
 * Checks the common outcome (identical bytes, no throw, one complete) and hands the rest to
 * `inspect` while the trackers still hold their request logs.
 */
async function runScenario(
  name: string,
  lie: (seederPort: Promise<number>) => Liar,
  inspect: (outcome: Outcome) => Promise<void> | void,
  trackerTimeoutMs?: number,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: `shoal-failover-${name}-` });
  await using pool = new HashPool({ size: 1 });
  const seederPort = Promise.withResolvers<number>();
  seederPort.promise.catch(() => {});
  await using liar = await startFakeHttpTracker(lie(seederPort.promise));
  await using honest = await startFakeHttpTracker(async () => {
    const port = await seederPort.promise;
    return bencodeResponse(peersBody(1800, compactLoopback(port)));
  });
  const seedController = new AbortController();
  let seederDone: Promise<void> = Promise.resolve();
  try {
    const data = randomBytes(PAYLOAD_SIZE, 0x5eed + name.length);
    await Deno.mkdir(`${root}/seed`);
    await Deno.writeFile(`${root}/seed/payload.bin`, data);
    const meta = parseTorrent(
      await createTorrent(`${root}/seed/payload.bin`, {
        pieceLength: PIECE_LENGTH,
        trackers: [[liar.url], [honest.url]],
      }),
    );
    deepStrictEqual(meta.announce, [[liar.url], [honest.url]], "two one-tracker tiers");

    const seeder = new TorrentSession(meta, {
      dir: `${root}/seed`,
      listenHost: LOOPBACK,
      port: 0,
      seed: true,
      requireComplete: true,
      trackers: false,
      hashPool: pool,
      signal: seedController.signal,
    });
    seederDone = (async () => {
      for await (const event of seeder.run()) {
        if (event.type === "ready") seederPort.resolve(event.port ?? 0);
      }
    })();
    seederDone.catch((error) => seederPort.reject(error));
    const port = await within(seederPort.promise, 30_000, "seeder ready");
    ok(port > 0, "seeder listens");

    const leechController = new AbortController();
    const leechTimer = setTimeout(() => leechController.abort(), DOWNLOAD_LIMIT_MS);
    const leecher = new TorrentSession(meta, {
      dir: `${root}/leech`,
      listenHost: LOOPBACK,
      port: 0,
      hashPool: pool,
      trackerTimeoutMs,
      signal: leechController.signal, // trackers on (default); no direct peers
    });
    const events: SessionEvent[] = [];
    try {
      // run() must end by itself after `complete`, without throwing.
      for await (const event of leecher.run()) events.push(event);
    } finally {
      clearTimeout(leechTimer);
    }
    ok(!leechController.signal.aborted, `download finished within ${DOWNLOAD_LIMIT_MS} ms`);
    strictEqual(ofType(events, "complete").length, 1, "one complete event");
    strictEqual(events.at(-1)?.type, "complete", "run() ends right after complete");
    ok(leecher.have?.complete, "every piece verified");
    assertSameBytes(await Deno.readFile(`${root}/leech/payload.bin`), data, "leecher copy");

    const warnings = ofType(events, "warning").map((w) => w.message);
    ok(
      warnings.some((message) => message.includes(liar.url)),
      `a warning names the lying tracker ${liar.url}: ${JSON.stringify(warnings)}`,
    );
    ok(
      !warnings.some((message) => message.includes(honest.url)),
      `no warning blames the honest tracker: ${JSON.stringify(warnings)}`,
    );
    await inspect({
      meta,
      events,
      leecherPeerId: leecher.peerId,
      liar,
      honest,
      seederPort: port,
    });
  } finally {
    seedController.abort();
    await seederDone.catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * The common check for a liar that fails: the honest tier-2 tracker got started (first) and,
 * after completion, completed, with key and info hash right.
 */
async function honestServed(outcome: Outcome): Promise<void> {
  const { honest, liar, meta, leecherPeerId } = outcome;
  ok(
    await waitFor(
      () => honest.requests.some((r) => eventOf(r) === "completed"),
      COMPLETED_LIMIT_MS,
    ),
    `honest tracker got event=completed: ${JSON.stringify(honest.requests)}`,
  );
  assertAnnounces(honest.requests, meta, leecherPeerId, "honest tracker");
  ok(liar.requests.length >= 1, "the tier-1 tracker was tried first");
  strictEqual(eventOf(liar.requests[0]), "started", "the liar got the first started");
}

Deno.test("tracker failover: tier 1 sends malformed bencode, tier 2 serves the download", async () => {
  await runScenario(
    "garbage",
    () => () => bencodeResponse(latin1("d8:intervali1800e5:peers12:\x7f\x00")),
    async (outcome) => {
      await honestServed(outcome);
      const warning = ofType(outcome.events, "warning").find((w) =>
        w.message.includes(outcome.liar.url)
      );
      ok(
        /parse/i.test(warning?.message ?? ""),
        `says the answer did not parse: ${warning?.message}`,
      );
    },
  );
});

Deno.test("tracker failover: tier 1 sends a failure reason, tier 2 serves the download", async () => {
  await runScenario(
    "refusal",
    () => () => bencodeResponse(latin1(`d14:failure reason${bstr(REFUSAL)}e`)),
    async (outcome) => {
      await honestServed(outcome);
      ok(
        ofType(outcome.events, "warning").some((w) =>
          w.message.includes(outcome.liar.url) && w.message.includes(REFUSAL)
        ),
        "the warning carries the tracker's failure reason",
      );
    },
  );
});

Deno.test("tracker failover: tier 1 answers HTTP 500, tier 2 serves the download", async () => {
  await runScenario(
    "http500",
    () => () => new Response("internal error", { status: 500 }),
    async (outcome) => {
      await honestServed(outcome);
      ok(
        ofType(outcome.events, "warning").some((w) =>
          w.message.includes(outcome.liar.url) && w.message.includes("500")
        ),
        "the warning names the HTTP status",
      );
    },
  );
});

// Odd-length `peers` and interval 0 do not make the answer a failure: the tracker *answered*,
// so by BEP 12 tier 1 serves and tier 2 is never asked. The 9 bytes are the seeder's 6-byte
// address plus 3 stray bytes: the good peer is kept, the tail dropped with a warning, and the
// interval clamped (a re-announce storm would show as event-less announces during the test).
Deno.test("tracker failover: tier 1 sends 9-byte peers and interval 0: tail dropped, interval clamped", async () => {
  await runScenario(
    "oddpeers",
    (seederPort) => async () => {
      const port = await seederPort;
      return bencodeResponse(peersBody(0, concat(compactLoopback(port), latin1("\x01\x02\x03"))));
    },
    async (outcome) => {
      const { liar, honest, meta, leecherPeerId } = outcome;
      const warnings = ofType(outcome.events, "warning").map((w) => w.message);
      ok(
        warnings.some((m) => m.includes(liar.url) && /9 bytes/.test(m)),
        `the warning names the 9-byte peer list: ${JSON.stringify(warnings)}`,
      );
      ok(
        warnings.some((m) => m.includes(liar.url) && /interval of 0/.test(m)),
        `the warning names the zero interval: ${JSON.stringify(warnings)}`,
      );
      ok(
        await waitFor(
          () => liar.requests.some((r) => eventOf(r) === "completed"),
          COMPLETED_LIMIT_MS,
        ),
        `tier 1 got event=completed: ${JSON.stringify(liar.requests)}`,
      );
      assertAnnounces(liar.requests, meta, leecherPeerId, "tier-1 tracker");
      deepStrictEqual(
        liar.requests.filter((r) => eventOf(r) === undefined),
        [],
        "no periodic re-announce: interval 0 was clamped, not obeyed",
      );
      deepStrictEqual(honest.requests, [], "tier 2 is not asked while tier 1 answers (BEP 12)");
    },
  );
});

// (d) A tier-1 tracker that never answers: with a 1 s tracker time limit the session moves
// on to tier 2, and the completed announce goes first to tier 2, the tracker that answered,
// so the dead tracker cannot use up the event's short time limit.
Deno.test({
  name: "tracker failover: tier 1 never answers, tier 2 serves after the announce timeout",
  fn: async () => {
    await runScenario(
      "hang",
      () => async (_query, release) => {
        await release; // held until the tracker is disposed
        return new Response("too late", { status: 503 });
      },
      async (outcome) => {
        await honestServed(outcome);
        ok(
          ofType(outcome.events, "warning").some((w) =>
            w.message.includes(outcome.liar.url) && /no answer within/.test(w.message)
          ),
          "the warning says the tracker timed out",
        );
      },
      1000,
    );
  },
});
