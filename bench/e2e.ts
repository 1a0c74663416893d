// End-to-end speed on loopback: shoal against libtorrent (python3-libtorrent), same run.
//
//   download     a libtorrent seeder; shoal downloads, then libtorrent (order alternates by round)
//   upload       libtorrent downloads from a shoal seeder, then from a libtorrent seeder
//   shoal-shoal  shoal downloads from a shoal seeder (held against libtorrent -> libtorrent,
//                the libtorrent rounds of "download")
//   verify       `shoal verify` against libtorrent's recheck, page cache warm and cold
//   info         `shoal info` of a generated torrent with 100,000 files
//   multi        three torrents at once in one shoal Client, each from its own libtorrent seeder
//   cat          `shoal cat` time to first byte from a throttled libtorrent seeder
//
// Each seeder serves one untimed libtorrent download first (warm-up). Each timed run starts after
// `sync` and after the previous run's output is deleted. Downloaders
// run under a python wrapper that reports wall time, CPU seconds (getrusage, children included)
// and peak RSS; seeders are measured from /proc. Figures are medians with (min-max) of the rounds.
// Run: deno task bench:e2e [--size-mib 1024] [--rounds 3] [--only download,upload,...] [--dir D]
//      [--lt-encryption]
// Needs the Debian packages of the interop suite (python3-libtorrent) and about 3x the size free.
// Dropping the page cache (verify, cold) needs root; without it the cold row is skipped.

import { parseArgs } from "node:util";
import { encodeBencode } from "@shoal/shoal/bencode";
import {
  cpuOf,
  LT_PEER,
  measured,
  median,
  peakRssOf,
  preparePayload,
  PYTHON,
  type Run,
  type Seeder,
  shoalArgs,
  spread,
  startLibtorrentSeeder,
  startShoalSeeder,
  sync,
} from "./bench_util.ts";

const ALL = ["download", "upload", "shoal-shoal", "verify", "info", "multi", "cat"];
const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mib": { type: "string", default: "1024" },
    rounds: { type: "string", default: "3" },
    only: { type: "string" },
    dir: { type: "string" },
    "lt-encryption": { type: "boolean", default: false },
  },
});
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const ROUNDS = Number(values.rounds);
const CASES = new Set(values.only ? values.only.split(",") : ALL);
for (const name of CASES) if (!ALL.includes(name)) throw new Error(`unknown case ${name}`);
/**
 * libtorrent as downloader: plaintext by default, like shoal's outgoing connections. With its
 * default encrypted-first policy it pays RC4 against a libtorrent seeder; `--lt-encryption`
 * measures that instead.
 */
const LT_FETCH_MODE = values["lt-encryption"] ? [] : ["plaintext"];
const SHOAL = [Deno.execPath(), ...shoalArgs()];
const PEER_FLAGS = ["--no-trackers", "--no-dht", "--quiet", "--port", "0"];

const mbps = (run: Run) => SIZE / run.seconds / 1e6;
const mib = (kib: number) => kib / 1024;

function row(label: string, run: Run): string {
  return `${label.padEnd(36)} ${mbps(run).toFixed(0).padStart(5)} MB/s ${
    run.seconds.toFixed(2).padStart(6)
  } s  cpu ${run.cpu.toFixed(2).padStart(5)} s  peak RSS ${mib(run.maxRssKiB).toFixed(0)} MiB`;
}

/** "name: median (min-max)" lines for the runs of one side. */
function summary(label: string, runs: Run[]): string {
  return `${label.padEnd(28)} ${spread(runs.map(mbps), 0)} MB/s, cpu ${
    spread(runs.map((r) => r.cpu))
  } s, peak RSS ${spread(runs.map((r) => mib(r.maxRssKiB)), 0)} MiB`;
}

/** Ratios of medians: throughput a/b (b's time over a's), cpu a/b. */
function ratios(a: Run[], b: Run[]): string {
  const t = median(b.map((r) => r.seconds)) / median(a.map((r) => r.seconds));
  const c = median(a.map((r) => r.cpu)) / median(b.map((r) => r.cpu));
  return `throughput ${t.toFixed(2)}x, cpu ${c.toFixed(2)}x`;
}

const results: string[] = [];
function report(line: string): void {
  console.log(line);
  results.push(line);
}

const work = values.dir ?? await Deno.makeTempDir({ prefix: "shoal-e2e-" });
try {
  const { seedDir, torrent } = await preparePayload(work, SIZE);
  const getDir = `${work}/get`;
  const clean = () => Deno.remove(getDir, { recursive: true }).catch(() => {});
  const fresh = async () => {
    await clean();
    await sync();
  };
  const ltFetch = (port: number) =>
    measured([PYTHON, LT_PEER, "fetch", torrent, getDir, "127.0.0.1", `${port}`, ...LT_FETCH_MODE]);
  const shoalFetch = (port: number, extra: string[] = []) =>
    measured([
      ...SHOAL,
      "download",
      torrent,
      "-o",
      getDir,
      "--peer",
      `127.0.0.1:${port}`,
      ...PEER_FLAGS,
      ...extra,
    ]);
  /**
   * One untimed libtorrent download from a new seeder: a libtorrent seeder in seed mode checks
   * each piece the first time it serves it, and every seeder's page cache warms up, so the
   * first timed run would pay for what the others do not.
   */
  const warmUp = async (port: number) => {
    await fresh();
    await ltFetch(port);
  };
  console.log(`payload: ${SIZE / 1024 / 1024} MiB in ${work}; ${ROUNDS} rounds`);
  const ltFromLt: Run[] = [];

  if (CASES.has("download") || CASES.has("shoal-shoal")) {
    console.log("\n# download from one libtorrent seeder (order alternates by round)");
    const seeder = await startLibtorrentSeeder(torrent, seedDir);
    const shoal: Run[] = [];
    try {
      await warmUp(seeder.port);
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round % 2 ? ["shoal", "libtorrent"] : ["libtorrent", "shoal"];
        for (const who of order) {
          await fresh();
          const run = who === "shoal" ? await shoalFetch(seeder.port) : await ltFetch(seeder.port);
          console.log(row(`round ${round} ${who}`, run));
          (who === "shoal" ? shoal : ltFromLt).push(run);
        }
      }
    } finally {
      await seeder.stop();
      await clean();
    }
    report(summary("download: shoal", shoal));
    report(summary("download: libtorrent", ltFromLt));
    report(`download ratio shoal/libtorrent (medians): ${ratios(shoal, ltFromLt)}`);
  }

  if (CASES.has("upload")) {
    console.log("\n# upload: libtorrent downloads from a shoal seeder, then a libtorrent seeder");
    const runs: Record<string, Run[]> = { shoal: [], libtorrent: [] };
    const seeders: Record<string, { cpu: number; rssKiB: number }> = {};
    for (const kind of ["shoal", "libtorrent"] as const) {
      const seeder: Seeder = kind === "shoal"
        ? await startShoalSeeder(torrent, seedDir, undefined, ["--no-dht"])
        : await startLibtorrentSeeder(torrent, seedDir);
      try {
        await warmUp(seeder.port);
        const before = cpuOf(seeder.pid);
        for (let round = 1; round <= ROUNDS; round++) {
          await fresh();
          const run = await ltFetch(seeder.port);
          console.log(row(`round ${round} libtorrent <- ${kind}`, run));
          runs[kind].push(run);
        }
        seeders[kind] = {
          cpu: (cpuOf(seeder.pid) - before) / ROUNDS,
          rssKiB: peakRssOf(seeder.pid),
        };
      } finally {
        await seeder.stop();
        await clean();
      }
    }
    for (const kind of ["shoal", "libtorrent"]) {
      report(
        `${summary(`upload: lt <- ${kind} seeder`, runs[kind])}; seeder cpu ${
          seeders[kind].cpu.toFixed(2)
        } s per round, seeder peak RSS ${mib(seeders[kind].rssKiB).toFixed(0)} MiB`,
      );
    }
    const t = median(runs.libtorrent.map((r) => r.seconds)) /
      median(runs.shoal.map((r) => r.seconds));
    report(
      `upload ratio shoal/libtorrent seeder (medians): throughput ${t.toFixed(2)}x, seeder cpu ${
        (seeders.shoal.cpu / seeders.libtorrent.cpu).toFixed(2)
      }x`,
    );
  }

  if (CASES.has("shoal-shoal")) {
    console.log("\n# shoal -> shoal (one seeder, one leecher)");
    const seeder = await startShoalSeeder(torrent, seedDir, undefined, ["--no-dht"]);
    const runs: Run[] = [];
    try {
      await warmUp(seeder.port);
      for (let round = 1; round <= ROUNDS; round++) {
        await fresh();
        const run = await shoalFetch(seeder.port);
        console.log(row(`round ${round} shoal <- shoal`, run));
        runs.push(run);
      }
    } finally {
      await seeder.stop();
      await clean();
    }
    report(summary("shoal -> shoal", runs));
    report(`shoal->shoal / libtorrent->libtorrent (medians): ${ratios(runs, ltFromLt)}`);
  }

  if (CASES.has("verify")) {
    console.log("\n# verify: shoal verify against libtorrent's recheck of the same data");
    const canDrop = await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3").then(
      () => true,
      () => false,
    );
    for (const cache of canDrop ? ["warm", "cold"] : ["warm"]) {
      const runs: Record<string, Run[]> = { shoal: [], libtorrent: [] };
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round % 2 ? ["shoal", "libtorrent"] : ["libtorrent", "shoal"];
        for (const who of order) {
          await sync();
          if (cache === "cold") await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3");
          else await measured(["cat", `${seedDir}/payload.bin`]); // all of it in the page cache
          const run = who === "shoal"
            ? await measured([...SHOAL, "verify", torrent, "-o", seedDir])
            : await measured([PYTHON, LT_PEER, "check", torrent, seedDir]);
          console.log(row(`round ${round} ${who} (${cache})`, run));
          runs[who].push(run);
        }
      }
      report(summary(`verify ${cache}: shoal`, runs.shoal));
      report(summary(`verify ${cache}: libtorrent`, runs.libtorrent));
      report(
        `verify ${cache} ratio (medians, time lt/shoal): ${ratios(runs.shoal, runs.libtorrent)}`,
      );
    }
  }

  if (CASES.has("info")) {
    console.log("\n# info: a torrent with 100,000 files");
    const path = `${work}/many.torrent`;
    await Deno.writeFile(path, manyFilesTorrent(100_000));
    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const run = await measured([...SHOAL, "info", path]);
      console.log(
        `round ${round} shoal info: ${run.seconds.toFixed(3)} s, cpu ${run.cpu.toFixed(2)} s`,
      );
      runs.push(run);
    }
    report(`info of 100,000 files: ${spread(runs.map((r) => r.seconds), 3)} s (target < 0.5 s)`);
  }

  if (CASES.has("multi")) {
    console.log("\n# multi: three torrents at once in one Client, each from its own seeder");
    const parts = await Promise.all(
      [0, 1, 2].map((i) =>
        preparePayload(`${work}/multi${i}`, Math.floor(SIZE / 3 / 16384) * 16384, `part${i}.bin`)
      ),
    );
    const seeders = await Promise.all(
      parts.map((p) => startLibtorrentSeeder(p.torrent, p.seedDir)),
    );
    const runs: Run[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        await fresh();
        const run = await measured([
          ...SHOAL,
          "download",
          ...parts.map((p) => p.torrent),
          "-o",
          getDir,
          ...seeders.flatMap((s) => ["--peer", `127.0.0.1:${s.port}`]),
          ...PEER_FLAGS,
        ]);
        console.log(row(`round ${round} shoal, 3 torrents`, run));
        runs.push(run);
      }
    } finally {
      await Promise.all(seeders.map((s) => s.stop()));
      await clean();
    }
    report(summary("3 torrents in one Client (total)", runs));
  }

  if (CASES.has("cat")) {
    console.log("\n# cat: time to first byte from a seeder throttled to 2 MB/s");
    const seeder = await startLibtorrentSeeder(torrent, seedDir, 2_000_000);
    const times: number[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        await fresh();
        times.push(await catFirstByte(seeder.port, torrent, getDir));
        console.log(`round ${round} shoal cat: first byte after ${times.at(-1)!.toFixed(2)} s`);
      }
    } finally {
      await seeder.stop();
      await clean();
    }
    report(`cat time to first byte (2 MB/s seeder): ${spread(times)} s`);
  }
  console.log("\n# summary");
  for (const line of results) console.log(line);
} finally {
  if (!values.dir) await Deno.remove(work, { recursive: true }).catch(() => {});
}

/** Seconds from starting `shoal cat` until its first byte on standard output. */
async function catFirstByte(port: number, torrentPath: string, dir: string): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command("timeout", {
    args: [
      "120",
      ...SHOAL,
      "cat",
      torrentPath,
      "0",
      "-o",
      dir,
      "--peer",
      `127.0.0.1:${port}`,
      "--no-trackers",
      "--no-dht",
      "--port",
      "0",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  try {
    const { done } = await reader.read();
    if (done) throw new Error("shoal cat wrote nothing");
    return (performance.now() - started) / 1000;
  } finally {
    await reader.cancel();
    child.kill("SIGTERM");
    await child.status;
  }
}

/** A torrent of `count` files of 1 KiB in nested folders (piece hashes are not real). */
function manyFilesTorrent(count: number): Uint8Array {
  const files = Array.from({ length: count }, (_, i) => ({
    length: 1024,
    path: [`d${Math.floor(i / 1000)}`, `file-${i}.bin`],
  }));
  const pieceLength = 1024 * 1024;
  const pieces = Math.ceil((count * 1024) / pieceLength);
  return encodeBencode({
    announce: "http://127.0.0.1:1/announce",
    info: { files, name: "many", "piece length": pieceLength, pieces: new Uint8Array(pieces * 20) },
  });
}
