import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { encodeHex } from "../../src/bytes/hex.ts";
import { formatMagnet, MagnetError, parseMagnet } from "../../src/metainfo/magnet.ts";

const HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
// The same 20 bytes in RFC 4648 base32.
const BASE32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK";

function refuses(uri: string, message: RegExp): void {
  throws(() => parseMagnet(uri), (error: unknown) => {
    ok(error instanceof MagnetError && error instanceof SyntaxError, String(error));
    strictEqual(error.name, "MagnetError");
    ok(message.test(error.message), `"${error.message}" does not match ${message}`);
    return true;
  });
}

Deno.test("parseMagnet() reads a hex info hash in either case", () => {
  const link = parseMagnet(`magnet:?xt=urn:btih:${HEX.toUpperCase()}`);
  strictEqual(link.infoHashHex, HEX);
  strictEqual(encodeHex(link.infoHash), HEX);
  deepStrictEqual(link.trackers, []);
  deepStrictEqual(link.peers, []);
  deepStrictEqual(link.webSeeds, []);
  strictEqual(link.name, undefined);
  strictEqual(link.selectOnly, undefined);
});

Deno.test("parseMagnet() reads a base32 info hash in either case", () => {
  strictEqual(parseMagnet(`magnet:?xt=urn:btih:${BASE32}`).infoHashHex, HEX);
  strictEqual(parseMagnet(`magnet:?xt=urn:btih:${BASE32.toLowerCase()}`).infoHashHex, HEX);
});

Deno.test("parseMagnet() reads every parameter", () => {
  const link = parseMagnet(
    `MAGNET:?dn=Big%20Buck+Bunny%2B&xt=urn:btih:${HEX}` +
      "&tr=udp%3A%2F%2Ftracker.example%3A1337%2Fannounce&tr.1=http://t2/a?x=1+2" +
      "&tr=udp%3A%2F%2Ftracker.example%3A1337%2Fannounce" +
      "&x.pe=127.0.0.1:6881&x.pe=%5B::1%5D:51413&x.pe=peer.example:80&x.pe=bad&x.pe=1.2.3.4:0" +
      "&ws=http%3A%2F%2Fseed.example%2Ffiles%2F&so=0,2,4-6,5&unknown=1",
  );
  strictEqual(link.name, "Big Buck Bunny+");
  deepStrictEqual(link.trackers, ["udp://tracker.example:1337/announce", "http://t2/a?x=1+2"]);
  deepStrictEqual(link.peers, [
    { host: "127.0.0.1", port: 6881 },
    { host: "::1", port: 51413 },
    { host: "peer.example", port: 80 },
  ]);
  deepStrictEqual(link.webSeeds, ["http://seed.example/files/"]);
  deepStrictEqual(link.selectOnly, [0, 2, 4, 5, 6]);
});

Deno.test("parseMagnet() uses the first btih among several xt and skips btmh", () => {
  const other = "0".repeat(40);
  const link = parseMagnet(
    `magnet:?xt.1=urn:btmh:1220${"ab".repeat(32)}&xt.2=urn:btih:${HEX}&xt=urn:btih:${other}`,
  );
  strictEqual(link.infoHashHex, HEX);
});

Deno.test("parseMagnet() refuses what it cannot use", () => {
  refuses("http://example.com/?xt=urn:btih:" + HEX, /does not start with "magnet:\?"/);
  refuses("magnet:?dn=x", /no "xt=urn:btih:" info hash/);
  refuses(`magnet:?xt=urn:btmh:1220${"ab".repeat(32)}`, /v2-only magnet links are not supported/);
  refuses("magnet:?xt=urn:btih:abc", /not 40 hex or 32 base32/);
  refuses(`magnet:?xt=urn:btih:${HEX}0`, /not 40 hex or 32 base32/);
  refuses(`magnet:?xt=urn:btih:${BASE32.slice(0, 31)}1`, /not 40 hex or 32 base32/);
  refuses(`magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, /bad percent-escape in "dn"/);
  refuses(`magnet:?xt=urn:btih:${HEX}&so=1,x`, /"so" has a bad entry/);
  refuses(`magnet:?xt=urn:btih:${HEX}&so=5-2`, /backwards range/);
  refuses(`magnet:?xt=urn:btih:${HEX}&so=0-999999999`, /more than 1000000 files/);
});

Deno.test("formatMagnet() round-trips through parseMagnet()", () => {
  const link = parseMagnet(
    `magnet:?xt=urn:btih:${HEX}&dn=a+b%26c%2Bd&tr=http%3A%2F%2Ft%2Fa%3Fk%3D1%262&ws=http://w/` +
      "&x.pe=[::1]:1&x.pe=10.0.0.1:2&so=1,3-5,9",
  );
  const uri = formatMagnet(link);
  deepStrictEqual(parseMagnet(uri), link);
  ok(uri.includes("so=1,3-5,9"), uri);
  strictEqual(link.name, "a b&c+d");
});

Deno.test("formatMagnet() accepts hex or bytes and refuses a bad hash", () => {
  const bytes = parseMagnet(`magnet:?xt=urn:btih:${HEX}`).infoHash;
  strictEqual(formatMagnet({ infoHash: bytes }), `magnet:?xt=urn:btih:${HEX}`);
  strictEqual(formatMagnet({ infoHash: HEX.toUpperCase() }), `magnet:?xt=urn:btih:${HEX}`);
  throws(() => formatMagnet({ infoHash: "abc" }), TypeError);
  throws(() => formatMagnet({ infoHash: new Uint8Array(19) }), TypeError);
});
