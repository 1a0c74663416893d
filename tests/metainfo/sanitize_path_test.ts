import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  MAX_PATH_COMPONENT_BYTES,
  sanitizePathComponent,
  sanitizeTorrentPath,
} from "../../src/metainfo/sanitize_path.ts";
import { TorrentError } from "../../src/metainfo/torrent_error.ts";

const encoder = new TextEncoder();

Deno.test("sanitizePathComponent() keeps ordinary names", () => {
  for (const name of ["a.txt", "Song - Artist (2001).flac", "été", "日本語", ".hidden", "a..b"]) {
    strictEqual(sanitizePathComponent(name, "file 0"), name);
  }
});

Deno.test("sanitizePathComponent() drops empty and '.' components", () => {
  strictEqual(sanitizePathComponent("", "file 0"), "");
  strictEqual(sanitizePathComponent(".", "file 0"), "");
});

Deno.test("sanitizePathComponent() replaces separators, control and reserved characters", () => {
  strictEqual(sanitizePathComponent("a/b\\c", "file 0"), "a_b_c");
  strictEqual(sanitizePathComponent("nul\x00here\x1f\x7f", "file 0"), "nul_here__");
  strictEqual(sanitizePathComponent('<>:"|?*', "file 0"), "_______");
  strictEqual(sanitizePathComponent("A: Story", "file 0"), "A_ Story");
});

Deno.test("sanitizePathComponent() trims trailing dots and spaces", () => {
  strictEqual(sanitizePathComponent("name. . ", "file 0"), "name");
  strictEqual(sanitizePathComponent("...", "file 0"), "_");
  strictEqual(sanitizePathComponent(" ", "file 0"), "_");
  strictEqual(sanitizePathComponent(" lead", "file 0"), " lead");
});

Deno.test("sanitizePathComponent() caps a component at 255 UTF-8 bytes keeping the extension", () => {
  const long = "é".repeat(300) + ".mkv";
  const safe = sanitizePathComponent(long, "file 0");
  ok(encoder.encode(safe).length <= MAX_PATH_COMPONENT_BYTES);
  ok(safe.endsWith(".mkv"));
  ok(safe.startsWith("éé"));
  ok(!safe.includes("\ufffd"));
  const plain = sanitizePathComponent("x".repeat(1000), "file 0");
  strictEqual(plain.length, 255);
});

Deno.test("sanitizePathComponent() refuses '..' and absolute-looking components, naming the file", () => {
  for (const bad of ["..", "../x", "x/..", "..\\..\\windows", "a/../../b"]) {
    throws(
      () => sanitizePathComponent(bad, 'file 7 ("x")'),
      (e: unknown) =>
        e instanceof TorrentError && e.message.includes('file 7 ("x") has a ".." component'),
      bad,
    );
  }
  for (const bad of ["/etc/passwd", "\\server\\share", "C:\\Windows", "c:/x", "D:"]) {
    throws(
      () => sanitizePathComponent(bad, "file 2"),
      (e: unknown) =>
        e instanceof TorrentError && e.message.includes("file 2 has an absolute path"),
      bad,
    );
  }
});

Deno.test("sanitizeTorrentPath() drops empty components and refuses an empty result", () => {
  deepStrictEqual(sanitizeTorrentPath(["", "a", ".", "b", ""], "file 0"), ["a", "b"]);
  throws(() => sanitizeTorrentPath([], "file 4"), /file 4 has an empty path/);
  throws(() => sanitizeTorrentPath([".", ""], "file 4"), /file 4 has an empty path/);
});

function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

Deno.test("sanitizeTorrentPath() never yields '..', '.', '', a separator or a root", () => {
  const pieces = [
    "..",
    ".",
    "",
    "/",
    "\\",
    "C:",
    "c:\\",
    "\x00",
    "etc",
    "passwd",
    " ",
    "a",
    "é",
    ":",
  ];
  const next = random(99);
  let accepted = 0;
  for (let round = 0; round < 20000; round++) {
    const components: string[] = [];
    const count = Math.floor(next() * 4);
    for (let i = 0; i < count; i++) {
      let component = "";
      const parts = 1 + Math.floor(next() * 3);
      for (let k = 0; k < parts; k++) component += pieces[Math.floor(next() * pieces.length)];
      components.push(component);
    }
    try {
      const safe = sanitizeTorrentPath(components, "file 0");
      accepted++;
      ok(safe.length > 0);
      for (const c of safe) {
        ok(c !== "" && c !== "." && c !== "..", JSON.stringify(components));
        ok(![..."/\\\x00"].some((ch) => c.includes(ch)), JSON.stringify(components));
        ok(!c.includes(":"), JSON.stringify(components));
      }
      const joined = safe.join("/");
      ok(!joined.startsWith("/") && !joined.split("/").includes(".."));
    } catch (error) {
      ok(error instanceof TorrentError, String(error));
    }
  }
  ok(accepted > 1000);
});
