import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { encodeBencode } from "../../src/bencode/encode.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";
import { encodeTorrentFile, metainfoFromInfo } from "../../src/metainfo/torrent_from_info.ts";
import { TorrentError } from "../../src/metainfo/torrent_error.ts";
import { sha1 } from "../../src/sha1/sha1.ts";

const text = new TextEncoder();

// Keys deliberately out of order and an unknown key: a re-encoding would change the hash.
const ODD_INFO = text.encode(
  "d4:name7:foo.bin6:lengthi40000e12:piece lengthi32768e6:pieces40:" + "x".repeat(40) +
    "7:unknownli1ei2eee",
);

Deno.test("encodeTorrentFile() keeps the info bytes, so the info hash survives a round trip", () => {
  const torrent = parseTorrent(encodeTorrentFile(ODD_INFO, ["http://127.0.0.1:6969/announce"]));
  deepStrictEqual(torrent.infoHash, sha1(ODD_INFO));
  deepStrictEqual(torrent.infoBytes, ODD_INFO);
  strictEqual(torrent.name, "foo.bin");
  strictEqual(torrent.totalLength, 40000);
  deepStrictEqual(torrent.announce, [["http://127.0.0.1:6969/announce"]]);
});

Deno.test("encodeTorrentFile() writes announce and announce-list tiers, skipping blanks and repeats", () => {
  const file = encodeTorrentFile(ODD_INFO, ["udp://a:1", " ", "udp://b:2", "udp://a:1"]);
  const head = new TextDecoder().decode(file.subarray(0, file.length - ODD_INFO.length - 7));
  strictEqual(head, "d8:announce9:udp://a:113:announce-listll9:udp://a:1el9:udp://b:2ee");
  deepStrictEqual(parseTorrent(file).announce, [["udp://a:1"], ["udp://b:2"]]);
  const bare = encodeTorrentFile(ODD_INFO);
  deepStrictEqual(bare, new Uint8Array([...text.encode("d4:info"), ...ODD_INFO, 0x65]));
  deepStrictEqual(parseTorrent(bare).announce, []);
});

Deno.test("encodeTorrentFile() refuses bytes that are not exactly one dictionary", () => {
  for (const bad of ["", "le", "i3e", "de3:foo3:bar", "d4:name", "dee"]) {
    throws(() => encodeTorrentFile(text.encode(bad)), TorrentError, JSON.stringify(bad));
  }
});

Deno.test("metainfoFromInfo() gives the Metainfo of the fetched dictionary, each tracker a tier", () => {
  const torrent = metainfoFromInfo(ODD_INFO, {
    trackers: ["http://127.0.0.1:1/a", "udp://127.0.0.1:2"],
    name: "ignored because the dictionary has a name",
  });
  strictEqual(torrent.infoHashHex, parseTorrent(encodeTorrentFile(ODD_INFO)).infoHashHex);
  deepStrictEqual(torrent.infoHash, sha1(ODD_INFO));
  strictEqual(torrent.name, "foo.bin");
  deepStrictEqual(torrent.files.map((f) => f.path), [["foo.bin"]]);
  deepStrictEqual(torrent.announce, [["http://127.0.0.1:1/a"], ["udp://127.0.0.1:2"]]);
  strictEqual(torrent.pieceCount, 2);
});

Deno.test("metainfoFromInfo() falls back to the magnet's dn only when the name is unusable", () => {
  const info = encodeBencode({
    name: ".",
    "piece length": 16384,
    pieces: new Uint8Array(20),
    files: [{ length: 3, path: ["a.txt"] }],
  });
  const hex = metainfoFromInfo(info);
  strictEqual(hex.name, hex.infoHashHex);
  const named = metainfoFromInfo(info, { name: "My Files" });
  strictEqual(named.name, "My Files");
  deepStrictEqual(named.files.map((f) => f.path), [["My Files", "a.txt"]]);
  strictEqual(
    metainfoFromInfo(info, { name: ".." }).name,
    hex.infoHashHex,
    "a hostile dn is ignored",
  );
});

Deno.test("metainfoFromInfo() refuses a bad dictionary with TorrentError", () => {
  throws(() => metainfoFromInfo(text.encode("d4:name1:ae")), TorrentError);
  throws(() => metainfoFromInfo(text.encode("de3:foo3:bar")), TorrentError);
});
