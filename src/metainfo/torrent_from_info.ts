import { BencodeError, decodeBencode } from "../bencode/decode.ts";
import { encodeBencode } from "../bencode/encode.ts";
import { bencodeText, isBencodeDict } from "../bencode/fields.ts";
import type { BencodeDict } from "../bencode/types.ts";
import { parseTorrent } from "./parse_torrent.ts";
import { sanitizePathComponent } from "./sanitize_path.ts";
import { TorrentError } from "./torrent_error.ts";
import type { Metainfo } from "./types.ts";

/** What a magnet link adds to its fetched info dictionary. */
export interface MetainfoFromInfoOptions {
  /** The magnet's `tr=` URLs, in order; each becomes its own tier (as libtorrent does). */
  readonly trackers?: readonly string[];
  /** The magnet's `dn=`: used only when the dictionary's own name is empty or unusable. */
  readonly name?: string;
}

const textEncoder = new TextEncoder();

function tiers(trackers: readonly string[]): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const raw of trackers) {
    const url = raw.trim();
    if (url !== "" && !seen.has(url)) {
      seen.add(url);
      out.push([url]);
    }
  }
  return out;
}

function checkInfo(infoBytes: Uint8Array): BencodeDict {
  let value;
  try {
    value = decodeBencode(infoBytes, { lenient: true }); // as parseTorrent reads it
  } catch (error) {
    if (!(error instanceof BencodeError)) throw error;
    throw new TorrentError(`Cannot use info dictionary: ${error.message}`, { cause: error });
  }
  if (!isBencodeDict(value)) {
    throw new TorrentError("Cannot use info dictionary: the bytes are not a bencoded dictionary");
  }
  return value;
}

/** Whether parseTorrent had to fall back to the hex info hash for the dictionary's name. */
function nameUnusable(info: BencodeDict): boolean {
  const utf8Name = info.get("name.utf-8");
  const raw = utf8Name instanceof Uint8Array ? utf8Name : info.get("name");
  return raw instanceof Uint8Array && sanitizePathComponent(bencodeText(raw)) === "";
}

function splice(infoBytes: Uint8Array, trackers: readonly string[]): Uint8Array {
  const list = tiers(trackers);
  const head = new Map<string, string | string[][]>();
  if (list.length > 0) head.set("announce", list[0][0]);
  if (list.length > 1) head.set("announce-list", list);
  // Keys sort as announce < announce-list < info, so "info" goes last: drop the head's final
  // "e", append the info key and the raw dictionary, and close the root again.
  const headBytes = encodeBencode(head);
  const key = textEncoder.encode("4:info");
  const out = new Uint8Array(headBytes.length - 1 + key.length + infoBytes.length + 1);
  out.set(headBytes.subarray(0, headBytes.length - 1));
  out.set(key, headBytes.length - 1);
  out.set(infoBytes, headBytes.length - 1 + key.length);
  out[out.length - 1] = 0x65; // "e"
  return out;
}

/**
 * Writes a `.torrent` file around an info dictionary fetched by BEP 9 (for `--save-torrent`):
 * the dictionary's bytes are spliced in unchanged, so the file's info hash is the magnet's.
 * `announce` is the first tracker and `announce-list` (BEP 12) holds each in its own tier when
 * there is more than one; blank and repeated URLs are left out.
 * @param infoBytes The info dictionary's bytes, exactly as verified against the info hash.
 * @param trackers Tracker URLs, e.g. the magnet's `tr=` values.
 * @returns The `.torrent` file's bytes.
 * @throws {TorrentError} If `infoBytes` is not exactly one bencoded dictionary.
 * @example
 * ```ts
 * import { encodeTorrentFile } from "@shoal/shoal/metainfo";
 * import { parseTorrent, sha1 } from "@shoal/shoal";
 * import { deepStrictEqual } from "node:assert/strict";
 * const info = new TextEncoder().encode(
 *   "d6:lengthi5e4:name5:hello12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae",
 * );
 * const file = encodeTorrentFile(info, ["http://127.0.0.1:6969/announce"]);
 * deepStrictEqual(parseTorrent(file).infoHash, sha1(info));
 * ```
 */
export function encodeTorrentFile(
  infoBytes: Uint8Array,
  trackers: readonly string[] = [],
): Uint8Array {
  checkInfo(infoBytes);
  return splice(infoBytes, trackers);
}

/**
 * Builds the {@linkcode Metainfo} of a magnet link once its info dictionary has been fetched
 * and verified (BEP 9). The info hash is the SHA-1 of `infoBytes` as given (never a
 * re-encoding); trackers come from the magnet, each in its own tier. Everything in the
 * dictionary is checked as `parseTorrent` checks a `.torrent` file.
 * @param infoBytes The info dictionary's bytes.
 * @param options The magnet's trackers and display name.
 * @returns The torrent, as if read from a `.torrent` file.
 * @throws {TorrentError} If the bytes are not one bencoded dictionary or a field is refused.
 * @example
 * ```ts
 * import { metainfoFromInfo } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * const info = new TextEncoder().encode(
 *   "d6:lengthi5e4:name5:hello12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae",
 * );
 * const torrent = metainfoFromInfo(info, { trackers: ["udp://127.0.0.1:6969"] });
 * strictEqual(torrent.name, "hello");
 * deepStrictEqual(torrent.announce, [["udp://127.0.0.1:6969"]]);
 * ```
 */
export function metainfoFromInfo(
  infoBytes: Uint8Array,
  options: MetainfoFromInfoOptions = {},
): Metainfo {
  const info = checkInfo(infoBytes);
  const torrent = parseTorrent(splice(infoBytes, options.trackers ?? []));
  if (options.name === undefined || !nameUnusable(info)) return torrent;
  const name = sanitizePathComponent(options.name);
  if (name === "") return torrent;
  const files = torrent.files.map((file) => ({ ...file, path: [name, ...file.path.slice(1)] }));
  return { ...torrent, name, files };
}
