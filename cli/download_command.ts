// `shoal download`, `shoal seed` and `shoal cat`: one Client, its torrents, and a display.

import { Client, type ClientOptions } from "../src/client/client.ts";
import type { AddOptions, Torrent, TorrentEvent } from "../src/client/torrent.ts";
import { type MagnetLink, parseMagnet } from "../src/metainfo/magnet.ts";
import { encodeTorrentFile } from "../src/metainfo/torrent_from_info.ts";
import type { Metainfo } from "../src/metainfo/types.ts";
import {
  CLIENT_OPTIONS,
  type ClientFlags,
  clientFlags,
  parse,
  parseFileList,
  parseNumber,
  printable,
  readTorrent,
  UsageError,
} from "./args.ts";
import { Display, type OutputMode } from "./display.ts";
import { formatBytes, formatDuration, formatRate } from "./format_units.ts";

/** Where the commands write. */
export interface CommandIo {
  /** Standard output. */
  readonly out: (text: string) => void;
  /** Standard error. */
  readonly err: (text: string) => void;
  /** `true` when standard output is a terminal. */
  readonly outIsTerminal: boolean;
  /** `true` when standard error is a terminal. */
  readonly errIsTerminal: boolean;
}

function outputMode(values: Record<string, unknown>, terminal: boolean): OutputMode {
  if (values.json) return "json";
  if (values.quiet) return "quiet";
  return terminal ? "bar" : "lines";
}

/** A .torrent file read (its warnings printed) or a magnet link parsed. */
async function readTarget(
  target: string,
  warn: (text: string) => void,
): Promise<Metainfo | MagnetLink> {
  if (target.startsWith("magnet:")) return parseMagnet(target);
  const metainfo = await readTorrent(target);
  for (const warning of metainfo.warnings) warn(`warning: ${printable(warning)}`);
  return metainfo;
}

function openClient(flags: ClientFlags, signal: AbortSignal): Client {
  const options: ClientOptions = {
    dir: flags.dir,
    port: flags.port,
    listenHost: flags.listenHost,
    maxPeers: flags.maxPeers,
    maxUploadRate: flags.maxUploadRate,
    maxDownloadRate: flags.maxDownloadRate,
    maxMemoryBytes: flags.maxMemoryBytes,
    trackerTimeoutMs: flags.trackerTimeoutMs,
    dht: flags.dht,
    dhtNodes: flags.dhtNodes,
    dhtReadOnly: flags.dhtReadOnly,
    stateDir: flags.stateDir,
    signal,
  };
  return new Client(options);
}

/** Which files a `--files` list selects, checked once the file count is known. */
function fileSelection(text: string | undefined): AddOptions["files"] {
  if (text === undefined) return undefined;
  parseFileList(text, Number.MAX_SAFE_INTEGER); // the syntax now; the range once files are known
  let chosen: Set<number> | undefined;
  return (file) => {
    chosen ??= new Set(parseFileList(text, Number.MAX_SAFE_INTEGER));
    return chosen.has(file.index);
  };
}

interface Outcome {
  torrent: Torrent;
  complete?: { seconds: number; downloaded: number };
  uploaded: number;
}

/**
 * `shoal download A.torrent B.torrent 'magnet:?...' ...`: one client, a progress line per
 * torrent and a total line; ends when every torrent is complete (and has seeded, if asked).
 * @param args The arguments after `download`.
 * @param signal Aborted on Ctrl-C.
 * @param io Where to write.
 * @returns The exit code.
 */
export async function commandDownload(
  args: string[],
  signal: AbortSignal,
  io: CommandIo,
): Promise<number> {
  const { values, positionals } = parse(args, {
    ...CLIENT_OPTIONS,
    seed: { type: "boolean" },
    "seed-ratio": { type: "string" },
    "seed-time": { type: "string" },
    files: { type: "string" },
    sequential: { type: "boolean" },
    "save-torrent": { type: "string" },
  });
  if (positionals.length === 0) {
    throw new UsageError("download needs a .torrent file or a magnet link");
  }
  const single = positionals.length === 1;
  if (!single && (values.files !== undefined || values.sequential || values["save-torrent"])) {
    throw new UsageError("--files, --sequential and --save-torrent apply to a single torrent");
  }
  const ratio = parseNumber(values["seed-ratio"] as string | undefined, "seed-ratio");
  const seconds = parseNumber(values["seed-time"] as string | undefined, "seed-time");
  const seed = ratio !== undefined || seconds !== undefined ? { ratio, seconds } : !!values.seed;
  const flags = clientFlags(values);
  const mode = outputMode(values, io.outIsTerminal);
  const targets = [];
  for (const target of positionals) {
    targets.push(await readTarget(target, (l) => mode !== "json" && io.out(l + "\n")));
  }
  if (values.files !== undefined && "files" in targets[0]) {
    parseFileList(values.files as string, targets[0].files.filter((f) => !f.padding).length);
  }
  const display = new Display(mode, io.out);
  await using client = openClient(flags, signal);
  const outcomes: Outcome[] = [];
  const watching: Promise<void>[] = [];
  for (const target of targets) {
    const torrent = await client.add(target, {
      files: fileSelection(values.files as string | undefined),
      sequential: !!values.sequential,
      seed,
      peers: flags.peers,
      trackers: flags.trackers,
    });
    const outcome: Outcome = { torrent, uploaded: 0 };
    outcomes.push(outcome);
    const saveTo = values["save-torrent"] as string | undefined;
    watching.push(display.watch(torrent, (event) => {
      if (event.type === "complete") outcome.complete = event;
      if (event.type === "progress") outcome.uploaded = event.uploaded;
      if (saveTo && (event.type === "metainfo" || event.type === "ready") && torrent.metainfo) {
        saveTorrent(saveTo, torrent.metainfo, target, display).catch(() => {});
      }
    }));
  }
  const ended = Promise.all(outcomes.map((o) => untilEnded(o.torrent, seed === true)));
  await Promise.race([ended, aborted(signal)]);
  display.finish();
  await client.close();
  await Promise.allSettled(watching);
  if (signal.aborted) {
    if (mode !== "json") {
      for (const { torrent } of outcomes) {
        if (torrent.progress >= 1) continue;
        const pieces = torrent.metainfo?.pieceCount ?? 0;
        const have = countBits(torrent.pieces());
        io.out(
          `stopped: ${have} of ${pieces} pieces verified and saved in ${
            printable(flags.dir)
          }; run the same command to resume\n`,
        );
      }
    }
    return 130;
  }
  let failed = 0;
  for (const { torrent, complete, uploaded } of outcomes) {
    if (torrent.state === "error") {
      io.err(`shoal: ${printable(torrent.name)}: ${printable(torrent.error ?? "failed")}\n`);
      failed++;
      continue;
    }
    if (!complete && torrent.progress < 1) {
      const pieces = torrent.metainfo?.pieceCount ?? 0;
      io.err(
        `shoal: The download ended before completing (${
          countBits(torrent.pieces())
        } of ${pieces} pieces)\n`,
      );
      failed++;
      continue;
    }
    if (mode === "json" || mode === "quiet" && !complete) continue;
    const secs = complete?.seconds ?? 0;
    const rate = secs > 0 ? (complete?.downloaded ?? 0) / secs : 0;
    io.out(
      `done: ${printable(torrent.name)} (${formatBytes(torrent.stats().selectedBytes)}) in ${
        formatDuration(secs)
      }, ${formatRate(rate)} average, ${formatBytes(uploaded)} uploaded\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}

/** Resolves when a torrent has finished its work: complete (and seeded), or failed. */
function untilEnded(torrent: Torrent, seedForever: boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const state = torrent.state;
      if (state === "error" || state === "stopped" || (state === "completed" && !seedForever)) {
        resolve();
        return true;
      }
      return false;
    };
    if (check()) return;
    (async () => {
      for await (const event of torrent.events()) {
        if (event.type === "state" && check()) return;
      }
      resolve();
    })();
  });
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

function countBits(bytes: Uint8Array): number {
  let n = 0;
  for (let byte of bytes) {
    while (byte) {
      n += byte & 1;
      byte >>= 1;
    }
  }
  return n;
}

async function saveTorrent(
  path: string,
  metainfo: Metainfo,
  target: Metainfo | MagnetLink,
  display: Display,
): Promise<void> {
  const trackers = "trackers" in target ? target.trackers : metainfo.announce.flat();
  try {
    await Deno.writeFile(path, encodeTorrentFile(metainfo.infoBytes, trackers));
  } catch (error) {
    display.line(
      `warning: Cannot write ${printable(path)}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/**
 * `shoal seed <file.torrent>`: checks the data, refuses when a piece is missing, then seeds
 * until Ctrl-C.
 * @param args The arguments after `seed`.
 * @param signal Aborted on Ctrl-C.
 * @param io Where to write.
 * @returns The exit code.
 */
export async function commandSeed(
  args: string[],
  signal: AbortSignal,
  io: CommandIo,
): Promise<number> {
  const { values, positionals } = parse(args, CLIENT_OPTIONS);
  if (positionals.length !== 1) throw new UsageError("seed needs one .torrent file");
  const mode = outputMode(values, io.outIsTerminal);
  const metainfo = await readTorrent(positionals[0]);
  if (mode !== "json") { for (const w of metainfo.warnings) io.out(`warning: ${printable(w)}\n`); }
  const flags = clientFlags(values);
  const display = new Display(mode, io.out);
  await using client = openClient(flags, signal);
  const torrent = await client.add(metainfo, {
    seed: true,
    requireComplete: true,
    peers: flags.peers,
    trackers: flags.trackers,
  });
  let uploaded = 0;
  const watching = display.watch(torrent, (event) => {
    if (event.type === "progress") uploaded = event.uploaded;
  });
  await Promise.race([untilEnded(torrent, true), aborted(signal)]);
  display.finish();
  const error = torrent.state === "error" ? torrent.error : undefined;
  await client.close();
  await watching;
  if (error) throw new Error(error);
  if (mode !== "json") {
    io.out(`stopped seeding ${printable(metainfo.name)}: ${formatBytes(uploaded)} uploaded\n`);
  }
  return signal.aborted ? 130 : 0;
}

/**
 * `shoal cat <torrent|magnet> <file index|path>`: writes one file to standard output, in
 * order, while it downloads (progress goes to standard error). A closed standard output stops
 * it cleanly.
 * @param args The arguments after `cat`.
 * @param signal Aborted on Ctrl-C.
 * @param io Where to write (progress goes to `err`).
 * @returns The exit code.
 */
export async function commandCat(
  args: string[],
  signal: AbortSignal,
  io: CommandIo,
): Promise<number> {
  const { values, positionals } = parse(args, CLIENT_OPTIONS);
  if (positionals.length !== 2) {
    throw new UsageError("cat needs a torrent and a file (index or path)");
  }
  const [source, which] = positionals;
  const target = await readTarget(source, (l) => io.err(l + "\n"));
  const flags = clientFlags(values);
  const isIndex = /^\d+$/.test(which);
  const wanted = (file: { index: number; path: string }) =>
    isIndex ? file.index === Number(which) : file.path === which;
  if ("files" in target) {
    const listed = target.files.filter((f) => !f.padding).map((f, index) => ({
      index,
      path: f.path.join("/"),
    }));
    if (!listed.some(wanted)) {
      throw new UsageError(`cat: the torrent has no file ${JSON.stringify(which)}`);
    }
  }
  const display = new Display(values.quiet ? "quiet" : io.errIsTerminal ? "bar" : "lines", io.err);
  await using client = openClient(flags, signal);
  const torrent = await client.add(target, {
    files: wanted,
    seed: false,
    peers: flags.peers,
    trackers: flags.trackers,
  });
  const watching = display.watch(torrent);
  try {
    await untilKnown(torrent, signal);
    const file = torrent.files.find(wanted);
    if (!file) throw new Error(`The torrent has no file ${JSON.stringify(which)}`);
    const reader = file.stream({ signal }).getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        try {
          await writeAllStdout(value);
        } catch (error) {
          if (error instanceof Deno.errors.BrokenPipe) return 0; // the reader went away
          throw error;
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  } catch (error) {
    if (signal.aborted) return 130;
    throw error;
  } finally {
    display.finish();
    await client.close();
    await watching;
  }
  return 0;
}

async function writeAllStdout(bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await Deno.stdout.write(bytes.subarray(done));
}

/** Waits until a magnet's metadata is known (at once for a .torrent). */
async function untilKnown(torrent: Torrent, signal: AbortSignal): Promise<void> {
  if (torrent.metainfo) return;
  for await (const event of torrent.events()) {
    if (torrent.metainfo) return;
    if (signal.aborted) throw signal.reason;
    if (event.type === "error") throw new Error(event.message);
  }
  if (!torrent.metainfo) {
    throw new Error(torrent.error ?? "The torrent stopped before its metadata came");
  }
}

export type { TorrentEvent };
