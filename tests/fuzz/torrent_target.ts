import { decodeBencodePrefix } from "../../src/bencode/decode.ts";
// Fuzz target: `.torrent` files (src/metainfo/parse_torrent.ts), with the geometry, path and
// info-hash invariants every caller relies on, and the round trip through encodeTorrentFile.
import { decodeBencode } from "../../src/bencode/decode.ts";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { encodeHex } from "../../src/bytes/hex.ts";
import { encodeTorrent } from "../../src/metainfo/encode_torrent.ts";
import { MAX_PIECE_LENGTH, parseTorrent, TorrentError } from "../../src/metainfo/parse_torrent.ts";
import { encodeTorrentFile, metainfoFromInfo } from "../../src/metainfo/torrent_from_info.ts";
import type { Metainfo } from "../../src/metainfo/types.ts";
import { sha1 } from "../../src/sha1/sha1.ts";
import {
  type FuzzTarget,
  invariant,
  invariantEqual,
  InvariantError,
  mustNotThrow,
  mustThrow,
} from "./fuzz_target.ts";

const hashes = (count: number): Uint8Array =>
  new Uint8Array(count * 20).map((_, i) => (i * 37 + 11) & 0xff);

const LONG = "x".repeat(250);

function seeds(): Uint8Array[] {
  const single = encodeTorrent({
    name: "hello.txt",
    pieceLength: 16384,
    pieceHashes: hashes(1),
    files: { length: 5 },
    trackers: [["http://127.0.0.1:6969/announce"]],
  });
  const multi = encodeTorrent({
    name: "folder",
    pieceLength: 16384,
    pieceHashes: hashes(3),
    files: [
      { path: ["a.txt"], length: 5 },
      { path: ["dir", "b.bin"], length: 40000 },
      { path: ["dir", "empty"], length: 0 },
      { path: [`${LONG}.txt`], length: 0 },
      { path: [`${LONG}.dat`], length: 0 },
    ],
    private: true,
    trackers: [["udp://127.0.0.1:1/announce", "http://127.0.0.1:2/a"], ["http://127.0.0.1:3/a"]],
    comment: "a comment",
    createdBy: "shoal fuzz",
    creationDate: 1_700_000_000,
    urlList: ["http://127.0.0.1:8080/files/"],
  });
  const padded = encodeTorrent({
    name: "padded",
    pieceLength: 32768,
    pieceHashes: hashes(2),
    files: [
      { path: ["one"], length: 100 },
      { path: [".pad", "32668"], length: 32668 },
      { path: ["two"], length: 10 },
    ],
  });
  // What encodeTorrent does not write: .utf-8 variants, httpseeds,
  // a url-list given as one string, an announce-list with a repeated URL.
  const variants = encodeBencode({
    announce: "http://127.0.0.1:4/a",
    "announce-list": [["http://127.0.0.1:4/a"], ["http://127.0.0.1:4/a", "http://127.0.0.1:5/a"]],
    "url-list": "http://127.0.0.1:6/",
    httpseeds: ["http://127.0.0.1:7/"],
    "comment.utf-8": "kommentar ü",
    info: {
      name: "raw",
      "name.utf-8": "räw",
      "piece length": 65536,
      pieces: hashes(2),
      files: [
        { length: 65536, path: ["p"], "path.utf-8": ["ü"] },
        { length: 1, path: ["q"], attr: "x" },
        { length: 7, path: ["_____padding_file_0"], attr: "p" },
      ],
    },
  });
  return [single, multi, padded, variants];
}

// Control characters below U+0020 and separators. On POSIX, as libtorrent does, DEL,
// Windows-reserved characters and a trailing dot or space are kept (parseTorrent's `windows`
// option removes the reserved ones).
// deno-lint-ignore no-control-regex
const UNSAFE_COMPONENT = /[\u0000-\u001f/\\]/;
const encoder = new TextEncoder();

function checkMetainfo(m: Metainfo, input: Uint8Array): void {
  invariant(encodeHex(sha1(m.infoBytes)) === m.infoHashHex, "infoHash is not sha1(infoBytes)");
  invariant(encodeHex(m.infoHash) === m.infoHashHex, "infoHash and infoHashHex differ");
  invariant(
    mustNotThrow(
      "decodeBencode(infoBytes)",
      () => decodeBencode(m.infoBytes, { lenient: true }),
    ) instanceof Map,
    "infoBytes is not a dictionary",
  );
  invariant(m.infoBytes.length < input.length, "infoBytes is not inside the file");
  invariant(
    Number.isSafeInteger(m.pieceLength) && m.pieceLength > 0 && m.pieceLength <= MAX_PIECE_LENGTH,
    () => `piece length ${m.pieceLength}`,
  );
  invariant(Number.isSafeInteger(m.totalLength) && m.totalLength > 0, "total length");
  invariant(m.pieceHashes.length === m.pieceCount * 20, "piece hashes and piece count differ");
  invariant(
    m.pieceCount === Math.ceil(m.totalLength / m.pieceLength),
    () => `${m.pieceCount} pieces for ${m.totalLength} bytes of ${m.pieceLength}`,
  );
  invariant(
    m.name !== "" && !UNSAFE_COMPONENT.test(m.name),
    () => `name ${JSON.stringify(m.name)}`,
  );
  invariant(m.files.length > 0, "no files");
  let offset = 0;
  const paths = new Set<string>();
  for (const file of m.files) {
    invariant(file.offset === offset, () => `file offset ${file.offset}, expected ${offset}`);
    invariant(Number.isSafeInteger(file.length) && file.length >= 0, "file length");
    offset += file.length;
    invariant(file.path[0] === m.name, "a file is not under the torrent's name");
    invariant(m.multiFile || file.path.length === 1, "a single-file torrent has a folder");
    for (const component of file.path) {
      invariant(
        component !== "" && component !== "." && component !== ".." &&
          !UNSAFE_COMPONENT.test(component),
        () => `unsafe path component ${JSON.stringify(component)}`,
      );
      const bytes = encoder.encode(component).length;
      if (bytes > 255) {
        // parseTorrent caps every component at 255 bytes before renaming duplicates, so an
        // over-long one can only come from the ".1" the renaming adds.
        const renamed = /\.\d+(\.[^.]{1,15})?$/.test(component);
        throw new InvariantError(
          `${renamed ? "renamed duplicate " : ""}path component of ${bytes} bytes (over 255): ` +
            `${JSON.stringify(component.slice(0, 40))}…`,
          { rule: `${renamed ? "renamed duplicate " : ""}path component over 255 bytes` },
        );
      }
    }
    if (!file.padding) {
      const key = file.path.join("/");
      invariant(!paths.has(key), () => `two files at ${JSON.stringify(key)}`);
      paths.add(key);
    }
  }
  invariant(offset === m.totalLength, "file lengths do not add up to the total");
  const urls = m.announce.flat();
  invariant(new Set(urls).size === urls.length, "a tracker URL is listed twice");
  invariant(urls.every((u) => u !== "" && u.trim() === u), "an empty or untrimmed tracker URL");
}

/** Found by this target; src/metainfo is another engineer's to fix. */

/** `parseTorrent`: only TorrentError escapes; the metainfo is consistent and round trips. */
export const torrentTarget: FuzzTarget = {
  name: "torrent",
  description: "parseTorrent: only TorrentError escapes; infoHash = sha1(infoBytes); piece " +
    "count, lengths and offsets agree; paths are safe, at most 255 bytes a component, unique; " +
    "metainfoFromInfo and encodeTorrentFile give the same torrent back; prefixes are refused",
  allowed: [TorrentError],
  profile: "bencode",
  dictionary: [
    "4:info",
    "6:pieces",
    "12:piece length",
    "4:name",
    "6:length",
    "5:files",
    "4:path",
    "10:name.utf-8",
    "10:path.utf-8",
    "2:..",
    "1:.",
    "1:/",
    "3:C:\\",
    "4:attr",
    "1:p",
    "12:meta version",
    "8:announce",
    "13:announce-list",
    "8:url-list",
    "7:private",
    "4:.pad",
    "19:_____padding_file_0",
  ],
  corpus: seeds,
  run(input, { rng }) {
    const m = parseTorrent(input);
    checkMetainfo(m, input);
    const again = mustNotThrow(
      "parseTorrent(encodeTorrentFile(infoBytes))",
      () => parseTorrent(encodeTorrentFile(m.infoBytes, m.announce.flat())),
    );
    invariantEqual(again.infoHashHex, m.infoHashHex, "info hash after encodeTorrentFile");
    invariantEqual(again.files, m.files, "files after encodeTorrentFile");
    const fromInfo = mustNotThrow(
      "metainfoFromInfo(infoBytes)",
      () => metainfoFromInfo(m.infoBytes),
    );
    invariantEqual(fromInfo.files, m.files, "files after metainfoFromInfo");
    // Bytes after the top-level dictionary are ignored (as libtorrent does): only a cut into
    // the dictionary itself must be refused.
    const end = decodeBencodePrefix(input, 0, { lenient: true }).end; // as parseTorrent reads it
    const cut = rng.below(end);
    mustThrow(
      `parseTorrent(first ${cut} bytes)`,
      [TorrentError],
      () => parseTorrent(input.subarray(0, cut)),
    );
    return "accepted";
  },
};
