// The fake peer against two real clients: a small TCP loop around MetadataFetcher (every mode),
// and libtorrent (python3-libtorrent) fetching a magnet whose only source is the fake peer.
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { encodeBencode } from "../src/bencode/encode.ts";
import { encodeHex } from "../src/bytes/hex.ts";
import { MetadataFetcher, type MetadataFetcherOptions } from "../src/scheduler/metadata_fetcher.ts";
import { sha1 } from "../src/sha1/sha1.ts";
import { decodeExtensionHandshake, encodeExtensionHandshake } from "../src/wire/extension.ts";
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH } from "../src/wire/handshake.ts";
import { decodeMessage, encodeMessage } from "../src/wire/message.ts";
import {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
} from "../src/wire/metadata.ts";
import { FakePeer, type FakePeerMode } from "./fake_peer.ts";
import { interopTest } from "./interop/harness.ts";
import { assertSameBytes } from "./test_util.ts";

/** A real-looking info dictionary of `pieceCount` pieces (its `pieces` field makes it big). */
function makeInfo(name: string, pieceCount: number): Uint8Array {
  const pieces = new Uint8Array(20 * pieceCount);
  for (let i = 0; i < pieces.length; i++) pieces[i] = (i * 131) & 0xff;
  return encodeBencode({ name, "piece length": 16384, length: pieceCount * 16384, pieces });
}

// 8,000 hashes: 160,073 bytes, 10 metadata pieces.
const BIG_INFO = makeInfo("big.bin", 8000);
// 3 metadata pieces, so a peer is asked for two non-final pieces at once.
const SMALL_INFO = makeInfo("small.bin", 2000);

interface FetchSummary {
  done?: Uint8Array;
  drops: Map<string, string>;
  hashFailed: string[];
}

const OUR_UT_METADATA = 2;

/**
 * Fetches metadata from fake peers over TCP with a MetadataFetcher: the loop a session runs.
 * Resolves when done, when `stop` holds, or when every connection has closed.
 */
async function fetchOverTcp(
  ports: number[],
  infoHash: Uint8Array,
  options: { fetcher?: MetadataFetcherOptions; stop?: (s: FetchSummary) => boolean } = {},
): Promise<FetchSummary> {
  const fetcher = new MetadataFetcher(infoHash, options.fetcher);
  const summary: FetchSummary = { drops: new Map(), hashFailed: [] };
  const conns = new Map<string, { conn: Deno.Conn; theirId: number }>();
  let wake: ReturnType<typeof setTimeout> | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const over = (): boolean => summary.done !== undefined || (options.stop?.(summary) ?? false);

  const drop = (key: string, reason: string): void => {
    summary.drops.set(key, reason);
    conns.get(key)?.conn.close();
    conns.delete(key);
    fetcher.removePeer(key);
  };
  const pump = async (): Promise<void> => {
    if (wake !== undefined) clearTimeout(wake);
    wake = undefined;
    if (over()) return finish();
    const now = performance.now();
    for (const [key, { conn, theirId }] of conns) {
      for (const piece of fetcher.nextRequests(key, now)) {
        const payload = encodeMetadataMessage({ type: "request", piece });
        await conn.write(encodeMessage({ type: "extended", id: theirId, payload }));
      }
    }
    const at = fetcher.nextWakeMs(performance.now());
    if (at !== undefined) wake = setTimeout(() => void pump(), at - performance.now());
  };

  const run = async (port: number): Promise<void> => {
    const key = `127.0.0.1:${port}`;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    let pending = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    const read = async (): Promise<boolean> => {
      const n = await conn.read(chunk);
      if (n === null) return false;
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(chunk.subarray(0, n), pending.length);
      pending = joined;
      return true;
    };
    try {
      await conn.write(encodeHandshake({ infoHash, peerId: new Uint8Array(20).fill(7) }));
      const ext = encodeExtensionHandshake({ m: { ut_metadata: OUR_UT_METADATA } });
      await conn.write(encodeMessage({ type: "extended", id: 0, payload: ext }));
      while (!decodeHandshake(pending)) if (!(await read())) return;
      pending = pending.slice(HANDSHAKE_LENGTH);
      while (!over()) {
        let decoded;
        while (!over() && (decoded = decodeMessage(pending))) {
          pending = pending.slice(decoded.size);
          const message = decoded.message;
          if (message.type !== "extended") continue;
          const now = performance.now();
          if (message.id === 0) {
            const theirs = decodeExtensionHandshake(message.payload);
            const theirId = theirs.m.ut_metadata ?? 0;
            if (theirId === 0 || theirs.metadata_size === undefined) return;
            const added = fetcher.addPeer(key, theirs.metadata_size, now);
            if (added.drop) return drop(key, added.drop);
            conns.set(key, { conn, theirId });
          } else if (message.id === OUR_UT_METADATA) {
            let m;
            try {
              m = decodeMetadataMessage(message.payload);
            } catch (error) {
              return drop(key, (error as Error).message);
            }
            const outcome = m.type === "data"
              ? fetcher.onData(key, m.piece, m.totalSize, m.data, now)
              : m.type === "reject"
              ? fetcher.onReject(key, m.piece, now)
              : {};
            if (outcome.drop) return drop(key, outcome.drop);
            if ("done" in outcome && outcome.done) summary.done = outcome.done;
            if ("hashFailed" in outcome && outcome.hashFailed) {
              summary.hashFailed.push(...outcome.hashFailed);
            }
          }
          await pump();
        }
        if (over() || !(await read())) return;
      }
    } catch (error) {
      // drop() or the end of the fetch closed the connection under a read
      const closed = error instanceof Deno.errors.BadResource ||
        error instanceof Deno.errors.Interrupted;
      if (!closed) throw error;
    } finally {
      if (conns.get(key)?.conn === conn) conns.delete(key);
      fetcher.removePeer(key);
      try {
        conn.close();
      } catch {
        // closed by drop()
      }
    }
  };

  const runs = Promise.all(ports.map(run)).then(() => finish());
  await finished;
  if (wake !== undefined) clearTimeout(wake);
  for (const { conn } of conns.values()) conn.close();
  await runs;
  return summary;
}

/** Asserts that no piece was requested twice within `ms`, across every peer. */
function assertNoQuickRepeats(peers: FakePeer[], ms: number): void {
  const last = new Map<number, number>();
  const all = peers.flatMap((p) => p.requests()).sort((a, b) => a.atMs - b.atMs);
  for (const { piece, atMs } of all) {
    const before = last.get(piece);
    ok(
      before === undefined || atMs - before >= ms,
      `piece ${piece} asked again after ${atMs - before!} ms`,
    );
    last.set(piece, atMs);
  }
}

Deno.test("fetchOverTcp gets a 160 KB dictionary from three honest fake peers, each piece asked once", async () => {
  await using a = await FakePeer.listen({ infoBytes: BIG_INFO });
  await using b = await FakePeer.listen({ infoBytes: BIG_INFO });
  await using c = await FakePeer.listen({ infoBytes: BIG_INFO });
  const summary = await fetchOverTcp([a.port, b.port, c.port], sha1(BIG_INFO));
  assertSameBytes(summary.done ?? new Uint8Array(0), BIG_INFO, "the fetched dictionary");
  deepStrictEqual(summary.drops, new Map());
  const asked = [a, b, c].flatMap((p) => p.requests().map((r) => r.piece)).sort((x, y) => x - y);
  deepStrictEqual(asked, Array.from({ length: 10 }, (_, i) => i));
  assertNoQuickRepeats([a, b, c], 3000);
  for (const peer of [a, b, c]) {
    const handshake = peer.received.find((r) => r.kind === "handshake");
    ok(handshake?.kind === "handshake" && handshake.extended, "the BEP 10 bit was set");
    ok(peer.received.some((r) => r.kind === "extension-handshake"));
  }
});

const SMALL = SMALL_INFO.length;
const HOSTILE: [FakePeerMode, RegExp][] = [
  ["oversize", /sent total_size 67108865, over the 67108864-byte cap/],
  ["size-change", new RegExp(`changed total_size from ${SMALL} to ${SMALL + 1} between pieces`)],
  ["past-end", new RegExp(`piece 3 is past total_size ${SMALL}`)],
  ["short-piece", /has 16383 bytes, expected 16384/],
  ["reject-all", /reject storm: 9 rejects/],
  ["unrequested", /never asked of it/],
];

for (const [mode, reason] of HOSTILE) {
  Deno.test(`a fake peer in ${mode} mode is dropped by the fetcher`, async () => {
    await using peer = await FakePeer.listen({ infoBytes: SMALL_INFO, mode });
    const summary = await fetchOverTcp([peer.port], sha1(SMALL_INFO));
    ok(summary.done === undefined, "the fetch must not complete");
    match(summary.drops.get(`127.0.0.1:${peer.port}`) ?? "(not dropped)", reason);
  });
}

Deno.test("a fake peer in wrong-bytes mode fails the SHA-1 and is penalised", async () => {
  await using peer = await FakePeer.listen({ infoBytes: SMALL_INFO, mode: "wrong-bytes" });
  const summary = await fetchOverTcp([peer.port], sha1(SMALL_INFO), {
    stop: (s) => s.hashFailed.length > 0,
  });
  ok(summary.done === undefined, "the fetch must not complete");
  deepStrictEqual(summary.hashFailed, [`127.0.0.1:${peer.port}`]);
  deepStrictEqual(peer.requests().map((r) => r.piece).sort(), [0, 1, 2]);
});

Deno.test("a dialling fake peer sends its handshake, then the extension handshake", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const infoHash = sha1(SMALL_INFO);
  const accepted = listener.accept();
  await using peer = await FakePeer.dial((listener.addr as Deno.NetAddr).port, {
    infoBytes: SMALL_INFO,
  });
  using conn = await accepted;
  let bytes = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  let answered = false;
  let ext;
  while (!ext) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("the fake peer hung up");
    bytes = new Uint8Array([...bytes, ...chunk.subarray(0, n)]);
    const handshake = decodeHandshake(bytes);
    if (!handshake) continue;
    deepStrictEqual(handshake.infoHash, infoHash);
    ok(handshake.extensions.extended);
    if (!answered) {
      strictEqual(peer.sent.map((s) => s.type).join(), "handshake", "nothing before our answer");
      await conn.write(encodeHandshake({ infoHash, peerId: new Uint8Array(20) }));
      answered = true;
    }
    const frame = decodeMessage(bytes.subarray(HANDSHAKE_LENGTH));
    if (frame?.message.type === "extended") ext = decodeExtensionHandshake(frame.message.payload);
  }
  strictEqual(ext.metadata_size, SMALL_INFO.length);
  strictEqual(ext.m.ut_metadata, 3);
  await peer.until((p) => p.received.some((r) => r.kind === "handshake"), 5000, "our handshake");
});

// ---------------------------------------------------------------------------------------------
// libtorrent fetches a magnet from the fake peer

const LT_MAGNET_PY = `
import json, sys, time
import libtorrent as lt
magnet, save, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = lt.session({
    "listen_interfaces": "127.0.0.1:0", "outgoing_interfaces": "127.0.0.1",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.all_categories,
})
p = lt.parse_magnet_uri(magnet)
p.save_path = save
# Started at once: a paused, auto-managed torrent refuses incoming connections for a moment.
p.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
h = s.add_torrent(p)
print(json.dumps({"event": "listening", "port": s.listen_port()}), flush=True)
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    s.wait_for_alert(100)
    for a in s.pop_alerts():
        kind = type(a).__name__
        if kind == "metadata_received_alert":
            ti = h.torrent_file()
            print(json.dumps({"event": "metadata", "infoHash": str(ti.info_hashes().v1),
                              "name": ti.name()}), flush=True)
            sys.exit(0)
        if kind == "metadata_failed_alert":
            print(json.dumps({"event": "failed", "message": a.message()}), flush=True)
            sys.exit(0)
print(json.dumps({"event": "timeout"}), flush=True)
`;

interface LtResult {
  event: "metadata" | "failed" | "timeout";
  infoHash?: string;
  name?: string;
}

/**
 * Runs libtorrent on a magnet for at most `limitS` seconds. `onListening` gets libtorrent's
 * port (to dial it). The process is killed by its PID if it outlives its limit.
 */
async function libtorrentMagnet(
  magnet: string,
  limitS: number,
  onListening: (port: number) => Promise<void> = () => Promise.resolve(),
): Promise<LtResult> {
  const save = await Deno.makeTempDir({ prefix: "shoal-lt-magnet-" });
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", LT_MAGNET_PY, magnet, save, String(limitS)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => {
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch {
      // gone
    }
  }, (limitS + 10) * 1000);
  const stderr = new Response(child.stderr).text();
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
    let buffered = "";
    const nextLine = async (): Promise<string | undefined> => {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.next();
        if (done) return undefined;
        buffered += value;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    };
    const first = await nextLine();
    if (first === undefined) throw new Error(`libtorrent helper failed: ${await stderr}`);
    await onListening(JSON.parse(first).port);
    const last = await nextLine();
    await lines.return?.();
    if (last === undefined) throw new Error(`libtorrent helper failed: ${await stderr}`);
    return JSON.parse(last);
  } finally {
    clearTimeout(killer);
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await stderr;
    await Deno.remove(save, { recursive: true });
  }
}

interopTest("libtorrent fetches a magnet's metadata from an honest fake peer (x.pe)", [
  "libtorrent",
], async () => {
  await using peer = await FakePeer.listen({ infoBytes: BIG_INFO });
  const hex = encodeHex(sha1(BIG_INFO));
  const result = await libtorrentMagnet(
    `magnet:?xt=urn:btih:${hex}&dn=hint&x.pe=127.0.0.1:${peer.port}`,
    20,
  );
  deepStrictEqual(result, { event: "metadata", infoHash: hex, name: "big.bin" });
  deepStrictEqual([...new Set(peer.requests().map((r) => r.piece))].sort((a, b) => a - b), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  assertNoQuickRepeats([peer], 3000);
}, { timeoutMs: 40_000 });

interopTest(
  "libtorrent fetches metadata from a fake peer that dials it",
  ["libtorrent"],
  async () => {
    const hex = encodeHex(sha1(SMALL_INFO));
    let peer: FakePeer | undefined;
    try {
      const result = await libtorrentMagnet(`magnet:?xt=urn:btih:${hex}`, 20, async (port) => {
        peer = await FakePeer.dial(port, { infoBytes: SMALL_INFO });
      });
      deepStrictEqual(result, { event: "metadata", infoHash: hex, name: "small.bin" });
      ok(peer!.requests().length >= 3);
    } finally {
      await peer?.[Symbol.asyncDispose]();
    }
  },
  { timeoutMs: 40_000 },
);

interopTest(
  "libtorrent sees a wrong-bytes fake peer's metadata fail its hash",
  ["libtorrent"],
  async () => {
    await using peer = await FakePeer.listen({ infoBytes: SMALL_INFO, mode: "wrong-bytes" });
    const hex = encodeHex(sha1(SMALL_INFO));
    const result = await libtorrentMagnet(
      `magnet:?xt=urn:btih:${hex}&x.pe=127.0.0.1:${peer.port}`,
      20,
    );
    strictEqual(result.event, "failed");
    ok(peer.sent.filter((s) => s.type === "data").length >= 3);
  },
  { timeoutMs: 40_000 },
);

interopTest("libtorrent gets no metadata from a rejecting fake peer", ["libtorrent"], async () => {
  await using peer = await FakePeer.listen({ infoBytes: SMALL_INFO, mode: "reject-all" });
  const hex = encodeHex(sha1(SMALL_INFO));
  // An honest fetch of this dictionary takes well under a second (see the tests above).
  const result = await libtorrentMagnet(
    `magnet:?xt=urn:btih:${hex}&x.pe=127.0.0.1:${peer.port}`,
    3,
  );
  strictEqual(result.event, "timeout");
  ok(peer.requests().length > 0, "libtorrent asked");
  strictEqual(peer.sent.filter((s) => s.type === "data").length, 0);
}, { timeoutMs: 30_000 });

Deno.test("METADATA_PIECE_SIZE splits the test dictionaries as the tests assume", () => {
  strictEqual(Math.ceil(BIG_INFO.length / METADATA_PIECE_SIZE), 10);
  strictEqual(BIG_INFO.length, 160_073);
  strictEqual(Math.ceil(SMALL_INFO.length / METADATA_PIECE_SIZE), 3);
});
