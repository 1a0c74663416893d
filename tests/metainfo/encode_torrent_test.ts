import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { decodeBencode } from "../../src/bencode/decode.ts";
import { encodeTorrent } from "../../src/metainfo/encode_torrent.ts";
import { parseTorrent } from "../../src/metainfo/parse_torrent.ts";

const hashes = (n: number): Uint8Array => new Uint8Array(n * 20).fill(7);

Deno.test("encodeTorrent() writes a single-file torrent that parseTorrent() reads back", () => {
  const bytes = encodeTorrent({
    name: "one.bin",
    pieceLength: 16384,
    pieceHashes: hashes(3),
    files: { length: 40000 },
    trackers: [["http://a/announce"]],
    comment: "c",
    createdBy: "shoal/0.1.0",
    creationDate: 1700000000,
    urlList: ["http://w/"],
    private: true,
  });
  const t = parseTorrent(bytes);
  strictEqual(t.name, "one.bin");
  strictEqual(t.multiFile, false);
  strictEqual(t.totalLength, 40000);
  strictEqual(t.private, true);
  deepStrictEqual(t.announce, [["http://a/announce"]]);
  deepStrictEqual(t.urlList, ["http://w/"]);
  strictEqual(t.comment, "c");
  strictEqual(t.createdBy, "shoal/0.1.0");
  strictEqual(t.creationDate, 1700000000);
  const root = decodeBencode(bytes) as Map<string, unknown>;
  strictEqual(root.has("announce-list"), false, "one tracker: no announce-list");
});

Deno.test("encodeTorrent() writes a multi-file torrent with tiers", () => {
  const bytes = encodeTorrent({
    name: "dir",
    pieceLength: 16384,
    pieceHashes: hashes(2),
    files: [{ path: ["a.txt"], length: 10 }, { path: ["sub", "b.txt"], length: 20000 }],
    trackers: [["http://a/", "http://b/"], ["udp://c:1/"]],
  });
  const t = parseTorrent(bytes);
  deepStrictEqual(t.files.map((f) => [f.path.join("/"), f.length, f.offset]), [
    ["dir/a.txt", 10, 0],
    ["dir/sub/b.txt", 20000, 10],
  ]);
  deepStrictEqual(t.announce, [["http://a/", "http://b/"], ["udp://c:1/"]]);
  strictEqual(t.private, false);
  // Same input, same bytes.
  deepStrictEqual(
    encodeTorrent({
      name: "dir",
      pieceLength: 16384,
      pieceHashes: hashes(2),
      files: [{ path: ["a.txt"], length: 10 }, { path: ["sub", "b.txt"], length: 20000 }],
      trackers: [["http://a/", "http://b/"], ["udp://c:1/"]],
    }),
    bytes,
  );
});

Deno.test("encodeTorrent() refuses inconsistent input", () => {
  const base = { name: "x", pieceLength: 16384, pieceHashes: hashes(1), files: { length: 5 } };
  throws(() => encodeTorrent({ ...base, name: "" }), TypeError);
  throws(() => encodeTorrent({ ...base, pieceLength: 0 }), RangeError);
  throws(() => encodeTorrent({ ...base, pieceHashes: hashes(2) }), RangeError);
  throws(() => encodeTorrent({ ...base, files: { length: -1 } }), RangeError);
  throws(() => encodeTorrent({ ...base, files: [{ path: [], length: 5 }] }), TypeError);
  throws(() => encodeTorrent({ ...base, files: [{ path: ["a", ""], length: 5 }] }), TypeError);
});
