import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { decodePex, encodePex, PEX_FLAG_SEED, PEX_FLAG_UTP } from "../../src/wire/pex.ts";
import { ProtocolError } from "../../src/wire/protocol_error.ts";

Deno.test("decodePex() round-trips both families with flags", () => {
  const message = {
    added: [{ host: "10.0.0.1", port: 6881 }, { host: "10.0.0.2", port: 6882 }],
    addedFlags: [PEX_FLAG_SEED, PEX_FLAG_UTP],
    added6: [{ host: "2001:db8::1", port: 1 }],
    added6Flags: [0],
    dropped: [{ host: "1.2.3.4", port: 5 }],
    dropped6: [{ host: "::1", port: 7 }],
  };
  deepStrictEqual(decodePex(encodePex(message)), message);
  deepStrictEqual(decodePex(encodePex({})), {
    added: [],
    addedFlags: [],
    added6: [],
    added6Flags: [],
    dropped: [],
    dropped6: [],
  });
});

Deno.test("decodePex() tolerates junk: missing flags, mistyped fields, partial entries", () => {
  const payload = encodeBencode({
    added: new Uint8Array([10, 0, 0, 1, 0, 80, 10, 0, 0, 2, 0, 0, 10, 0, 0, 3, 0, 81, 9]),
    "added.f": new Uint8Array([1, 2, 3]),
    added6: 5,
    dropped: [1],
  });
  const pex = decodePex(payload);
  deepStrictEqual(pex.added, [{ host: "10.0.0.1", port: 80 }, { host: "10.0.0.3", port: 81 }]);
  deepStrictEqual(pex.addedFlags, [1, 3]);
  deepStrictEqual(pex.added6, []);
  deepStrictEqual(pex.dropped, []);
});

Deno.test("decodePex() throws ProtocolError for a non-dictionary and only that for mutations", () => {
  throws(() => decodePex(encodeBencode(3)), ProtocolError);
  const base = encodePex({
    added: [{ host: "10.0.0.1", port: 6881 }],
    dropped6: [{ host: "::1", port: 2 }],
  });
  let seed = 3;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 5000; round++) {
    const bytes = base.slice(0, random(base.length + 1));
    for (let k = random(3); k >= 0 && bytes.length; k--) bytes[random(bytes.length)] = random(256);
    try {
      decodePex(bytes);
    } catch (error) {
      ok(error instanceof ProtocolError, String(error));
    }
  }
});

Deno.test("encodePex() refuses a peer of the wrong family", () => {
  throws(() => encodePex({ added: [{ host: "::1", port: 1 }] }), SyntaxError);
  throws(() => encodePex({ dropped6: [{ host: "1.2.3.4", port: 1 }] }), SyntaxError);
});
