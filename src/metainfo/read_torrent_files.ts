import { isBencodeDict } from "../bencode/fields.ts";
import type { BencodeDict, BencodeValue } from "../bencode/types.ts";
import {
  sanitizePathComponent,
  type SanitizePathOptions,
  sanitizeTorrentPath,
} from "./sanitize_path.ts";
import { quoteTorrentText as quote } from "./repair_utf8.ts";
import { TorrentError } from "./torrent_error.ts";

/**
 * The longest file libtorrent 2.0 accepts, in bytes (just under 16 TiB: its merkle trees are
 * indexed by `int`). Longer files are refused.
 */
export const MAX_FILE_LENGTH: number = 1_073_741_823 * 16_384 - 1;

/** One file of a v1 info dictionary as {@linkcode readTorrentFiles} reads it. */
export interface RawTorrentFile {
  /** Sanitised path components, the torrent's name first (duplicates not yet renamed). */
  path: readonly string[];
  /** Length in bytes (0 for a symlink). */
  readonly length: number;
  /** A BEP 47 padding file (`attr` holds `p`, or a BitComet `_____padding_file_` path). */
  readonly padding: boolean;
  /** BEP 47 `attr` holds `x`. */
  readonly executable: boolean;
  /** BEP 47 `attr` holds `h`. */
  readonly hidden: boolean;
  /** BEP 47 symlink (`attr` holds `l`): its sanitised target, relative to the torrent's folder. */
  readonly symlink?: readonly string[];
  /** A padding file listed without a path, which libtorrent files outside the torrent's folder. */
  readonly outsideRoot?: boolean;
}

/** Options for {@linkcode readTorrentFiles}. */
export interface ReadTorrentFilesOptions extends SanitizePathOptions {
  /** Told, one line each, about every path that was changed and every value ignored. */
  onWarning?: (line: string) => void;
}

const BITCOMET_PADDING = "_____padding_file_";
const [ATTR_SYMLINK, ATTR_PADDING, ATTR_EXECUTABLE, ATTR_HIDDEN] = [..."lpxh"].map((c) =>
  c.charCodeAt(0)
);

function fail(message: string): never {
  throw new TorrentError(`Cannot parse torrent: ${message}`);
}

function joinRaw(components: readonly Uint8Array[]): Uint8Array {
  const slash = new Uint8Array([0x2f]);
  const parts = components.flatMap((c, i) => (i === 0 ? [c] : [slash, c]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const encoder = new TextEncoder();

function sameComponents(raw: readonly Uint8Array[], safe: readonly string[]): boolean {
  if (raw.length !== safe.length) return false;
  return raw.every((bytes, i) => {
    const text = safe[i];
    if (text.length === bytes.length) {
      // Equal lengths: ASCII on both sides, or a mismatch the byte check below also finds.
      let ascii = true;
      for (let k = 0; k < bytes.length && ascii; k++) {
        const c = text.charCodeAt(k);
        if (c >= 0x80) ascii = false;
        else if (c !== bytes[k]) return false;
      }
      if (ascii) return true;
    }
    const mine = encoder.encode(text);
    return mine.length === bytes.length && mine.every((b, k) => b === bytes[k]);
  });
}

/** `path.utf-8` when it is a list, else `path` (libtorrent's choice). */
function pathList(entry: BencodeDict): BencodeValue | undefined {
  const alternative = entry.get("path.utf-8");
  return Array.isArray(alternative) ? alternative : entry.get("path");
}

function strings(list: BencodeValue[], what: string): Uint8Array[] {
  for (const item of list) {
    if (!(item instanceof Uint8Array)) fail(`${what} has a component that is not a string`);
  }
  return list as Uint8Array[]; // checked: every item is a byte string
}

const NO_FLAGS = new Uint8Array(0);

function readLength(entry: BencodeDict, what: string): number {
  const value = entry.get("length");
  if (value === undefined) fail(`"length" of ${what} is missing`);
  if (typeof value !== "number" && typeof value !== "bigint") {
    fail(`"length" of ${what} must be an integer`);
  }
  if (value < 0) fail(`"length" of ${what} must not be negative`);
  if (value > MAX_FILE_LENGTH) fail(`"length" of ${what} is larger than ${MAX_FILE_LENGTH}`);
  return Number(value);
}

function readEntry(
  entry: BencodeDict,
  name: string,
  index: number | undefined,
  options: ReadTorrentFilesOptions,
): RawTorrentFile {
  const what = index === undefined ? "the file" : `file ${index}`; // a cons string: cheap
  const warn = options.onWarning ?? (() => {});
  const attr = entry.get("attr");
  const flags = attr instanceof Uint8Array ? attr : NO_FLAGS;
  const isSymlink = flags.includes(ATTR_SYMLINK);
  let padding = flags.includes(ATTR_PADDING);
  const length = isSymlink ? 0 : readLength(entry, what);
  if (isSymlink && entry.get("length") !== undefined && entry.get("length") !== 0) {
    warn(`${what}: a symlink takes no space; its "length" is ignored`);
  }
  let path: readonly string[];
  let outsideRoot = false;
  if (index === undefined) {
    path = [name];
  } else {
    const list = pathList(entry);
    if (Array.isArray(list) && list.length > 0) {
      const raw = strings(list, `"path" of ${what}`);
      const safe = sanitizeTorrentPath(raw, options);
      if (!sameComponents(raw, safe)) {
        warn(`${what}: path ${quote(joinRaw(raw))} became ${quote(safe.join("/"))}`);
      }
      safe.unshift(name); // a fresh array: no copy needed
      path = safe;
    } else if (padding) {
      path = [name, ".pad", String(length)];
      outsideRoot = true;
    } else if (Array.isArray(list)) {
      // libtorrent refuses this; sanitising it into a placeholder keeps the torrent usable.
      path = [name, "_"];
      warn(`${what}: empty path became "_"`);
    } else {
      fail(`"path" of ${what} is missing or not a list`);
    }
  }
  if (!padding && path.some((c) => c.includes(BITCOMET_PADDING))) padding = true;
  let symlink: string[] | undefined;
  if (isSymlink) {
    const target = entry.get("symlink path");
    if (Array.isArray(target)) {
      symlink = strings(target, `"symlink path" of ${what}`)
        .map((c) => sanitizePathComponent(c, options))
        .filter((c) => c !== "");
    }
    if (symlink === undefined || symlink.length === 0) {
      warn(`${what}: symlink without a usable "symlink path": kept as an empty file`);
      symlink = undefined;
    }
  }
  const file = {
    path,
    length,
    padding,
    executable: flags.includes(ATTR_EXECUTABLE),
    hidden: flags.includes(ATTR_HIDDEN),
  };
  // Only present when set (no spread of a temporary object per file).
  if (symlink || outsideRoot) {
    return { ...file, ...(symlink ? { symlink } : {}), ...(outsideRoot ? { outsideRoot } : {}) };
  }
  return file;
}

/**
 * Reads the files of a v1 info dictionary (BEP 3, BEP 47) the way libtorrent 2.0.8 does
 * (`extract_single_file`): every path component goes through {@linkcode sanitizeTorrentPath};
 * `path.utf-8` wins when it is a list; BEP 47 `attr` flags are read (`p` padding, `x`
 * executable, `h` hidden, `l` symlink, whose `length` counts as 0 and whose `symlink path` is
 * sanitised); a padding file may have no path. A multi-file torrent is one whose `files` is a
 * list. Each changed path and ignored value is told to `onWarning`.
 * @param info The info dictionary.
 * @param name The torrent's sanitised name (the top folder, or the single file's name).
 * @param options `onWarning`, and `windows` for libtorrent's Windows path rules.
 * @returns The files in torrent order.
 * @throws {TorrentError} When an entry is not a dictionary, a `length` is missing, not an
 *   integer, negative or above {@linkcode MAX_FILE_LENGTH}, a `path` is missing or holds a
 *   non-string (an empty `path` list becomes `_` instead, with a warning).
 * @example
 * ```ts
 * import { readTorrentFiles } from "@shoal/shoal/metainfo";
 * import { type BencodeDict } from "@shoal/shoal/metainfo";
 * import { decodeBencode, encodeBencode } from "@shoal/shoal/bencode";
 * import { deepStrictEqual } from "node:assert/strict";
 * const info = decodeBencode(encodeBencode({
 *   files: [{ length: 3, path: ["..", "run.sh"], attr: "x" }],
 * })) as BencodeDict;
 * const warnings: string[] = [];
 * const [file] = readTorrentFiles(info, "t", { onWarning: (w) => warnings.push(w) });
 * deepStrictEqual(file.path, ["t", "run.sh"]);
 * deepStrictEqual(file.executable, true);
 * deepStrictEqual(warnings, ['file 0: path "../run.sh" became "run.sh"']);
 * ```
 */
export function readTorrentFiles(
  info: BencodeDict,
  name: string,
  options: ReadTorrentFilesOptions = {},
): RawTorrentFile[] {
  const files = info.get("files");
  if (!Array.isArray(files)) return [readEntry(info, name, undefined, options)];
  return files.map((entry, index) => {
    if (!isBencodeDict(entry)) fail(`file ${index} is not a dictionary`);
    return readEntry(entry, name, index, options);
  });
}
