import { binaryToBytes } from "../bytes/bytes.ts";
import { isBencodeDict } from "../bencode/fields.ts";
import type { BencodeDict, BencodeValue } from "../bencode/types.ts";
import { MAX_FILE_LENGTH, type RawTorrentFile } from "./read_torrent_files.ts";
import { sanitizePathComponent, type SanitizePathOptions } from "./sanitize_path.ts";
import { TorrentError } from "./torrent_error.ts";

// libtorrent refuses deeper file trees (extract_files2).
const MAX_FILE_TREE_DEPTH = 100;
const V2_MIN_PIECE_LENGTH = 16_384;
const PIECES_ROOT_BYTES = 32;
const MAX_TOTAL_LENGTH = 2 ** 48 - 1;

function fail(message: string): never {
  throw new TorrentError(`Cannot parse torrent: ${message}`);
}

/** Whether some dictionary in `value` has keys out of order or repeated (libtorrent's soft error). */
function hasUnsortedKeys(value: BencodeValue): boolean {
  if (Array.isArray(value)) return value.some(hasUnsortedKeys);
  if (!isBencodeDict(value)) return false;
  let previous: string | undefined;
  for (const [key, item] of value) {
    if (previous !== undefined && previous >= key) return true;
    previous = key;
    if (hasUnsortedKeys(item)) return true;
  }
  return false;
}

interface V2File {
  path: string;
  length: number;
  padding: boolean;
}

function join(a: string, b: string): string {
  return a === "" ? b : b === "" ? a : `${a}/${b}`;
}

/** libtorrent's `extract_files2`: the file tree as a file list, with v2's tail padding. */
function readFileTree(
  tree: BencodeDict,
  name: string,
  hasFiles: boolean,
  pieceLength: number,
  options: SanitizePathOptions,
): V2File[] {
  const out: V2File[] = [];
  let total = 0;
  const addFile = (entry: BencodeValue | undefined, path: string): void => {
    if (!isBencodeDict(entry)) {
      fail(`the "file tree" entry of ${JSON.stringify(path)} is malformed`);
    }
    const attr = entry.get("attr");
    const flags = attr instanceof Uint8Array ? attr : new Uint8Array();
    if (flags.includes(0x70)) fail(`the "file tree" lists a padding file, which BEP 52 forbids`);
    const isSymlink = flags.includes(0x6c);
    let length = 0;
    if (!isSymlink) {
      const value = entry.get("length");
      if (typeof value !== "number" || value < 0 || value > MAX_FILE_LENGTH) {
        fail(`the "file tree" length of ${JSON.stringify(path)} is missing or out of range`);
      }
      length = value;
    }
    let target = "";
    const links = entry.get("symlink path");
    if (isSymlink && Array.isArray(links)) {
      for (const link of links) {
        if (!(link instanceof Uint8Array)) fail(`a "file tree" symlink path is not a string`);
        target = join(target, sanitizePathComponent(link, options));
      }
    }
    if (target === "" && length > 0) {
      const root = entry.get("pieces root");
      if (
        !(root instanceof Uint8Array) || root.length !== PIECES_ROOT_BYTES ||
        root.every((b) => b === 0)
      ) fail(`the "file tree" entry of ${JSON.stringify(path)} has no valid "pieces root"`);
    }
    out.push({ path, length, padding: false });
    total += length;
    if (total > MAX_TOTAL_LENGTH) fail("the total length is larger than 2^48 - 1");
    if (total % pieceLength !== 0) {
      const pad = pieceLength - (total % pieceLength);
      out.push({ path: `${name}/.pad/${pad}`, length: pad, padding: true });
      total += pad;
    }
  };
  const walk = (node: BencodeDict, root: string, nested: boolean, depth: number): void => {
    if (depth > MAX_FILE_TREE_DEPTH) fail(`the "file tree" is nested too deeply`);
    for (const [key, child] of node) {
      if (!isBencodeDict(child) || key === "") fail(`the "file tree" is malformed`);
      const leaf = child.size === 1 && child.has("");
      const singleFile = leaf && !nested && node.size === 1;
      const path = join(singleFile ? "" : root, sanitizePathComponent(binaryToBytes(key), options));
      if (leaf) addFile(child.get(""), path);
      else walk(child, path, true, depth + 1);
    }
  };
  walk(tree, name, hasFiles, 0);
  return out;
}

/** libtorrent's `remove_tail_padding`: drops a last padding file older creators did not add. */
function removeTailPadding(files: V2File[]): void {
  for (let i = files.length - 1; i >= 0; i--) {
    if (files[i].length === 0) continue;
    if (files[i].padding) files.splice(i, 1);
    return;
  }
}

/** libtorrent's `files_compatible`: the same non-empty, non-padding files at the same offsets. */
function compatible(v2: readonly V2File[], v1: readonly RawTorrentFile[]): boolean {
  if (v2.length !== v1.length) return false;
  let offset1 = 0, offset2 = 0;
  for (let i = 0; i < v1.length; i++) {
    const relevant1 = !v1[i].padding && v1[i].length > 0;
    const relevant2 = !v2[i].padding && v2[i].length > 0;
    if (relevant1 !== relevant2) return false;
    if (
      relevant1 &&
      (v1[i].length !== v2[i].length || v1[i].path.join("/") !== v2[i].path ||
        offset1 !== offset2)
    ) return false;
    offset1 += v1[i].length;
    offset2 += v2[i].length;
  }
  return offset1 === offset2;
}

/** What {@linkcode checkMetaVersion} needs to know besides the info dictionary. */
export interface MetaVersionContext extends SanitizePathOptions {
  /** The torrent's sanitised name. */
  readonly name: string;
  /** The v1 files, as {@linkcode readTorrentFiles} read them (before duplicates are renamed). */
  readonly files: readonly RawTorrentFile[];
  /** The piece length, already checked to be a positive integer. */
  readonly pieceLength: number;
}

/**
 * Applies libtorrent 2.0.8's rules about BEP 52's `meta version` to a torrent that has v1 files:
 * - a `meta version` above 2 is refused (unknown version);
 * - any `meta version` above 0 makes out-of-order or repeated dictionary keys in the info
 *   dictionary an error;
 * - version 2 needs a power-of-two piece length of at least 16 KiB and a `file tree`, and a
 *   `file tree` needs version 2;
 * - a hybrid torrent (version 2 with v1 files) must describe the same files in both lists: the
 *   same non-empty, non-padding files, with the same paths, lengths and offsets.
 * v2-only torrents are refused before this, by the caller.
 * @param info The info dictionary.
 * @param context The torrent's name, v1 files and piece length, and `windows`.
 * @returns The `meta version` (1 when absent or not a positive integer).
 * @throws {TorrentError} When a rule is broken, saying which.
 * @example
 * ```ts
 * import { checkMetaVersion } from "@shoal/shoal/metainfo";
 * import { strictEqual, throws } from "node:assert/strict";
 * const context = { name: "t", files: [], pieceLength: 16384 };
 * strictEqual(checkMetaVersion(new Map(), context), 1);
 * throws(() => checkMetaVersion(new Map([["meta version", 3]]), context), /"meta version" 3/);
 * ```
 */
export function checkMetaVersion(info: BencodeDict, context: MetaVersionContext): number {
  const value = info.get("meta version");
  const version = typeof value === "number" ? value : typeof value === "bigint" ? Infinity : -1;
  if (version > 2) fail(`"meta version" ${value} is not supported (1 and 2 are)`);
  if (version > 0 && hasUnsortedKeys(info)) {
    fail(`the info dictionary of a "meta version" ${version} torrent has unsorted keys`);
  }
  const tree = info.get("file tree");
  if (version < 2) {
    if (isBencodeDict(tree)) fail(`"file tree" needs "meta version" 2`);
    return 1;
  }
  const { pieceLength } = context;
  if (pieceLength < V2_MIN_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    fail(`"piece length" ${pieceLength} of a v2 torrent must be a power of two of 16 KiB or more`);
  }
  if (!isBencodeDict(tree)) fail(`a "meta version" 2 torrent needs a "file tree"`);
  const v2 = readFileTree(
    tree,
    context.name,
    Array.isArray(info.get("files")),
    pieceLength,
    context,
  );
  if (v2.length === context.files.length + 1) removeTailPadding(v2);
  if (!compatible(v2, context.files)) {
    fail(`the v1 "files" and the v2 "file tree" of this hybrid torrent describe different files`);
  }
  return 2;
}
