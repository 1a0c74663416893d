import { strictEqual, throws } from "node:assert/strict";
import { decodeBencode } from "../../src/bencode/decode.ts";
import { type BencodeInput, encodeBencode } from "../../src/bencode/encode.ts";
import type { BencodeDict, BencodeValue } from "../../src/bencode/types.ts";
import { utf8 } from "../../src/bytes/bytes.ts";
import { checkMetaVersion } from "../../src/metainfo/check_meta_version.ts";
import type { RawTorrentFile } from "../../src/metainfo/read_torrent_files.ts";
import { TorrentError } from "../../src/metainfo/torrent_error.ts";

const PIECE = 32_768;
const root = new Uint8Array(32).fill(5);

function v1(...files: [string, number, boolean?][]): RawTorrentFile[] {
  return files.map(([path, length, padding]) => ({
    path: path.split("/"),
    length,
    padding: padding ?? false,
    executable: false,
    hidden: false,
  }));
}

function info(tree: BencodeInput, extra: { [key: string]: BencodeInput } = {}): BencodeDict {
  return decodeBencode(
    encodeBencode({ "meta version": 2, "file tree": tree, ...extra }),
  ) as BencodeDict;
}

const leaf = (length: number) => ({ "": { length, "pieces root": root } });
const context = (files: RawTorrentFile[], pieceLength = PIECE) => ({
  name: "t",
  files,
  pieceLength,
});
const refuses = (run: () => unknown, message: RegExp) =>
  throws(run, (e: unknown) => e instanceof TorrentError && message.test(e.message));

Deno.test("checkMetaVersion() accepts a hybrid whose v1 list pads every file to a piece", () => {
  const tree = { a: leaf(40_000), b: leaf(100) };
  const files = v1(["t/a", 40_000], ["t/.pad/25536", 25_536, true], ["t/b", 100], [
    "t/.pad/32668",
    32_668,
    true,
  ]);
  strictEqual(checkMetaVersion(info(tree, { files: [] }), context(files)), 2);
  // Older libtorrent left out the last padding file: that is accepted too.
  strictEqual(checkMetaVersion(info(tree, { files: [] }), context(files.slice(0, 3))), 2);
});

Deno.test("checkMetaVersion() compares single-file hybrids by file name", () => {
  strictEqual(checkMetaVersion(info({ "a.bin": leaf(100) }), context(v1(["a.bin", 100]))), 2);
  refuses(
    () => checkMetaVersion(info({ "b.bin": leaf(100) }), context(v1(["a.bin", 100]))),
    /describe different files/,
  );
});

Deno.test("checkMetaVersion() refuses hybrids whose lists disagree", () => {
  const tree = { a: leaf(40_000), b: leaf(100) };
  const refused = (files: RawTorrentFile[]) =>
    refuses(
      () => checkMetaVersion(info(tree, { files: [] }), context(files)),
      /describe different files/,
    );
  refused(v1(["t/a", 40_000], ["t/.pad/25536", 25_536, true], ["t/b", 101]));
  refused(v1(["t/a", 40_000], ["t/b", 100]));
  refused(v1(["t/a", 40_000], ["t/.pad/25536", 25_536, true], ["t/c", 100]));
});

Deno.test("checkMetaVersion() refuses a malformed file tree", () => {
  const files = v1(["t/a", 100]);
  const bad = (tree: BencodeInput, message: RegExp) =>
    refuses(() => checkMetaVersion(info(tree, { files: [] }), context(files)), message);
  bad({ a: { "": { length: 100, "pieces root": root, attr: "p" } } }, /padding file/);
  bad({ a: { "": { length: 100 } } }, /no valid "pieces root"/);
  bad({ a: { "": { length: 100, "pieces root": new Uint8Array(32) } } }, /no valid "pieces root"/);
  bad({ a: { "": { length: -1, "pieces root": root } } }, /length of "t\/a" is missing or out/);
  bad({ a: 5 }, /"file tree" is malformed/);
  // Deeper than the bencode decoder nests, so built as maps directly.
  let deep: BencodeDict = info({ a: leaf(100) }).get("file tree") as BencodeDict;
  for (let i = 0; i < 102; i++) deep = new Map([["d", deep]]);
  const tree = new Map<string, BencodeValue>([
    ["file tree", deep],
    ["files", []],
    ["meta version", 2],
  ]);
  refuses(() => checkMetaVersion(tree, context(files)), /nested too deeply/);
});

Deno.test("checkMetaVersion() refuses unsorted keys once a meta version is given", () => {
  const unsorted = decodeBencode(utf8("d4:name1:t12:meta versioni1ee")) as BencodeDict;
  refuses(() => checkMetaVersion(unsorted, context([])), /unsorted keys/);
  const plain = decodeBencode(utf8("d4:name1:t6:lengthi1ee")) as BencodeDict;
  strictEqual(checkMetaVersion(plain, context([])), 1);
});
