import { ok, strictEqual } from "node:assert/strict";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { TorrentError } from "../../src/metainfo/torrent_error.ts";
import { MAX_TORRENT_WARNINGS } from "../../src/metainfo/types.ts";
import { buildCorpus } from "./corpus/build_corpus.ts";

// Runs without libtorrent: whatever shoal makes of an odd torrent, it is a clean refusal or a
// layout that stays inside the download folder. corpus_interop_test.ts compares with libtorrent.

Deno.test("parseTorrent() opens every corpus torrent safely or refuses it with a TorrentError", () => {
  const corpus = buildCorpus();
  let opened = 0;
  for (const torrent of corpus) {
    let meta;
    try {
      meta = parseTorrent(torrent.bytes);
    } catch (error) {
      ok(error instanceof TorrentError, `${torrent.id}: ${error}`);
      ok(!error.message.includes("\n"), `${torrent.id}: one line`);
      continue;
    }
    opened++;
    for (const file of meta.files) {
      strictEqual(file.path[0], meta.name, torrent.id);
      for (const c of file.path) {
        ok(c !== "" && c !== "." && c !== "..", `${torrent.id}: ${JSON.stringify(file.path)}`);
        ok(!/[/\\\0]/.test(c), `${torrent.id}: ${JSON.stringify(file.path)}`);
      }
      strictEqual(file.symlink === true, file.symlinkPath !== undefined, torrent.id);
      if (file.symlinkPath) {
        ok(namesTorrentEntry(file.symlinkPath, file.path, meta.files), `${torrent.id}: link`);
      }
    }
    ok(
      !hasCollisions(meta.files.filter((f) => !f.padding).map((f) => f.path.join("/"))),
      torrent.id,
    );
    ok(meta.warnings.length <= MAX_TORRENT_WARNINGS, torrent.id);
    ok(meta.warnings.every((w) => !w.includes("\n")), `${torrent.id}: warnings are one line each`);
  }
  ok(opened > corpus.length / 2, `${opened} of ${corpus.length} opened`);
});

/**
 * Whether a symlink target is the link itself, a file or folder of the torrent, or a path that
 * goes through another symlink of the torrent.
 */
function namesTorrentEntry(
  target: readonly string[],
  self: readonly string[],
  files: readonly { path: readonly string[]; symlink?: boolean }[],
): boolean {
  const joined = target.join("/");
  if (joined === self.join("/")) return true;
  return files.some((f) => {
    const path = f.path.join("/");
    return path === joined || path.startsWith(`${joined}/`) ||
      (f.symlink === true && joined.startsWith(`${path}/`));
  });
}

/** Whether two non-padding files would land on the same name (ASCII case folded). */
function hasCollisions(paths: string[]): boolean {
  const folded = paths.map((p) => p.replace(/[A-Z]/g, (c) => c.toLowerCase()));
  return new Set(folded).size !== folded.length;
}

Deno.test("parseTorrent() reports a warning for every corpus torrent whose paths it changed", () => {
  for (
    const id of ["path-dotdot", "path-absolute", "path-invalid-utf8", "dup-case", "extra-garbage"]
  ) {
    const torrent = buildCorpus().find((t) => t.id === id)!;
    ok(parseTorrent(torrent.bytes).warnings.length > 0, id);
  }
  const clean = buildCorpus().find((t) => t.id === "bencode-reference")!;
  strictEqual(parseTorrent(clean.bytes).warnings.length, 0);
});
