import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { allowedFastSet } from "../../src/wire/allowed_fast.ts";

const HASH = new Uint8Array(20).fill(0xaa);

Deno.test("allowedFastSet reproduces both examples of BEP 6", () => {
  deepStrictEqual(allowedFastSet("80.4.4.200", HASH, 1313, 7), [
    1059,
    431,
    808,
    1217,
    287,
    376,
    1188,
  ]);
  deepStrictEqual(allowedFastSet("80.4.4.200", HASH, 1313, 9), [
    1059,
    431,
    808,
    1217,
    287,
    376,
    1188,
    353,
    508,
  ]);
});

Deno.test("allowedFastSet depends on the /24 only, and on the info hash", () => {
  const base = allowedFastSet("80.4.4.200", HASH, 1313);
  deepStrictEqual(allowedFastSet("80.4.4.1", HASH, 1313), base, "same /24, same set");
  deepStrictEqual(allowedFastSet("::ffff:80.4.4.9", HASH, 1313), base, "IPv4-mapped IPv6");
  const other = allowedFastSet("80.4.5.200", HASH, 1313);
  strictEqual(other.length, 10);
  deepStrictEqual(other.some((p, i) => p !== base[i]), true, "another /24, another set");
  const otherHash = allowedFastSet("80.4.4.200", new Uint8Array(20).fill(1), 1313);
  deepStrictEqual(otherHash.some((p, i) => p !== base[i]), true, "another torrent, another set");
});

Deno.test("allowedFastSet: distinct pieces, never more than the torrent has; none for IPv6", () => {
  deepStrictEqual([...allowedFastSet("10.0.0.1", HASH, 3)].sort(), [0, 1, 2]);
  strictEqual(new Set(allowedFastSet("10.0.0.1", HASH, 12)).size, 10);
  deepStrictEqual(allowedFastSet("10.0.0.1", HASH, 0), []);
  deepStrictEqual(allowedFastSet("2001:db8::1", HASH, 100), []);
  deepStrictEqual(allowedFastSet("10.0.0.256", HASH, 100), []);
  deepStrictEqual(allowedFastSet("10.0.0", HASH, 100), []);
});
