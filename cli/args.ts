// Command-line parsing shared by the shoal commands: flags, numbers, peers, file lists, and
// text made safe to print.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { parseTorrent } from "../src/metainfo/parse_torrent.ts";
import type { Metainfo } from "../src/metainfo/types.ts";
import type { PeerAddress } from "../src/wire/peer_address.ts";
import { errorMessage } from "../src/util/printable.ts";

/** A problem with the command line itself (exit code 2). */
export class UsageError extends Error {
  /**
   * Makes the error.
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export { printable } from "../src/util/printable.ts";

/** Parsed flag values. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Parses flags strictly (an unknown flag is a usage error).
 * @param args The arguments.
 * @param options The flags.
 * @returns The values and the positional arguments.
 * @throws {UsageError} For an unknown or malformed flag.
 */
export function parse(
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
    throw new UsageError(errorMessage(error));
  }
}

/**
 * A count or a byte size: digits with an optional k, m or g (powers of 1024).
 * @param text The flag's text, if given.
 * @param name The flag's name, for errors.
 * @param min The least allowed value.
 * @returns The number, or `undefined` when absent.
 * @throws {UsageError} When malformed or out of range.
 */
export function parseCount(text: string | undefined, name: string, min = 0): number | undefined {
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

/**
 * A non-negative decimal number.
 * @param text The flag's text, if given.
 * @param name The flag's name, for errors.
 * @returns The number, or `undefined` when absent.
 * @throws {UsageError} When malformed.
 */
export function parseNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || text.trim() === "") {
    throw new UsageError(`--${name} needs a non-negative number, got "${text}"`);
  }
  return value;
}

/**
 * `HOST:PORT` or `[IPv6]:PORT`.
 * @param text The address.
 * @param name The flag's name, for errors.
 * @returns The address.
 * @throws {UsageError} When malformed.
 */
export function parsePeer(text: string, name = "peer"): PeerAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new UsageError(`--${name} needs HOST:PORT, got "${text}"`);
  }
  return { host: match[1] ?? match[2], port };
}

/**
 * A list of file indices: `0,2-4,7`.
 * @param text The list.
 * @param count How many files there are (indices must be below).
 * @returns The indices, ascending and unique.
 * @throws {UsageError} When malformed or out of range.
 */
export function parseFileList(text: string, count: number): number[] {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new UsageError(`--files needs indices like 0,2-4, got "${text}"`);
    const from = Number(match[1]), to = Number(match[2] ?? match[1]);
    if (to < from) throw new UsageError(`--files has a backwards range "${part.trim()}"`);
    if (to >= count) {
      throw new UsageError(
        `--files names file ${to}, but the torrent has ${count} (0-${count - 1})`,
      );
    }
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Reads and parses a .torrent file, with one clear line for any failure.
 * @param path The file.
 * @returns The metadata.
 * @throws {UsageError} When no path is given.
 * @throws {Error} When the file cannot be read; {TorrentError} when it is malformed.
 */
export async function readTorrent(path: string | undefined): Promise<Metainfo> {
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
  return parseTorrent(bytes, { windows: Deno.build.os === "windows" });
}

/** Flags every command that runs a client takes. */
export const CLIENT_OPTIONS = {
  output: { type: "string", short: "o" },
  port: { type: "string" },
  "listen-host": { type: "string" },
  "max-peers": { type: "string" },
  peer: { type: "string", multiple: true },
  "max-up": { type: "string" },
  "max-down": { type: "string" },
  "max-memory": { type: "string" },
  "no-trackers": { type: "boolean" },
  "tracker-timeout": { type: "string" },
  "dht-node": { type: "string", multiple: true },
  "no-dht": { type: "boolean" },
  "dht-read-only": { type: "boolean" },
  "state-dir": { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
} as const;

/** The client options the common flags give. */
export interface ClientFlags {
  dir: string;
  port?: number;
  listenHost?: string;
  maxPeers?: number;
  maxUploadRate?: number;
  maxDownloadRate?: number;
  maxMemoryBytes?: number;
  trackerTimeoutMs?: number;
  dht: boolean;
  dhtNodes?: PeerAddress[];
  dhtReadOnly: boolean;
  stateDir?: string;
  peers: PeerAddress[];
  trackers: boolean;
}

/**
 * Reads the common flags of the commands that run a client.
 * @param values Parsed values.
 * @returns The options.
 * @throws {UsageError} For a bad value.
 */
export function clientFlags(values: ParsedValues): ClientFlags {
  const port = parseCount(values.port as string | undefined, "port");
  if (port !== undefined && port > 65535) {
    throw new UsageError(`--port must be 0..65535, got ${port}`);
  }
  const timeout = parseNumber(values["tracker-timeout"] as string | undefined, "tracker-timeout");
  if (timeout === 0) throw new UsageError("--tracker-timeout must be above 0 seconds");
  const dhtNodes = (values["dht-node"] as string[] | undefined)?.map((n) =>
    parsePeer(n, "dht-node")
  );
  return {
    dir: (values.output as string | undefined) ?? ".",
    port,
    listenHost: values["listen-host"] as string | undefined,
    maxPeers: parseCount(values["max-peers"] as string | undefined, "max-peers", 1),
    maxUploadRate: parseCount(values["max-up"] as string | undefined, "max-up"),
    maxDownloadRate: parseCount(values["max-down"] as string | undefined, "max-down"),
    maxMemoryBytes: parseCount(values["max-memory"] as string | undefined, "max-memory", 1),
    trackerTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
    dht: !values["no-dht"],
    dhtNodes,
    dhtReadOnly: !!values["dht-read-only"],
    stateDir: values["state-dir"] as string | undefined,
    peers: ((values.peer as string[] | undefined) ?? []).map((p) => parsePeer(p)),
    trackers: !values["no-trackers"],
  };
}
