// Magnet links over an 8-node libtorrent DHT on 127.0.0.1: shoal against libtorrent (issue 8).
//
// Every run gets a fresh DHT (tests/interop/dht_harness.ts: 8 libtorrent 2.0.8 nodes) and a
// libtorrent seeder of the same torrent (pseudo-random data, 256 KiB pieces, no trackers)
// announced into it until 3 nodes store it. Then one downloader, given the bare magnet and one
// node of that DHT:
//   shoal:      a fresh in-process Client (dht: true, dhtNodes: [that node], so the public
//               routers are never used, and a fresh state folder, so no saved nodes; listening
//               on 127.0.0.1). t0 just before `client.add(magnet)`; metadata = its `metainfo`
//               event; first piece = its first `piece` event (verified and written).
//   libtorrent: a fresh session (bench/lt_magnet_timing.py: add_dht_node of that node only, no
//               bootstrap routers, LSD/UPnP/NAT-PMP/uTP off, 127.0.0.1). t0 just before
//               add_torrent; metadata_received_alert; the first piece_finished_alert.
// Each downloader's copy is compared with the seeder's afterwards (outside the timing).
// A round is one run of each, alternating which goes first, each after `sync` and with the
// previous download folder deleted; neither sees the other's DHT state (each has its own DHT
// and seeder, and a fresh node id).
// DHT figures (shoal): packets its node sent/received from t0 to the metadata, and the queries
// of the DHT finder's first announce (get_peers lookup + announce_peer): the packets of the
// lookup itself. libtorrent's dht_messages_out/in counters at its metadata, for comparison.
// --warm: both wait until their DHT node has bootstrapped before t0 (lookup without start-up).
// --verbose: shoal's phases (where its time goes), from first-call timestamps of the DhtNode,
//   MetadataFetcher, HashPool and TorrentStorage methods (wrapped for the run, then restored).
// --dead-node: both also get an entry node that never answers (as stale nodes do on the
//   internet): shows what the DHT's timeouts cost.
// --lt-bootstrap router: the node as libtorrent's dht_bootstrap_nodes instead of add_dht_node;
//   with 2.0.8 its torrent never announces (no metadata in 30 s), so it is not the default.
//
// Run: deno run -A bench/magnet_bench.ts [--rounds 5] [--size-mib 16] [--warm] [--json]
//      [--verbose] [--dead-node] [--lt-bootstrap node|router]   (needs python3-libtorrent; under a minute)

import { parseArgs } from "node:util";
import { Client } from "@shoal/shoal";
import { DhtNode, PeerFeed } from "@shoal/shoal/dht";
import { MetadataFetcher } from "@shoal/shoal/scheduler";
import { HashPool } from "@shoal/shoal/sha1";
import { TorrentStorage } from "@shoal/shoal/storage";
import { openUdpSocket } from "@shoal/shoal/tracker";
import { type LibtorrentDht, startLibtorrentDht } from "../tests/interop/dht_harness.ts";
import { sameTree } from "../tests/interop/harness.ts";
import {
  LOOPBACK,
  type LtTorrent,
  ltTorrent,
  magnetUri,
  MIB,
} from "../tests/interop/client_interop_util.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    "size-mib": { type: "string", default: "16" },
    warm: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    "lt-bootstrap": { type: "string", default: "node" },
    "dead-node": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(values.rounds);
const SIZE = Math.round(Number(values["size-mib"]) * MIB);
const WARM = values.warm;
const LT_BOOTSTRAP = values["lt-bootstrap"] === "router" ? "router" : "node";
const DEAD_NODE = values["dead-node"];
const PIECE_LENGTH = 256 * 1024;
const NAME = "magbench";
const RUN_LIMIT_MS = 30_000;
const DHT_LIFE_MS = 90_000;
const PYTHON = "/usr/bin/python3";
const LT_TIMING_PY = new URL("./lt_magnet_timing.py", import.meta.url).pathname;
if (!(ROUNDS >= 1) || !(SIZE > 0)) throw new Error("Cannot run: --rounds and --size-mib > 0");

type Who = "shoal" | "libtorrent";

/** What one downloader's run measured (times in ms from t0). */
interface Run {
  metadataMs: number;
  firstPieceMs: number;
  completeMs: number;
  /** DHT packets sent and received from t0 until the metadata was in. */
  dhtOut: number;
  dhtIn: number;
  /** --warm: nodes in its routing table at t0. */
  tableAtT0?: number;
  /** shoal: queries of the DHT finder's first announce (its get_peers lookup + announce_peer). */
  lookupQueries?: number;
  /** shoal: first times of what explains its metadata and first-piece times. */
  timeline?: Record<string, number>;
}

interface Round {
  first: Who;
  shoal: Run;
  libtorrent: Run;
}

type Timeline = Record<string, number>;

function log(line: string): void {
  if (values.verbose) console.error(line);
}

/** Resolves `promise`, or rejects after `ms` (the timer is always cleared). */
async function limit<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function sync(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output();
}

/** A fresh DHT with the seeder announced into it (at least 3 nodes store it). */
async function freshDht(t: LtTorrent): Promise<LibtorrentDht> {
  const started = performance.now();
  const dht = await startLibtorrentDht({ nodes: 8, timeoutMs: DHT_LIFE_MS });
  try {
    const seeder = await dht.announce(t.meta.infoHashHex, {
      torrent: t.torrent,
      dir: t.seedDir,
      minNodes: 3,
    });
    log(`  DHT and seeder :${seeder.port} ready in ${(performance.now() - started).toFixed(0)} ms`);
    return dht;
  } catch (error) {
    await dht[Symbol.asyncDispose]();
    throw error;
  }
}

/** Runs `make` while `DhtNode.open` also hands the node it opens to the caller. */
function capturingDhtNode<T>(make: () => T): { result: T; node: Promise<DhtNode> } {
  const original = DhtNode.open;
  const node = Promise.withResolvers<DhtNode>();
  DhtNode.open = async (options) => {
    const opened = await original.call(DhtNode, options);
    node.resolve(opened);
    return opened;
  };
  try {
    return { result: make(), node: node.promise };
  } finally {
    DhtNode.open = original; // the Client calls it synchronously from its constructor
  }
}

/**
 * Records when the first call of `proto[name]` starts and when its promise settles (ms after
 * `t0()`) as `timeline[key + "Start"]` and `timeline[key + "End"]`, and hands its result to
 * `onResult`.
 * @returns The undo.
 */
function timeFirstCall(
  // deno-lint-ignore no-explicit-any
  proto: any,
  name: string,
  key: string,
  timeline: Timeline,
  t0: () => number,
  onResult?: (result: unknown) => void,
): () => void {
  const original = proto[name];
  proto[name] = function (this: unknown, ...args: unknown[]): unknown {
    const first = timeline[`${key}Start`] === undefined;
    if (first) timeline[`${key}Start`] = performance.now() - t0();
    const result = original.apply(this, args);
    if (first) {
      Promise.resolve(result).then((value) => onResult?.(value)).finally(() =>
        timeline[`${key}End`] = performance.now() - t0()
      ).catch(() => {});
    }
    return result;
  };
  return () => proto[name] = original;
}

/** Records when a DHT reply first brings a peer (`dhtPeer`). @returns The undo. */
function timeFirstDhtPeer(timeline: Timeline, t0: () => number): () => void {
  const original = PeerFeed.prototype.add;
  PeerFeed.prototype.add = function (this: PeerFeed, peers, from): void {
    if (peers.length > 0) timeline.dhtPeer ??= performance.now() - t0();
    original.call(this, peers, from);
  };
  return () => PeerFeed.prototype.add = original;
}

async function runShoal(
  magnet: string,
  nodes: { host: string; port: number }[],
  dir: string,
): Promise<Run> {
  const stateDir = await Deno.makeTempDir({ prefix: "magbench-state-" });
  const { result: client, node: dhtNode } = capturingDhtNode(() =>
    new Client({ dir, port: 0, listenHost: LOOPBACK, dht: true, dhtNodes: nodes, stateDir })
  );
  const timeline: Timeline = {};
  let t0 = NaN;
  let lookupQueries = NaN;
  const since = (): number => t0;
  const undo = [
    timeFirstDhtPeer(timeline, since),
    timeFirstCall(DhtNode.prototype, "announce", "dhtAnnounce", timeline, since, (result) => {
      lookupQueries = (result as { queries: number }).queries;
    }),
    timeFirstCall(MetadataFetcher.prototype, "addPeer", "metadataSize", timeline, since),
    timeFirstCall(MetadataFetcher.prototype, "onData", "metadataData", timeline, since),
    timeFirstCall(Deno.FsFile.prototype, "syncData", "fsync", timeline, since),
    timeFirstCall(HashPool.prototype, "verify", "hash", timeline, since),
    timeFirstCall(TorrentStorage.prototype, "writePiece", "write", timeline, since),
  ];
  try {
    const dht = await limit(dhtNode, 5_000, "shoal's DHT node");
    if (WARM) await limit(dht.bootstrap(), 10_000, "shoal's DHT bootstrap");
    const before = dht.stats();
    const tableAtT0 = WARM
      ? (before.ipv4?.good ?? 0) + (before.ipv4?.questionable ?? 0)
      : undefined;
    let packets = { out: NaN, in: NaN };
    t0 = performance.now();
    const torrent = await client.add(magnet);
    timeline.add = performance.now() - t0;
    const at = (key: string): void => {
      timeline[key] ??= performance.now() - t0;
    };
    const events = torrent.events()[Symbol.asyncIterator]();
    const watch = (async () => {
      let metadata = false;
      for (let next = await events.next(); !next.done; next = await events.next()) {
        const event = next.value;
        if (event.type === "peer" && event.change === "connected") {
          at(metadata ? "downloadPeer" : "metadataPeer");
        } else if (event.type === "metainfo") {
          at("metadata");
          metadata = true;
          const now = dht.stats();
          packets = {
            out: now.packetsOut - before.packetsOut,
            in: now.packetsIn - before.packetsIn,
          };
        } else if (event.type === "state") {
          at(`state:${event.state}`);
        } else if (event.type === "piece") {
          at("firstPiece");
        } else if (event.type === "complete") {
          at("complete");
          return;
        } else if (event.type === "error") {
          throw new Error(`shoal: ${event.message}`);
        }
      }
      throw new Error("shoal: the torrent's events ended before it completed");
    })();
    try {
      await limit(watch, RUN_LIMIT_MS, "shoal's download");
    } finally {
      await events.return?.();
    }
    return {
      metadataMs: timeline.metadata,
      firstPieceMs: timeline.firstPiece,
      completeMs: timeline.complete,
      dhtOut: packets.out,
      dhtIn: packets.in,
      lookupQueries,
      tableAtT0,
      timeline,
    };
  } finally {
    for (const restore of undo) restore();
    await client.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

async function runLibtorrent(
  magnet: string,
  nodes: { host: string; port: number }[],
  dir: string,
): Promise<Run> {
  const config = { magnet, dir, nodes, bootstrap: LT_BOOTSTRAP, warm: WARM, limitS: 30 };
  const child = new Deno.Command(PYTHON, {
    args: [LT_TIMING_PY, JSON.stringify(config)],
    stdin: "piped", // closing it stops the helper
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONWARNINGS: "ignore" },
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const kill = (signal: Deno.Signal): void => {
    if (exited) return;
    try {
      Deno.kill(child.pid, signal);
    } catch {
      // gone already
    }
  };
  const life = setTimeout(() => kill("SIGKILL"), RUN_LIMIT_MS + 15_000);
  const stderr = new Response(child.stderr).text().catch(() => "");
  const stdin = child.stdin.getWriter();
  try {
    const text = await limit(new Response(child.stdout).text(), RUN_LIMIT_MS + 10_000, "lt");
    const run: Run = {
      metadataMs: NaN,
      firstPieceMs: NaN,
      completeMs: NaN,
      dhtOut: NaN,
      dhtIn: NaN,
    };
    for (const line of text.split("\n").filter((l) => l.startsWith("{"))) {
      const event = JSON.parse(line);
      if (event.event === "metadata") run.metadataMs = event.ms;
      else if (event.event === "piece") run.firstPieceMs = event.ms;
      else if (event.event === "complete") run.completeMs = event.ms;
      else if (event.event === "bootstrapped") run.tableAtT0 = event.nodes;
      else if (event.event === "dht" && event.at === "metadata") {
        run.dhtOut = event.out;
        run.dhtIn = event.in;
      } else if (event.event === "error") throw new Error(`libtorrent: ${event.message}`);
    }
    if (Number.isNaN(run.completeMs)) {
      throw new Error(`libtorrent did not complete:\n${text}\n${(await stderr).slice(-2000)}`);
    }
    return run;
  } finally {
    clearTimeout(life);
    await stdin.close().catch(() => {});
    if (!(await limit(status, 3_000, "lt exit").then(() => true, () => false))) kill("SIGTERM");
    if (!(await limit(status, 3_000, "lt exit").then(() => true, () => false))) kill("SIGKILL");
    await status;
    await stderr;
  }
}

function median(list: number[]): number {
  const sorted = list.filter((n) => !Number.isNaN(n)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function range(list: number[]): [number, number] {
  return [Math.min(...list), Math.max(...list)];
}

/** shoal's phases: [name, from, to] over its timeline. */
const PHASES: [string, string, string][] = [
  ["DHT lookup to the first peer", "", "dhtPeer"],
  ["peer held until the announce returns", "dhtPeer", "dhtAnnounceEnd"],
  ["dial + handshakes to metadata_size", "dhtAnnounceEnd", "metadataSizeEnd"],
  ["ut_metadata request to data", "metadataSizeEnd", "metadataDataEnd"],
  ["fetch teardown, .torrent saved (fsync), lock", "metadataDataEnd", "metadata"],
  ["session start and re-dial", "metadata", "downloadPeer"],
  ["first piece's blocks", "downloadPeer", "hashStart"],
  ["first piece's SHA-1 (hash pool)", "hashStart", "hashEnd"],
  ["first piece's write", "writeStart", "writeEnd"],
];

function phases(timeline: Timeline): Record<string, number> {
  return Object.fromEntries(
    PHASES.map(([name, from, to]) => [name, (timeline[to] ?? NaN) - (from ? timeline[from] : 0)]),
  );
}

const root = await Deno.makeTempDir({ prefix: "magbench-" });
const rounds: Round[] = [];
try {
  const t = await ltTorrent(root, NAME, [{ path: "data.bin", size: SIZE }], PIECE_LENGTH, 8);
  const magnet = magnetUri(t.meta.infoHashHex);
  const dirs: Record<Who, string> = { shoal: `${root}/get-shoal`, libtorrent: `${root}/get-lt` };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Who[] = round % 2 === 0 ? ["shoal", "libtorrent"] : ["libtorrent", "shoal"];
    const results: Partial<Record<Who, Run>> = {};
    for (const who of order) {
      await using dht = await freshDht(t);
      // --dead-node: a second entry node that never answers (a bound socket nobody reads).
      await using deadNode = DEAD_NODE
        ? await openUdpSocket({ host: LOOPBACK, port: 0 })
        : undefined;
      const nodes = [dht.nodes[round % dht.nodes.length]];
      if (deadNode) nodes.push({ host: LOOPBACK, port: deadNode.localPort });
      await Deno.remove(dirs[who], { recursive: true }).catch(() => {});
      await Deno.mkdir(dirs[who], { recursive: true });
      await sync();
      results[who] = who === "shoal"
        ? await runShoal(magnet, nodes, dirs[who])
        : await runLibtorrent(magnet, nodes, dirs[who]);
      await sameTree(t.payload, `${dirs[who]}/${NAME}`);
      log(`  round ${round + 1} ${who}: ${JSON.stringify(results[who])}`);
    }
    rounds.push({ first: order[0], shoal: results.shoal!, libtorrent: results.libtorrent! });
  }
} finally {
  await Deno.remove(root, { recursive: true }).catch(() => {});
}

const column = (f: (r: Round) => number): number[] => rounds.map(f);
const figures = {
  shoalMetadataMs: column((r) => r.shoal.metadataMs),
  shoalFirstPieceMs: column((r) => r.shoal.firstPieceMs),
  libtorrentMetadataMs: column((r) => r.libtorrent.metadataMs),
  libtorrentFirstPieceMs: column((r) => r.libtorrent.firstPieceMs),
  metadataRatio: column((r) => r.shoal.metadataMs / r.libtorrent.metadataMs),
  firstPieceRatio: column((r) => r.shoal.firstPieceMs / r.libtorrent.firstPieceMs),
  shoalLookupQueries: column((r) => r.shoal.lookupQueries ?? NaN),
  shoalDhtPacketsOut: column((r) => r.shoal.dhtOut),
  shoalDhtPacketsIn: column((r) => r.shoal.dhtIn),
  libtorrentDhtPacketsOut: column((r) => r.libtorrent.dhtOut),
  libtorrentDhtPacketsIn: column((r) => r.libtorrent.dhtIn),
  shoalCompleteMs: column((r) => r.shoal.completeMs),
  libtorrentCompleteMs: column((r) => r.libtorrent.completeMs),
};
type Figure = keyof typeof figures;
const medians = Object.fromEntries(
  Object.entries(figures).map(([k, v]) => [k, median(v)]),
) as Record<Figure, number>;
const phaseMedians = Object.fromEntries(
  PHASES.map(([name]) => [name, median(rounds.map((r) => phases(r.shoal.timeline ?? {})[name]))]),
);

if (values.json) {
  console.log(JSON.stringify({
    bench: "magnet",
    rounds: ROUNDS,
    sizeBytes: SIZE,
    pieceLength: PIECE_LENGTH,
    warm: WARM,
    deadNode: DEAD_NODE,
    ltBootstrap: LT_BOOTSTRAP,
    medians,
    ranges: Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, range(v)])),
    shoalPhaseMediansMs: phaseMedians,
    perRound: rounds,
  }));
} else {
  const ms = (n: number): string => `${n.toFixed(0)} ms`;
  const x = (n: number): string => n.toFixed(2);
  console.log(
    `Magnet over an 8-node libtorrent DHT on loopback: ${SIZE / MIB} MiB, ${
      PIECE_LENGTH / 1024
    } KiB pieces, ${ROUNDS} rounds, a fresh DHT and seeder per run, ${
      WARM ? "DHT nodes bootstrapped before t0" : "fresh clients (t0 at add)"
    }${
      DEAD_NODE ? ", plus an entry node that never answers" : ""
    }. Ratios: shoal / libtorrent, lower is better for shoal.`,
  );
  console.log(
    "| round | first | shoal metadata | shoal 1st piece | lt metadata | lt 1st piece | ratio metadata | ratio 1st piece | shoal lookup queries | shoal DHT pkts out/in | lt DHT msgs out/in |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  const row = (label: string, first: string, f: Record<Figure, number>): void => {
    console.log(
      `| ${label} | ${first} | ${ms(f.shoalMetadataMs)} | ${ms(f.shoalFirstPieceMs)} | ${
        ms(f.libtorrentMetadataMs)
      } | ${ms(f.libtorrentFirstPieceMs)} | ${x(f.metadataRatio)} | ${
        x(f.firstPieceRatio)
      } | ${f.shoalLookupQueries} | ${f.shoalDhtPacketsOut}/${f.shoalDhtPacketsIn} | ${f.libtorrentDhtPacketsOut}/${f.libtorrentDhtPacketsIn} |`,
    );
  };
  rounds.forEach((r, i) => {
    const f = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, v[i]]));
    row(String(i + 1), r.first, f as Record<Figure, number>);
  });
  row("median", "-", medians);
  const span = (k: Figure): string => range(figures[k]).map((n) => n.toFixed(0)).join("-");
  console.log(
    `ranges: shoal metadata ${span("shoalMetadataMs")} ms, 1st piece ${
      span("shoalFirstPieceMs")
    } ms; libtorrent metadata ${span("libtorrentMetadataMs")} ms, 1st piece ${
      span("libtorrentFirstPieceMs")
    } ms; complete (medians): shoal ${ms(medians.shoalCompleteMs)}, libtorrent ${
      ms(medians.libtorrentCompleteMs)
    }`,
  );
  if (values.verbose) {
    console.log("shoal's phases (medians):");
    for (const [name, value] of Object.entries(phaseMedians)) {
      console.log(`  ${name}: ${value.toFixed(1)} ms`);
    }
  }
}
