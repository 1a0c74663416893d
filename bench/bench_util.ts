// Helpers shared by the end-to-end benchmarks: payloads, seeders (libtorrent and shoal) and
// measured child processes. Every child gets a time limit and is stopped by its PID.

import { dirname, resolve } from "node:path";
import { createTorrent } from "@shoal/shoal";

export const ROOT: string = new URL("../", import.meta.url).pathname;
export const LT_PEER: string = `${ROOT}tests/interop/lt_peer.py`;
export const CLI: string = `${ROOT}cli.ts`;
export const CONFIG: string = `${ROOT}deno.json`;
export const PYTHON = "/usr/bin/python3";

/**
 * shoal runs as `deno task compile` builds it: with a 2 MiB young generation, which keeps peak
 * RSS lower at no measured cost.
 */
export const SHOAL_V8_FLAGS: string[] = ["--v8-flags=--max-semi-space-size=2"];

/** `deno run` arguments that start a shoal CLI (`cli` defaults to this checkout's). */
export function shoalArgs(cli = CLI, v8Flags: string[] = SHOAL_V8_FLAGS): string[] {
  const config = cli === CLI ? CONFIG : cli.replace(/cli\.ts$/, "deno.json");
  return ["run", "-A", ...v8Flags, "--config", config, cli];
}

const RUSAGE_WRAPPER = `
import json, resource, subprocess, sys, time
limit = float(sys.argv[1])
start = time.monotonic()
try:
    code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, timeout=limit).returncode
except subprocess.TimeoutExpired:
    code = -9
seconds = time.monotonic() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "seconds": seconds, "cpu": r.ru_utime + r.ru_stime,
                  "user": r.ru_utime, "sys": r.ru_stime, "maxRssKiB": r.ru_maxrss}))
`;

/** What {@linkcode measured} reports about a finished command. */
export interface Run {
  /** Wall time. */
  seconds: number;
  /** CPU seconds, user + system, of the process and its children. */
  cpu: number;
  /** User CPU seconds. */
  user: number;
  /** System CPU seconds. */
  sys: number;
  /** Peak RSS of the largest process, KiB. */
  maxRssKiB: number;
}

/** Runs a command to completion (at most `limitS` seconds) under the rusage wrapper. */
export async function measured(cmd: string[], limitS = 600): Promise<Run> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", RUSAGE_WRAPPER, String(limitS), ...cmd],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const report = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  if (report.code !== 0) throw new Error(`${cmd.join(" ")} exited with ${report.code}`);
  return report;
}

/** CPU seconds (user + system) of a running process, from /proc. */
export function cpuOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

/** Peak RSS (VmHWM) of a running process in KiB, from /proc. */
export function peakRssOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** Writes `size` random bytes to `path` and flushes them. */
export async function writePayload(path: string, size: number): Promise<void> {
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

/** A payload of `size` bytes and its torrent in `work` (reused when already there). */
export async function preparePayload(
  work: string,
  size: number,
  name = "payload.bin",
): Promise<{ seedDir: string; payload: string; torrent: string }> {
  const seedDir = `${work}/seed`;
  await Deno.mkdir(seedDir, { recursive: true });
  const payload = `${seedDir}/${name}`;
  const torrent = `${work}/payload.torrent`;
  const existing = await Deno.stat(payload).catch(() => undefined);
  const hasTorrent = await Deno.stat(torrent).then(() => true, () => false);
  if (existing?.size !== size || !hasTorrent) {
    await writePayload(payload, size);
    await Deno.writeFile(torrent, await createTorrent(payload));
  }
  return { seedDir, payload, torrent };
}

/** A long-running seeder: its PID, port and a stop function. */
export interface Seeder {
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

/** Starts a libtorrent seeder (lt_peer.py), optionally with an upload limit in bytes/s. */
export async function startLibtorrentSeeder(
  torrent: string,
  dir: string,
  uploadLimit = 0,
): Promise<Seeder> {
  const config = JSON.stringify({ torrent, dir, seed: true, port: 0, uploadLimit });
  const child = new Deno.Command("timeout", {
    args: ["1800", PYTHON, LT_PEER, "peer", config],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ready = JSON.parse((await readLine(reader)).split("\n")[0]);
  const python = Number(
    new TextDecoder().decode(
      (await new Deno.Command("pgrep", { args: ["-P", `${child.pid}`], stdout: "piped" })
        .output()).stdout,
    ).trim().split("\n")[0],
  );
  return {
    pid: python || child.pid,
    port: ready.port,
    async stop() {
      await child.stdin.close();
      await reader.cancel();
      await child.status;
    },
  };
}

/** Starts `shoal seed` on a free port and waits until it accepts connections. */
export async function startShoalSeeder(
  torrent: string,
  dir: string,
  cli = CLI,
  extra: string[] = [],
  v8Flags: string[] = SHOAL_V8_FLAGS,
): Promise<Seeder> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...shoalArgs(cli, v8Flags),
      "seed",
      resolve(torrent),
      "-o",
      resolve(dir),
      "--port",
      `${port}`,
      "--json",
      ...extra,
    ],
    cwd: dirname(resolve(torrent)), // V8's perf flags write isolate logs into the working folder
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  // It listens at once but checks the data first: wait for its "ready" event.
  let text = "";
  while (!/"type":\s*"ready"/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`shoal seeder ended early: ${text}`);
    text = (text + value).slice(-4096);
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

/** A TCP port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Runs `sync` (before each timed run, so no earlier write-back overlaps it). */
export async function sync(): Promise<void> {
  await new Deno.Command("sync").output();
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "median (min-max)" of some numbers, with `digits` decimals. */
export function spread(values: readonly number[], digits = 2): string {
  if (values.length === 0) return "-";
  const f = (v: number) => v.toFixed(digits);
  if (values.length === 1) return f(values[0]);
  return `${f(median(values))} (${f(Math.min(...values))}-${f(Math.max(...values))})`;
}
