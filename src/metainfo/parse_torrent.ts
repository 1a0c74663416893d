import { BencodeError, decodeBencodePrefix } from "../bencode/decode.ts";
import { bencodeText, isBencodeDict } from "../bencode/fields.ts";
import type { BencodeDict, BencodeSpan, BencodeValue } from "../bencode/types.ts";
import { encodeHex } from "../bytes/hex.ts";
import { sha1 } from "../sha1/sha1.ts";
import { checkMetaVersion } from "./check_meta_version.ts";
import { readTorrentFiles } from "./read_torrent_files.ts";
import { renameDuplicatePaths } from "./rename_duplicate_paths.ts";
import { quoteTorrentText as quote, repairUtf8 } from "./repair_utf8.ts";
import { resolveSymlinkTargets } from "./resolve_symlinks.ts";
import { sanitizePathComponent, type SanitizePathOptions } from "./sanitize_path.ts";
import { TorrentError } from "./torrent_error.ts";
import { type FileEntry, MAX_TORRENT_WARNINGS, type Metainfo } from "./types.ts";

export { TorrentError } from "./torrent_error.ts";

/**
 * The largest piece length accepted, in bytes (512 MiB). libtorrent accepts up to 1 GiB - 1;
 * shoal keeps a whole piece in memory while it arrives, so it refuses larger pieces.
 */
export const MAX_PIECE_LENGTH: number = 512 * 1024 * 1024;
/** The most pieces a torrent may have (libtorrent's default `max_pieces`, 2^21). */
export const MAX_PIECE_COUNT: number = 0x200000;
/** The largest total length accepted, in bytes (libtorrent's limit, 2^48 - 1). */
export const MAX_TOTAL_LENGTH: number = 2 ** 48 - 1;

/** Options for {@linkcode parseTorrent}. */
export type ParseTorrentOptions = SanitizePathOptions;

const PIECE_HASH_BYTES = 20;
// The largest seconds value `new Date(seconds * 1000)` holds.
const MAX_DATE_SECONDS = 8.64e12;

function fail(message: string): never {
  throw new TorrentError(`Cannot parse torrent: ${message}`);
}

/** Collects warnings, keeping at most MAX_TORRENT_WARNINGS lines. */
class Warnings {
  readonly lines: string[] = [];
  #more = 0;
  add = (line: string): void => {
    if (this.lines.length < MAX_TORRENT_WARNINGS - 1) this.lines.push(line);
    else this.#more++;
  };
  finish(): string[] {
    if (this.#more === 1) this.lines.push("1 more warning");
    else if (this.#more > 1) this.lines.push(`${this.#more} more warnings`);
    return this.lines;
  }
}

function describe(value: BencodeValue): string {
  if (value instanceof Uint8Array) return "a string";
  if (Array.isArray(value)) return "a list";
  return isBencodeDict(value) ? "a dictionary" : "an integer";
}

/** A text field as libtorrent reads it: `KEY.utf-8` when a non-empty string, else `KEY`. */
function textField(
  root: BencodeDict,
  key: string,
  warn: (line: string) => void,
): string | undefined {
  const alternative = root.get(`${key}.utf-8`);
  const value = alternative instanceof Uint8Array && alternative.length > 0
    ? alternative
    : root.get(key);
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) {
    warn(`"${key}" is ${describe(value)}, not a string: ignored`);
    return undefined;
  }
  const { text, repaired } = repairUtf8(value);
  if (repaired) warn(`"${key}" is not valid UTF-8: each invalid sequence became "_"`);
  return text === "" ? undefined : text;
}

function creationDate(
  value: BencodeValue | undefined,
  warn: (line: string) => void,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" && typeof value !== "bigint") {
    warn(`"creation date" is ${describe(value)}, not an integer: ignored`);
  } else if (value < 0) {
    warn(`"creation date" ${value} is before 1970: ignored`);
  } else if (value > MAX_DATE_SECONDS) {
    warn(`"creation date" ${value} is out of the range of dates: ignored`);
  } else {
    return Number(value);
  }
  return undefined;
}

function urls(values: BencodeValue[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const url = value instanceof Uint8Array ? bencodeText(value).trim() : "";
    if (url) out.push(url);
  }
  return out;
}

function announceTiers(root: BencodeDict): string[][] {
  const seen = new Set<string>();
  const tiers: string[][] = [];
  const list = root.get("announce-list");
  if (Array.isArray(list)) {
    for (const tier of list) {
      const fresh = urls(Array.isArray(tier) ? tier : [tier]).filter((url) =>
        !seen.has(url) && seen.add(url)
      );
      if (fresh.length > 0) tiers.push(fresh);
    }
  }
  if (tiers.length > 0) return tiers;
  const [announce] = urls([root.get("announce") ?? 0]);
  return announce ? [[announce]] : [];
}

/** The most DHT nodes taken from a torrent's `nodes` key. */
const MAX_TORRENT_NODES = 64;

/**
 * BEP 5 `nodes` of a trackerless torrent: `[[host, port], ...]`. Entries that are not a host
 * string and a port in 1..65535 are skipped (the key only helps to join the DHT).
 */
function dhtNodes(value: BencodeValue | undefined): { host: string; port: number }[] {
  if (!Array.isArray(value)) return [];
  const out: { host: string; port: number }[] = [];
  for (const entry of value) {
    if (out.length >= MAX_TORRENT_NODES) break;
    if (!Array.isArray(entry) || entry.length !== 2) continue;
    const [host, port] = entry;
    if (!(host instanceof Uint8Array) || host.length === 0 || host.length > 253) continue;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const text = bencodeText(host).trim();
    if (text && !/[\s/]/.test(text)) out.push({ host: text, port });
  }
  return out;
}

function urlList(value: BencodeValue | undefined): string[] {
  if (value instanceof Uint8Array) return urls([value]);
  return Array.isArray(value) ? [...new Set(urls(value))] : [];
}

function isInteger(value: BencodeValue | undefined): value is number | bigint {
  return typeof value === "number" || typeof value === "bigint";
}

/**
 * Parses a `.torrent` file (BEP 3) into a {@linkcode Metainfo}, checking everything once. It
 * opens what libtorrent 2.0.8 opens and lays the files out the same way: what libtorrent
 * sanitises is sanitised here too, and told in `warnings`, one line each.
 *
 * - The info hash is the SHA-1 of the info dictionary's original bytes, never a re-encoding.
 *   Bytes after the top-level dictionary are ignored, with a warning.
 * - Names and paths go through {@linkcode sanitizePathComponent}: `.` and `..` are dropped,
 *   `/` and `\` removed, empty components become `_`, bad UTF-8 and control characters `_`.
 *   A name that sanitises to nothing becomes the info hash in hex; a path that does (or an
 *   empty `path` list) becomes `_`. Colliding paths get `.1`, `.2`, ... before the extension
 *   ({@linkcode renameDuplicatePaths}). The result never leaves the download folder.
 * - `name.utf-8` wins when it is a string, `path.utf-8` when it is a list.
 * - BEP 47: padding files (with or without a path), `executable`, `hidden`, and symlinks, whose
 *   targets are sanitised and checked ({@linkcode resolveSymlinkTargets}).
 * - Trackers: `announce-list` tiers (BEP 12) with non-strings dropped and URLs deduplicated,
 *   else `announce` as one tier. Web seeds from `url-list` (BEP 19, string or list) and
 *   `httpseeds` (BEP 17). `private` (BEP 27) is true for any non-zero integer.
 * - `comment` and `created by` (their `.utf-8` variants first) are kept when they are strings,
 *   with bad UTF-8 repaired; `creation date` when it is a date `Date` can hold. Anything else is
 *   dropped with a warning.
 * - Refused, as libtorrent refuses them: a missing or ill-typed `info`, `name`, `pieces`,
 *   `piece length` or file `length`, a `path` that is not a list or holds a non-string, a
 *   negative length, a file over 16 TiB, a total of 0 or over 2^48 - 1, more than 2^21 pieces,
 *   `pieces` that is not 20 bytes per piece, and broken BEP 52 data (see
 *   {@linkcode checkMetaVersion}). Also refused: v2-only torrents (shoal speaks v1; hybrid
 *   torrents work through their v1 part) and pieces over {@linkcode MAX_PIECE_LENGTH}.
 * @param bytes The `.torrent` file's bytes.
 * @param options `windows` to sanitise paths with libtorrent's Windows rules too.
 * @returns The parsed torrent.
 * @throws {TorrentError} For malformed bencode (with the `BencodeError` as `cause`) or any
 * refused field, with a message naming the field or file.
 * @example
 * ```ts
 * import { encodeBencode } from "@shoal/shoal/bencode";
 * import { parseTorrent, sha1 } from "@shoal/shoal";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const bytes = encodeBencode({
 *   announce: "http://127.0.0.1:6969/announce",
 *   info: { length: 5, name: "../hello.txt", "piece length": 16384, pieces: sha1(new TextEncoder().encode("hello")) },
 * });
 * const torrent = parseTorrent(bytes);
 * strictEqual(torrent.name, "..hello.txt");
 * strictEqual(torrent.pieceCount, 1);
 * strictEqual(torrent.announce[0][0], "http://127.0.0.1:6969/announce");
 * deepStrictEqual(torrent.warnings, ['name "../hello.txt" became "..hello.txt"']);
 * ```
 */
export function parseTorrent(bytes: Uint8Array, options: ParseTorrentOptions = {}): Metainfo {
  const warnings = new Warnings();
  const warn = warnings.add;
  const spans = new WeakMap<object, BencodeSpan>();
  let root: BencodeValue;
  try {
    // Lenient as libtorrent's bdecode; spans only down to the info dictionary's.
    const prefix = decodeBencodePrefix(bytes, 0, { spans, spanDepth: 2, lenient: true });
    root = prefix.value;
    const extra = bytes.length - prefix.end;
    if (extra > 0) {
      warn(`ignored ${extra} byte${extra === 1 ? "" : "s"} after the torrent's dictionary`);
    }
  } catch (error) {
    if (error instanceof BencodeError) {
      throw new TorrentError(`Cannot parse torrent: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (!isBencodeDict(root)) fail("the file is not a bencoded dictionary");
  const info = root.get("info");
  if (!isBencodeDict(info)) fail(`"info" is missing or not a dictionary`);
  const span = spans.get(info)!;
  const infoBytes = bytes.slice(span.start, span.end);
  const infoHash = sha1(infoBytes);
  const infoHashHex = encodeHex(infoHash);

  const pieceLength = info.get("piece length");
  if (typeof pieceLength !== "number" || pieceLength <= 0) {
    fail(`"piece length" must be a positive integer`);
  }
  if (pieceLength > MAX_PIECE_LENGTH) {
    fail(`"piece length" ${pieceLength} is larger than ${MAX_PIECE_LENGTH} (512 MiB)`);
  }
  const nameAlternative = info.get("name.utf-8");
  const rawName = nameAlternative instanceof Uint8Array ? nameAlternative : info.get("name");
  if (!(rawName instanceof Uint8Array)) fail(`"name" is missing or not a string`);
  const name = sanitizePathComponent(rawName, options) || infoHashHex;
  if (!sameText(rawName, name)) warn(`name ${quote(rawName)} became ${quote(name)}`);

  const pieces = info.get("pieces");
  if (info.get("meta version") === 2 && (pieces === undefined || !hasV1Files(info))) {
    fail("v2-only torrents are not supported; hybrid torrents work through their v1 part");
  }
  const raw = readTorrentFiles(info, name, { ...options, onWarning: warn });
  const multiFile = Array.isArray(info.get("files"));
  checkMetaVersion(info, { ...options, name, files: raw, pieceLength });
  let totalLength = 0;
  for (const file of raw) totalLength += file.length;
  if (totalLength === 0) fail("the total length is 0");
  if (totalLength > MAX_TOTAL_LENGTH) fail("the total length is larger than 2^48 - 1");

  const links = multiFile ? resolveSymlinkTargets(raw) : [];
  for (const [index, link] of links.entries()) {
    if (link && !link.valid) {
      warn(
        `file ${index}: symlink target ${quote(raw[index].symlink!.join("/"))} is ` +
          "not a file or folder of the torrent: the link now points to itself",
      );
    }
  }
  for (const { index, from, to } of renameDuplicatePaths(raw)) {
    warn(
      `file ${index}: path ${quote(from.slice(1).join("/"))} became ` +
        `${quote(to.slice(1).join("/"))} ` +
        "(another file or folder has that name)",
    );
  }

  if (!(pieces instanceof Uint8Array)) fail(`"pieces" is missing or not a string`);
  if (pieces.length % PIECE_HASH_BYTES !== 0) {
    fail(`"pieces" is ${pieces.length} bytes, not a multiple of 20`);
  }
  const pieceCount = pieces.length / PIECE_HASH_BYTES;
  const expected = Math.ceil(totalLength / pieceLength);
  if (expected > MAX_PIECE_COUNT) fail(`${expected} pieces is more than ${MAX_PIECE_COUNT}`);
  if (pieceCount !== expected) {
    fail(`"pieces" holds ${pieceCount} hashes but ${totalLength} bytes need ${expected}`);
  }

  let offset = 0;
  const files: FileEntry[] = raw.map((file, index) => {
    const target = links[index]?.target;
    const entry: FileEntry = {
      path: file.path,
      length: file.length,
      offset,
      padding: file.padding,
      ...(file.executable ? { executable: true } : {}),
      ...(file.hidden ? { hidden: true } : {}),
      ...(file.symlink ? { symlink: true, symlinkPath: [name, ...(target ?? file.symlink)] } : {}),
    };
    offset += file.length;
    return entry;
  });

  const comment = textField(root, "comment", warn);
  const createdBy = textField(root, "created by", warn);
  const date = creationDate(root.get("creation date"), warn);
  const privateFlag = info.get("private");
  if (privateFlag !== undefined && !isInteger(privateFlag)) {
    warn(`"private" is ${describe(privateFlag)}, not an integer: ignored`);
  }
  const httpSeeds = root.get("httpseeds");
  return {
    infoHash,
    infoHashHex,
    infoBytes,
    name,
    pieceLength,
    pieceCount,
    pieceHashes: pieces.slice(),
    totalLength,
    files,
    multiFile,
    private: isInteger(privateFlag) && Number(privateFlag) !== 0,
    announce: announceTiers(root),
    urlList: urlList(root.get("url-list")),
    httpSeeds: Array.isArray(httpSeeds) ? [...new Set(urls(httpSeeds))] : [],
    nodes: dhtNodes(root.get("nodes")),
    ...(comment !== undefined ? { comment } : {}),
    ...(createdBy !== undefined ? { createdBy } : {}),
    ...(date !== undefined ? { creationDate: date } : {}),
    warnings: warnings.finish(),
  };
}

const encoder = new TextEncoder();

function sameText(raw: Uint8Array, text: string): boolean {
  const bytes = encoder.encode(text);
  return bytes.length === raw.length && bytes.every((b, i) => b === raw[i]);
}

/** Whether the info dictionary describes v1 files (a `files` list or a `length`). */
function hasV1Files(info: BencodeDict): boolean {
  return Array.isArray(info.get("files")) || info.has("length");
}
