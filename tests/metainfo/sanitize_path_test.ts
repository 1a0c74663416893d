import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  MAX_PATH_COMPONENT_BYTES,
  sanitizePathComponent,
  sanitizeTorrentPath,
} from "../../src/metainfo/sanitize_path.ts";

// The expected values follow libtorrent 2.0.8's sanitize_append_path_element; the corpus
// interop test (corpus_interop_test.ts) checks the same rules against libtorrent itself.

const encoder = new TextEncoder();
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

Deno.test("sanitizePathComponent() keeps ordinary names, and on POSIX Windows' reserved characters", () => {
  for (
    const name of [
      "a.txt",
      "Song - Artist (2001).flac",
      "été",
      "日本語",
      ".hidden",
      "a..b",
      "...",
      'x?y:z*<>|"',
      "trail. ",
      "del\x7f",
    ]
  ) {
    strictEqual(sanitizePathComponent(name), name);
  }
});

Deno.test("sanitizePathComponent() drops '.', '..' and names made only of separators", () => {
  for (const name of [".", "..", "/", "\\", "//", "/.", "\\..", "\u202e"]) {
    strictEqual(sanitizePathComponent(name), "", JSON.stringify(name));
  }
  strictEqual(sanitizePathComponent(""), "_", "an empty name becomes _");
});

Deno.test("sanitizePathComponent() removes separators, NUL and direction overrides", () => {
  strictEqual(sanitizePathComponent("/etc/passwd"), "etcpasswd");
  strictEqual(sanitizePathComponent("a/../b"), "a..b");
  strictEqual(sanitizePathComponent("..\\..\\evil"), "....evil");
  strictEqual(sanitizePathComponent("a\\b.txt"), "ab.txt");
  strictEqual(sanitizePathComponent("n\x00l"), "nl");
  strictEqual(sanitizePathComponent("evil\u202egpj.exe"), "evilgpj.exe");
  strictEqual(sanitizePathComponent("x\u200ey\u200f"), "xy");
});

Deno.test("sanitizePathComponent() turns control characters and invalid UTF-8 into _", () => {
  strictEqual(sanitizePathComponent("a\x01b\tc\x1f"), "a_b_c_");
  strictEqual(sanitizePathComponent(bytes(0x61, 0xff, 0xfe, 0x62)), "a__b", "two stray bytes");
  strictEqual(sanitizePathComponent(bytes(0x63, 0xc3)), "c_", "a truncated sequence");
  strictEqual(sanitizePathComponent(bytes(0x64, 0xc3, 0x41, 0x65)), "d_e", "bad continuation");
  strictEqual(sanitizePathComponent(bytes(0xc0, 0xaf, 0x2e)), "_.", "overlong");
  strictEqual(sanitizePathComponent(bytes(0xed, 0xa0, 0x80)), "_", "a surrogate");
  strictEqual(sanitizePathComponent(bytes(0xf4, 0x90, 0x80, 0x80)), "_", "above U+10FFFF");
  strictEqual(sanitizePathComponent(bytes(0xf8, 0x88, 0x80, 0x80, 0x80, 0x7a)), "_z", "5 bytes");
  strictEqual(sanitizePathComponent(bytes(0x2e, 0xff)), "._", "a dot and a bad byte is a name");
});

Deno.test("sanitizePathComponent() cuts a long name at 240 bytes, keeping a near extension", () => {
  strictEqual(sanitizePathComponent(`${"a".repeat(300)}.mkv`), `${"a".repeat(240)}.mkv`);
  strictEqual(sanitizePathComponent("x".repeat(1000)), "x".repeat(240));
  strictEqual(
    sanitizePathComponent(`${"b".repeat(250)}.longextension`),
    "b".repeat(240),
    "a dot more than 9 bytes from the end is not an extension",
  );
  strictEqual(sanitizePathComponent(`${"é".repeat(200)}.txt`), `${"é".repeat(120)}.txt`);
  strictEqual(sanitizePathComponent(`${"€".repeat(90)}.txt`), `${"€".repeat(80)}.txt`);
  for (const name of ["é".repeat(300), `${"€".repeat(300)}.abcdefgh`, "\u{1f600}".repeat(100)]) {
    ok(encoder.encode(sanitizePathComponent(name)).length <= MAX_PATH_COMPONENT_BYTES);
  }
});

Deno.test("sanitizePathComponent() with windows also replaces reserved characters and trims", () => {
  const windows = { windows: true };
  strictEqual(sanitizePathComponent('x?y:z*<>|"', windows), "x_y_z_____");
  strictEqual(sanitizePathComponent("C:", windows), "C_");
  strictEqual(sanitizePathComponent("trail. . ", windows), "trail");
  strictEqual(sanitizePathComponent("...", windows), "");
  strictEqual(sanitizePathComponent(" ", windows), "");
  strictEqual(sanitizePathComponent(" lead", windows), " lead");
  strictEqual(
    sanitizePathComponent("é".repeat(300), windows),
    "é".repeat(240),
    "Windows counts characters, not bytes",
  );
});

Deno.test("sanitizeTorrentPath() skips dropped components and never returns an empty path", () => {
  deepStrictEqual(sanitizeTorrentPath(["..", "..", "etc", "passwd"]), ["etc", "passwd"]);
  deepStrictEqual(sanitizeTorrentPath(["a", "", "", "b"]), ["a", "_", "_", "b"]);
  deepStrictEqual(sanitizeTorrentPath([".", "a", "."]), ["a"]);
  deepStrictEqual(sanitizeTorrentPath([]), ["_"]);
  deepStrictEqual(sanitizeTorrentPath(["..", "."]), ["_"]);
  deepStrictEqual(sanitizeTorrentPath([utf8("a"), bytes(0xff)]), ["a", "_"]);
});

function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

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
    " ",
    "a",
    "é",
    ":",
    "\u202e",
  ];
  const next = random(99);
  for (let round = 0; round < 20000; round++) {
    const components: (string | Uint8Array)[] = [];
    const count = Math.floor(next() * 4);
    for (let i = 0; i < count; i++) {
      if (next() < 0.1) {
        components.push(
          Uint8Array.from({ length: 1 + Math.floor(next() * 6) }, () => next() * 256),
        );
        continue;
      }
      let component = "";
      const parts = 1 + Math.floor(next() * 3);
      for (let k = 0; k < parts; k++) component += pieces[Math.floor(next() * pieces.length)];
      components.push(component);
    }
    const windows = next() < 0.5;
    const safe = sanitizeTorrentPath(components, { windows });
    const what = `${JSON.stringify(components.map(String))} windows=${windows}`;
    ok(safe.length > 0, what);
    for (const c of safe) {
      ok(c !== "" && c !== "." && c !== "..", what);
      ok(![..."/\\\x00\u202e"].some((ch) => c.includes(ch)), what);
      ok(!c.includes("\ufffd"), what);
      if (windows) ok(!/[:?*<>|"]|[. ]$/.test(c), what);
    }
  }
});
