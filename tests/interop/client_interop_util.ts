/**
 * Helpers for the interop tests of the Client (many torrents, file selection, streams, the
 * memory budget) and of magnet links: torrents made by libtorrent from generated payloads, a
 * recorder of a torrent's events that can be waited on, magnet URIs, and `shoal cat` run with
 * its standard output kept as bytes.
 *
 * Every process started here has a time limit and is stopped by its PID.
 * @module
 */

import { AssertionError } from "node:assert/strict";
import type { Torrent, TorrentEvent } from "../../src/client/torrent.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import type { Metainfo } from "../../src/metainfo/types.ts";
import { createTorrent } from "../../src/storage/create_torrent.ts";
import { testArgs } from "../cli_util.ts";
import { libtorrentCreate, makePayload } from "./harness.ts";

/** One mebibyte. */
export const MIB = 1 << 20;
/** The loopback address every test uses. */
export const LOOPBACK = "127.0.0.1";

/**
 * Runs `fn` with a fresh temporary folder, removed afterwards.
 * @param prefix The folder name's prefix.
 * @param fn The body.
 */
export async function withTempDir(
  prefix: string,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A generated payload and the torrent libtorrent made of it. */
export interface LtTorrent {
  /** Path of the .torrent file. */
  torrent: string;
  /** The folder holding the payload (libtorrent's save_path for a seeder). */
  seedDir: string;
  /** The payload itself: `seedDir/name`. */
  payload: string;
  /** shoal's parse of the .torrent. */
  meta: Metainfo;
}

/**
 * Writes a multi-file payload under `root/seed-<name>/<name>` and has libtorrent make a v1
 * torrent of it at `root/<name>.torrent`.
 * @param root The test's folder.
 * @param name The torrent's name (its top folder).
 * @param files Paths inside the folder and sizes.
 * @param pieceLength Piece length in bytes.
 * @param seed Seed of the payload's bytes.
 * @returns The torrent.
 */
export async function ltTorrent(
  root: string,
  name: string,
  files: { path: string; size: number }[],
  pieceLength: number,
  seed = 1,
): Promise<LtTorrent> {
  const seedDir = `${root}/seed-${name}`;
  const payload = `${seedDir}/${name}`;
  await makePayload(payload, files, seed);
  const torrent = `${root}/${name}.torrent`;
  await libtorrentCreate(payload, torrent, { pieceLength });
  return { torrent, seedDir, payload, meta: parseTorrent(await Deno.readFile(torrent)) };
}

/**
 * Like {@linkcode ltTorrent}, but the torrent is made by shoal (`createTorrent`), which lists
 * the files sorted by path: for tests that need a file at a known place in the torrent.
 * @param root The test's folder.
 * @param name The torrent's name (its top folder).
 * @param files Paths inside the folder and sizes.
 * @param pieceLength Piece length in bytes.
 * @param seed Seed of the payload's bytes.
 * @returns The torrent.
 */
export async function sortedTorrent(
  root: string,
  name: string,
  files: { path: string; size: number }[],
  pieceLength: number,
  seed = 1,
): Promise<LtTorrent> {
  const seedDir = `${root}/seed-${name}`;
  const payload = `${seedDir}/${name}`;
  await makePayload(payload, files, seed);
  const torrent = `${root}/${name}.torrent`;
  await Deno.writeFile(torrent, await createTorrent(payload, { pieceLength }));
  return { torrent, seedDir, payload, meta: parseTorrent(await Deno.readFile(torrent)) };
}

/**
 * A magnet link (BEP 9) with only the info hash, and optionally `x.pe` peers and `tr` trackers.
 * @param infoHashHex 40 hex digits.
 * @param options `peers` as `host:port`, `trackers` as URLs, `name`.
 * @returns The URI.
 */
export function magnetUri(
  infoHashHex: string,
  options: { peers?: string[]; trackers?: string[]; name?: string } = {},
): string {
  let uri = `magnet:?xt=urn:btih:${infoHashHex}`;
  if (options.name) uri += `&dn=${encodeURIComponent(options.name)}`;
  for (const tracker of options.trackers ?? []) uri += `&tr=${encodeURIComponent(tracker)}`;
  for (const peer of options.peers ?? []) uri += `&x.pe=${peer}`;
  return uri;
}

/** The pieces (indices) that hold bytes of file `index` of `meta` (padding included). */
export function piecesOfFile(meta: Metainfo, index: number): number[] {
  const file = meta.files[index];
  if (file.length === 0) return [];
  const first = Math.floor(file.offset / meta.pieceLength);
  const last = Math.floor((file.offset + file.length - 1) / meta.pieceLength);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

let sequence = 0;

/** One recorded event, numbered across every recorder of the test process. */
export interface Recorded {
  /** Global order of arrival. */
  readonly seq: number;
  /** The event. */
  readonly event: TorrentEvent;
}

/**
 * Records every event of a torrent from the moment it is made, numbered in one order shared
 * by all recorders (so events of two torrents can be compared), and waits for conditions on
 * them without polling. Its iteration ends when the torrent is removed or the client closes.
 */
export class EventLog {
  /** Everything seen so far, in order. */
  readonly records: Recorded[] = [];
  /** Resolves when the torrent's events end. */
  readonly ended: Promise<void>;
  readonly #waiters = new Set<() => void>();

  /**
   * Starts recording.
   * @param torrent The torrent.
   */
  constructor(torrent: Torrent) {
    const events = torrent.events();
    this.ended = (async () => {
      for await (const event of events) {
        this.records.push({ seq: sequence++, event });
        for (const waiter of [...this.#waiters]) waiter();
      }
      for (const waiter of [...this.#waiters]) waiter();
    })();
  }

  /** The events of one type, in order. */
  of<T extends TorrentEvent["type"]>(type: T): Extract<TorrentEvent, { type: T }>[] {
    return this.records.map((r) => r.event).filter((e): e is Extract<TorrentEvent, { type: T }> =>
      e.type === type
    );
  }

  /** The first record matching `predicate`, if any. */
  first(predicate: (event: TorrentEvent) => boolean): Recorded | undefined {
    return this.records.find((r) => predicate(r.event));
  }

  /** The verified pieces, in the order their `piece` events came. */
  pieces(): number[] {
    return this.of("piece").map((e) => e.index);
  }

  /** The `peer` disconnected events: who and why. */
  disconnects(): { address: string; reason: string }[] {
    return this.of("peer").filter((e) => e.change === "disconnected").map((e) => ({
      address: e.address,
      reason: e.reason ?? "",
    }));
  }

  /**
   * Resolves once `predicate` holds over the records (checked now and on every event).
   * @param predicate The condition.
   * @param timeoutMs How long to wait.
   * @param what Names the condition in the failure.
   * @throws {AssertionError} After `timeoutMs`, or when the events end first.
   */
  until(predicate: (log: EventLog) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let ended = false;
      const check = (): void => {
        if (predicate(this)) {
          cleanup();
          resolve();
        } else if (ended) {
          cleanup();
          reject(new AssertionError({ message: `${what}: the torrent's events ended first` }));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const tail = this.records.slice(-8).map((r) => JSON.stringify(r.event)).join("\n");
        reject(
          new AssertionError({ message: `${what} did not happen in ${timeoutMs} ms\n${tail}` }),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.ended.then(() => {
        ended = true;
        check();
      });
      this.#waiters.add(check);
    });
  }
}

/**
 * Resolves `promise`, or fails with `what` after `ms` (the promise is left to settle alone).
 * @param promise The promise.
 * @param ms The limit.
 * @param what What was awaited, for the failure.
 * @returns Its value.
 * @throws {AssertionError} After `ms`.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AssertionError({ message: `${what} within ${ms} ms` })),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const REPO_ROOT = new URL("../../", import.meta.url);
const CLI_TS = new URL("cli.ts", REPO_ROOT).pathname;
const DENO_JSON = new URL("deno.json", REPO_ROOT).pathname;

/**
 * Runs shoal's CLI to completion with its standard output kept as bytes (for `shoal cat`),
 * `--no-dht` added as the harness does, in a state folder of its own. Killed by PID (SIGKILL)
 * after `timeoutMs`.
 * @param args The arguments.
 * @param options `timeoutMs` (default 60 s), `stateHome` (XDG_STATE_HOME).
 * @returns The exit code, standard output bytes and standard error text.
 * @throws {AssertionError} When it ran out of time.
 */
export async function runShoalBytes(
  args: string[],
  options: { timeoutMs?: number; stateHome: string },
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const limitMs = options.timeoutMs ?? 60_000;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", DENO_JSON, CLI_TS, ...testArgs(args)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_STATE_HOME: options.stateHome, SHOAL_DEBUG: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }, limitMs);
  try {
    const output = await child.output();
    if (timedOut) {
      throw new AssertionError({
        message: `shoal ${args.join(" ")} ran out of ${limitMs} ms\n${
          new TextDecoder().decode(output.stderr).slice(-4000)
        }`,
      });
    }
    return {
      code: output.code,
      stdout: output.stdout,
      stderr: new TextDecoder().decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

const PYTHON = "/usr/bin/python3";

/** A Python helper (a JSON line protocol over stdin and stdout) with a life limit. */
interface PythonHelper extends AsyncDisposable {
  readonly pid: number;
  /** The next line of its stdout. @throws {Error} When it exited first (with its stderr). */
  nextLine(): Promise<string>;
  /** Writes a line to its stdin. */
  writeLine(line: string): Promise<void>;
}

/** Resolves true when `promise` settles within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Starts `/usr/bin/python3 SCRIPT CONFIG_JSON`, killed by PID (SIGKILL) after `limitMs`, and
 * stopped by PID on dispose: stdin closed, then SIGTERM, then SIGKILL.
 */
function spawnPython(script: string, config: unknown, limitMs: number): PythonHelper {
  const child = new Deno.Command(PYTHON, {
    args: [new URL(script, import.meta.url).pathname, JSON.stringify(config)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
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
  const life = setTimeout(() => kill("SIGKILL"), limitMs);
  const stderr = new Response(child.stderr).text().catch(() => "");
  const stdin = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let disposing: Promise<void> | undefined;
  return {
    pid: child.pid,
    async nextLine(): Promise<string> {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`${script} exited: ${(await stderr).slice(-2000)}`);
        buffered += value;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    },
    async writeLine(line: string): Promise<void> {
      await stdin.write(new TextEncoder().encode(line + "\n"));
    },
    [Symbol.asyncDispose](): Promise<void> {
      disposing ??= (async () => {
        clearTimeout(life);
        await stdin.close().catch(() => {});
        if (!(await settlesWithin(status, 2_000))) kill("SIGTERM");
        if (!(await settlesWithin(status, 3_000))) kill("SIGKILL");
        await status;
        await lines.cancel().catch(() => {});
        await stderr;
      })();
      return disposing;
    },
  };
}

/** Reads JSON lines until one has `event === name`. */
async function untilEvent<T>(helper: PythonHelper, name: string): Promise<T> {
  while (true) {
    const line = await helper.nextLine();
    try {
      const parsed = JSON.parse(line);
      if (parsed?.event === name) return parsed as T;
    } catch {
      // not JSON
    }
  }
}

/** A running tests/interop/lt_ordered_seed.py. */
export interface OrderedSeeder extends AsyncDisposable {
  /** The Python process's PID. */
  readonly pid: number;
  /** Its listening TCP port on 127.0.0.1. */
  readonly port: number;
  /** Payload bytes it has uploaded so far. */
  uploaded(): Promise<number>;
}

/**
 * Starts a libtorrent seeder that sends blocks in the order they were asked for (one disk
 * thread, a small send buffer, a short rate-limit tick; see tests/interop/lt_ordered_seed.py).
 * It checks the data in `dir` first and resolves once it seeds. Killed by PID after `timeoutMs`
 * (default 120 s) and stopped by PID on dispose.
 * @param options `torrent`, `dir` (its save path), `uploadLimit` in bytes/s, `timeoutMs`.
 * @returns The running seeder.
 * @throws {Error} If it exits before it seeds.
 */
export async function startOrderedSeeder(options: {
  torrent: string;
  dir: string;
  uploadLimit?: number;
  timeoutMs?: number;
}): Promise<OrderedSeeder> {
  const helper = spawnPython("./lt_ordered_seed.py", {
    torrent: options.torrent,
    dir: options.dir,
    uploadLimit: options.uploadLimit ?? 0,
  }, options.timeoutMs ?? 120_000);
  try {
    const ready = await untilEvent<{ port: number }>(helper, "ready");
    let queue: Promise<unknown> = Promise.resolve();
    return {
      pid: helper.pid,
      port: ready.port,
      uploaded(): Promise<number> {
        const ask = async (): Promise<number> => {
          await helper.writeLine("status");
          return (JSON.parse(await helper.nextLine()) as { uploaded: number }).uploaded;
        };
        const result = queue.then(ask, ask);
        queue = result.catch(() => {});
        return result;
      },
      [Symbol.asyncDispose]: () => helper[Symbol.asyncDispose](),
    };
  } catch (error) {
    await helper[Symbol.asyncDispose]();
    throw error;
  }
}

/** A running tests/interop/lt_magnet.py: libtorrent downloading a magnet link. */
export interface LtMagnetDownload extends AsyncDisposable {
  /** The Python process's PID. */
  readonly pid: number;
  /** Its TCP (and DHT) port on 127.0.0.1. */
  readonly port: number;
  /** Resolves with the peers connected when the metadata arrived. */
  readonly metadata: Promise<[string, number][]>;
  /** Resolves with every peer it was connected to once every piece verified. */
  readonly complete: Promise<[string, number][]>;
}

/**
 * Has libtorrent download a magnet link into `dir`: through a DHT (`dhtNodes`, never a public
 * router) and/or peers given directly. Killed by PID after `timeoutMs` (default 120 s), stopped
 * by PID on dispose.
 * @param options `magnet`, `dir`, `dhtNodes`, `peers`, `timeoutMs`.
 * @returns The running download, once it listens.
 */
export async function startLtMagnet(options: {
  magnet: string;
  dir: string;
  dhtNodes?: { host: string; port: number }[];
  peers?: { host: string; port: number }[];
  timeoutMs?: number;
}): Promise<LtMagnetDownload> {
  const helper = spawnPython("./lt_magnet.py", {
    magnet: options.magnet,
    dir: options.dir,
    dhtNodes: options.dhtNodes ?? [],
    peers: options.peers ?? [],
  }, options.timeoutMs ?? 120_000);
  try {
    const ready = await untilEvent<{ port: number }>(helper, "ready");
    const metadata = untilEvent<{ peers: [string, number][] }>(helper, "metadata").then((e) =>
      e.peers
    );
    const complete = metadata.then(() =>
      untilEvent<{ peers: [string, number][] }>(helper, "complete")
    ).then((e) => e.peers);
    metadata.catch(() => {});
    complete.catch(() => {});
    return {
      pid: helper.pid,
      port: ready.port,
      metadata,
      complete,
      [Symbol.asyncDispose]: () => helper[Symbol.asyncDispose](),
    };
  } catch (error) {
    await helper[Symbol.asyncDispose]();
    throw error;
  }
}
