import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decodeHex, encodeHex } from "../../src/bytes/hex.ts";

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

Deno.test("encodeHex() writes two lowercase digits per byte", () => {
  strictEqual(encodeHex(new Uint8Array()), "");
  strictEqual(encodeHex(new Uint8Array([0, 1, 15, 16, 171, 255])), "00010f10abff");
  const hex = encodeHex(ALL_BYTES);
  strictEqual(hex.length, 512);
  for (let i = 0; i < 256; i++) {
    strictEqual(hex.slice(i * 2, i * 2 + 2), i.toString(16).padStart(2, "0"));
  }
  // A subarray encodes only its own bytes.
  strictEqual(encodeHex(ALL_BYTES.subarray(254)), "feff");
});

Deno.test("decodeHex() accepts either case and round-trips every byte", () => {
  deepStrictEqual(decodeHex(""), new Uint8Array());
  deepStrictEqual(decodeHex("00ABff"), new Uint8Array([0, 171, 255]));
  deepStrictEqual(decodeHex("DEADbeef"), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  deepStrictEqual(decodeHex(encodeHex(ALL_BYTES)), ALL_BYTES);
  deepStrictEqual(decodeHex(encodeHex(ALL_BYTES).toUpperCase()), ALL_BYTES);
  const infoHash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
  strictEqual(encodeHex(decodeHex(infoHash)), infoHash);
  strictEqual(decodeHex(infoHash).length, 20);
});

Deno.test("decodeHex() throws SyntaxError for odd length", () => {
  for (const text of ["0", "abc", "0".repeat(39)]) {
    throws(() => decodeHex(text), (e) => e instanceof SyntaxError && /odd length/.test(e.message));
  }
});

Deno.test("decodeHex() throws SyntaxError naming the first bad character pair", () => {
  const cases: [string, number][] = [
    ["zz", 0],
    ["00g0", 2],
    ["0x10", 0],
    ["+f", 0],
    ["-1", 0],
    [" 0", 0],
    ["00 0", 2],
    ["aé", 0],
    ["00\u0660\u0661", 2], // Arabic-Indic digits are not hex
  ];
  for (const [text, at] of cases) {
    throws(
      () => decodeHex(text),
      (e) => e instanceof SyntaxError && e.message.includes(`at character ${at}`),
      JSON.stringify(text),
    );
  }
});
