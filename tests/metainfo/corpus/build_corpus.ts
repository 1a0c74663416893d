/**
 * A corpus of odd, hand-built `.torrent` files, each made here with shoal's own bencode encoder
 * (or by splicing raw bytes where the oddity is in the bencode itself), for comparing what
 * shoal and libtorrent 2.0.8 make of them (tests/metainfo/corpus_interop_test.ts).
 *
 * @module
 */

import { type BencodeInput, encodeBencode } from "../../../src/bencode/encode.ts";
import { concatBytes, utf8 } from "../../../src/bytes/bytes.ts";

/** One torrent of the corpus. */
export interface CorpusTorrent {
  /** A unique id, usable as a file name (kebab case). */
  readonly id: string;
  /** What is odd about it. */
  readonly about: string;
  /** The `.torrent` file's bytes. */
  readonly bytes: Uint8Array;
}

type Dict = { [key: string]: BencodeInput | undefined };

const PIECE_LENGTH = 16_384;

function hashes(count: number): Uint8Array {
  const out = new Uint8Array(count * 20);
  for (let i = 0; i < out.length; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

function lengthOf(file: Dict): number {
  const attr = file.attr;
  if (typeof attr === "string" && attr.includes("l")) return 0;
  return typeof file.length === "number" && file.length > 0 ? file.length : 0;
}

/** A multi-file torrent; `pieces` fits the files unless `info` says otherwise. */
function multi(files: BencodeInput[], info: Dict = {}, root: Dict = {}): Uint8Array {
  const pieceLength = typeof info["piece length"] === "number"
    ? info["piece length"]
    : PIECE_LENGTH;
  const total = files.reduce<number>(
    (sum, file) =>
      sum +
      (typeof file === "object" && !(file instanceof Uint8Array) ? lengthOf(file as Dict) : 0),
    0,
  );
  return encodeBencode({
    announce: "http://127.0.0.1:6969/announce",
    ...root,
    info: {
      files,
      name: "t",
      "piece length": pieceLength,
      pieces: hashes(Math.ceil(total / pieceLength)),
      ...info,
    },
  });
}

/** A single-file torrent of `length` bytes named `name`. */
function single(name: BencodeInput, length = 1000, info: Dict = {}, root: Dict = {}): Uint8Array {
  return encodeBencode({
    ...root,
    info: {
      length,
      name,
      "piece length": PIECE_LENGTH,
      pieces: "pieces" in info ? info.pieces : hashes(Math.ceil(length / PIECE_LENGTH)),
      ...info,
    },
  });
}

/** Files of one byte each at these paths. */
function paths(...list: BencodeInput[][]): Dict[] {
  return list.map((path) => ({ length: 1, path }));
}

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const cat = (...parts: (string | Uint8Array)[]): Uint8Array =>
  concatBytes(parts.map((p) => (typeof p === "string" ? utf8(p) : p)));

/** A 32-byte, non-zero BEP 52 "pieces root". */
function root32(seed: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (seed * 13 + i) & 0xff || 1);
}

/** A hybrid torrent of files `lengths` (named f0, f1, ...), v1 list padded as libtorrent does. */
function hybrid(lengths: number[], options: { tailPad?: boolean; treeLength?: number[] } = {}) {
  const pieceLength = 32_768;
  const files: Dict[] = [];
  const tree: Dict = {};
  lengths.forEach((length, i) => {
    files.push({ length, path: [`f${i}`] });
    const treeLength = options.treeLength?.[i] ?? length;
    tree[`f${i}`] = { "": { length: treeLength, "pieces root": root32(i + 1) } };
    const pad = (pieceLength - (length % pieceLength)) % pieceLength;
    const last = i === lengths.length - 1;
    if (pad > 0 && (!last || options.tailPad)) {
      files.push({ length: pad, path: [".pad", String(pad)], attr: "p" });
    }
  });
  return multi(files, { "meta version": 2, "file tree": tree, "piece length": pieceLength });
}

const LONG_A = "a".repeat(300);
const E_ACUTE = "\u00e9";

/** Every torrent of the corpus, in a fixed order. */
export function buildCorpus(): CorpusTorrent[] {
  const corpus: CorpusTorrent[] = [];
  const add = (id: string, about: string, data: Uint8Array): void => {
    corpus.push({ id, about, bytes: data });
  };

  // Paths
  add(
    "path-dotdot",
    "`..` components",
    multi(paths(["..", "..", "etc", "passwd"], ["a", "..", "b"])),
  );
  add("path-dot", "`.` components", multi(paths([".", "a"], ["b", "."])));
  add("path-absolute", "a component that is an absolute path", multi(paths(["/etc/passwd"])));
  add(
    "path-backslash",
    "backslashes inside components",
    multi(paths(["a\\b.txt"], ["..\\..\\evil"])),
  );
  add("path-empty-components", "empty components between others", multi(paths(["a", "", "", "b"])));
  add("path-slashes", "slashes inside one component", multi(paths(["a///b"], ["/a"], ["c/"])));
  add(
    "path-all-dropped",
    "paths that sanitise to nothing",
    multi(paths([".."], ["."], ["..", "."])),
  );
  add(
    "path-empty-list",
    "a `path` list with no component",
    multi([{ length: 5, path: [] }, ...paths(["a"])]),
  );
  add(
    "path-utf8-empty",
    "an empty `path.utf-8` list next to a good `path`",
    multi([
      { length: 5, path: ["a"], "path.utf-8": [] },
    ]),
  );
  add(
    "path-utf8-list",
    "`path.utf-8` wins over `path`",
    multi([{ length: 5, path: ["a"], "path.utf-8": ["u"] }]),
  );
  add(
    "path-utf8-string",
    "`path.utf-8` that is not a list",
    multi([{ length: 5, path: ["a"], "path.utf-8": "u" }]),
  );
  add("path-not-list", "`path` that is a string", multi([{ length: 5, path: "a" }]));
  add(
    "path-int-component",
    "a `path` component that is an integer",
    multi([{ length: 5, path: ["a", 7] }]),
  );
  add("path-missing", "a file without `path`", multi([{ length: 5 }, ...paths(["a"])]));
  add(
    "path-invalid-utf8",
    "invalid UTF-8 of every kind",
    multi(paths(
      [bytes(0x61, 0xff, 0xfe, 0x62)],
      [bytes(0x63, 0xc3)],
      [bytes(0x64, 0xc3, 0x41, 0x65)],
      [bytes(0xc0, 0xaf, 0x2e, 0x74)],
      [bytes(0xed, 0xa0, 0x80, 0x78)],
      [bytes(0xf4, 0x90, 0x80, 0x80, 0x79)],
      [bytes(0xf8, 0x88, 0x80, 0x80, 0x80, 0x7a)],
      [bytes(0xe2, 0x82)],
    )),
  );
  add(
    "path-control",
    "control characters",
    multi(paths(["a\x01b"], ["tab\there"], [bytes(0x6e, 0, 0x6c)], ["del\x7f"])),
  );
  add(
    "path-bidi",
    "direction overrides that disguise an extension",
    multi(paths(["evil\u202egpj.exe"], ["x\u200ey"])),
  );
  add(
    "path-windows-chars",
    "characters Windows reserves",
    multi(paths(['x?y:z*<>|"'], ["C:"], ["con"])),
  );
  add(
    "path-trailing-dots",
    "trailing dots and spaces",
    multi(paths(["trail. "], ["dots..."], ["..."], ["a.."])),
  );
  add("path-long-ext", "a 304-byte name with an extension", multi(paths([`${LONG_A}.mkv`])));
  add("path-long", "a 300-byte name without an extension", multi(paths([LONG_A])));
  add(
    "path-long-utf8",
    "a long name of 2-byte characters",
    multi(paths([`${E_ACUTE.repeat(200)}.txt`])),
  );
  add(
    "path-long-far-dot",
    "a long name whose dot is too far from the end",
    multi(paths([`${"b".repeat(250)}.longextension`])),
  );
  add(
    "path-long-3byte",
    "a long name of 3-byte characters",
    multi(paths([`${"\u20ac".repeat(90)}.txt`])),
  );
  add("path-bom", "a name that starts with a byte order mark", multi(paths(["\ufeffbom.txt"])));
  add("dup-exact", "the same path three times", multi(paths(["a.txt"], ["a.txt"], ["a.txt"])));
  add(
    "dup-case",
    "paths that differ only in case",
    multi(paths(["a.txt"], ["A.TXT"], ["Dir", "x"], ["dir", "y"])),
  );
  add(
    "dup-renamed-collision",
    "a rename that collides with a later file",
    multi(paths(["a.txt"], ["a.txt"], ["a.1.txt"])),
  );
  add(
    "dup-file-folder",
    "a file named like a folder, both orders",
    multi(paths(["d"], ["d", "x"], ["e", "x"], ["e"])),
  );
  add(
    "dup-no-extension",
    "duplicates without an extension, and dot files",
    multi(paths(["README"], ["README"], [".hidden"], [".hidden"])),
  );
  add(
    "dup-after-sanitising",
    "paths that only collide once sanitised",
    multi(paths(["a/b"], ["ab"], ["x", "..", "y"], ["x", "y"])),
  );
  add(
    "dup-folder-dot",
    "a duplicate inside a folder whose name has a dot",
    multi(paths(["d.e", "f"], ["d.e", "f"])),
  );

  // Names
  add("name-dotdot-multi", "a multi-file torrent named `..`", multi(paths(["a"]), { name: ".." }));
  add(
    "name-empty-multi",
    "a multi-file torrent with an empty name",
    multi(paths(["a"]), { name: "" }),
  );
  add("name-slash-multi", "a multi-file torrent named `/`", multi(paths(["a"]), { name: "/" }));
  add("name-dotdot-single", "a single-file torrent named `..`", single(".."));
  add("name-empty-single", "a single-file torrent with an empty name", single(""));
  add("name-absolute-single", "a single-file torrent named `/etc/passwd`", single("/etc/passwd"));
  add("name-traversal-single", "a single-file torrent named `../x`", single("../x"));
  add(
    "name-utf8-wins",
    "`name.utf-8` wins over `name`",
    multi(paths(["a"]), { "name.utf-8": "U" }),
  );
  add("name-utf8-int", "`name.utf-8` that is an integer", multi(paths(["a"]), { "name.utf-8": 3 }));
  add("name-int", "`name` that is an integer", multi(paths(["a"]), { name: 3 }));
  add("name-missing", "no `name`", multi(paths(["a"]), { name: undefined }));
  add(
    "name-padding-word",
    "a BitComet padding word in the torrent's name",
    single("x_____padding_file_0", 1000),
  );

  // Extra bytes after the dictionary
  const plain = single("plain.bin");
  add("extra-garbage", "text after the dictionary", cat(plain, "junk"));
  add("extra-dict", "a second dictionary after the first", cat(plain, "de"));
  add("extra-newline", "a newline after the dictionary", cat(plain, "\n"));
  add("extra-zeros", "zero bytes after the dictionary", cat(plain, new Uint8Array(512)));

  // BEP 47 attributes
  add(
    "attr-flags",
    "executable, hidden and unknown attributes",
    multi([
      { length: 1, path: ["x"], attr: "x" },
      { length: 1, path: ["h"], attr: "h" },
      { length: 1, path: ["xh"], attr: "xhz" },
      { length: 1, path: ["n"], attr: 5 },
    ]),
  );
  add(
    "attr-single-executable",
    "a single-file torrent with `attr`",
    single("run.sh", 100, { attr: "x" }),
  );
  add(
    "pad-with-path",
    "padding files with a path",
    multi([
      { length: 1000, path: ["a"] },
      { length: 15384, path: [".pad", "15384"], attr: "p" },
      { length: 10, path: ["b"] },
    ]),
  );
  add(
    "pad-without-path",
    "padding files without a path, twice the same length",
    multi([
      { length: 1000, path: ["a"] },
      { length: 15384, attr: "p" },
      { length: 1000, path: ["b"] },
      { length: 15384, attr: "p" },
      { length: 10, path: ["c"] },
    ]),
  );
  add(
    "pad-bitcomet",
    "BitComet padding files (no attr)",
    multi([
      { length: 1000, path: ["a"] },
      {
        length: 15384,
        path: [
          "_____padding_file_0_if you see this file, please update to BitComet 0.85 or above____",
        ],
      },
      { length: 10, path: ["b"] },
    ]),
  );
  add(
    "pad-path-no-attr",
    "a `.pad/N` path without the `p` attribute",
    multi([
      { length: 1000, path: ["a"] },
      { length: 15384, path: [".pad", "15384"] },
      { length: 10, path: ["b"] },
    ]),
  );
  add(
    "pad-collides",
    "a padding file with a real file's path",
    multi([
      { length: 1000, path: ["a"] },
      { length: 15384, path: ["a"], attr: "p" },
      { length: 10, path: ["b"] },
    ]),
  );
  add(
    "pad-outside-folder",
    "a pathless padding file next to real files named like it",
    multi([
      { length: 1000, path: ["a"] },
      { length: 15384, attr: "p" },
      { length: 10, path: [".pad", "15384"] },
      { length: 10, path: [".pad"] },
    ]),
  );
  add(
    "symlink-kinds",
    "symlinks: to a file, to a folder, from a folder, bad targets",
    multi([
      { length: 100, path: ["a"] },
      { length: 100, path: ["sub", "f"] },
      { path: ["l-file"], attr: "l", "symlink path": ["a"] },
      { path: ["l-folder"], attr: "l", "symlink path": ["sub"] },
      { path: ["sub", "l-sibling"], attr: "l", "symlink path": ["f"] },
      { path: ["d", "l-root"], attr: "l", "symlink path": ["a"] },
      { path: ["l-escape"], attr: "l", "symlink path": ["..", "..", "etc", "passwd"] },
      { path: ["l-absolute"], attr: "l", "symlink path": ["/etc/passwd"] },
      { path: ["l-missing"], attr: "l", "symlink path": ["nowhere"] },
    ]),
  );
  add(
    "symlink-no-target",
    "symlinks without a usable target",
    multi([
      { length: 100, path: ["a"] },
      { path: ["l1"], attr: "l" },
      { path: ["l2"], attr: "l", "symlink path": [] },
      { path: ["l3"], attr: "l", "symlink path": [".."] },
      { length: 7, path: ["l4"], attr: "l" },
    ]),
  );
  add(
    "symlink-length",
    "a symlink that also has a length",
    multi([
      { length: 100, path: ["a"] },
      { length: 5000, path: ["l"], attr: "l", "symlink path": ["a"] },
    ]),
  );
  add(
    "symlink-chain",
    "symlinks followed through other symlinks, and a loop",
    multi([
      { length: 100, path: ["real", "f"] },
      { path: ["link1"], attr: "l", "symlink path": ["real"] },
      { path: ["l-via"], attr: "l", "symlink path": ["link1", "f"] },
      { path: ["loop-a"], attr: "l", "symlink path": ["loop-b", "x"] },
      { path: ["loop-b"], attr: "l", "symlink path": ["loop-a", "x"] },
    ]),
  );
  add(
    "symlink-bad-target-type",
    "a `symlink path` component that is an integer",
    multi([
      { length: 100, path: ["a"] },
      { path: ["l"], attr: "l", "symlink path": [1] },
    ]),
  );
  add(
    "symlink-duplicate",
    "a symlink that gets renamed as a duplicate",
    multi([
      { length: 100, path: ["a"] },
      { path: ["a"], attr: "l", "symlink path": ["zzz"] },
    ]),
  );

  // Bad values
  add(
    "date-huge",
    "`creation date` of 10^15 seconds",
    single("d.bin", 1000, {}, { "creation date": 10 ** 15 }),
  );
  add(
    "date-negative",
    "a negative `creation date`",
    single("d.bin", 1000, {}, { "creation date": -5 }),
  );
  add(
    "date-string",
    "`creation date` that is a string",
    single("d.bin", 1000, {}, { "creation date": "2020" }),
  );
  add(
    "date-bigint",
    "`creation date` beyond 64 bits",
    single("d.bin", 1000, {}, { "creation date": 10n ** 20n }),
  );
  add(
    "date-ok",
    "an ordinary `creation date`",
    single("d.bin", 1000, {}, { "creation date": 1_700_000_000 }),
  );
  add(
    "text-wrong-types",
    "`comment` an integer, `created by` a list",
    single("t.bin", 1000, {}, {
      comment: 5,
      "created by": ["x"],
    }),
  );
  add(
    "text-utf8",
    "`comment.utf-8` with bad UTF-8, `created by` with a control character",
    single(
      "t.bin",
      1000,
      {},
      { comment: "plain", "comment.utf-8": bytes(0x62, 0xff, 0x63), "created by": "tool\x01 1.0" },
    ),
  );
  add(
    "text-utf8-empty",
    "an empty `comment.utf-8`",
    single("t.bin", 1000, {}, { comment: "a", "comment.utf-8": "" }),
  );
  add(
    "length-negative",
    "a negative file length",
    multi([{ length: -1, path: ["a"] }, ...paths(["b"])]),
  );
  add("length-missing", "a file without `length`", multi([{ path: ["a"] }, ...paths(["b"])]));
  add(
    "length-string",
    "a `length` that is a string",
    multi([{ length: "1", path: ["a"] }, ...paths(["b"])]),
  );
  add(
    "length-max",
    "a file of the largest length libtorrent accepts",
    single("big", 1_073_741_823 * 16_384 - 1, {
      "piece length": 2 ** 29,
      pieces: hashes(32_768),
    }),
  );
  add(
    "length-over-max",
    "a file one byte longer",
    single("big", 1_073_741_823 * 16_384, {
      "piece length": 2 ** 29,
      pieces: hashes(32_768),
    }),
  );
  add("length-zero-total", "only empty files", multi([{ length: 0, path: ["a"] }]));
  add("files-empty", "an empty `files` list", multi([]));
  add(
    "files-string",
    "`files` that is a string, with a `length`",
    single("s.bin", 1000, { files: "oops" }),
  );
  add(
    "files-entry-string",
    "a `files` entry that is a string",
    multi(["x", { length: 5, path: ["a"] }]),
  );
  add("private-values", "`private` of 2", single("p.bin", 1000, { private: 2 }));
  add("private-string", "`private` that is a string", single("p.bin", 1000, { private: "1" }));
  add(
    "piece-length-odd",
    "a piece length of 3",
    single("p.bin", 10, { "piece length": 3, pieces: hashes(4) }),
  );
  add("piece-length-zero", "a piece length of 0", single("p.bin", 10, { "piece length": 0 }));
  add(
    "piece-length-string",
    "a piece length that is a string",
    single("p.bin", 10, { "piece length": "16384" }),
  );
  add(
    "piece-length-768m",
    "a 768 MiB piece length",
    single("p.bin", 10, { "piece length": 768 * 2 ** 20, pieces: hashes(1) }),
  );
  add(
    "pieces-wrong-count",
    "one piece hash too many",
    single("p.bin", 1000, { pieces: hashes(2) }),
  );
  add(
    "pieces-ragged",
    "`pieces` not a multiple of 20 bytes",
    single("p.bin", 1000, { pieces: hashes(2).subarray(0, 30) }),
  );
  add("pieces-missing", "no `pieces`", single("p.bin", 1000, { pieces: undefined }));
  add("info-missing", "no `info`", encodeBencode({ announce: "http://127.0.0.1/" }));
  add("info-list", "`info` that is a list", encodeBencode({ info: [1] }));
  add("root-list", "a list at the top level", encodeBencode([{ info: {} }]));

  // BEP 52
  add(
    "v2-only",
    "a v2-only torrent",
    encodeBencode({
      info: {
        "file tree": { a: { "": { length: 1000, "pieces root": root32(1) } } },
        "meta version": 2,
        name: "v2",
        "piece length": 16_384,
      },
    }),
  );
  add(
    "hybrid",
    "a hybrid torrent with tail padding",
    hybrid([100_000, 5000, 40_000], { tailPad: true }),
  );
  add(
    "hybrid-no-tail-pad",
    "a hybrid torrent without tail padding",
    hybrid([100_000, 5000, 40_000]),
  );
  add(
    "hybrid-mismatch",
    "a hybrid torrent whose two file lists disagree",
    hybrid([100_000, 5000], {
      treeLength: [100_000, 6000],
    }),
  );
  add("meta-version-3", "`meta version` 3", single("m.bin", 1000, { "meta version": 3 }));
  add(
    "file-tree-without-version",
    "a `file tree` without `meta version`",
    single("m.bin", 1000, {
      "file tree": { "m.bin": { "": { length: 1000, "pieces root": root32(1) } } },
    }),
  );
  add(
    "v2-piece-length-odd",
    "a hybrid torrent with a 20000-byte piece length",
    multi(paths(["a"]), {
      "meta version": 2,
      "piece length": 20_000,
      "file tree": { a: { "": { length: 1, "pieces root": root32(1) } } },
    }),
  );

  // Bencode that libtorrent tolerates (spliced by hand)
  const info = "d6:lengthi1000e4:name3:raw12:piece lengthi16384e6:pieces20:" + "x".repeat(20) + "e";
  add("bencode-reference", "the info dictionary the next ones vary", cat("d4:info", info, "e"));
  add(
    "bencode-unsorted",
    "top-level and info keys out of order",
    cat(
      "d4:info",
      "d4:name3:raw6:lengthi1000e12:piece lengthi16384e6:pieces20:" + "x".repeat(20) + "e",
      "1:ai1ee",
    ),
  );
  add(
    "bencode-unsorted-v1-versioned",
    "unsorted info keys with `meta version` 1",
    cat(
      "d4:info",
      "d4:name3:raw6:lengthi1000e12:meta versioni1e12:piece lengthi16384e6:pieces20:" +
        "x".repeat(20) + "e",
      "e",
    ),
  );
  add(
    "bencode-leading-zero",
    "an integer with a leading zero",
    cat("d4:info", info.replace("i1000e", "i01000e"), "e"),
  );
  add("bencode-negative-zero", "the integer -0", cat("d4:info", info, "1:xi-0ee"));
  add(
    "bencode-string-zero",
    "a string length with a leading zero",
    cat("d4:info", info, "1:x02:abe"),
  );
  add("bencode-duplicate-key", "a key given twice", cat("d4:info", info, "4:infoi1ee"));
  add(
    "bencode-deep-70",
    "lists nested 70 deep",
    cat("d4:info", info, "1:x", "l".repeat(70), "e".repeat(70), "e"),
  );
  add(
    "bencode-deep-101",
    "lists nested 101 deep",
    cat("d4:info", info, "1:x", "l".repeat(101), "e".repeat(101), "e"),
  );
  add(
    "bencode-int-overflow",
    "an unused integer of 21 digits",
    cat("d4:info", info, "1:xi999999999999999999999ee"),
  );
  add(
    "bencode-int-20-digits",
    "an unused integer of 20 digits (beyond 64 bits)",
    cat("d4:info", info, "1:xi99999999999999999999ee"),
  );
  add("bencode-truncated", "a file cut short", cat("d4:info", info));
  add("bencode-empty", "an empty file", new Uint8Array());
  return corpus;
}
