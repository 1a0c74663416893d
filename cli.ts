/**
 * The `shoal` command line: `info`, `create`, `download`, `seed`, `cat`, `verify`, `dht` and
 * `demo`. This file and the helpers in `cli/` are the only code that prints or
 * exits.
 * @module
 */

import { printable, UsageError } from "./cli/args.ts";
import { commandCreate, commandVerify } from "./cli/create_verify_command.ts";
import { commandDht } from "./cli/dht_command.ts";
import {
  commandCat,
  commandDownload,
  type CommandIo,
  commandSeed,
} from "./cli/download_command.ts";
import { commandInfo } from "./cli/info_command.ts";
import { runDemo } from "./cli/run_demo.ts";
import { VERSION } from "./src/version.ts";
import { errorMessage } from "./src/util/printable.ts";

const USAGE = `shoal ${VERSION}: a BitTorrent client for Deno

Usage:
  shoal info <file.torrent | magnet:?...> [--json] [--fetch [--peer HOST:PORT]... [--dht-node HOST:PORT]...]
  shoal create <path> [--tracker URL]... [--piece-length BYTES] [--private] [--comment TEXT] -o <out.torrent>
  shoal download <file.torrent | magnet:?...>... [-o DIR] [--files 0,2-4] [--sequential]
                 [--save-torrent FILE] [--seed] [--seed-ratio R] [--seed-time SECONDS] [COMMON...]
  shoal seed <file.torrent> [-o DIR] [COMMON...]
  shoal cat <file.torrent | magnet:?...> <file index | path> [-o DIR] [COMMON...]
  shoal verify <file.torrent> [-o DIR] [--json]
  shoal dht get-peers <info hash> [--dht-node HOST:PORT]... [--timeout SECONDS] [--json]
  shoal daemon [--http HOST:PORT] [-o DIR] [--watch DIR] [--auth USER:PASS] ... (shoal daemon --help)
  shoal demo

COMMON: [--peer HOST:PORT]... [--no-trackers] [--tracker-timeout SECONDS] [--port N]
        [--listen-host ADDR] [--max-peers N] [--max-up RATE] [--max-down RATE] [--max-memory BYTES]
        [--dht-node HOST:PORT]... [--no-dht] [--dht-read-only] [--state-dir DIR] [--json] [--quiet]
  --port        TCP port for incoming peers, and the DHT's UDP port (default 6881, or the next free one; 0 for any)
  --listen-host address to listen on (default 0.0.0.0; 127.0.0.1 keeps it on this machine)
  --dht-node    bootstrap the DHT from this node instead of the public routers (repeatable)
  --json        one JSON event per line instead of a progress bar
RATE and BYTES are bytes (per second), with an optional k, m or g suffix (powers of 1024).
Exit codes: 0 success, 1 error or incomplete data (verify), 2 bad usage, 130 interrupted.`;

const encoder = new TextEncoder();
/** Writes all of `text` (a write to a pipe may take only part of it). */
function writeFully(file: typeof Deno.stdout, text: string): void {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
}
function write(text: string): void {
  writeFully(Deno.stdout, text);
}
function writeErr(text: string): void {
  writeFully(Deno.stderr, text);
}
function line(text = ""): void {
  write(text + "\n");
}

function io(): CommandIo {
  return {
    out: write,
    err: writeErr,
    outIsTerminal: Deno.stdout.isTerminal(),
    errIsTerminal: Deno.stderr.isTerminal(),
  };
}

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
        return await commandInfo(rest, signal, line);
      case "create":
        return await commandCreate(rest, write);
      case "download":
        return await commandDownload(rest, signal, io());
      case "seed":
        return await commandSeed(rest, signal, io());
      case "cat":
        return await commandCat(rest, signal, io());
      case "verify":
        return await commandVerify(rest, signal, write);
      case "dht":
        return await commandDht(rest, signal, line);
      case "daemon": {
        // Loaded only when asked for: the other commands never parse the HTTP side.
        const { runDaemon } = await import("./cli/daemon_command.ts");
        return await runDaemon(rest, { signal, stderr: (text) => writeErr(`${text}\n`) });
      }
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
    console.error(`shoal: ${printable(errorMessage(error))}`);
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
