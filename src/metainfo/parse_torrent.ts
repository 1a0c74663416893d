import { BencodeError, decodeBencode } from "../bencode/decode.ts";
import { bencodeText, isBencodeDict } from "../bencode/fields.ts";
import type { BencodeDict, BencodeSpan, BencodeValue } from "../bencode/types.ts";
import { encodeHex } from "../bytes/hex.ts";
import { sha1 } from "../sha1/sha1.ts";
import { sanitizePathComponent, sanitizeTorrentPath } from "./sanitize_path.ts";
import { TorrentError } from "./torrent_error.ts";
import type { Metainfo, TorrentFile } from "./types.ts";

export { TorrentError } from "./torrent_error.ts";

/** The largest piece length accepted, in bytes (512 MiB). */
export const MAX_PIECE_LENGTH: number = 512 * 1024 * 1024;

const PIECE_HASH_BYTES = 20;
const PADDING_NAME = /^_____padding_file_/;

function fail(message: string): never {
  throw new TorrentError(`Cannot parse torrent: ${message}`);
}

function text(value: BencodeValue | undefined): string | undefined {
  return value instanceof Uint8Array ? bencodeText(value) : undefined;
}

/** The `.utf-8` variant of a text field when it is a string, else the plain field. */
function preferUtf8(dict: BencodeDict, key: string): BencodeValue | undefined {
  const alt = dict.get(`${key}.utf-8`);
  return alt instanceof Uint8Array || Array.isArray(alt) ? alt : dict.get(key);
}

function length(value: BencodeValue | undefined, what: string): number {
  if (value === undefined) fail(`${what} is missing`);
  if (typeof value === "bigint") fail(`${what} is larger than 2^53`);
  if (typeof value !== "number") fail(`${what} must be an integer`);
  if (value < 0) fail(`${what} must not be negative`);
  return value;
}

function urls(values: BencodeValue[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const url = text(value)?.trim();
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
  const announce = text(root.get("announce"))?.trim();
  return announce ? [[announce]] : [];
}

function urlList(value: BencodeValue | undefined): string[] {
  if (value instanceof Uint8Array) return urls([value]);
  return Array.isArray(value) ? [...new Set(urls(value))] : [];
}

interface RawFile {
  path: string[];
  length: number;
  padding: boolean;
}

function rawFiles(files: BencodeValue): RawFile[] {
  if (!Array.isArray(files)) fail(`"files" must be a list`);
  return files.map((entry, index) => {
    if (!isBencodeDict(entry)) fail(`file ${index} is not a dictionary`);
    const fileLength = length(entry.get("length"), `"length" of file ${index}`);
    const path = preferUtf8(entry, "path");
    if (!Array.isArray(path)) fail(`"path" of file ${index} must be a list`);
    const components = path.map((component) => {
      const name = text(component);
      if (name === undefined) fail(`"path" of file ${index} has a component that is not a string`);
      return name;
    });
    const attr = text(entry.get("attr")) ?? "";
    const padding = attr.includes("p") ||
      (components.length === 2 && components[0] === ".pad") ||
      PADDING_NAME.test(components[components.length - 1] ?? "");
    return { path: components, length: fileLength, padding };
  });
}

/** Renames exact duplicate paths (`a.txt`, `a.1.txt`, ...), as libtorrent does. */
function uniquePaths(files: RawFile[]): void {
  const seen = new Set<string>();
  for (const file of files) {
    if (file.padding) continue;
    let key = file.path.join("/");
    if (seen.has(key)) {
      const last = file.path[file.path.length - 1];
      const dot = last.lastIndexOf(".");
      const [stem, ext] = dot > 0 ? [last.slice(0, dot), last.slice(dot)] : [last, ""];
      for (let n = 1;; n++) {
        const renamed = [...file.path.slice(0, -1), `${stem}.${n}${ext}`];
        key = renamed.join("/");
        if (!seen.has(key)) {
          file.path = renamed;
          break;
        }
      }
    }
    seen.add(key);
  }
}

/**
 * Parses a `.torrent` file (BEP 3) into a {@linkcode Metainfo}, checking everything once.
 *
 * - The info hash is the SHA-1 of the info dictionary's original bytes, never a re-encoding.
 * - Single- and multi-file torrents; `name.utf-8` and `path.utf-8` win when present.
 * - Trackers: `announce-list` tiers (BEP 12) with non-strings dropped and URLs deduplicated,
 *   else `announce` as one tier. Web seeds from `url-list` (BEP 19, string or list) and
 *   `httpseeds` (BEP 17). `private` (BEP 27) is true only for the integer 1.
 * - Padding files (BEP 47 `attr` holding `p`, or `.pad/N` paths) are kept and flagged.
 * - Every path goes through {@linkcode sanitizeTorrentPath}; duplicate paths are renamed.
 * - Refused: a total length of 0, lengths that are negative, non-integer or beyond 2^53, a
 *   piece length outside 1..512 MiB, `pieces` that is not 20 bytes per piece, and v2-only
 *   torrents (BEP 52). Hybrid torrents are read through their v1 keys.
 * @param bytes The `.torrent` file's bytes.
 * @returns The parsed torrent.
 * @throws {TorrentError} For malformed bencode (with the `BencodeError` as `cause`) or any
 * refused field, with a message naming the field or file.
 * @example
 * ```ts
 * import { encodeBencode, parseTorrent, sha1 } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const bytes = encodeBencode({
 *   announce: "http://127.0.0.1:6969/announce",
 *   info: { length: 5, name: "hello.txt", "piece length": 16384, pieces: sha1(new TextEncoder().encode("hello")) },
 * });
 * const torrent = parseTorrent(bytes);
 * strictEqual(torrent.name, "hello.txt");
 * strictEqual(torrent.pieceCount, 1);
 * strictEqual(torrent.announce[0][0], "http://127.0.0.1:6969/announce");
 * ```
 */
export function parseTorrent(bytes: Uint8Array): Metainfo {
  const spans = new WeakMap<object, BencodeSpan>();
  let root: BencodeValue;
  try {
    root = decodeBencode(bytes, { spans });
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

  const pieces = info.get("pieces");
  if (pieces === undefined && info.get("meta version") === 2) {
    fail("v2-only torrents are not supported; hybrid torrents work through their v1 part");
  }
  if (!(pieces instanceof Uint8Array)) fail(`"pieces" is missing or not a string`);
  if (pieces.length % PIECE_HASH_BYTES !== 0) {
    fail(`"pieces" is ${pieces.length} bytes, not a multiple of 20`);
  }
  const pieceLength = info.get("piece length");
  if (typeof pieceLength !== "number" || pieceLength <= 0) {
    fail(`"piece length" must be a positive integer`);
  }
  if (pieceLength > MAX_PIECE_LENGTH) {
    fail(`"piece length" ${pieceLength} is larger than ${MAX_PIECE_LENGTH} (512 MiB)`);
  }

  const nameValue = text(preferUtf8(info, "name"));
  if (nameValue === undefined) fail(`"name" is missing or not a string`);
  const name = sanitizePathComponent(nameValue, "the torrent name") || infoHashHex;

  const filesValue = info.get("files");
  const multiFile = filesValue !== undefined;
  const raw: RawFile[] = multiFile
    ? rawFiles(filesValue)
    : [{ path: [], length: length(info.get("length"), `"length"`), padding: false }];
  let offset = 0;
  for (const [index, file] of raw.entries()) {
    if (multiFile) {
      const description = `file ${index} (${JSON.stringify(file.path.join("/").slice(0, 80))})`;
      file.path = [name, ...sanitizeTorrentPath(file.path, description)];
    } else {
      file.path = [name];
    }
    offset += file.length;
    if (offset > Number.MAX_SAFE_INTEGER) fail("the total length is larger than 2^53");
  }
  const totalLength = offset;
  if (totalLength === 0) fail("the total length is 0");
  if (multiFile) uniquePaths(raw);
  offset = 0;
  const files: TorrentFile[] = raw.map((file) => {
    const entry = { path: file.path, length: file.length, offset, padding: file.padding };
    offset += file.length;
    return entry;
  });

  const pieceCount = pieces.length / PIECE_HASH_BYTES;
  const expected = Math.ceil(totalLength / pieceLength);
  if (pieceCount !== expected) {
    fail(`"pieces" holds ${pieceCount} hashes but ${totalLength} bytes need ${expected}`);
  }

  const creationDate = root.get("creation date");
  const comment = text(preferUtf8(root, "comment"));
  const createdBy = text(preferUtf8(root, "created by"));
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
    private: info.get("private") === 1,
    announce: announceTiers(root),
    urlList: urlList(root.get("url-list")),
    httpSeeds: Array.isArray(httpSeeds) ? [...new Set(urls(httpSeeds))] : [],
    ...(comment !== undefined ? { comment } : {}),
    ...(createdBy !== undefined ? { createdBy } : {}),
    ...(typeof creationDate === "number" ? { creationDate } : {}),
  };
}
