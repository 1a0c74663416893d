/**
 * The `shoal` command line: `info`, `create`, `download`, `seed`, `verify` and `demo`.
 * This is the only file that prints or exits.
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { parseMagnet } from "./src/metainfo/magnet.ts";
import { parseTorrent } from "./src/metainfo/parse_torrent.ts";
import type { Metainfo } from "./src/metainfo/types.ts";
import type { SessionEvent } from "./src/session/events.ts";
import { formatBytes, formatDuration, formatRate, renderBar } from "./cli/format_units.ts";
import { runDemo } from "./cli/run_demo.ts";
import { TorrentSession, type TorrentSessionOptions } from "./src/session/torrent_session.ts";
import { HashPool } from "./src/sha1/hash_pool.ts";
import { checkPieces } from "./src/storage/check_pieces.ts";
import { createTorrent } from "./src/storage/create_torrent.ts";
import { TorrentStorage } from "./src/storage/torrent_storage.ts";
import { formatPeerAddress, type PeerAddress } from "./src/wire/peer_address.ts";
import { VERSION } from "./src/version.ts";

const USAGE = `shoal ${VERSION}: a BitTorrent client for Deno

Usage:
  shoal info <file.torrent | magnet:?...> [--json]
  shoal create <path> [--tracker URL]... [--piece-length BYTES] [--private] [--comment TEXT] -o <out.torrent>
  shoal download <file.torrent> [-o DIR] [--peer HOST:PORT]... [--no-trackers]
                 [--seed] [--seed-ratio R] [--seed-time SECONDS] [COMMON...]
  shoal seed <file.torrent> [-o DIR] [--peer HOST:PORT]... [--no-trackers] [COMMON...]
  shoal verify <file.torrent> [-o DIR] [--json]
  shoal demo

COMMON: [--port N] [--listen-host ADDR] [--max-peers N] [--max-up RATE] [--max-down RATE]
        [--json] [--quiet]
  --port        TCP port for incoming peers (default 6881, or the next free one; 0 for any)
  --listen-host address to listen on (default 0.0.0.0; 127.0.0.1 keeps it on this machine)
  --json        one JSON event per line instead of a progress bar
RATE is bytes per second, with an optional k, m or g suffix (powers of 1024).
Exit codes: 0 success, 1 error or incomplete data (verify), 2 bad usage, 130 interrupted.`;

/** A problem with the command line itself (exit code 2). */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const encoder = new TextEncoder();
function write(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}
function line(text = ""): void {
  write(text + "\n");
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Escapes control characters (newlines, ESC, BEL...) in text from a torrent, a magnet link,
 * a tracker or an error, so that it prints as one line and cannot drive the terminal.
 */
function printable(text: string): string {
  return text.replace(
    CONTROL_CHARACTERS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(
  args: string[],
  options: ParseArgsConfig["options"],
): { values: ParsedValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedValues, positionals };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseCount(text: string | undefined, name: string, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)([kmg]?)(i?b?)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`--${name} needs a number, got "${text}"`);
  const scale = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase()] ?? 1;
  const value = Number(match[1]) * scale;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} is out of range: ${text}`);
  }
  return value;
}

function parseNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${name} needs a non-negative number, got "${text}"`);
  }
  return value;
}

function parsePeer(text: string): PeerAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new UsageError(`--peer needs HOST:PORT, got "${text}"`);
  }
  return { host: match[1] ?? match[2], port };
}

async function readTorrent(path: string | undefined): Promise<Metainfo> {
  if (!path) throw new UsageError("a .torrent file is required");
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`Cannot read ${path}: no such file`);
    if (error instanceof Deno.errors.IsADirectory) {
      throw new Error(`Cannot read ${path}: it is a folder`);
    }
    throw new Error(`Cannot read ${path}: ${error instanceof Error ? error.message : error}`);
  }
  return parseTorrent(bytes);
}

// ---- info ----------------------------------------------------------------------------------

async function commandInfo(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: "boolean" } });
  const target = positionals[0];
  if (!target) throw new UsageError("info needs a .torrent file or a magnet link");
  if (target.startsWith("magnet:")) {
    const link = parseMagnet(target);
    if (values.json) {
      line(JSON.stringify({ ...link, infoHash: link.infoHashHex, infoHashHex: undefined }));
      return 0;
    }
    line(`name:       ${link.name === undefined ? "(not given)" : printable(link.name)}`);
    line(`info hash:  ${link.infoHashHex}`);
    line(
      `trackers:   ${
        link.trackers.length === 0 ? "none" : link.trackers.map(printable).join("\n            ")
      }`,
    );
    if (link.peers.length > 0) {
      line(`peers:      ${printable(link.peers.map(formatPeerAddress).join(", "))}`);
    }
    if (link.webSeeds.length > 0) {
      line(`web seeds:  ${link.webSeeds.map(printable).join("\n            ")}`);
    }
    return 0;
  }
  const meta = await readTorrent(target);
  const files = meta.files.filter((f) => !f.padding);
  if (values.json) {
    line(JSON.stringify({
      name: meta.name,
      infoHash: meta.infoHashHex,
      totalBytes: meta.totalLength,
      pieceLength: meta.pieceLength,
      pieceCount: meta.pieceCount,
      private: meta.private,
      trackers: meta.announce,
      webSeeds: meta.urlList,
      comment: meta.comment,
      createdBy: meta.createdBy,
      creationDate: meta.creationDate,
      files: files.map((f) => ({ path: f.path.join("/"), length: f.length })),
    }));
    return 0;
  }
  line(`name:        ${printable(meta.name)}`);
  line(`info hash:   ${meta.infoHashHex}`);
  line(
    `size:        ${formatBytes(meta.totalLength)} (${
      meta.totalLength.toLocaleString("en-US")
    } bytes)`,
  );
  line(
    `pieces:      ${meta.pieceCount.toLocaleString("en-US")} x ${formatBytes(meta.pieceLength)}`,
  );
  line(`private:     ${meta.private ? "yes" : "no"}`);
  if (meta.comment) line(`comment:     ${printable(meta.comment)}`);
  if (meta.createdBy) line(`created by:  ${printable(meta.createdBy)}`);
  if (meta.creationDate !== undefined) {
    line(`created:     ${new Date(meta.creationDate * 1000).toISOString().replace(".000Z", "Z")}`);
  }
  if (meta.announce.length === 0) line("trackers:    none");
  meta.announce.forEach((tier, i) =>
    line(
      `${i === 0 ? "trackers:    " : "             "}tier ${i + 1}: ${printable(tier.join(", "))}`,
    )
  );
  if (meta.urlList.length > 0) line(`web seeds:   ${printable(meta.urlList.join(", "))}`);
  line(`files:       ${files.length}`);
  for (const entry of fileTree(files.map((f) => ({ path: f.path, length: f.length })))) {
    line(`  ${entry}`);
  }
  return 0;
}

/** Renders file paths as an indented tree, folders first seen first. */
function fileTree(files: { path: readonly string[]; length: number }[]): string[] {
  const out: string[] = [];
  const open: string[] = [];
  for (const file of files) {
    let common = 0;
    while (
      common < open.length && common < file.path.length - 1 && open[common] === file.path[common]
    ) common++;
    open.length = common;
    for (let depth = common; depth < file.path.length - 1; depth++) {
      out.push(`${"  ".repeat(depth)}${printable(file.path[depth])}/`);
      open.push(file.path[depth]);
    }
    const depth = file.path.length - 1;
    out.push(`${"  ".repeat(depth)}${printable(file.path[depth])}  (${formatBytes(file.length)})`);
  }
  return out;
}

// ---- create --------------------------------------------------------------------------------

async function commandCreate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    tracker: { type: "string", multiple: true, short: "t" },
    "piece-length": { type: "string" },
    private: { type: "boolean" },
    comment: { type: "string" },
    output: { type: "string", short: "o" },
    "web-seed": { type: "string", multiple: true },
  });
  const source = positionals[0];
  if (!source) throw new UsageError("create needs a file or folder");
  const output = values.output as string | undefined;
  if (!output) throw new UsageError("create needs -o <out.torrent>");
  const trackers = (values.tracker as string[] | undefined) ?? [];
  for (const url of trackers) {
    if (!/^(https?|udp):\/\/[^\s]+$/i.test(url)) {
      throw new UsageError(`--tracker needs an http(s) or udp URL, got "${url}"`);
    }
  }
  const pieceLength = parseCount(
    values["piece-length"] as string | undefined,
    "piece-length",
    16384,
  );
  if (pieceLength !== undefined && (pieceLength & (pieceLength - 1)) !== 0) {
    throw new UsageError("--piece-length must be a power of two of at least 16 KiB");
  }
  const bar = Deno.stdout.isTerminal();
  const started = performance.now();
  const bytes = await createTorrent(source, {
    trackers: trackers.map((url) => [url]),
    pieceLength,
    private: values.private as boolean | undefined,
    comment: values.comment as string | undefined,
    urlList: values["web-seed"] as string[] | undefined,
    onProgress: bar
      ? (done, total) =>
        write(`\r\x1b[2Khashing ${renderBar(done / total, 30)} ${(100 * done / total).toFixed(1)}%`)
      : undefined,
  });
  if (bar) write("\r\x1b[2K");
  await Deno.writeFile(output, bytes);
  const meta = parseTorrent(bytes);
  const seconds = (performance.now() - started) / 1000;
  line(
    `created ${output}: ${meta.name}, ${
      formatBytes(meta.totalLength)
    }, ${meta.pieceCount} pieces of ${
      formatBytes(meta.pieceLength)
    }, info hash ${meta.infoHashHex} (${seconds.toFixed(1)} s)`,
  );
  return 0;
}

// ---- download and seed ---------------------------------------------------------------------

interface Display {
  event(event: SessionEvent): void;
  finish(): void;
}

function makeDisplay(meta: Metainfo, mode: "json" | "quiet" | "bar" | "lines"): Display {
  let lastLineAt = 0;
  let drawn = false;
  return {
    event(event) {
      if (mode === "json") return line(JSON.stringify(event));
      if (mode === "quiet") return;
      if (event.type === "warning") {
        if (drawn) write("\r\x1b[2K");
        line(`warning: ${printable(event.message)}`);
        return;
      }
      if (event.type === "checking" && mode === "bar") {
        write(
          `\r\x1b[2Kchecking ${
            renderBar(event.checked / event.total, 30)
          } ${event.checked}/${event.total}`,
        );
        drawn = true;
      }
      if (event.type !== "progress") return;
      const fraction = event.totalBytes === 0 ? 1 : event.haveBytes / event.totalBytes;
      const eta = event.downRate > 0
        ? (event.totalBytes - event.haveBytes) / event.downRate
        : Infinity;
      const text = event.seeding
        ? `seeding ${meta.name}  ↑ ${formatRate(event.upRate)}  uploaded ${
          formatBytes(event.uploaded)
        }  ratio ${
          (event.uploaded / Math.max(1, meta.totalLength)).toFixed(2)
        }  peers ${event.peers}/${event.knownPeers}`
        : `${renderBar(fraction, 24)} ${(fraction * 100).toFixed(1).padStart(5)}%  ↓ ${
          formatRate(event.downRate).padStart(10)
        }  ↑ ${formatRate(event.upRate).padStart(10)}  ETA ${
          formatDuration(eta)
        }  peers ${event.peers}/${event.knownPeers}`;
      if (mode === "bar") {
        write(`\r\x1b[2K${text}`);
        drawn = true;
      } else if (performance.now() - lastLineAt > 5_000) {
        lastLineAt = performance.now();
        line(text);
      }
    },
    finish() {
      if (drawn) write("\r\x1b[2K");
    },
  };
}

async function runSession(
  meta: Metainfo,
  options: TorrentSessionOptions,
  mode: "json" | "quiet" | "bar" | "lines",
): Promise<
  { completed: boolean; seconds: number; downloaded: number; uploaded: number; have?: number }
> {
  const display = makeDisplay(meta, mode);
  const session = new TorrentSession(meta, options);
  let completed = false, seconds = 0, downloaded = 0, uploaded = 0;
  let have: number | undefined;
  try {
    for await (const event of session.run()) {
      display.event(event);
      if (event.type === "complete") {
        completed = true;
        seconds = event.seconds;
        downloaded = event.downloaded;
      }
      if (event.type === "progress") {
        uploaded = event.uploaded;
        have = event.have;
      }
      if (event.type === "stopped") have = event.have;
    }
  } finally {
    display.finish();
  }
  return { completed, seconds, downloaded, uploaded, have };
}

function outputMode(values: Record<string, unknown>): "json" | "quiet" | "bar" | "lines" {
  if (values.json) return "json";
  if (values.quiet) return "quiet";
  return Deno.stdout.isTerminal() ? "bar" : "lines";
}

const SESSION_OPTIONS = {
  output: { type: "string", short: "o" },
  port: { type: "string" },
  "listen-host": { type: "string" },
  "max-peers": { type: "string" },
  peer: { type: "string", multiple: true },
  "max-up": { type: "string" },
  "max-down": { type: "string" },
  "no-trackers": { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
} as const;

function sessionOptions(
  values: Record<string, unknown>,
  signal: AbortSignal,
): TorrentSessionOptions {
  const port = parseCount(values.port as string | undefined, "port");
  if (port !== undefined && port > 65535) {
    throw new UsageError(`--port must be 0..65535, got ${port}`);
  }
  return {
    dir: (values.output as string | undefined) ?? ".",
    port,
    listenHost: values["listen-host"] as string | undefined,
    maxPeers: parseCount(values["max-peers"] as string | undefined, "max-peers", 1),
    peers: ((values.peer as string[] | undefined) ?? []).map(parsePeer),
    maxUploadRate: parseCount(values["max-up"] as string | undefined, "max-up"),
    maxDownloadRate: parseCount(values["max-down"] as string | undefined, "max-down"),
    trackers: !values["no-trackers"],
    signal,
  };
}

async function commandDownload(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, {
    ...SESSION_OPTIONS,
    seed: { type: "boolean" },
    "seed-ratio": { type: "string" },
    "seed-time": { type: "string" },
  });
  const meta = await readTorrent(positionals[0]);
  const ratio = parseNumber(values["seed-ratio"] as string | undefined, "seed-ratio");
  const seconds = parseNumber(values["seed-time"] as string | undefined, "seed-time");
  const seed = ratio !== undefined || seconds !== undefined ? { ratio, seconds } : !!values.seed;
  const mode = outputMode(values);
  const options = sessionOptions(values, signal);
  const result = await runSession(meta, { ...options, seed }, mode);
  if (signal.aborted) {
    if (mode !== "json" && !result.completed) {
      line(
        `stopped: ${result.have ?? 0} of ${meta.pieceCount} pieces verified and saved in ${
          printable(options.dir)
        }; run the same command to resume`,
      );
    }
    return 130;
  }
  if (!result.completed) {
    throw new Error(
      `The download ended before completing (${result.have ?? 0} of ${meta.pieceCount} pieces)`,
    );
  }
  if (mode !== "json" && result.completed) {
    const rate = result.seconds > 0 ? result.downloaded / result.seconds : 0;
    line(
      `done: ${meta.name} (${formatBytes(meta.totalLength)}) in ${
        formatDuration(result.seconds)
      }, ${formatRate(rate)} average, ${formatBytes(result.uploaded)} uploaded`,
    );
  }
  return result.completed ? 0 : 1;
}

async function commandSeed(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, SESSION_OPTIONS);
  const meta = await readTorrent(positionals[0]);
  const mode = outputMode(values);
  const result = await runSession(meta, {
    ...sessionOptions(values, signal),
    seed: true,
    requireComplete: true,
  }, mode);
  if (mode !== "json") {
    line(`stopped seeding ${meta.name}: ${formatBytes(result.uploaded)} uploaded`);
  }
  return signal.aborted ? 130 : 0;
}

async function commandVerify(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(args, {
    output: { type: "string", short: "o" },
    json: { type: "boolean" },
  });
  const meta = await readTorrent(positionals[0]);
  const dir = (values.output as string | undefined) ?? ".";
  const bar = !values.json && Deno.stdout.isTerminal();
  await using pool = new HashPool();
  await using storage = await TorrentStorage.open(meta, dir);
  const have = await checkPieces(meta, storage, {
    hash: async (data) => (await pool.hash(data)).digest,
    signal,
    onProgress: bar
      ? (checked, total) =>
        write(`\r\x1b[2Kchecking ${renderBar(checked / total, 30)} ${checked}/${total}`)
      : undefined,
  });
  if (bar) write("\r\x1b[2K");
  if (values.json) {
    line(
      JSON.stringify({
        infoHash: meta.infoHashHex,
        valid: have.count,
        pieceCount: have.size,
        complete: have.complete,
      }),
    );
  } else {
    line(
      `${meta.name}: ${have.count} of ${have.size} pieces valid${
        have.complete ? " (complete)" : ""
      }`,
    );
  }
  return have.complete ? 0 : 1;
}

// ---- entry ---------------------------------------------------------------------------------

/**
 * Runs the shoal command line with the given arguments.
 * @param args Command-line arguments, without the program name.
 * @param signal Aborted on Ctrl-C; commands stop cleanly and return 130.
 * @returns The process exit code.
 * @example
 * ```ts ignore
 * import { main } from "@shoal/shoal/cli";
 * Deno.exit(await main(["info", "file.torrent"]));
 * ```
 */
export async function main(
  args: string[],
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "info":
        return await commandInfo(rest);
      case "create":
        return await commandCreate(rest);
      case "download":
        return await commandDownload(rest, signal);
      case "seed":
        return await commandSeed(rest, signal);
      case "verify":
        return await commandVerify(rest, signal);
      case "demo":
        return await runDemo({ signal, write, interactive: Deno.stdout.isTerminal() });
      case "version":
      case "--version":
        line(`shoal ${VERSION}`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        line(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (signal.aborted) return 130;
    if (error instanceof UsageError) {
      console.error(`shoal: ${printable(error.message)}\nRun "shoal help" for usage.`);
      return 2;
    }
    console.error(`shoal: ${printable(error instanceof Error ? error.message : String(error))}`);
    if (Deno.env.get("SHOAL_DEBUG") && error instanceof Error) console.error(error.stack);
    return 1;
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  const code = await main(Deno.args, controller.signal);
  Deno.exit(code);
}
