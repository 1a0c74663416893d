// Honest demand for bench/soak.ts: real libtorrent and aria2c leechers (through the interop
// harness), each started again with a fresh empty folder when it completes, and every
// completed download checked against the source's SHA-1.
import { type PeerAddress, startAria2, startLibtorrent } from "../tests/interop/harness.ts";
import { sha1File } from "./soak_payload.ts";

/** Options for {@linkcode HonestLeechers}. */
export interface HonestOptions {
  /** The .torrent file. */
  torrent: string;
  /** Folder the leechers' download folders go in. */
  workDir: string;
  /** The seeder. */
  seeder: PeerAddress;
  /** Name of the torrent's single file. */
  fileName: string;
  /** Its size. */
  size: number;
  /** Its SHA-1 (hex). */
  sha1: string;
  /** libtorrent leechers running at once. */
  libtorrent: number;
  /** aria2c leechers running at once. */
  aria2: number;
  /** Life limit of one leecher process. */
  processLimitMs: number;
}

/** Figures for one kind of leecher. */
export interface HonestCounts {
  /** Processes started. */
  started: number;
  /** Downloads that completed. */
  completed: number;
  /** Completed downloads whose file had the source's SHA-1. */
  verified: number;
  /** Payload bytes received (libtorrent: its counter, partial runs too; aria2c: completed). */
  bytes: number;
  /** Seconds from start to completion, summed over `completed`. */
  secondsTotal: number;
  /** Times a stalled libtorrent was told to connect to the seeder again. */
  reconnects: number;
  /** Runs that ended in an error (first few messages kept in `errors`). */
  failed: number;
}

/** How often a libtorrent leecher is polled. */
const POLL_MS = 500;
/** A libtorrent leecher without progress and without peers this long is pointed at the seeder again. */
const STALL_MS = 5_000;
const KEEP_ERRORS = 10;

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

/** The leechers: started at once, restarted as they complete, until `stop()`. */
export class HonestLeechers implements AsyncDisposable {
  /** Counts per kind. */
  readonly counts: { libtorrent: HonestCounts; aria2: HonestCounts };
  /** Error messages of failed runs (the first few). */
  readonly errors: string[] = [];
  /** Leecher processes running now. */
  running = 0;
  readonly #options: HonestOptions;
  readonly #controller = new AbortController();
  readonly #loops: Promise<void>[] = [];
  #run = 0;

  /**
   * Starts the leechers.
   * @param options What to download, from where, how many.
   */
  constructor(options: HonestOptions) {
    this.#options = options;
    const zero = (): HonestCounts => ({
      started: 0,
      completed: 0,
      verified: 0,
      bytes: 0,
      secondsTotal: 0,
      reconnects: 0,
      failed: 0,
    });
    this.counts = { libtorrent: zero(), aria2: zero() };
    for (let i = 0; i < options.libtorrent; i++) this.#loops.push(this.#loop("libtorrent"));
    for (let i = 0; i < options.aria2; i++) this.#loops.push(this.#loop("aria2"));
  }

  async #loop(kind: "libtorrent" | "aria2"): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      const dir = `${this.#options.workDir}/${kind}-${this.#run++}`;
      const counts = this.counts[kind];
      try {
        await Deno.mkdir(dir, { recursive: true });
        counts.started++;
        this.running++;
        try {
          if (kind === "libtorrent") await this.#libtorrentOnce(dir, counts, signal);
          else await this.#aria2Once(dir, counts, signal);
        } finally {
          this.running--;
        }
      } catch (error) {
        if (signal.aborted) break;
        counts.failed++;
        if (this.errors.length < KEEP_ERRORS) {
          this.errors.push(`${kind}: ${error instanceof Error ? error.message : error}`);
        }
        await pause(1_000, signal);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  }

  async #verify(dir: string, counts: HonestCounts): Promise<void> {
    if ((await sha1File(`${dir}/${this.#options.fileName}`)) === this.#options.sha1) {
      counts.verified++;
    } else {
      throw new Error(`the file in ${dir} does not have the source's SHA-1`);
    }
  }

  async #libtorrentOnce(dir: string, counts: HonestCounts, signal: AbortSignal): Promise<void> {
    const { seeder } = this.#options;
    const started = performance.now();
    await using peer = await startLibtorrent({
      torrent: this.#options.torrent,
      dir,
      seed: false,
      peers: [seeder],
      timeoutMs: this.#options.processLimitMs,
    });
    let lastPieces = -1;
    let lastChangeMs = performance.now();
    let downloaded = 0;
    try {
      while (!signal.aborted) {
        const status = await peer.status();
        downloaded = status.downloaded;
        if (status.error) throw new Error(`libtorrent: ${status.error}`);
        if (status.progress >= 1 && (status.state === "seeding" || status.state === "finished")) {
          counts.completed++;
          counts.secondsTotal += (performance.now() - started) / 1000;
          await this.#verify(dir, counts);
          return;
        }
        const now = performance.now();
        if (status.pieces !== lastPieces) {
          lastPieces = status.pieces;
          lastChangeMs = now;
        } else if (now - lastChangeMs > STALL_MS && status.peers === 0) {
          counts.reconnects++;
          lastChangeMs = now;
          await peer.connect(seeder.host, seeder.port);
        }
        await pause(POLL_MS, signal);
      }
    } finally {
      counts.bytes += downloaded;
    }
  }

  async #aria2Once(dir: string, counts: HonestCounts, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    await using aria = await startAria2({
      torrent: this.#options.torrent,
      dir,
      seed: false,
      peers: [this.#options.seeder],
      timeoutMs: this.#options.processLimitMs,
    });
    let onAbort = (): void => {};
    const aborted = new Promise<"stopped">((resolve) => {
      onAbort = () => resolve("stopped");
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    });
    const code = await Promise.race([aria.exited, aborted]);
    signal.removeEventListener("abort", onAbort);
    if (code === "stopped") return;
    if (code !== 0) {
      throw new Error(`aria2c exited with ${code}: ${(await aria.output).slice(-300)}`);
    }
    counts.completed++;
    counts.secondsTotal += (performance.now() - started) / 1000;
    counts.bytes += this.#options.size;
    await this.#verify(dir, counts);
  }

  /**
   * Stops every leecher (by PID, through the harness) and waits for the loops.
   * @returns When all have stopped.
   */
  async stop(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled(this.#loops);
  }

  /**
   * Same as {@linkcode HonestLeechers.stop}.
   * @returns When stopped.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
