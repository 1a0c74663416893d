import { encodeBencode } from "../bencode/encode.ts";
import type { BencodeInput } from "../bencode/encode.ts";

/** One file of a multi-file torrent for {@linkcode encodeTorrent}. */
export interface EncodeTorrentFile {
  /** Path components below the torrent's folder (at least one). */
  readonly path: readonly string[];
  /** Length in bytes. */
  readonly length: number;
}

/** What {@linkcode encodeTorrent} writes. */
export interface EncodeTorrentOptions {
  /** The file name (single file) or top folder name (multi-file). */
  readonly name: string;
  /** Nominal piece length in bytes. */
  readonly pieceLength: number;
  /** Concatenated 20-byte SHA-1 hashes, one per piece. */
  readonly pieceHashes: Uint8Array;
  /** The files of a folder, in order, or `{ length }` for a single file. */
  readonly files: readonly EncodeTorrentFile[] | { readonly length: number };
  /** BEP 27 private flag. */
  readonly private?: boolean;
  /** Announce URL tiers (BEP 12). */
  readonly trackers?: readonly (readonly string[])[];
  /** Free text `comment`. */
  readonly comment?: string;
  /** `created by`, e.g. "shoal/0.1.0". */
  readonly createdBy?: string;
  /** `creation date` in seconds since 1970. */
  readonly creationDate?: number;
  /** BEP 19 web seed URLs. */
  readonly urlList?: readonly string[];
}

function checkLength(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot encode torrent: ${what} ${value} is not a non-negative integer`);
  }
}

/**
 * Writes a v1 `.torrent` file (BEP 3) from a name, piece hashes and files. Pure: no I/O.
 * `announce` is the first tracker; `announce-list` (BEP 12) is added when there is more than
 * one. Keys are sorted, so the same input always gives the same bytes (and info hash).
 * @param options The torrent's parts.
 * @returns The bencoded torrent.
 * @throws {RangeError} For a bad length or piece length, or piece hashes that do not match.
 * @throws {TypeError} For an empty name or file path.
 * @example
 * ```ts
 * import { encodeTorrent } from "@shoal/shoal/metainfo";
 * import { parseTorrent, sha1 } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const data = new TextEncoder().encode("hello");
 * const bytes = encodeTorrent({
 *   name: "hello.txt",
 *   pieceLength: 16384,
 *   pieceHashes: sha1(data),
 *   files: { length: data.length },
 *   trackers: [["http://127.0.0.1:6969/announce"]],
 * });
 * strictEqual(parseTorrent(bytes).name, "hello.txt");
 * ```
 */
export function encodeTorrent(options: EncodeTorrentOptions): Uint8Array {
  const { name, pieceLength, pieceHashes, files } = options;
  if (name === "") throw new TypeError("Cannot encode torrent: the name is empty");
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
    throw new RangeError(`Cannot encode torrent: piece length ${pieceLength} is not positive`);
  }
  const info = new Map<string, BencodeInput>();
  let total = 0;
  if (Array.isArray(files)) {
    const list = (files as readonly EncodeTorrentFile[]).map((file, index) => {
      checkLength(file.length, `length of file ${index}`);
      if (file.path.length === 0 || file.path.some((c) => c === "")) {
        throw new TypeError(`Cannot encode torrent: file ${index} has an empty path component`);
      }
      total += file.length;
      return new Map<string, BencodeInput>([["length", file.length], ["path", [...file.path]]]);
    });
    info.set("files", list);
  } else {
    const single = files as { readonly length: number };
    checkLength(single.length, "length");
    total = single.length;
    info.set("length", total);
  }
  const pieceCount = Math.ceil(total / pieceLength);
  if (pieceHashes.length !== pieceCount * 20) {
    throw new RangeError(
      `Cannot encode torrent: ${pieceHashes.length} bytes of piece hashes for ${pieceCount} pieces`,
    );
  }
  info.set("name", name);
  info.set("piece length", pieceLength);
  info.set("pieces", pieceHashes);
  if (options.private) info.set("private", 1);

  const root = new Map<string, BencodeInput>();
  const tiers = (options.trackers ?? []).map((tier) => tier.filter((url) => url !== ""))
    .filter((tier) => tier.length > 0);
  if (tiers.length > 0) {
    root.set("announce", tiers[0][0]);
    if (tiers.length > 1 || tiers[0].length > 1) root.set("announce-list", tiers);
  }
  if (options.comment !== undefined) root.set("comment", options.comment);
  if (options.createdBy !== undefined) root.set("created by", options.createdBy);
  if (options.creationDate !== undefined) {
    checkLength(options.creationDate, "creation date");
    root.set("creation date", options.creationDate);
  }
  if (options.urlList && options.urlList.length > 0) root.set("url-list", [...options.urlList]);
  root.set("info", info);
  return encodeBencode(root);
}
