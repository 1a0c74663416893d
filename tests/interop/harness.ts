/**
 * Interop harness: runs real BitTorrent programs (libtorrent through python3-libtorrent, aria2c,
 * opentracker, mktorrent) and shoal's own CLI on 127.0.0.1 for the tests.
 *
 * Every child process is started with `Deno.Command` under a time limit, its stdout and stderr are
 * drained so its pipes never block, and it is stopped by PID in an idempotent
 * `[Symbol.asyncDispose]` that waits for it to exit. Tests registered with {@link interopTest}
 * also have every process they started stopped when they end or time out.
 *
 * aria2c has no flag to connect to a given peer for a .torrent download, so
 * {@link startAria2} with `peers` serves those addresses from a tiny in-process HTTP tracker
 * (compact BEP 23 reply) and passes it with `--bt-tracker`; trackers in the torrent still apply.
 * opentracker skips its whitelist for "stopped" announces, and loads the whitelist in the
 * background: {@link startOpentracker} and `addInfoHash` wait until a "started" probe is accepted.
 *
 * Typical use (a libtorrent seeder, something downloading from it):
 *
 * ```ts ignore
 * import { interopTest, libtorrentCreate, makePayload, sameTree, startLibtorrent } from "./harness.ts";
 * interopTest("x downloads from libtorrent", ["libtorrent"], async () => {
 *   const dir = await Deno.makeTempDir();
 *   try {
 *     await makePayload(`${dir}/seed/pl`, [{ path: "a.bin", size: 4 << 20 }]);
 *     await libtorrentCreate(`${dir}/seed/pl`, `${dir}/t.torrent`, { pieceLength: 1 << 16 });
 *     await using seeder = await startLibtorrent({ torrent: `${dir}/t.torrent`, dir: `${dir}/seed`, seed: true });
 *     // ... download from 127.0.0.1:${seeder.port} into `${dir}/get` ...
 *     await sameTree(`${dir}/seed/pl`, `${dir}/get/pl`);
 *   } finally {
 *     await Deno.remove(dir, { recursive: true });
 *   }
 * });
 * ```
 *
 * @module
 */

import { AssertionError } from "node:assert/strict";
import dgram from "node:dgram";
import { testArgs } from "../cli_util.ts";

/** A state folder for the shoal processes the suite starts, never the user's own. */
const STATE_HOME: string = Deno.makeTempDirSync({ prefix: "shoal-interop-state-" });

/** A program the interop suite can need. */
export type InteropProgram = "libtorrent" | "aria2c" | "opentracker" | "mktorrent";

/** A peer address on loopback. */
export interface PeerAddress {
  /** IPv4 address, normally "127.0.0.1". */
  host: string;
  /** TCP port. */
  port: number;
}

const PYTHON = "/usr/bin/python3";
const REPO_ROOT = new URL("../../", import.meta.url);
const LT_PEER_PY = new URL("./lt_peer.py", import.meta.url).pathname;
const CLI_TS = new URL("cli.ts", REPO_ROOT).pathname;
const DENO_JSON = new URL("deno.json", REPO_ROOT).pathname;
/** `deno run` arguments that start shoal's CLI from any working folder. */
const SHOAL_RUN = ["run", "-A", "--config", DENO_JSON, CLI_TS];
/** Default time limit of one interop test. */
export const DEFAULT_TEST_TIMEOUT_MS = 60_000;
const DEFAULT_PROCESS_LIMIT_MS = 180_000;
const SHORT_COMMAND_LIMIT_MS = 120_000;
const KILL_GRACE_MS = 3_000;
const OUTPUT_KEEP_CHARS = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Process management

/** Everything started during the running test, stopped by interopTest when the test ends. */
const active = new Set<AsyncDisposable>();

function track<T extends AsyncDisposable>(resource: T): T {
  active.add(resource);
  return resource;
}

async function disposeActive(): Promise<void> {
  const all = [...active];
  active.clear();
  await Promise.allSettled(all.map((r) => r[Symbol.asyncDispose]()));
}

/** A child process with a time limit, drained output and an idempotent dispose. */
class ManagedProcess implements AsyncDisposable {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  readonly stderr: Promise<string>;
  readonly stdoutText: Promise<string> | undefined;
  readonly stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly stdout: ReadableStream<Uint8Array> | undefined;
  readonly label: string;
  timedOut = false;
  #child: Deno.ChildProcess;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposing: Promise<void> | undefined;
  #exited = false;

  constructor(
    program: string,
    args: string[],
    options: {
      limitMs: number;
      cwd?: string;
      env?: Record<string, string>;
      stdin?: boolean;
      /** Leave stdout to the caller (who must read it to the end) instead of collecting it. */
      rawStdout?: boolean;
    },
  ) {
    this.label = `${program} ${args.join(" ")}`.slice(0, 300);
    this.#child = new Deno.Command(program, {
      args,
      cwd: options.cwd,
      env: { NO_COLOR: "1", ...options.env },
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.stdin = options.stdin ? this.#child.stdin.getWriter() : undefined;
    if (options.rawStdout) this.stdout = this.#child.stdout;
    else this.stdoutText = collectText(this.#child.stdout);
    this.stderr = collectText(this.#child.stderr);
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#timer = undefined;
      this.#signal("SIGKILL");
    }, options.limitMs);
    this.status = this.#child.status.then((status) => {
      this.#exited = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      return status;
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Sends a signal by PID unless the process is gone. */
  signal(signal: Deno.Signal): void {
    this.#signal(signal);
  }

  #signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      Deno.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Stops the process (stdin closed, then SIGTERM, then SIGKILL) and waits for it and its pipes. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposing ??= this.#dispose();
    return this.#disposing;
  }

  async #dispose(): Promise<void> {
    active.delete(this);
    if (this.stdin) await this.stdin.close().catch(() => {});
    if (!this.#exited && this.stdin) await waitOrTimeout(this.status, 1_000);
    this.#signal("SIGTERM");
    if (!(await waitOrTimeout(this.status, KILL_GRACE_MS))) this.#signal("SIGKILL");
    await this.status;
    if (this.stdout) await this.stdout.cancel().catch(() => {});
    await Promise.allSettled([this.stderr, this.stdoutText]);
  }
}

async function collectText(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (text.length > 2 * OUTPUT_KEEP_CHARS) text = text.slice(-OUTPUT_KEEP_CHARS);
    }
  } catch {
    // the pipe closed under us; keep what we have
  }
  return text.length > OUTPUT_KEEP_CHARS ? text.slice(-OUTPUT_KEEP_CHARS) : text;
}

/** Resolves true when `promise` settles within `ms`, false otherwise (and clears its timer). */
async function waitOrTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a short command to completion; throws with its output when it fails or times out. */
async function runChecked(
  program: string,
  args: string[],
  limitMs = SHORT_COMMAND_LIMIT_MS,
): Promise<string> {
  const proc = track(new ManagedProcess(program, args, { limitMs }));
  try {
    const status = await proc.status;
    const stdout = (await proc.stdoutText) ?? "";
    const stderr = await proc.stderr;
    if (proc.timedOut) throw new Error(`Timed out after ${limitMs} ms: ${proc.label}\n${stderr}`);
    if (!status.success) {
      throw new Error(
        `Command failed with exit code ${status.code}: ${proc.label}\n${stderr}${stdout}`,
      );
    }
    return stdout;
  } finally {
    await proc[Symbol.asyncDispose]();
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

/**
 * Picks a TCP port that is free on 127.0.0.1 right now.
 * @returns The port number.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Picks a UDP port that is free on 127.0.0.1 right now.
 * @returns The port number.
 */
export function freeUdpPort(): Promise<number> {
  return bindUdp(0);
}

function bindUdp(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(port, "127.0.0.1", () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

/** A port free for both TCP and UDP on 127.0.0.1 (for opentracker's shared port). */
async function freeTcpUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = freePort();
    try {
      await bindUdp(port);
      return port;
    } catch {
      // UDP side busy; try another
    }
  }
  throw new Error("Cannot find a port free for both TCP and UDP on 127.0.0.1");
}

async function waitForTcp(port: number, limitMs: number, proc?: ManagedProcess): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch (error) {
      if (proc?.exited) throw new Error(`${proc.label} exited before listening on ${port}`);
      if (Date.now() > deadline) {
        throw new Error(`Nothing answered on 127.0.0.1:${port} within ${limitMs} ms`, {
          cause: error,
        });
      }
      await delay(50);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Program presence and test registration

const presence = new Map<InteropProgram, boolean>();

function onPath(program: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":");
  for (const dir of dirs) {
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * Says whether a program the interop suite needs is installed (checked once, then cached).
 * @param program The program.
 * @returns True when it can be run.
 */
export function hasProgram(program: InteropProgram): boolean {
  let found = presence.get(program);
  if (found === undefined) {
    if (program === "libtorrent") {
      try {
        found = new Deno.Command(PYTHON, {
          args: ["-c", "import libtorrent"],
          stdout: "null",
          stderr: "null",
        }).outputSync().success;
      } catch {
        found = false;
      }
    } else {
      found = onPath(program);
    }
    presence.set(program, found);
  }
  return found;
}

function isCi(): boolean {
  const ci = Deno.env.get("CI");
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/**
 * Registers a Deno test that needs real BitTorrent programs. A missing program makes the test a
 * visible skip (its name ends in " (SKIPPED: missing X)") locally and a failure when `CI` is set.
 * The test fails after `timeoutMs` (default 60 s); every process it started through this harness
 * is stopped when it ends either way.
 * @param name Test name (says the behaviour).
 * @param needs Programs the test runs.
 * @param fn The test body.
 * @param options `timeoutMs`: time limit of the whole test.
 */
export function interopTest(
  name: string,
  needs: InteropProgram[],
  fn: (t: Deno.TestContext) => Promise<void>,
  options: { timeoutMs?: number } = {},
): void {
  const missing = needs.filter((program) => !hasProgram(program));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;
  if (missing.length > 0 && !isCi()) {
    Deno.test({
      name: `${name} (SKIPPED: missing ${missing.join(", ")})`,
      ignore: true,
      fn: () => {},
    });
    return;
  }
  Deno.test(name, async (t) => {
    if (missing.length > 0) {
      throw new Error(
        `CI is set but ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not installed` +
          " (apt-get install python3-libtorrent aria2 opentracker mktorrent)",
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Interop test timed out after ${timeoutMs} ms: ${name}`)),
        timeoutMs,
      );
    });
    const body = fn(t);
    try {
      await Promise.race([body, timeout]);
    } finally {
      clearTimeout(timer);
      await disposeActive();
      // After a timeout the body is still pending; let it settle (its processes are gone now).
      await waitOrTimeout(body.catch(() => {}), 1_000);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Payloads

function pathSeed(path: string, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < path.length; i++) {
    hash ^= path.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) || 0x9e3779b9;
}

/**
 * Writes deterministic pseudo-random files (xorshift32 over 1 MiB chunks) under `dir`,
 * creating folders as needed. The bytes of a file depend only on `seed` and its path.
 * @param dir Folder to write into.
 * @param files Relative paths ('/'-separated) and sizes in bytes.
 * @param seed Seed of the generator.
 */
export async function makePayload(
  dir: string,
  files: { path: string; size: number }[],
  seed = 1,
): Promise<void> {
  const CHUNK_BYTES = 1 << 20;
  const words = new Uint32Array(CHUNK_BYTES / 4);
  const bytes = new Uint8Array(words.buffer);
  for (const file of files) {
    const full = `${dir}/${file.path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    let x = pathSeed(file.path, seed);
    using handle = await Deno.open(full, { write: true, create: true, truncate: true });
    let left = file.size;
    while (left > 0) {
      const n = Math.min(left, CHUNK_BYTES);
      const count = (n + 3) >>> 2;
      for (let i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x;
      }
      let view = bytes.subarray(0, n);
      while (view.length > 0) view = view.subarray(await handle.write(view));
      left -= n;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tree comparison

async function listFiles(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(prefix ? `${root}/${prefix}` : root)) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await listFiles(root, rel));
    else out.push(rel);
  }
  return out.sort();
}

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

async function sameFile(a: string, b: string): Promise<void> {
  const [sa, sb] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
  if (sa.size !== sb.size) {
    throw new AssertionError({ message: `Sizes differ: ${a} has ${sa.size}, ${b} has ${sb.size}` });
  }
  using fa = await Deno.open(a);
  using fb = await Deno.open(b);
  const CHUNK_BYTES = 1 << 20;
  const ba = new Uint8Array(CHUNK_BYTES);
  const bb = new Uint8Array(CHUNK_BYTES);
  const wa = new Int32Array(ba.buffer);
  const wb = new Int32Array(bb.buffer);
  let offset = 0;
  while (true) {
    const [na, nb] = await Promise.all([readFull(fa, ba), readFull(fb, bb)]);
    const n = Math.min(na, nb);
    let i = 0;
    const words = n >>> 2; // compare 4 bytes at a time, then find the byte
    while (i < words && wa[i] === wb[i]) i++;
    for (i *= 4; i < n; i++) {
      if (ba[i] !== bb[i]) {
        throw new AssertionError({
          message: `Files differ at byte ${offset + i}: ${a} has ${ba[i]}, ${b} has ${bb[i]}`,
        });
      }
    }
    if (na !== nb) throw new AssertionError({ message: `Files ${a} and ${b} differ in length` });
    if (na < CHUNK_BYTES) return;
    offset += n;
  }
}

/**
 * Asserts that two files, or two folders (recursively), hold the same file names and bytes.
 * Compares in 1 MiB chunks, so large files are fine.
 * @param a First file or folder.
 * @param b Second file or folder.
 * @throws {AssertionError} At the first difference.
 */
export async function sameTree(a: string, b: string): Promise<void> {
  const [sa, sb] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
  if (sa.isDirectory !== sb.isDirectory) {
    throw new AssertionError({ message: `One of ${a} and ${b} is a folder, the other is not` });
  }
  if (!sa.isDirectory) return await sameFile(a, b);
  const [la, lb] = await Promise.all([listFiles(a), listFiles(b)]);
  const onlyA = la.filter((p) => !lb.includes(p));
  const onlyB = lb.filter((p) => !la.includes(p));
  if (onlyA.length > 0 || onlyB.length > 0) {
    throw new AssertionError({
      message: `File lists differ: only in ${a}: [${onlyA.join(", ")}]; only in ${b}: [${
        onlyB.join(", ")
      }]`,
    });
  }
  for (const rel of la) await sameFile(`${a}/${rel}`, `${b}/${rel}`);
}

// ---------------------------------------------------------------------------------------------
// opentracker

/** A running opentracker on 127.0.0.1, HTTP and UDP on one port. */
export interface Tracker extends AsyncDisposable {
  /** The port (TCP for HTTP, UDP for BEP 15). */
  port: number;
  /** `http://127.0.0.1:PORT/announce` */
  httpUrl: string;
  /** `udp://127.0.0.1:PORT/announce` */
  udpUrl: string;
  /** opentracker's own PID. */
  pid: number;
  /** Adds an info hash to the whitelist and reloads it (SIGHUP). */
  addInfoHash(hex: string): Promise<void>;
}

function hexToPercent(hex: string): string {
  return hex.replace(/../g, (pair) => `%${pair}`);
}

/**
 * Waits until opentracker accepts `hex`. "stopped" announces skip its whitelist, so this sends a
 * "started" one (numwant=0, port 1) and removes that probe peer again with "stopped".
 */
async function waitWhitelisted(httpUrl: string, hex: string): Promise<void> {
  const url = (event: string): string =>
    `${httpUrl}?info_hash=${hexToPercent(hex.toLowerCase())}` +
    `&peer_id=-SH0000-harnessprobe&port=1&uploaded=0&downloaded=0&left=0&numwant=0` +
    `&compact=1&event=${event}`;
  const deadline = Date.now() + 5_000;
  while (true) {
    const text = await (await fetch(url("started"))).text();
    if (!text.includes("not authorized")) {
      await (await fetch(url("stopped"))).body?.cancel();
      return;
    }
    if (Date.now() > deadline) throw new Error(`opentracker did not whitelist ${hex} in 5 s`);
    await delay(50);
  }
}

/**
 * Starts opentracker on a free port of 127.0.0.1 with a whitelist of info hashes; resolves once it
 * answers TCP connections.
 * @param infoHashesHex Whitelisted info hashes (40 hex digits each).
 * @returns The running tracker.
 */
export async function startOpentracker(infoHashesHex: string[]): Promise<Tracker> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "shoal-opentracker-" });
  await Deno.chmod(dir, 0o755);
  const hashes = new Set(infoHashesHex.map((h) => h.toLowerCase()));
  const whitelist = `${dir}/whitelist.txt`;
  const writeWhitelist = async (): Promise<void> => {
    await Deno.writeTextFile(whitelist, [...hashes].map((h) => `${h}\n`).join(""));
    await Deno.chmod(whitelist, 0o644);
  };
  await writeWhitelist();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeTcpUdpPort();
    const proc = track(
      new ManagedProcess("opentracker", [
        "-i",
        "127.0.0.1",
        "-p",
        String(port),
        "-P",
        String(port),
        "-d",
        dir,
        "-w",
        "whitelist.txt",
      ], { limitMs: DEFAULT_PROCESS_LIMIT_MS }),
    );
    try {
      await waitForTcp(port, 5_000, proc);
    } catch (error) {
      lastError = new Error(
        `${error}\n${await proc[Symbol.asyncDispose]().then(() => proc.stderr)}`,
      );
      continue;
    }
    let disposed: Promise<void> | undefined;
    const tracker: Tracker = {
      port,
      httpUrl: `http://127.0.0.1:${port}/announce`,
      udpUrl: `udp://127.0.0.1:${port}/announce`,
      pid: proc.pid,
      async addInfoHash(hex: string): Promise<void> {
        hashes.add(hex.toLowerCase());
        await writeWhitelist();
        proc.signal("SIGHUP");
        await waitWhitelisted(tracker.httpUrl, hex);
      },
      [Symbol.asyncDispose](): Promise<void> {
        disposed ??= (async () => {
          active.delete(tracker);
          await proc[Symbol.asyncDispose]();
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        })();
        return disposed;
      },
    };
    active.delete(proc);
    track(tracker);
    try {
      // opentracker loads its whitelist in the background: wait until it took effect.
      for (const hex of hashes) await waitWhitelisted(tracker.httpUrl, hex);
    } catch (error) {
      await tracker[Symbol.asyncDispose]();
      throw error;
    }
    return tracker;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw new Error(`Cannot start opentracker: ${lastError}`);
}

// ---------------------------------------------------------------------------------------------
// libtorrent one-shot helpers

/** What libtorrent reads from a .torrent file. */
export interface LibtorrentInfo {
  /** v1 info hash, 40 lowercase hex digits. */
  infoHash: string;
  /** The torrent's name. */
  name: string;
  /** Files as libtorrent lists them ('/'-joined, starting with the name for multi-file ones). */
  files: { path: string; size: number; pad: boolean }[];
  /** Number of pieces. */
  numPieces: number;
  /** Piece length in bytes. */
  pieceLength: number;
  /** Sum of file sizes in bytes (pad files included). */
  totalSize: number;
}

function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/**
 * Reads a .torrent file with libtorrent.
 * @param torrentPath Path of the .torrent file.
 * @returns libtorrent's view of it.
 */
export async function libtorrentInfo(torrentPath: string): Promise<LibtorrentInfo> {
  return lastJsonLine(await runChecked(PYTHON, [LT_PEER_PY, "info", torrentPath]));
}

/**
 * Makes a v1 .torrent of a file or folder with libtorrent.
 * @param source File or folder to describe; its base name becomes the torrent's name.
 * @param outTorrent Path of the .torrent to write.
 * @param options `pieceLength` in bytes (default: libtorrent's choice), `trackers` (one tier each),
 *   `private` flag, `hybrid` to make a v1+v2 hybrid torrent instead.
 */
export async function libtorrentCreate(
  source: string,
  outTorrent: string,
  options: { pieceLength?: number; trackers?: string[]; private?: boolean; hybrid?: boolean } = {},
): Promise<void> {
  const args = [LT_PEER_PY, "create", source, outTorrent];
  if (options.pieceLength) args.push("--piece-length", String(options.pieceLength));
  for (const url of options.trackers ?? []) args.push("--tracker", url);
  if (options.private) args.push("--private");
  if (options.hybrid) args.push("--hybrid");
  await runChecked(PYTHON, args);
}

/**
 * Has libtorrent check data in `saveDir` against a torrent (full recheck, nothing written).
 * @param torrentPath Path of the .torrent file.
 * @param saveDir The folder the torrent's files are in (libtorrent's save_path).
 * @returns Piece count and how many pieces libtorrent found valid.
 */
export async function libtorrentCheck(
  torrentPath: string,
  saveDir: string,
): Promise<{ numPieces: number; validPieces: number }> {
  return lastJsonLine(await runChecked(PYTHON, [LT_PEER_PY, "check", torrentPath, saveDir]));
}

// ---------------------------------------------------------------------------------------------
// Line reading

/** Splits a byte stream into lines; buffers them so the pipe is always drained. */
class LineQueue implements AsyncIterable<string> {
  #lines: string[] = [];
  #waiters: ((line: string | undefined) => void)[] = [];
  #done = false;
  readonly finished: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.finished = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          this.#push(rest.slice(0, nl).replace(/\r$/, ""));
          rest = rest.slice(nl + 1);
        }
      }
    } catch {
      // pipe closed
    }
    if (rest) this.#push(rest);
    this.#done = true;
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  #push(line: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(line);
    else this.#lines.push(line);
  }

  /** Next line, or undefined at end of stream. */
  next(): Promise<string | undefined> {
    if (this.#lines.length > 0) return Promise.resolve(this.#lines.shift());
    if (this.#done) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    while (true) {
      const line = await this.next();
      if (line === undefined) return;
      yield line;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// libtorrent peer

/** What a libtorrent peer reports about its torrent. */
export interface LtStatus {
  /** 0..1 */
  progress: number;
  /** libtorrent's state name: "downloading", "seeding", "checking_files", ... */
  state: string;
  /** Connected peers. */
  peers: number;
  /** Payload bytes uploaded in this run. */
  uploaded: number;
  /** Payload bytes downloaded in this run. */
  downloaded: number;
  /** Pieces held. */
  pieces: number;
  /** Torrent error message, "" when none. */
  error: string;
}

/** A running libtorrent peer (tests/interop/lt_peer.py). */
export interface LtPeer extends AsyncDisposable {
  /** PID of the python process. */
  pid: number;
  /** Listening TCP port on 127.0.0.1. */
  port: number;
  /** Current torrent status. */
  status(): Promise<LtStatus>;
  /** Waits until the torrent is complete and checked; throws with the last status on timeout. */
  waitComplete(timeoutMs: number): Promise<void>;
  /** Connects to a peer directly. */
  connect(host: string, port: number): Promise<void>;
}

/**
 * Starts a libtorrent peer for one torrent on 127.0.0.1 (loopback settings from INTEROP.md).
 * A seeder trusts the data in `dir` (seed mode); trackers in the torrent are announced to.
 * @param options `torrent` path, `dir` (save path), `seed`, `port` (default: any free),
 *   `peers` to connect to at once, `uploadLimit` in bytes/s, `timeoutMs` life limit (default 180 s),
 *   `encryption`: MSE policy (`forced`, `enabled`, `disabled`) and allowed level (`plaintext`,
 *   `rc4`, `both`) for incoming and outgoing connections (libtorrent's defaults when absent).
 * @returns The running peer, once it listens.
 */
export async function startLibtorrent(options: {
  torrent: string;
  dir: string;
  seed: boolean;
  port?: number;
  peers?: PeerAddress[];
  uploadLimit?: number;
  timeoutMs?: number;
  encryption?: {
    policy?: "forced" | "enabled" | "disabled";
    level?: "plaintext" | "rc4" | "both";
  };
}): Promise<LtPeer> {
  const config = JSON.stringify({
    torrent: options.torrent,
    dir: options.dir,
    seed: options.seed,
    port: options.port ?? 0,
    peers: options.peers ?? [],
    uploadLimit: options.uploadLimit ?? 0,
    encryption: options.encryption,
  });
  const proc = new ManagedProcess(PYTHON, [LT_PEER_PY, "peer", config], {
    limitMs: options.timeoutMs ?? DEFAULT_PROCESS_LIMIT_MS,
    stdin: true,
    rawStdout: true,
  });
  const lines = new LineQueue(proc.stdout!);
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> => {
    disposed ??= (async () => {
      active.delete(peer);
      await proc[Symbol.asyncDispose]();
      await lines.finished;
    })();
    return disposed;
  };
  let nextId = 1;
  let queue: Promise<unknown> = Promise.resolve();
  const request = <T>(body: Record<string, unknown>): Promise<T> => {
    const run = async (): Promise<T> => {
      const id = nextId++;
      await proc.stdin!.write(new TextEncoder().encode(JSON.stringify({ id, ...body }) + "\n"));
      while (true) {
        const line = await lines.next();
        if (line === undefined) {
          throw new Error(`libtorrent peer exited: ${await proc.stderr}`);
        }
        let reply: { id?: number; ok?: boolean; error?: string };
        try {
          reply = JSON.parse(line);
        } catch {
          continue; // stray output
        }
        if (reply.id !== id) continue;
        if (!reply.ok) throw new Error(`libtorrent peer: ${reply.error}`);
        return reply as T;
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => {});
    return result;
  };
  const peer: LtPeer = {
    pid: proc.pid,
    port: 0,
    status: () => request<LtStatus>({ cmd: "status" }),
    async connect(host: string, port: number): Promise<void> {
      await request({ cmd: "connect", host, port });
    },
    async waitComplete(timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      let last: LtStatus | undefined;
      while (Date.now() < deadline) {
        last = await peer.status();
        if (last.progress >= 1 && (last.state === "seeding" || last.state === "finished")) return;
        await delay(100);
      }
      throw new Error(
        `libtorrent peer not complete after ${timeoutMs} ms: ${JSON.stringify(last)}`,
      );
    },
    [Symbol.asyncDispose]: dispose,
  };
  track(peer);
  try {
    while (true) {
      const line = await lines.next();
      if (line === undefined) {
        throw new Error(`libtorrent peer failed to start: ${await proc.stderr}`);
      }
      try {
        const ready = JSON.parse(line);
        if (ready.event === "ready") {
          peer.port = ready.port;
          return peer;
        }
      } catch {
        // not JSON: ignore
      }
    }
  } catch (error) {
    await dispose();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// aria2

/** A running aria2c. */
export interface Aria2Peer extends AsyncDisposable {
  /** aria2c's PID. */
  pid: number;
  /** Its BitTorrent listening port on 127.0.0.1. */
  port: number;
  /** Exit code once it exits (a downloader with --seed-time=0 exits when complete). */
  exited: Promise<number>;
  /** aria2c's console output so far is kept; this resolves to it after exit. */
  output: Promise<string>;
}

function compactPeers(peers: PeerAddress[]): Uint8Array {
  const out = new Uint8Array(peers.length * 6);
  peers.forEach((peer, i) => {
    const parts = peer.host.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
      throw new Error(`Not an IPv4 address: ${peer.host}`);
    }
    out.set(parts, i * 6);
    new DataView(out.buffer).setUint16(i * 6 + 4, peer.port);
  });
  return out;
}

/** A minimal HTTP tracker that answers every announce with a fixed list of peers (BEP 3, 23). */
function serveFixedPeers(peers: PeerAddress[]): { url: string; close(): Promise<void> } {
  const compact = compactPeers(peers);
  const head = new TextEncoder().encode(
    `d8:completei1e10:incompletei1e8:intervali5e12:min intervali1e5:peers${compact.length}:`,
  );
  const body = new Uint8Array(head.length + compact.length + 1);
  body.set(head);
  body.set(compact, head.length);
  body[body.length - 1] = 0x65; // "e"
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body, { headers: { "content-type": "text/plain" } }),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/announce`,
    close: () => server.shutdown(),
  };
}

/**
 * Starts aria2c on 127.0.0.1 for a .torrent (flags from INTEROP.md). A seeder seeds the data in
 * `dir` without checking it; a downloader exits when complete. `peers` are handed to aria2 by a
 * small in-process HTTP tracker, since aria2 has no direct-connect flag.
 * @param options `torrent`, `dir`, `seed`, `port` (default: a free one), `peers`,
 *   `timeoutMs` life limit (default 180 s), `extraArgs` for aria2c.
 * @returns The running aria2c.
 */
export async function startAria2(options: {
  torrent: string;
  dir: string;
  seed: boolean;
  port?: number;
  peers?: PeerAddress[];
  timeoutMs?: number;
  extraArgs?: string[];
}): Promise<Aria2Peer> {
  const port = options.port ?? freePort();
  const fixed = options.peers?.length ? serveFixedPeers(options.peers) : undefined;
  const args = [
    `--dir=${options.dir}`,
    `--listen-port=${port}`,
    "--no-conf=true",
    "--interface=127.0.0.1",
    "--disable-ipv6=true",
    "--enable-dht=false",
    "--enable-dht6=false",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    "--file-allocation=falloc",
    "--disk-cache=64M",
    "--seed-ratio=0.0",
    "--summary-interval=0",
    "--console-log-level=warn",
    "--bt-save-metadata=false",
    "--bt-tracker-interval=5",
    "--allow-overwrite=true",
    "--auto-file-renaming=false",
  ];
  if (options.seed) {
    args.push("--bt-seed-unverified=true", "--check-integrity=false", "--seed-time=600");
  } else {
    args.push("--seed-time=0");
  }
  if (fixed) args.push(`--bt-tracker=${fixed.url}`);
  args.push(...options.extraArgs ?? [], options.torrent);
  let proc: ManagedProcess;
  try {
    proc = new ManagedProcess("aria2c", args, {
      limitMs: options.timeoutMs ?? DEFAULT_PROCESS_LIMIT_MS,
    });
  } catch (error) {
    await fixed?.close();
    throw error;
  }
  let disposed: Promise<void> | undefined;
  const exited = proc.status.then((s) => s.code);
  const output = proc.status.then(async () => `${await proc.stdoutText}${await proc.stderr}`);
  const aria: Aria2Peer = {
    pid: proc.pid,
    port,
    exited,
    output,
    [Symbol.asyncDispose](): Promise<void> {
      disposed ??= (async () => {
        active.delete(aria);
        await proc[Symbol.asyncDispose]();
        await fixed?.close();
      })();
      return disposed;
    },
  };
  return track(aria);
}

// ---------------------------------------------------------------------------------------------
// mktorrent

/**
 * Makes a .torrent with mktorrent (overwrites `outTorrent`).
 * @param source File or folder.
 * @param outTorrent Path of the .torrent to write.
 * @param options `pieceLengthLog2` (mktorrent's -l, default 18), `trackers` (one -a each),
 *   `private` flag.
 */
export async function runMktorrent(
  source: string,
  outTorrent: string,
  options: { pieceLengthLog2?: number; trackers?: string[]; private?: boolean } = {},
): Promise<void> {
  await Deno.remove(outTorrent).catch(() => {}); // mktorrent refuses to overwrite
  const args = ["-o", outTorrent];
  if (options.pieceLengthLog2 !== undefined) args.push("-l", String(options.pieceLengthLog2));
  for (const url of options.trackers ?? []) args.push("-a", url);
  if (options.private) args.push("-p");
  args.push(source);
  await runChecked("mktorrent", args);
}

// ---------------------------------------------------------------------------------------------
// shoal CLI

/**
 * Runs `deno run -A --config deno.json cli.ts ...args` to completion (NO_COLOR=1 unless `env`
 * says otherwise).
 * @param args CLI arguments.
 * @param options `timeoutMs` (default 60 s; the run is killed and this throws), `cwd`, `env`.
 * @returns Exit code and output.
 */
export async function runShoal(
  args: string[],
  options: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const limitMs = options.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;
  const proc = track(
    new ManagedProcess(Deno.execPath(), [...SHOAL_RUN, ...testArgs(args)], {
      limitMs,
      cwd: options.cwd,
      env: { NO_COLOR: "1", XDG_STATE_HOME: STATE_HOME, ...options.env },
    }),
  );
  try {
    const status = await proc.status;
    const stdout = (await proc.stdoutText) ?? "";
    const stderr = await proc.stderr;
    if (proc.timedOut) {
      throw new Error(`shoal ${args.join(" ")} timed out after ${limitMs} ms\n${stderr}`);
    }
    return { code: status.code, stdout, stderr };
  } finally {
    await proc[Symbol.asyncDispose]();
  }
}

/** A long-running `shoal` process. */
export interface ShoalProcess extends AsyncDisposable {
  /** PID of the deno process. */
  pid: number;
  /** stdout lines (buffered from the start; iterate once). */
  lines: AsyncIterable<string>;
  /** All of stderr (last 64 KiB), once it exits. */
  stderr: Promise<string>;
  /** Exit code. */
  exited: Promise<number>;
  /** Sends a signal by PID (default SIGTERM). */
  kill(signal?: Deno.Signal): void;
}

/**
 * Starts `deno run -A --config deno.json cli.ts ...args` in the background (NO_COLOR=1).
 * @param args CLI arguments.
 * @param options `timeoutMs` life limit (default 180 s), `cwd`, `env`.
 * @returns The running process.
 */
export function startShoal(
  args: string[],
  options: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {},
): ShoalProcess {
  const proc = new ManagedProcess(Deno.execPath(), [...SHOAL_RUN, ...testArgs(args)], {
    limitMs: options.timeoutMs ?? DEFAULT_PROCESS_LIMIT_MS,
    cwd: options.cwd,
    env: { NO_COLOR: "1", XDG_STATE_HOME: STATE_HOME, ...options.env },
    rawStdout: true,
  });
  const lines = new LineQueue(proc.stdout!);
  let disposed: Promise<void> | undefined;
  const shoal: ShoalProcess = {
    pid: proc.pid,
    lines,
    stderr: proc.status.then(() => proc.stderr),
    exited: proc.status.then((s) => s.code),
    kill: (signal: Deno.Signal = "SIGTERM") => proc.signal(signal),
    [Symbol.asyncDispose](): Promise<void> {
      disposed ??= (async () => {
        active.delete(shoal);
        await proc[Symbol.asyncDispose]();
        await lines.finished;
      })();
      return disposed;
    },
  };
  return track(shoal);
}
