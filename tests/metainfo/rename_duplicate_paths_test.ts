import { deepStrictEqual } from "node:assert/strict";
import { type PathEntry, renameDuplicatePaths } from "../../src/metainfo/rename_duplicate_paths.ts";

// Expected names follow libtorrent 2.0.8's resolve_duplicate_filenames (the corpus interop test
// checks the same cases against libtorrent).

function files(...paths: string[]): PathEntry[] {
  return paths.map((path) => ({ path: path.split("/"), length: 1, padding: false }));
}

function renamed(entries: PathEntry[]): string[] {
  renameDuplicatePaths(entries);
  return entries.map((f) => f.path.join("/"));
}

Deno.test("renameDuplicatePaths() numbers exact duplicates before the extension", () => {
  deepStrictEqual(renamed(files("t/a.txt", "t/a.txt", "t/a.txt")), [
    "t/a.txt",
    "t/a.1.txt",
    "t/a.2.txt",
  ]);
  deepStrictEqual(renamed(files("t/a.tar.gz", "t/a.tar.gz")), ["t/a.tar.gz", "t/a.tar.1.gz"]);
  deepStrictEqual(renamed(files("t/README", "t/README")), ["t/README", "t/README.1"]);
  deepStrictEqual(renamed(files("t/.hidden", "t/.hidden")), ["t/.hidden", "t/.1.hidden"]);
  deepStrictEqual(renamed(files("t/d.e/f", "t/d.e/f")), ["t/d.e/f", "t/d.e/f.1"]);
});

Deno.test("renameDuplicatePaths() compares without regard to ASCII case only", () => {
  deepStrictEqual(renamed(files("t/a.txt", "t/A.TXT")), ["t/a.txt", "t/A.1.TXT"]);
  deepStrictEqual(renamed(files("t/Dir/x", "t/dir/x")), ["t/Dir/x", "t/dir/x.1"]);
  deepStrictEqual(renamed(files("t/é", "t/É")), ["t/é", "t/É"], "non-ASCII case is kept apart");
});

Deno.test("renameDuplicatePaths() skips numbers already taken, by earlier files or renames", () => {
  deepStrictEqual(renamed(files("t/a.1.txt", "t/a.txt", "t/a.txt")), [
    "t/a.1.txt",
    "t/a.txt",
    "t/a.2.txt",
  ]);
  deepStrictEqual(renamed(files("t/a.txt", "t/a.txt", "t/a.1.txt")), [
    "t/a.txt",
    "t/a.1.txt",
    "t/a.1.1.txt",
  ]);
});

Deno.test("renameDuplicatePaths() lets folders win over files, whichever comes first", () => {
  deepStrictEqual(renamed(files("t/d", "t/d/x", "t/e/x", "t/e")), [
    "t/d.1",
    "t/d/x",
    "t/e/x",
    "t/e.1",
  ]);
});

Deno.test("renameDuplicatePaths() lets padding files of one length share a path", () => {
  const pad = (path: string, length: number, outsideRoot = false): PathEntry => ({
    path: path.split("/"),
    length,
    padding: true,
    outsideRoot,
  });
  const list = [pad("t/.pad/7", 7), pad("t/.pad/7", 7), pad("t/.pad/7", 8)];
  deepStrictEqual(renamed(list), ["t/.pad/7", "t/.pad/7", "t/.pad/7.1"]);
  // A padding file without a path sits outside the folder in libtorrent: no clash with t/.pad/7.
  deepStrictEqual(renamed([pad("t/.pad/7", 1, true), ...files("t/.pad/7")]), [
    "t/.pad/7",
    "t/.pad/7",
  ]);
  // ... but a real file still clashes with the folder that padding files live in.
  deepStrictEqual(renamed([pad("t/.pad/7", 7, true), ...files("t/.pad")]), [
    "t/.pad/7",
    "t/.1.pad", // ".pad" is all extension, as in libtorrent
  ]);
});

Deno.test("renameDuplicatePaths() returns every rename", () => {
  const list = files("t/a", "t/a", "t/b");
  deepStrictEqual(renameDuplicatePaths(list), [{ index: 1, from: ["t", "a"], to: ["t", "a.1"] }]);
});
