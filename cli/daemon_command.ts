/**
 * `shoal daemon`: parses its flags, runs a {@linkcode Daemon} until the signal aborts, and
 * prints one line per event on stderr (JSON lines with `--json`). Runnable on its own too:
 * `deno run -A cli/daemon_command.ts [FLAGS]` (SIGINT and SIGTERM stop it).
 * @module
 */

import { parseArgs } from "node:util";
import { CLIENT_OPTIONS, clientFlags, type ParsedValues, UsageError } from "./args.ts";
import { defaultStateDir } from "../src/client/client.ts";
import { Daemon, type DaemonOptions } from "../src/daemon/daemon.ts";
import { DaemonError } from "../src/daemon/daemon_error.ts";
import { type DaemonLogEntry, formatLogLine } from "../src/daemon/daemon_log.ts";
import { DEFAULT_HTTP_ADDRESS, parseHttpAddress } from "../src/daemon/http_address.ts";

/** `shoal daemon --help`. */
export const DAEMON_USAGE = `Usage:
  shoal daemon [--http HOST:PORT] [-o DIR] [--state-dir DIR] [--watch DIR]
               [--auth USER:PASS | --token-file FILE] [--allow-host NAME]...
               [--port N] [--listen-host ADDR] [--max-peers N] [--max-up RATE]
               [--max-down RATE] [--max-memory BYTES] [--tracker-timeout SECONDS]
               [--dht-node HOST:PORT]... [--no-dht] [--dht-read-only] [--json]
  --http        where the API and web page listen (default ${DEFAULT_HTTP_ADDRESS.hostname}:${DEFAULT_HTTP_ADDRESS.port});
                any address but loopback needs --auth or --token-file
  -o            download root: every torrent's folder lies inside it (default: here)
  --state-dir   torrent list, .torrent files and resume data (default ${defaultStateDir()})
  --watch       add every .torrent or .magnet file dropped in this folder
  --auth        require HTTP Basic credentials
  --token-file  require the token in this file (Bearer, or as the Basic password)
  --allow-host  another name the Host header may carry (reverse proxy, LAN name)
  --port        TCP port for peers, and the DHT's UDP port (default 6881, or the next free one)
  --dht-node    bootstrap the DHT from this node instead of the public routers (repeatable)
  --json        one JSON object per line on stderr
RATE and BYTES take an optional k, m or g suffix (powers of 1024).`;

/** The common client flags that make sense for a daemon (per-torrent ones are API options). */
const { peer: _peer, "no-trackers": _noTrackers, quiet: _quiet, ...DAEMON_CLIENT_OPTIONS } =
  CLIENT_OPTIONS;

async function readToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read --token-file ${path}: ${(error as Error).message}`);
  }
  const token = text.trim();
  if (token.length < 16 || /\s/.test(token)) {
    throw new UsageError(`Cannot use --token-file ${path}: one token of 16 or more characters`);
  }
  return token;
}

async function daemonOptions(
  args: string[],
  log: (entry: DaemonLogEntry) => void,
  signal: AbortSignal,
): Promise<DaemonOptions | "help"> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        ...DAEMON_CLIENT_OPTIONS,
        http: { type: "string" },
        watch: { type: "string" },
        auth: { type: "string" },
        "token-file": { type: "string" },
        "allow-host": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  let http = DEFAULT_HTTP_ADDRESS;
  if (v.http !== undefined) {
    try {
      http = parseHttpAddress(v.http);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  let auth: DaemonOptions["auth"];
  if (v.auth !== undefined) {
    const colon = v.auth.indexOf(":");
    if (colon <= 0 || colon === v.auth.length - 1) {
      throw new UsageError("--auth needs USER:PASS");
    }
    auth = { user: v.auth.slice(0, colon), password: v.auth.slice(colon + 1) };
  }
  const flags = clientFlags(v as ParsedValues);
  return {
    dir: flags.dir,
    stateDir: flags.stateDir ?? defaultStateDir(),
    watchDir: v.watch,
    http,
    allowHosts: v["allow-host"],
    auth,
    token: v["token-file"] === undefined ? undefined : await readToken(v["token-file"]),
    client: {
      port: flags.port,
      listenHost: flags.listenHost,
      maxPeers: flags.maxPeers,
      maxUploadRate: flags.maxUploadRate || undefined,
      maxDownloadRate: flags.maxDownloadRate || undefined,
      maxMemoryBytes: flags.maxMemoryBytes,
      trackerTimeoutMs: flags.trackerTimeoutMs,
      dht: flags.dht,
      dhtNodes: flags.dhtNodes,
      dhtReadOnly: flags.dhtReadOnly,
    },
    log,
    signal,
  };
}

/**
 * Runs `shoal daemon` until `io.signal` aborts (cli.ts wires SIGINT and SIGTERM to it), then
 * stops cleanly: resume data saved and `stopped` announced.
 * @param args The flags after `daemon`.
 * @param io The stop signal, and where to write each log line.
 * @returns The exit code: 0 after a clean stop, 1 if it cannot start, 2 for bad usage
 *   (including a non-loopback `--http` without `--auth` or `--token-file`).
 * @example
 * ```ts
 * import { runDaemon } from "./daemon_command.ts";
 * import { strictEqual } from "node:assert/strict";
 * const lines: string[] = [];
 * const code = await runDaemon(["--http", "0.0.0.0:0"], {
 *   signal: AbortSignal.abort(),
 *   stderr: (line) => lines.push(line),
 * });
 * strictEqual(code, 2);
 * ```
 */
export async function runDaemon(
  args: string[],
  io: { signal: AbortSignal; stderr: (line: string) => void },
): Promise<number> {
  const json = args.includes("--json");
  const log = (entry: DaemonLogEntry) => io.stderr(formatLogLine(entry, json));
  const fail = (message: string) => log({ event: "error", level: "error", message });
  let options: DaemonOptions | "help";
  try {
    options = await daemonOptions(args, log, io.signal);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    fail(error.message);
    io.stderr(DAEMON_USAGE);
    return 2;
  }
  if (options === "help") {
    io.stderr(DAEMON_USAGE);
    return 0;
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(options);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
    const unsafe = error instanceof DaemonError && /needs --auth/.test(error.message);
    return unsafe ? 2 : 1;
  }
  await daemon.closed;
  return 0;
}

if (import.meta.main) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  const encoder = new TextEncoder();
  const code = await runDaemon(Deno.args, {
    signal: controller.signal,
    stderr: (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
  });
  Deno.exit(code);
}
