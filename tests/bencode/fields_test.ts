import { ok, strictEqual } from "node:assert/strict";
import { decodeBencode } from "../../src/bencode/decode.ts";
import { bencodeText, isBencodeDict, isBencodeInteger } from "../../src/bencode/fields.ts";

const te = new TextEncoder();

Deno.test("isBencodeDict() is true only for dictionaries", () => {
  ok(isBencodeDict(decodeBencode(te.encode("de"))));
  ok(!isBencodeDict(decodeBencode(te.encode("le"))));
  ok(!isBencodeDict(decodeBencode(te.encode("0:"))));
  ok(!isBencodeDict(decodeBencode(te.encode("i0e"))));
  ok(!isBencodeDict(undefined));
});

Deno.test("isBencodeInteger() is true for numbers and bigints only", () => {
  ok(isBencodeInteger(decodeBencode(te.encode("i-5e"))));
  ok(isBencodeInteger(decodeBencode(te.encode("i99999999999999999999e"))));
  ok(!isBencodeInteger(decodeBencode(te.encode("1:5"))));
  ok(!isBencodeInteger(decodeBencode(te.encode("li5ee"))));
  ok(!isBencodeInteger(undefined));
});

Deno.test("bencodeText() decodes UTF-8 and replaces invalid sequences", () => {
  strictEqual(bencodeText(te.encode("héllo 😀")), "héllo 😀");
  strictEqual(bencodeText(new Uint8Array()), "");
  strictEqual(bencodeText(new Uint8Array([0x61, 0xff, 0x62])), "a\ufffdb");
  strictEqual(bencodeText(new Uint8Array([0xe2, 0x82])), "\ufffd"); // truncated sequence
});
