import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decodeBencode } from "../../src/bencode/decode.ts";
import { type BencodeInput, encodeBencode } from "../../src/bencode/encode.ts";
import type { BencodeDict } from "../../src/bencode/types.ts";
import { MAX_FILE_LENGTH, readTorrentFiles } from "../../src/metainfo/read_torrent_files.ts";
import { TorrentError } from "../../src/metainfo/torrent_error.ts";

function info(value: { [key: string]: BencodeInput }): BencodeDict {
  return decodeBencode(encodeBencode(value)) as BencodeDict;
}

function read(
  files: BencodeInput[],
): { files: ReturnType<typeof readTorrentFiles>; warnings: string[] } {
  const warnings: string[] = [];
  return {
    files: readTorrentFiles(info({ files }), "t", { onWarning: (w) => warnings.push(w) }),
    warnings,
  };
}

Deno.test("readTorrentFiles() reads a single-file torrent's attributes from the info dictionary", () => {
  const [file] = readTorrentFiles(info({ length: 5, attr: "xh" }), "run.sh");
  deepStrictEqual(file, {
    path: ["run.sh"],
    length: 5,
    padding: false,
    executable: true,
    hidden: true,
  });
});

Deno.test("readTorrentFiles() ignores unknown attribute letters and an attr that is no string", () => {
  const { files } = read([
    { length: 1, path: ["a"], attr: "zq" },
    { length: 1, path: ["b"], attr: 7 },
  ]);
  deepStrictEqual(files.map((f) => [f.executable, f.hidden, f.padding]), [
    [false, false, false],
    [false, false, false],
  ]);
});

Deno.test("readTorrentFiles() counts a symlink as 0 bytes and sanitises its target", () => {
  const { files, warnings } = read([
    { length: 99, path: ["l"], attr: "l", "symlink path": ["..", "a", "", "b"] },
  ]);
  deepStrictEqual([files[0].length, files[0].symlink], [0, ["a", "_", "b"]]);
  deepStrictEqual(warnings, ['file 0: a symlink takes no space; its "length" is ignored']);
});

Deno.test("readTorrentFiles() keeps a symlink without a target as an empty file", () => {
  const { files, warnings } = read([{ path: ["l"], attr: "l", "symlink path": ["."] }]);
  deepStrictEqual([files[0].length, files[0].symlink], [0, undefined]);
  strictEqual(warnings.length, 1);
});

Deno.test("readTorrentFiles() files a padding file without a path under .pad", () => {
  const { files } = read([{ length: 7, attr: "p" }, { length: 7, attr: "p", path: "not a list" }]);
  deepStrictEqual(files.map((f) => [f.path.join("/"), f.padding, f.outsideRoot]), [
    ["t/.pad/7", true, true],
    ["t/.pad/7", true, true],
  ]);
});

Deno.test("readTorrentFiles() takes path.utf-8 only when it is a list", () => {
  const { files } = read([
    { length: 1, path: ["a"], "path.utf-8": ["u"] },
    { length: 1, path: ["b"], "path.utf-8": "u" },
  ]);
  deepStrictEqual(files.map((f) => f.path.join("/")), ["t/u", "t/b"]);
});

Deno.test("readTorrentFiles() refuses what libtorrent refuses, naming the file", () => {
  const refuses = (files: BencodeInput[], message: RegExp) =>
    throws(() => read(files), (e: unknown) => e instanceof TorrentError && message.test(e.message));
  refuses(
    [{ length: 1, path: ["a"] }, { length: -1, path: ["b"] }],
    /"length" of file 1 must not be negative/,
  );
  refuses([{ length: MAX_FILE_LENGTH + 1, path: ["a"] }], /"length" of file 0 is larger than/);
  refuses(
    [{ length: 1, path: ["a", ["b"]] }],
    /"path" of file 0 has a component that is not a string/,
  );
  refuses([{ length: 1 }], /"path" of file 0 is missing or not a list/);
  refuses(
    [{ path: ["l"], attr: "l", "symlink path": [3] }],
    /"symlink path" of file 0 has a component/,
  );
  refuses([5], /file 0 is not a dictionary/);
});
