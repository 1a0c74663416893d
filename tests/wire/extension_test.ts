import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { type BencodeInput, encodeBencode } from "../../src/bencode/encode.ts";
import {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  type ExtensionHandshake,
} from "../../src/wire/extension.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";

Deno.test("decodeExtensionHandshake() round-trips every field", () => {
  const handshake: ExtensionHandshake = {
    m: { ut_metadata: 3, ut_pex: 1, lt_donthave: 0 },
    v: "shoal 0.1.0 ✓",
    p: 6881,
    reqq: 250,
    metadata_size: 31235,
    yourip: "127.0.0.1",
  };
  deepStrictEqual(decodeExtensionHandshake(encodeExtensionHandshake(handshake)), handshake);
  const v6 = { m: {}, yourip: "2001:db8::2" };
  deepStrictEqual(decodeExtensionHandshake(encodeExtensionHandshake(v6)), v6);
});

Deno.test("decodeExtensionHandshake() drops unknown and mistyped fields", () => {
  const payload = encodeBencode({
    m: new Map<string, BencodeInput>([
      ["ut_metadata", 300],
      ["ut_pex", -1],
      ["ok", 2],
      ["str", "x"],
      ["frac", new Uint8Array([1])],
      ["__proto__", 4],
      ["big", 2n ** 70n],
    ]),
    v: 5,
    p: 70000,
    reqq: 0,
    metadata_size: "big",
    yourip: new Uint8Array(5),
    e: 1,
    complete_ago: 3,
  });
  const decoded = decodeExtensionHandshake(payload);
  deepStrictEqual(decoded, { m: { ok: 2 } });
  strictEqual(Object.getPrototypeOf(decoded.m), Object.prototype);
  deepStrictEqual(decodeExtensionHandshake(encodeBencode({ m: "nope" })), { m: {} });
  deepStrictEqual(decodeExtensionHandshake(encodeBencode({})), { m: {} });
});

Deno.test("decodeExtensionHandshake() throws ProtocolError for a non-dictionary", () => {
  throws(() => decodeExtensionHandshake(encodeBencode([1])), ProtocolError);
  throws(() => decodeExtensionHandshake(new TextEncoder().encode("d1:m")), ProtocolError);
  throws(() => decodeExtensionHandshake(new Uint8Array()), ProtocolError);
});

Deno.test("decodeExtensionHandshake() throws nothing but ProtocolError for mutations", () => {
  const base = encodeExtensionHandshake({ m: { ut_metadata: 2 }, v: "x", p: 1, reqq: 5 });
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 5000; round++) {
    const bytes = base.slice(0, random(base.length + 1));
    for (let k = random(3); k >= 0 && bytes.length; k--) bytes[random(bytes.length)] = random(256);
    try {
      decodeExtensionHandshake(bytes);
    } catch (error) {
      ok(error instanceof ProtocolError, String(error));
    }
  }
});

Deno.test("encodeExtensionHandshake() refuses ids outside 0..255", () => {
  throws(() => encodeExtensionHandshake({ m: { a: 256 } }), RangeError);
  throws(() => encodeExtensionHandshake({ m: { a: 1.5 } }), RangeError);
});
