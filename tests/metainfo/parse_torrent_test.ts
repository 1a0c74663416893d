import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { BencodeError } from "../../src/bencode/decode.ts";
import { type BencodeInput, encodeBencode } from "../../src/bencode/encode.ts";
import { bytesToBinary, concatBytes, equalBytes, utf8 } from "../../src/bytes/bytes.ts";
import { encodeHex } from "../../src/bytes/hex.ts";
import { parseTorrent, TorrentError } from "../../src/metainfo/parse_torrent.ts";
import { sha1 } from "../../src/sha1/sha1.ts";

type Dict = { [key: string]: BencodeInput | undefined };

function hashes(count: number): Uint8Array {
  const out = new Uint8Array(count * 20);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7) & 0xff;
  return out;
}

function single(info: Dict = {}, root: Dict = {}): Uint8Array {
  return encodeBencode({
    announce: "http://tracker.example/announce",
    ...root,
    info: { length: 40000, name: "file.bin", "piece length": 16384, pieces: hashes(3), ...info },
  });
}

function multi(files: Dict[], info: Dict = {}, root: Dict = {}, pieceCount = 3): Uint8Array {
  return encodeBencode({
    ...root,
    info: { files, name: "folder", "piece length": 16384, pieces: hashes(pieceCount), ...info },
  });
}

function refuses(bytes: Uint8Array, message: RegExp): void {
  throws(() => parseTorrent(bytes), (error: unknown) => {
    ok(error instanceof TorrentError, `expected a TorrentError, got ${error}`);
    strictEqual(error.name, "TorrentError");
    ok(error.message.startsWith("Cannot parse torrent: "), error.message);
    ok(message.test(error.message), `"${error.message}" does not match ${message}`);
    return true;
  });
}

Deno.test("parseTorrent() reads a single-file torrent", () => {
  const bytes = single({}, {
    comment: "hi",
    "created by": "mktorrent 1.1",
    "creation date": 1700000000,
  });
  const t = parseTorrent(bytes);
  strictEqual(t.name, "file.bin");
  strictEqual(t.multiFile, false);
  strictEqual(t.pieceLength, 16384);
  strictEqual(t.pieceCount, 3);
  strictEqual(t.totalLength, 40000);
  deepStrictEqual(t.files, [{ path: ["file.bin"], length: 40000, offset: 0, padding: false }]);
  deepStrictEqual(t.announce, [["http://tracker.example/announce"]]);
  deepStrictEqual(t.urlList, []);
  deepStrictEqual(t.httpSeeds, []);
  strictEqual(t.private, false);
  strictEqual(t.comment, "hi");
  strictEqual(t.createdBy, "mktorrent 1.1");
  strictEqual(t.creationDate, 1700000000);
  ok(equalBytes(t.pieceHashes, hashes(3)));
});

Deno.test("parseTorrent() hashes the original info bytes, not a re-encoding", () => {
  // Keys out of order: a re-encoding would sort them and change the hash.
  const info = utf8("d4:name8:file.bin6:lengthi40000e12:piece lengthi16384e6:pieces60:");
  const infoBytes = concatBytes([info, hashes(3), utf8("e")]);
  const bytes = concatBytes([utf8("d4:info"), infoBytes, utf8("e")]);
  const t = parseTorrent(bytes);
  deepStrictEqual(t.infoBytes, infoBytes);
  deepStrictEqual(t.infoHash, sha1(infoBytes));
  strictEqual(t.infoHashHex, encodeHex(sha1(infoBytes)));
  ok(t.infoBytes.buffer !== bytes.buffer, "infoBytes is a copy");
});

Deno.test("parseTorrent() reads a multi-file torrent with cumulative offsets", () => {
  const t = parseTorrent(multi([
    { length: 10000, path: ["a.txt"] },
    { length: 0, path: ["empty"] },
    { length: 30000, path: ["sub", "b.bin"] },
  ]));
  strictEqual(t.multiFile, true);
  strictEqual(t.totalLength, 40000);
  deepStrictEqual(t.files, [
    { path: ["folder", "a.txt"], length: 10000, offset: 0, padding: false },
    { path: ["folder", "empty"], length: 0, offset: 10000, padding: false },
    { path: ["folder", "sub", "b.bin"], length: 30000, offset: 10000, padding: false },
  ]);
});

Deno.test("parseTorrent() flags BEP 47 padding files and .pad paths", () => {
  const t = parseTorrent(multi([
    { length: 10000, path: ["a.txt"] },
    { length: 6384, path: [".pad", "6384"], attr: "p" },
    { length: 10000, path: ["b.txt"] },
    { length: 6384, path: [".pad", "6384"] },
    { length: 7232, path: ["c.txt"], attr: "x" },
  ]));
  deepStrictEqual(t.files.map((f) => f.padding), [false, true, false, true, false]);
  deepStrictEqual(t.files.map((f) => f.offset), [0, 10000, 16384, 26384, 32768]);
  // Padding files keep their path; duplicates among them are not renamed.
  deepStrictEqual(t.files[3].path, ["folder", ".pad", "6384"]);
});

Deno.test("parseTorrent() prefers name.utf-8 and path.utf-8", () => {
  const t = parseTorrent(multi(
    [{ length: 40000, path: [utf8("\xe9t\xe9")], "path.utf-8": ["été"] }],
    { "name.utf-8": "dossier ü" },
  ));
  strictEqual(t.name, "dossier ü");
  deepStrictEqual(t.files[0].path, ["dossier ü", "été"]);
});

Deno.test("parseTorrent() reads announce-list tiers, dedupes and drops non-strings", () => {
  const t = parseTorrent(single({}, {
    announce: "http://ignored.example/announce",
    "announce-list": [
      ["http://a/announce", 7, "udp://b:80/announce", "http://a/announce"],
      [["nested"], ""],
      ["udp://b:80/announce", "http://c/announce"],
      "http://d/announce",
    ],
  }));
  deepStrictEqual(t.announce, [
    ["http://a/announce", "udp://b:80/announce"],
    ["http://c/announce"],
    ["http://d/announce"],
  ]);
});

Deno.test("parseTorrent() falls back to announce when announce-list has no usable URL", () => {
  const t = parseTorrent(single({}, { "announce-list": [[5], []] }));
  deepStrictEqual(t.announce, [["http://tracker.example/announce"]]);
  const none = encodeBencode({
    info: { length: 1, name: "x", "piece length": 16384, pieces: hashes(1) },
  });
  deepStrictEqual(parseTorrent(none).announce, []);
});

Deno.test("parseTorrent() reads url-list as a string or a list, and httpseeds", () => {
  deepStrictEqual(parseTorrent(single({}, { "url-list": "http://w/" })).urlList, ["http://w/"]);
  const t = parseTorrent(single({}, {
    "url-list": ["http://w1/", 3, "http://w2/", "http://w1/"],
    httpseeds: ["http://h/seed", ""],
  }));
  deepStrictEqual(t.urlList, ["http://w1/", "http://w2/"]);
  deepStrictEqual(t.httpSeeds, ["http://h/seed"]);
});

Deno.test("parseTorrent() sets private only for the integer 1", () => {
  strictEqual(parseTorrent(single({ private: 1 })).private, true);
  strictEqual(parseTorrent(single({ private: 0 })).private, false);
  strictEqual(parseTorrent(single({ private: "1" })).private, false);
});

Deno.test("parseTorrent() reads a hybrid torrent through its v1 keys", () => {
  const t = parseTorrent(single({
    "meta version": 2,
    "file tree": { "file.bin": { "": { length: 40000, "pieces root": new Uint8Array(32) } } },
  }, { "piece layers": {} }));
  strictEqual(t.pieceCount, 3);
  strictEqual(t.totalLength, 40000);
});

Deno.test("parseTorrent() sanitises names and renames duplicate paths", () => {
  const t = parseTorrent(multi(
    [
      { length: 10000, path: ["a?.txt"] },
      { length: 10000, path: ["a_.txt"] },
      { length: 20000, path: [".", "", "x", "a_.txt"] },
    ],
    { name: "top:level." },
  ));
  strictEqual(t.name, "top_level");
  deepStrictEqual(t.files.map((f) => f.path.join("/")), [
    "top_level/a_.txt",
    "top_level/a_.1.txt",
    "top_level/x/a_.txt",
  ]);
});

Deno.test("parseTorrent() uses the info hash as the name when the name is empty", () => {
  const t = parseTorrent(single({ name: "" }));
  strictEqual(t.name, t.infoHashHex);
});

Deno.test("parseTorrent() refuses every malformed field with a clear message", () => {
  refuses(utf8("i5e"), /not a bencoded dictionary/);
  refuses(utf8("d3:foo3:bare"), /"info" is missing/);
  refuses(encodeBencode({ info: "x" }), /"info" is missing or not a dictionary/);
  refuses(single({ pieces: undefined }), /"pieces" is missing/);
  refuses(single({ pieces: 5 }), /"pieces" is missing or not a string/);
  refuses(single({ pieces: new Uint8Array(59) }), /not a multiple of 20/);
  refuses(single({ pieces: hashes(2) }), /holds 2 hashes but 40000 bytes need 3/);
  refuses(single({ pieces: hashes(4) }), /holds 4 hashes/);
  refuses(single({ "piece length": 0 }), /"piece length" must be a positive integer/);
  refuses(single({ "piece length": -16384 }), /"piece length" must be a positive integer/);
  refuses(single({ "piece length": "16384" }), /"piece length" must be a positive integer/);
  refuses(single({ "piece length": undefined }), /"piece length" must be a positive integer/);
  refuses(single({ "piece length": 2 ** 30 }), /larger than 536870912/);
  refuses(single({ length: 0, pieces: hashes(0) }), /total length is 0/);
  refuses(single({ length: -1 }), /"length" must not be negative/);
  refuses(single({ length: "40000" }), /"length" must be an integer/);
  refuses(single({ length: undefined }), /"length" is missing/);
  refuses(single({ length: 2n ** 60n }), /"length" is larger than 2\^53/);
  refuses(single({ name: undefined }), /"name" is missing/);
  refuses(single({ name: 3 }), /"name" is missing or not a string/);
  refuses(single({ name: ".." }), /the torrent name has a "\.\." component/);
  refuses(multi([], {}, {}, 0), /total length is 0/);
  refuses(
    multi([{ length: 1, path: ["a"] }, { length: 0, path: [] }], {}, {}, 1),
    /file 1.*empty path/,
  );
  refuses(multi([{ length: 1, path: "a" }], {}, {}, 1), /"path" of file 0 must be a list/);
  refuses(multi([{ length: 1, path: ["a", 5] }], {}, {}, 1), /component that is not a string/);
  refuses(multi([{ length: 1 }], {}, {}, 1), /"path" of file 0 must be a list/);
  refuses(multi([{ path: ["a"] }], {}, {}, 1), /"length" of file 0 is missing/);
  refuses(multi(["x"] as unknown as Dict[], {}, {}, 1), /file 0 is not a dictionary/);
  refuses(
    encodeBencode({ info: { files: "x", name: "n", "piece length": 1, pieces: hashes(1) } }),
    /"files" must be a list/,
  );
  refuses(
    multi(
      [{ length: 2 ** 52, path: ["a"] }, { length: 2 ** 52, path: ["b"] }],
      { "piece length": 2 ** 29 },
      {},
      1,
    ),
    /larger than 2\^53/,
  );
});

Deno.test("parseTorrent() refuses path traversal in files, naming the file", () => {
  refuses(
    multi([{ length: 40000, path: ["..", "etc", "passwd"] }]),
    /file 0 \("\.\.\/etc\/passwd"\) has a "\.\." component/,
  );
  refuses(multi([{ length: 40000, path: ["/etc/passwd"] }]), /file 0.*absolute path/);
  refuses(multi([{ length: 40000, path: ["C:\\Windows"] }]), /file 0.*absolute path/);
  refuses(multi([{ length: 40000, path: ["a/../../b"] }]), /file 0.*"\.\." component/);
  refuses(multi([{ length: 40000, path: [".", ""] }]), /file 0.*empty path/);
});

Deno.test("parseTorrent() refuses v2-only torrents and says why", () => {
  const bytes = encodeBencode({
    info: {
      "file tree": { "a": { "": { length: 5 } } },
      "meta version": 2,
      name: "a",
      "piece length": 16384,
    },
  });
  refuses(bytes, /v2-only torrents are not supported; hybrid torrents work through their v1 part/);
});

Deno.test("parseTorrent() wraps bencode errors with the cause", () => {
  const bytes = single();
  throws(() => parseTorrent(bytes.subarray(0, bytes.length - 1)), (error: unknown) => {
    ok(error instanceof TorrentError);
    ok(error.cause instanceof BencodeError);
    ok(/^Cannot parse torrent: Cannot decode bencode: .* at byte \d+$/.test(error.message));
    return true;
  });
});

// A small deterministic generator so failures reproduce.
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

Deno.test("parseTorrent() never crashes on random mutations of a valid torrent", () => {
  const base = multi(
    [
      { length: 10000, path: ["a.txt"] },
      { length: 6384, path: [".pad", "6384"], attr: "p" },
      { length: 23616, path: ["sub", "b.bin"] },
    ],
    { private: 1 },
    { "announce-list": [["http://a/"], ["udp://b:1/"]], "url-list": "http://w/" },
  );
  const next = random(12345);
  const interesting = utf8("0123456789ilde:-/.\x00");
  let parsed = 0, refused = 0;
  for (let round = 0; round < 5000; round++) {
    const bytes = base.slice();
    const edits = 1 + Math.floor(next() * 4);
    let mutated: Uint8Array = bytes;
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * mutated.length);
      const kind = next();
      if (kind < 0.5) {
        mutated[at] = next() < 0.5
          ? Math.floor(next() * 256)
          : interesting[Math.floor(next() * interesting.length)];
      } else if (kind < 0.75) {
        mutated = concatBytes([mutated.subarray(0, at), mutated.subarray(at + 1)]);
      } else {
        mutated = mutated.subarray(0, at);
      }
    }
    try {
      const t = parseTorrent(mutated);
      parsed++;
      for (const file of t.files) {
        ok(!file.path.includes("..") && !file.path.includes(".") && !file.path.includes(""));
        ok(file.path.every((c) => !c.includes("/") && !c.includes("\\") && !c.includes("\x00")));
      }
      strictEqual(t.pieceCount, Math.ceil(t.totalLength / t.pieceLength));
    } catch (error) {
      if (!(error instanceof TorrentError)) {
        throw new Error(`round ${round}: ${bytesToBinary(mutated)} threw ${error}`);
      }
      refused++;
    }
  }
  ok(parsed > 0 && refused > 0, `parsed ${parsed}, refused ${refused}`);
});
