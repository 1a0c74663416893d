import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  decodeUtf8Codepoint,
  quoteTorrentText,
  repairUtf8,
} from "../../src/metainfo/repair_utf8.ts";

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

Deno.test("decodeUtf8Codepoint() reads 1- to 4-byte sequences", () => {
  deepStrictEqual(decodeUtf8Codepoint(bytes(0x41), 0), { codepoint: 0x41, length: 1 });
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xc3, 0xa9), 0), { codepoint: 0xe9, length: 2 });
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xe2, 0x82, 0xac), 0), {
    codepoint: 0x20ac,
    length: 3,
  });
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xf0, 0x9f, 0x98, 0x80), 0), {
    codepoint: 0x1f600,
    length: 4,
  });
  deepStrictEqual(decodeUtf8Codepoint(bytes(0x41, 0xc3, 0xa9), 1), { codepoint: 0xe9, length: 2 });
});

Deno.test("decodeUtf8Codepoint() sizes invalid sequences as libtorrent does", () => {
  const invalid = (length: number) => ({ codepoint: -1, length });
  deepStrictEqual(decodeUtf8Codepoint(bytes(0x80, 0x41), 0), invalid(1), "stray continuation");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xff), 0), invalid(1), "0xFF");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xe2, 0x82), 0), invalid(2), "truncated: the rest");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xc3, 0x41), 0), invalid(2), "bad continuation");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xc0, 0xaf), 0), invalid(2), "overlong");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xe0, 0x80, 0xaf), 0), invalid(3), "overlong 3");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xed, 0xa0, 0x80), 0), invalid(3), "surrogate");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xf4, 0x90, 0x80, 0x80), 0), invalid(4), "> U+10FFFF");
  deepStrictEqual(decodeUtf8Codepoint(bytes(0xf8, 0x88), 0), invalid(5), "5-byte lead");
});

Deno.test("repairUtf8() leaves valid UTF-8 as TextDecoder reads it, a BOM included", () => {
  for (const text of ["", "plain", "café", "日本語", "\u{1f600} ok", "\ufeffbom", "nul\0"]) {
    deepStrictEqual(repairUtf8(new TextEncoder().encode(text)), { text, repaired: false });
  }
});

Deno.test("repairUtf8() turns each invalid sequence into one _", () => {
  strictEqual(repairUtf8(bytes(0x61, 0xff, 0xfe, 0x62)).text, "a__b");
  strictEqual(
    repairUtf8(bytes(0x64, 0xc3, 0x41, 0x65)).text,
    "d_e",
    "the A goes with the bad lead",
  );
  strictEqual(repairUtf8(bytes(0x63, 0xe2, 0x82)).text, "c_");
  strictEqual(repairUtf8(bytes(0xf8, 0x88, 0x80, 0x80, 0x80, 0x7a)).text, "_z");
  strictEqual(repairUtf8(bytes(0xf8, 0x88)).text, "_", "a 5-byte lead past the end");
  strictEqual(repairUtf8(bytes(0xff)).repaired, true);
});

Deno.test("quoteTorrentText() keeps a message on one line and cuts long text", () => {
  strictEqual(quoteTorrentText('say "hi"\n'), '"say \\"hi\\"\\n"');
  strictEqual(quoteTorrentText(bytes(0x61, 0xff)), '"a\ufffd"');
  strictEqual(quoteTorrentText("x".repeat(150)), JSON.stringify(`${"x".repeat(100)}…`));
});
