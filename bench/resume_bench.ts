// Resume after a crash: a 1 GiB download killed (SIGKILL) at 50% of its pieces, then started
// again. Issue 10: the restart hashes at most the pieces written since the last flush, and its
// `ready` event (in `--json` output) reports how many (`hashed`) and how many it took from the
// resume data (`trusted`). For comparison, the same restart with the resume data deleted (a
// full re-check).
//
//   seeder:   libtorrent (python3-libtorrent, tests/interop/harness.ts) seeding random data
//   download: deno run -A cli.ts download T -o DIR --peer 127.0.0.1:PORT --json --no-dht
//             --no-trackers --port 0 --listen-host 127.0.0.1 --state-dir S
//
// Between the kill and the restart it reads the resume file and the piece journal with the
// project's own readers (src/storage): the pieces the resume file vouches for were flushed,
// the journal lists those written since (the ones a restart must hash).
// Run: deno run -A bench/resume_bench.ts [--size-mib 1024] [--piece-kib N] [--kill-at 0.5]
//      [--dir D] [--json]
// Needs about 2x the size free in the work folder (a temporary folder by default).
import { parseArgs } from "node:util";
import { createTorrent, parseTorrent } from "@shoal/shoal";
import { readJournal, readResume } from "@shoal/shoal/storage";
import { journalPath } from "../src/storage/open_torrent_data.ts";
import { RESUME_FOLDER } from "../src/storage/resume.ts";
import { SYNC_EVERY_BYTES } from "../src/storage/resume_writer.ts";
import { writeRandomFile } from "./soak_payload.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Life limit of the first (killed) download run. */
const DOWNLOAD_LIMIT_MS = 300_000;
/** Life limit of a restart, up to its `ready` event. */
const RESTART_LIMIT_MS = 180_000;
/** Life limit of the libtorrent seeder. */
const SEEDER_LIMIT_MS = 900_000;

/** One JSON event of the CLI, as printed with `--json`. */
type CliEvent = { type?: string } & Record<string, unknown>;

/** A `shoal download --json` run: its events, line by line, and a kill by PID. */
class CliRun {
  readonly child: Deno.ChildProcess;
  readonly startedMs = performance.now();
  readonly stderr: Promise<string>;
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string | undefined) => void)[] = [];
  readonly #pump: Promise<void>;
  readonly #timer: ReturnType<typeof setTimeout>;
  #done = false;
  #killed = false;

  constructor(args: string[], limitMs: number) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}cli.ts`, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.stderr = new Response(this.child.stderr).text().catch(() => "");
    this.#pump = this.#read();
    this.#timer = setTimeout(() => this.kill(), limitMs);
  }

  async #read(): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          this.#push(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
      }
    } catch {
      // the pipe closed
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

  /** The next event, or `undefined` once the output ends. Lines that are not JSON are skipped. */
  async next(): Promise<CliEvent | undefined> {
    while (true) {
      const line = this.#lines.length > 0
        ? this.#lines.shift()
        : this.#done
        ? undefined
        : await new Promise<string | undefined>((resolve) => this.#waiters.push(resolve));
      if (line === undefined) return undefined;
      try {
        return JSON.parse(line) as CliEvent;
      } catch {
        // not an event
      }
    }
  }

  /** SIGKILL by PID (once). */
  kill(): void {
    if (this.#killed) return;
    this.#killed = true;
    try {
      Deno.kill(this.child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Kills it if still running, and waits for it and its pipes. */
  async close(): Promise<Deno.CommandStatus> {
    this.kill();
    clearTimeout(this.#timer);
    const status = await this.child.status;
    await this.#pump;
    await this.stderr;
    return status;
  }
}

async function sync(): Promise<void> {
  await new Deno.Command("sync").output();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "size-mib": { type: "string", default: "1024" },
      "piece-kib": { type: "string" },
      "kill-at": { type: "string", default: "0.5" },
      dir: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const size = Number(values["size-mib"]) * 1024 * 1024;
  const killAt = Number(values["kill-at"]);
  const log = (text: string): void => (values.json ? console.error : console.log)(text);
  // Imported here, not at the top: `deno bench bench/` loads this file and must not make the
  // harness's state folder.
  const { startLibtorrent } = await import("../tests/interop/harness.ts");
  const work = values.dir ?? await Deno.makeTempDir({ prefix: "shoal-resume-bench-" });
  const seedDir = `${work}/seed`;
  const out = `${work}/out`;
  const state = `${work}/state`;
  const torrentPath = `${work}/resume.torrent`;
  const runs: CliRun[] = [];
  try {
    await Deno.mkdir(seedDir, { recursive: true });
    const payload = `${seedDir}/resume.bin`;
    const t = performance.now();
    await writeRandomFile(payload, size);
    const pieceKib = values["piece-kib"];
    const torrentBytes = await createTorrent(payload, {
      pieceLength: pieceKib ? Number(pieceKib) * 1024 : undefined,
    });
    await Deno.writeFile(torrentPath, torrentBytes);
    const meta = parseTorrent(torrentBytes);
    const total = meta.pieceCount;
    log(
      `payload ${size / 1024 / 1024} MiB, ${total} pieces of ${meta.pieceLength / 1024} KiB ` +
        `(written and hashed in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
    );

    await using seeder = await startLibtorrent({
      torrent: torrentPath,
      dir: seedDir,
      seed: true,
      timeoutMs: SEEDER_LIMIT_MS,
    });
    const args = [
      "download",
      torrentPath,
      "-o",
      out,
      "--peer",
      `127.0.0.1:${seeder.port}`,
      "--json",
      "--no-dht",
      "--no-trackers",
      "--port",
      "0",
      "--listen-host",
      "127.0.0.1",
      "--state-dir",
      state,
    ];

    // 1. Download, and SIGKILL it once `piece` events reach `killAt` of the pieces.
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.remove(state, { recursive: true }).catch(() => {});
    await sync();
    const first = new CliRun(args, DOWNLOAD_LIMIT_MS);
    runs.push(first);
    const verified = new Set<number>();
    const target = Math.ceil(total * killAt);
    let killedAtMs = 0;
    while (true) {
      const event = await first.next();
      if (!event) break;
      if (event.type === "piece") verified.add(Number(event.index));
      if (event.type === "complete") break;
      if (verified.size >= target && killedAtMs === 0) {
        first.kill();
        killedAtMs = performance.now() - first.startedMs;
        // Keep reading: events printed before the kill are still in the pipe.
      }
    }
    const firstStatus = await first.close();
    if (killedAtMs === 0) {
      throw new Error(
        `The download ended before ${target} pieces (exit ${firstStatus.code}): ${await first
          .stderr}`,
      );
    }
    const verifiedBeforeKill = verified.size;
    log(
      `run 1: killed (SIGKILL) after ${(killedAtMs / 1000).toFixed(1)} s at ${target} piece ` +
        `events; ${verifiedBeforeKill} pieces verified in all before it died`,
    );

    // What the crash left: the resume file (flushed pieces) and the journal (written since).
    const record = await readResume(out, meta);
    const journal = await readJournal(journalPath(out, meta), total);
    const flushed = record?.have.count ?? 0;
    const writtenSinceFlush = verifiedBeforeKill - flushed;
    const journalOutsideRecord = journal.filter((i) => !record?.have.has(i)).length;
    // Set order is arrival order: where in the run were the pieces that nothing recorded?
    const order = [...verified];
    const unrecorded = order.filter((i) => !record?.have.has(i) && !journal.includes(i));
    const unrecordedAt = unrecorded.map((i) => order.indexOf(i) + 1);
    log(
      `after the kill: resume file vouches for ${flushed} pieces (flushed); ` +
        `${writtenSinceFlush} verified since; journal lists ${journal.length} ` +
        `(${journalOutsideRecord} not in the resume file); ${unrecorded.length} verified pieces ` +
        `in neither (SYNC_EVERY_BYTES = ${SYNC_EVERY_BYTES / 1024 / 1024} MiB = ${
          Math.round(SYNC_EVERY_BYTES / meta.pieceLength)
        } pieces)`,
    );
    if (unrecorded.length > 0) {
      log(`  in neither: the ${unrecordedAt.join(", ")}th pieces verified (of ${order.length})`);
    }

    // 2. and 3. Restart with the resume data, then again without it: time to `ready`.
    const restart = async (label: string): Promise<Record<string, number>> => {
      await sync();
      const run = new CliRun(args, RESTART_LIMIT_MS);
      runs.push(run);
      let ready: CliEvent | undefined;
      while (!ready) {
        const event = await run.next();
        if (!event) break;
        if (event.type === "ready") ready = event;
      }
      const readyMs = performance.now() - run.startedMs;
      await run.close();
      if (!ready) throw new Error(`${label}: no ready event: ${await run.stderr}`);
      const result = {
        have: Number(ready.have),
        trusted: Number(ready.trusted),
        hashed: Number(ready.hashed),
        checkMs: Math.round(readyMs),
      };
      log(
        `${label}: ready after ${result.checkMs} ms: ${result.have} of ${total} pieces here, ` +
          `${result.trusted} trusted from resume data, ${result.hashed} hashed`,
      );
      return result;
    };
    const resumed = await restart("restart with resume data");
    // The restart saved fresh resume data; remove it for the full re-check.
    await Deno.remove(`${out}/${RESUME_FOLDER}`, { recursive: true });
    const full = await restart("restart without resume data (full re-check)");

    const result = {
      sizeBytes: size,
      pieceLength: meta.pieceLength,
      piecesTotal: total,
      killAtPieces: target,
      verifiedBeforeKill,
      flushedBeforeKill: flushed,
      writtenSinceFlush,
      journalEntries: journal.length,
      verifiedButUnrecorded: unrecorded.length,
      verifiedButUnrecordedAt: unrecordedAt,
      resumed,
      full,
      hashedWithinBound: resumed.hashed <= Math.max(writtenSinceFlush, journalOutsideRecord),
      lostByRestart: verifiedBeforeKill - resumed.have,
    };
    log("");
    log(`pieces total                 ${total}`);
    log(`verified before the kill     ${verifiedBeforeKill}`);
    log(
      `flushed (in the resume file) ${flushed}; written since the last flush ${writtenSinceFlush}`,
    );
    log(
      `restart, resume data         trusted ${resumed.trusted}, hashed ${resumed.hashed}, ` +
        `have ${resumed.have}, check ${resumed.checkMs} ms`,
    );
    log(
      `restart, no resume data      trusted ${full.trusted}, hashed ${full.hashed}, ` +
        `have ${full.have}, check ${full.checkMs} ms`,
    );
    log(
      `hashed <= written since flush: ${result.hashedWithinBound}; verified pieces the restart ` +
        `lost: ${result.lostByRestart}`,
    );
    if (values.json) console.log(JSON.stringify(result));
  } finally {
    await Promise.allSettled(runs.map((run) => run.close()));
    if (!values.dir) await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
