// End-to-end speed on loopback: shoal against libtorrent (python3-libtorrent), same run.
//
//   download: a libtorrent seeder; shoal downloads, then libtorrent downloads (each round).
//   upload:   libtorrent downloads from a shoal seeder, then from a libtorrent seeder.
//
// Each downloader runs under a small python wrapper that reports wall time, the CPU seconds of
// the process and its children (getrusage) and peak RSS. Seeders are measured from /proc.
// Run: deno task bench:e2e [--size-mib 1024] [--rounds 2] [--only download|upload] [--dir D]
//      [--lt-encryption] [--default-v8]
// Needs the Debian packages of the interop suite (python3-libtorrent) and about 3x the size
// free in the work folder.

import { parseArgs } from "node:util";
import { createTorrent, parseTorrent } from "@shoal/shoal";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mib": { type: "string", default: "1024" },
    rounds: { type: "string", default: "2" },
    only: { type: "string" },
    dir: { type: "string" },
    "lt-encryption": { type: "boolean", default: false },
    "default-v8": { type: "boolean", default: false },
  },
});
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const ROUNDS = Number(values.rounds);
const ROOT = new URL("../", import.meta.url).pathname;
const LT_PEER = `${ROOT}tests/interop/lt_peer.py`;
const CLI = `${ROOT}cli.ts`;
const CONFIG = `${ROOT}deno.json`;
const PYTHON = "/usr/bin/python3";
/**
 * libtorrent as downloader: plaintext by default, like shoal (which has no MSE). With its
 * default encrypted-first policy it pays RC4 against a libtorrent seeder and a ~1.5 s
 * reconnect against a shoal seeder; `--lt-encryption` measures that instead.
 */
const LT_FETCH_MODE = values["lt-encryption"] ? [] : ["plaintext"];
/**
 * shoal runs as `deno task compile` builds it: with a 2 MiB young generation, which keeps peak
 * RSS about 20 MiB lower at no measured cost. `--default-v8` measures Deno's defaults instead.
 */
const SHOAL_V8_FLAGS = values["default-v8"] ? [] : ["--v8-flags=--max-semi-space-size=2"];

const RUSAGE_WRAPPER = `
import json, resource, subprocess, sys, time
start = time.monotonic()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
seconds = time.monotonic() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "seconds": seconds, "cpu": r.ru_utime + r.ru_stime,
                  "maxRssKiB": r.ru_maxrss}))
`;

interface Run {
  seconds: number;
  cpu: number;
  maxRssKiB: number;
}

/** Runs a command to completion under the rusage wrapper. */
async function measured(cmd: string[]): Promise<Run> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", RUSAGE_WRAPPER, ...cmd],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const report = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  if (report.code !== 0) throw new Error(`${cmd.join(" ")} exited with ${report.code}`);
  return report;
}

/** CPU seconds (user + system) of a running process, from /proc. */
function cpuOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

/** Peak RSS (VmHWM) of a running process in KiB, from /proc. */
function peakRssOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function writePayload(path: string, size: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(4 * 1024 * 1024);
  for (let left = size; left > 0; left -= chunk.length) {
    for (let i = 0; i < chunk.length; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, i + 65536));
    }
    const part = chunk.subarray(0, Math.min(left, chunk.length));
    for (let done = 0; done < part.length;) done += await file.write(part.subarray(done));
  }
  await file.syncData(); // its write-back must not overlap the first round
}

/** A long-running seeder: its PID, port and a stop function. */
interface Seeder {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function readLine(reader: ReadableStreamDefaultReader<string>): Promise<string> {
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`seeder ended early: ${text}`);
    text += value;
  }
  return text;
}

async function startLibtorrentSeeder(torrent: string, dir: string): Promise<Seeder> {
  const config = JSON.stringify({ torrent, dir, seed: true, port: 0 });
  const child = new Deno.Command(PYTHON, {
    args: [LT_PEER, "peer", config],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ready = JSON.parse((await readLine(reader)).split("\n")[0]);
  return {
    pid: child.pid,
    port: ready.port,
    async stop() {
      await child.stdin.close();
      await reader.cancel();
      await child.status;
    },
  };
}

async function startShoalSeeder(torrent: string, dir: string): Promise<Seeder> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...SHOAL_V8_FLAGS,
      "--config",
      CONFIG,
      CLI,
      "seed",
      torrent,
      "-o",
      dir,
      "--port",
      `${port}`,
    ],
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  // Wait until it listens (it checks the data first).
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const drain = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return {
    pid: child.pid,
    port,
    async stop() {
      child.kill("SIGINT");
      await child.status;
      await drain.catch(() => {});
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

function mbps(seconds: number): number {
  return SIZE / seconds / 1e6;
}

function row(label: string, run: Run): string {
  return `${label.padEnd(34)} ${mbps(run.seconds).toFixed(0).padStart(6)} MB/s  ` +
    `${run.seconds.toFixed(2).padStart(7)} s  cpu ${run.cpu.toFixed(2).padStart(6)} s  ` +
    `peak RSS ${(run.maxRssKiB / 1024).toFixed(0).padStart(5)} MiB`;
}

function best(runs: Run[]): Run {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

const work = values.dir ?? await Deno.makeTempDir({ prefix: "shoal-e2e-" });
try {
  const seedDir = `${work}/seed`;
  await Deno.mkdir(seedDir, { recursive: true });
  const payload = `${seedDir}/payload.bin`;
  console.log(`payload: ${SIZE / 1024 / 1024} MiB in ${work}; ${ROUNDS} rounds`);
  await writePayload(payload, SIZE);
  const torrentPath = `${work}/payload.torrent`;
  await Deno.writeFile(torrentPath, await createTorrent(payload));
  const meta = parseTorrent(await Deno.readFile(torrentPath));
  console.log(`torrent: ${meta.pieceCount} pieces of ${meta.pieceLength / 1024} KiB`);
  // shoal seed and a shoal download want resume data or a check; give both a fresh folder.
  const getDir = `${work}/get`;
  const clean = () => Deno.remove(getDir, { recursive: true }).catch(() => {});
  /** libtorrent downloads the torrent into getDir from one peer, measured. */
  const ltFetch = (port: number) =>
    measured([
      PYTHON,
      LT_PEER,
      "fetch",
      torrentPath,
      getDir,
      "127.0.0.1",
      `${port}`,
      ...LT_FETCH_MODE,
    ]);

  if (values.only !== "upload") {
    console.log("\n# download: from one libtorrent seeder");
    const seeder = await startLibtorrentSeeder(torrentPath, seedDir);
    const shoal: Run[] = [];
    const lt: Run[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        await clean();
        const s = await measured([
          Deno.execPath(),
          "run",
          "-A",
          ...SHOAL_V8_FLAGS,
          "--config",
          CONFIG,
          CLI,
          "download",
          torrentPath,
          "-o",
          getDir,
          "--peer",
          `127.0.0.1:${seeder.port}`,
          "--no-trackers",
          "--quiet",
          "--port",
          "0",
        ]);
        console.log(row(`round ${round} shoal download`, s));
        shoal.push(s);
        await clean();
        const l = await ltFetch(seeder.port);
        console.log(row(`round ${round} libtorrent download`, l));
        lt.push(l);
      }
    } finally {
      await seeder.stop();
      await clean();
    }
    const s = best(shoal);
    const l = best(lt);
    console.log(
      `download ratio shoal/libtorrent (best rounds): throughput ${
        (l.seconds / s.seconds).toFixed(2)
      }x, cpu ${(s.cpu / l.cpu).toFixed(2)}x, peak RSS shoal ${
        (s.maxRssKiB / 1024).toFixed(0)
      } MiB vs ${(l.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
  }

  if (values.only !== "download") {
    console.log("\n# upload: libtorrent downloads from a shoal seeder, then a libtorrent seeder");
    const results: Record<string, { runs: Run[]; seederCpu: number; seederRssKiB: number }> = {};
    for (const kind of ["shoal", "libtorrent"] as const) {
      const seeder = kind === "shoal"
        ? await startShoalSeeder(torrentPath, seedDir)
        : await startLibtorrentSeeder(torrentPath, seedDir);
      const runs: Run[] = [];
      const cpuBefore = cpuOf(seeder.pid);
      let seederRssKiB = 0;
      try {
        for (let round = 1; round <= ROUNDS; round++) {
          await clean();
          const r = await ltFetch(seeder.port);
          console.log(row(`round ${round} libtorrent <- ${kind} seeder`, r));
          runs.push(r);
        }
        seederRssKiB = peakRssOf(seeder.pid);
        const seederCpu = (cpuOf(seeder.pid) - cpuBefore) / ROUNDS;
        results[kind] = { runs, seederCpu, seederRssKiB };
        console.log(
          `${kind} seeder: cpu ${seederCpu.toFixed(2)} s per round, peak RSS ${
            (seederRssKiB / 1024).toFixed(0)
          } MiB`,
        );
      } finally {
        await seeder.stop();
        await clean();
      }
    }
    const s = best(results.shoal.runs);
    const l = best(results.libtorrent.runs);
    console.log(
      `upload ratio shoal/libtorrent seeder (best rounds): throughput ${
        (l.seconds / s.seconds).toFixed(2)
      }x, seeder cpu ${(results.shoal.seederCpu / results.libtorrent.seederCpu).toFixed(2)}x`,
    );
  }
} finally {
  if (!values.dir) await Deno.remove(work, { recursive: true }).catch(() => {});
}
