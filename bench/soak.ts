// Soak: a shoal seeder under 300 connections for two minutes, on 127.0.0.1.
//
//   the seeder:  bench/soak_seeder.ts in its own process (a Client seeding one torrent of random
//                data, with an explicit memory budget); its VmHWM/VmRSS and open sockets are read
//                from /proc, and a crash shows as a non-zero exit or an `uncaught` event.
//   honest:      libtorrent and aria2c leechers, restarted with an empty folder when they
//                complete; every completed file is checked against the source's SHA-1.
//   hostile:     the rest of the 300 connections (bench/soak_hostile.ts): handshake floods,
//                half-open sockets, slow readers, garbage, MSE garbage, 4 GiB frames, request
//                floods while choked, invalid piece indices.
//
// Run: deno run -A bench/soak.ts [--seconds 120] [--size-mib 128] [--piece-kib 256]
//      [--connections 300] [--memory-mib 64] [--max-peers N] [--libtorrent 2] [--aria2 2]
//      [--skip KIND,...] [--gc] [--json] [--keep]
// --skip leaves hostile kinds out (their connections go to the other kinds), to find out which
// kind hurts honest peers. --gc runs a full GC in the seeder before each sample (a diagnosis
// of live versus not-yet-collected memory; it changes the figures it measures).
// With --json the report goes to stderr and one JSON line to stdout. Exits 1 if the seeder
// crashed (or a torrent error was reported), or if no honest download completed.
// Needs python3-libtorrent and aria2c (the interop suite's Debian packages).
import { parseArgs } from "node:util";
import { createTorrent, parseTorrent } from "@shoal/shoal";
import { HOSTILE_KINDS, HostileCrowd, type HostileKind } from "./soak_hostile.ts";
import { HonestLeechers } from "./soak_honest.ts";
import { countSockets, readRss, sha1File, writeRandomFile } from "./soak_payload.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "120" },
    "size-mib": { type: "string", default: "128" },
    "piece-kib": { type: "string", default: "256" },
    connections: { type: "string", default: "300" },
    "memory-mib": { type: "string", default: "64" },
    "max-peers": { type: "string" },
    libtorrent: { type: "string", default: "2" },
    aria2: { type: "string", default: "2" },
    skip: { type: "string", default: "" },
    gc: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const SECONDS = Number(values.seconds);
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const PIECE_LENGTH = Number(values["piece-kib"]) * 1024;
const CONNECTIONS = Number(values.connections);
const MEMORY_BYTES = Number(values["memory-mib"]) * 1024 * 1024;
const MAX_PEERS = values["max-peers"] === undefined ? undefined : Number(values["max-peers"]);
const LIBTORRENT = Number(values.libtorrent);
const ARIA2 = Number(values.aria2);
const ROOT = new URL("../", import.meta.url).pathname;
const SEEDER_TS = new URL("./soak_seeder.ts", import.meta.url).pathname;

/** Share of the hostile connections each kind gets. */
const HOSTILE_SHARE: Record<HostileKind, number> = {
  "handshake-flood": 0.08,
  "half-open": 0.2,
  "slow-reader": 0.2,
  garbage: 0.08,
  "mse-garbage": 0.08,
  "huge-frame": 0.08,
  "choked-request-flood": 0.14,
  "invalid-index": 0.14,
};
const SAMPLE_MS = 250;
const PROGRESS_EVERY_MS = 10_000;
const READY_LIMIT_MS = 120_000;
const STOP_LIMIT_MS = 20_000;

const log = (text: string): void => {
  (values.json ? console.error : console.log)(text);
};
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/**
 * Workers per hostile kind: `total` split by {@linkcode HOSTILE_SHARE} over the kinds not
 * skipped, rounding fairly.
 */
function hostilePlan(total: number, skip: readonly string[]): Record<HostileKind, number> {
  const kinds = HOSTILE_KINDS.filter((kind) => !skip.includes(kind));
  const shares = kinds.reduce((n, kind) => n + HOSTILE_SHARE[kind], 0);
  const plan = Object.fromEntries(HOSTILE_KINDS.map((kind) => [kind, 0])) as Record<
    HostileKind,
    number
  >;
  for (const kind of kinds) plan[kind] = Math.floor(total * HOSTILE_SHARE[kind] / shares);
  let left = total - kinds.reduce((n, kind) => n + plan[kind], 0);
  for (let i = 0; left > 0 && kinds.length > 0; i = (i + 1) % kinds.length, left--) {
    plan[kinds[i]]++;
  }
  return plan;
}

/** Splits the seeder's stdout into JSON events (other lines are kept as text). */
async function readEvents(
  stream: ReadableStream<Uint8Array>,
  onEvent: (event: Record<string, unknown>) => void,
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      try {
        onEvent(JSON.parse(line));
      } catch {
        onEvent({ event: "text", text: line });
      }
    }
  }
  if (rest) onEvent({ event: "text", text: rest });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text = (text + chunk).slice(-64 * 1024);
  }
  return text;
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

async function withLimit<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<number> {
  const work = await Deno.makeTempDir({ prefix: "shoal-soak-" });
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  let seeder: Deno.ChildProcess | undefined;
  let seederStdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let crowd: HostileCrowd | undefined;
  let honest: HonestLeechers | undefined;
  try {
    // The payload and its torrent.
    const fileName = "soak.bin";
    await Deno.mkdir(`${work}/seed`);
    await writeRandomFile(`${work}/seed/${fileName}`, SIZE);
    const sha1 = await sha1File(`${work}/seed/${fileName}`);
    // Private (BEP 27): no peer exchange, so the honest leechers only ever meet the seeder and
    // every byte they receive is one the seeder served.
    const torrentBytes = await createTorrent(`${work}/seed/${fileName}`, {
      pieceLength: PIECE_LENGTH,
      private: true,
    });
    await Deno.writeFile(`${work}/soak.torrent`, torrentBytes);
    const meta = parseTorrent(torrentBytes);
    log(`payload: ${mib(SIZE)} MiB, ${meta.pieceCount} pieces of ${PIECE_LENGTH / 1024} KiB`);

    // The seeder, in its own process.
    const config = {
      torrent: `${work}/soak.torrent`,
      dir: `${work}/seed`,
      stateDir: `${work}/state`,
      maxMemoryBytes: MEMORY_BYTES,
      maxPeers: MAX_PEERS,
      gc: values.gc,
    };
    seeder = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        `${ROOT}deno.json`,
        // As `deno task compile` builds shoal.
        `--v8-flags=--max-semi-space-size=2${values.gc ? ",--expose-gc" : ""}`,
        SEEDER_TS,
        JSON.stringify(config),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const pid = seeder.pid;
    seederStdin = seeder.stdin.getWriter();
    const status = seeder.status;
    const stderr = collect(seeder.stderr);
    const uncaught: string[] = [];
    const torrentErrors: string[] = [];
    let last: Record<string, number> = {};
    let summary: Record<string, unknown> | undefined;
    const ready = Promise.withResolvers<Record<string, number>>();
    const events = readEvents(seeder.stdout, (event) => {
      if (event.event === "ready") ready.resolve(event as Record<string, number>);
      else if (event.event === "stats") last = event as Record<string, number>;
      else if (event.event === "uncaught") uncaught.push(String(event.message));
      else if (event.event === "error") torrentErrors.push(String(event.message));
      else if (event.event === "summary") summary = event;
    });
    status.then(() => stop.abort());
    const started = await withLimit(
      Promise.race([ready.promise, status.then(() => undefined)]),
      READY_LIMIT_MS,
    );
    if (started === "timeout" || started === undefined) {
      throw new Error(`The seeder did not get ready: ${(await withLimit(stderr, 1000))}`);
    }
    const port = started.port;
    const baseline = readRss(pid);
    log(
      `seeder pid ${pid} on 127.0.0.1:${port}: ${started.have}/${started.pieceCount} pieces ` +
        `(${started.hashed} hashed), RSS ${mib(baseline?.rss ?? 0)} MiB before load, ` +
        `budget ${mib(MEMORY_BYTES)} MiB`,
    );

    // Load: honest leechers and the hostile crowd, up to CONNECTIONS connections in all.
    const honestCount = LIBTORRENT + ARIA2;
    const skip = values.skip.split(",").filter((kind) => kind !== "");
    for (const kind of skip) {
      if (!HOSTILE_KINDS.includes(kind as HostileKind)) throw new Error(`No hostile kind ${kind}`);
    }
    const plan = hostilePlan(Math.max(0, CONNECTIONS - honestCount), skip);
    const t0 = performance.now();
    honest = new HonestLeechers({
      torrent: `${work}/soak.torrent`,
      workDir: `${work}/leech`,
      seeder: { host: "127.0.0.1", port },
      fileName,
      size: SIZE,
      sha1,
      libtorrent: LIBTORRENT,
      aria2: ARIA2,
      processLimitMs: (SECONDS + 60) * 1000,
    });
    crowd = new HostileCrowd(
      {
        port,
        infoHash: meta.infoHash,
        pieceCount: meta.pieceCount,
        pieceLength: meta.pieceLength,
      },
      plan,
      () => honest?.running ?? 0,
    );

    let peakHwm = baseline?.hwm ?? 0;
    let peakRss = 0;
    let maxSockets = 0;
    let maxSeederPeers = 0;
    let maxOpen = 0;
    let maxHeap = 0;
    let maxExternal = 0;
    let nextProgress = PROGRESS_EVERY_MS;
    const deadline = t0 + SECONDS * 1000;
    while (!stop.signal.aborted && performance.now() < deadline) {
      await pause(SAMPLE_MS, stop.signal);
      const rss = readRss(pid);
      if (rss) {
        peakHwm = Math.max(peakHwm, rss.hwm);
        peakRss = Math.max(peakRss, rss.rss);
      }
      maxSockets = Math.max(maxSockets, countSockets(pid));
      maxSeederPeers = Math.max(maxSeederPeers, last.peers ?? 0);
      maxOpen = Math.max(maxOpen, crowd.maxOpen, crowd.open + honest.running);
      maxHeap = Math.max(maxHeap, last.heapTotal ?? 0);
      maxExternal = Math.max(maxExternal, last.external ?? 0);
      const elapsed = performance.now() - t0;
      if (elapsed >= nextProgress) {
        nextProgress += PROGRESS_EVERY_MS;
        const done = honest.counts.libtorrent.completed + honest.counts.aria2.completed;
        log(
          `${(elapsed / 1000).toFixed(0)} s: RSS ${mib(rss?.rss ?? 0)} MiB (peak ${
            mib(peakHwm)
          }), budget use ${mib(last.memoryUsed ?? 0)} MiB, uploaded ${
            mib(last.uploaded ?? 0)
          } MiB, heap ${mib(last.heapTotal ?? 0)} MiB, external ${
            mib(last.external ?? 0)
          } MiB, seeder peers ${last.peers ?? 0}, sockets ${
            countSockets(pid)
          }, hostile open ${crowd.open}, honest done ${done}`,
        );
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const interrupted = performance.now() < deadline;

    // Stop the load, then the seeder (stdin closed: it closes its client and exits).
    await crowd.stop();
    await honest.stop();
    const final = readRss(pid);
    if (final) peakHwm = Math.max(peakHwm, final.hwm);
    await seederStdin.close().catch(() => {});
    seederStdin = undefined;
    let hung = false;
    if ((await withLimit(status, STOP_LIMIT_MS)) === "timeout") {
      hung = true;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    const exit = await status;
    await events;
    const errText = await stderr;
    seeder = undefined;

    const crashes = (exit.success || hung ? 0 : 1) + uncaught.length;
    const lt = honest.counts.libtorrent;
    const aria = honest.counts.aria2;
    const hostile = Object.fromEntries(HOSTILE_KINDS.map((kind) => [kind, crowd!.counts[kind]]));
    const uploaded = Number(summary?.uploaded ?? last.uploaded ?? 0);
    const result = {
      seconds: Number(seconds.toFixed(1)),
      interrupted,
      sizeBytes: SIZE,
      pieceLength: PIECE_LENGTH,
      memoryBudgetBytes: MEMORY_BYTES,
      peakRssBytes: peakHwm,
      peakRssSampledBytes: peakRss,
      rssBeforeLoadBytes: baseline?.rss ?? 0,
      peakRssToBudget: Number((peakHwm / MEMORY_BYTES).toFixed(2)),
      budgetPeakBytes: Number(summary?.memoryPeak ?? last.memoryPeak ?? 0),
      maxHeapTotalBytes: maxHeap,
      maxExternalBytes: maxExternal,
      connectionsPlanned: CONNECTIONS,
      maxConnectionsOpen: maxOpen,
      maxSeederSockets: maxSockets,
      maxSeederPeers,
      seederUploadedBytes: uploaded,
      honestBytes: lt.bytes + aria.bytes,
      honestCompleted: lt.completed + aria.completed,
      honestVerified: lt.verified + aria.verified,
      honest: { libtorrent: lt, aria2: aria, errors: honest.errors },
      hostileMade: Object.fromEntries(
        HOSTILE_KINDS.map((kind) => [kind, crowd!.counts[kind].made]),
      ),
      hostile,
      seederExitCode: exit.code,
      seederHung: hung,
      uncaught,
      torrentErrors,
      crashes,
      seederDisconnects: summary?.disconnects,
      seederWarnings: summary?.warnings,
    };

    log("");
    log(`duration            ${result.seconds} s${interrupted ? " (interrupted)" : ""}`);
    log(
      `peak RSS (VmHWM)    ${mib(peakHwm)} MiB; budget ${
        mib(MEMORY_BYTES)
      } MiB; ratio ${result.peakRssToBudget}` +
        ` (RSS before load ${mib(result.rssBeforeLoadBytes)} MiB; budget's own peak ${
          mib(result.budgetPeakBytes)
        } MiB; V8 heap max ${mib(maxHeap)} MiB, external max ${mib(maxExternal)} MiB)`,
    );
    log(
      `connections         max ${maxOpen} open at once; seeder: max ${maxSockets} sockets, ${maxSeederPeers} peers`,
    );
    log(
      `served              seeder uploaded ${mib(uploaded)} MiB; honest peers received ${
        mib(result.honestBytes)
      } MiB`,
    );
    log(
      `honest downloads    ${result.honestCompleted} completed, ${result.honestVerified} verified ` +
        `(libtorrent ${lt.completed}/${lt.started} started, avg ${
          (lt.secondsTotal / Math.max(1, lt.completed)).toFixed(1)
        } s; aria2c ${aria.completed}/${aria.started}, avg ${
          (aria.secondsTotal / Math.max(1, aria.completed)).toFixed(1)
        } s; ${lt.failed + aria.failed} failed, ${lt.reconnects} reconnects)`,
    );
    for (const error of honest.errors) log(`  honest error: ${error}`);
    log("hostile             made / dropped by seeder (avg ms) / held to limit / connect failed");
    for (const kind of HOSTILE_KINDS) {
      const c = crowd.counts[kind];
      const extra = kind === "slow-reader" ? `, ${c.unchoked} unchoked` : "";
      log(
        `  ${kind.padEnd(21)} ${c.made} / ${c.droppedBySeeder} (${
          (c.dropMsTotal / Math.max(1, c.droppedBySeeder)).toFixed(0)
        }) / ${c.closedByUs} / ${c.connectFailed}  [${plan[kind]} workers${extra}]`,
      );
    }
    log(`crashes             ${crashes} (exit code ${exit.code}${hung ? ", hung on stop" : ""})`);
    for (const text of uncaught) log(`  uncaught: ${text}`);
    for (const text of torrentErrors) log(`  torrent error: ${text}`);
    if (!exit.success) log(`seeder stderr:\n${errText.slice(-4000)}`);
    if (summary?.disconnects) {
      log("seeder's disconnect reasons:");
      for (const [reason, n] of Object.entries(summary.disconnects as Record<string, number>)) {
        log(`  ${String(n).padStart(6)}  ${reason}`);
      }
    }
    if (summary?.warnings && Object.keys(summary.warnings).length > 0) {
      log("seeder's warnings:");
      for (const [text, n] of Object.entries(summary.warnings as Record<string, number>)) {
        log(`  ${String(n).padStart(6)}  ${text}`);
      }
    }
    if (values.json) console.log(JSON.stringify(result));
    const failed = crashes > 0 || torrentErrors.length > 0 || hung || result.honestCompleted === 0;
    return failed ? 1 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    await crowd?.stop();
    await honest?.stop();
    if (seeder) {
      await seederStdin?.close().catch(() => {});
      try {
        Deno.kill(seeder.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await seeder.status;
    }
    if (values.keep) log(`kept ${work}`);
    else await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
