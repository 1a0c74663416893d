import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { BencodeError } from "../../src/bencode/decode.ts";
import { type BencodeInput, encodeBencode } from "../../src/bencode/encode.ts";
import { bytesToBinary, concatBytes, equalBytes, utf8 } from "../../src/bytes/bytes.ts";
import { encodeHex } from "../../src/bytes/hex.ts";
import { parseTorrent, TorrentError } from "../../src/metainfo/parse_torrent.ts";
import { MAX_TORRENT_WARNINGS } from "../../src/metainfo/types.ts";
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

Deno.test("parseTorrent() flags BEP 47 padding files, with or without a path", () => {
  const t = parseTorrent(multi([
    { length: 10000, path: ["a.txt"] },
    { length: 6384, path: [".pad", "6384"], attr: "p" },
    { length: 10000, path: ["b.txt"] },
    { length: 6384, attr: "p" },
    { length: 7232, path: ["c.txt"], attr: "x" },
  ]));
  deepStrictEqual(t.files.map((f) => f.padding), [false, true, false, true, false]);
  deepStrictEqual(t.files.map((f) => f.offset), [0, 10000, 16384, 26384, 32768]);
  // Padding files of the same length may share a path: they are not renamed.
  deepStrictEqual(t.files[3].path, ["folder", ".pad", "6384"]);
  deepStrictEqual(t.warnings, []);
});

Deno.test("parseTorrent() treats a .pad path without the p attribute as a real file", () => {
  // As libtorrent does: only `attr` p (or a BitComet padding name) makes a padding file.
  const t = parseTorrent(multi([
    { length: 10000, path: ["a.txt"] },
    { length: 6384, path: [".pad", "6384"] },
    { length: 10000, path: ["_____padding_file_0_"] },
    { length: 13616, path: ["b.txt"] },
  ]));
  deepStrictEqual(t.files.map((f) => f.padding), [false, false, true, false]);
});

Deno.test("parseTorrent() reads BEP 47 executable, hidden and symlink attributes", () => {
  const t = parseTorrent(multi([
    { length: 20000, path: ["run.sh"], attr: "x" },
    { length: 20000, path: [".secret"], attr: "h" },
    { path: ["bin", "run"], attr: "l", "symlink path": ["run.sh"] },
    { path: ["escape"], attr: "l", "symlink path": ["..", "..", "etc", "passwd"] },
    { path: ["no-target"], attr: "l" },
    { length: 8, path: ["rest"] },
  ]));
  const [run, secret, link, escape, noTarget] = t.files;
  strictEqual(run.executable, true);
  strictEqual(run.hidden, undefined);
  strictEqual(secret.hidden, true);
  deepStrictEqual([link.symlink, link.symlinkPath, link.length], [true, ["folder", "run.sh"], 0]);
  deepStrictEqual(escape.symlinkPath, ["folder", "escape"], "an escaping link points to itself");
  deepStrictEqual([noTarget.symlink, noTarget.length], [undefined, 0]);
  deepStrictEqual(t.warnings, [
    'file 4: symlink without a usable "symlink path": kept as an empty file',
    'file 3: symlink target "etc/passwd" is not a file or folder of the torrent: ' +
    "the link now points to itself",
  ]);
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

Deno.test("parseTorrent() reads the DHT nodes of a trackerless torrent (BEP 5), skipping bad entries", () => {
  const t = parseTorrent(single({}, {
    nodes: [
      ["127.0.0.1", 6881],
      ["router.example.org", 25401],
      ["10.0.0.1", 0], // no port
      ["10.0.0.2", 70000], // past 65535
      ["10.0.0.3"], // no port at all
      [6881, "10.0.0.4"], // the wrong way round
      ["bad host", 1], // not a host name
      "10.0.0.5:6881", // not a pair
    ],
  }));
  deepStrictEqual(t.nodes, [
    { host: "127.0.0.1", port: 6881 },
    { host: "router.example.org", port: 25401 },
  ]);
  deepStrictEqual(parseTorrent(single()).nodes, []);
  deepStrictEqual(parseTorrent(single({}, { nodes: "x" })).nodes, []);
  const many = Array.from({ length: 500 }, (_, i) => ["127.0.0.1", i + 1]);
  strictEqual(parseTorrent(single({}, { nodes: many })).nodes.length, 64, "capped");
});

Deno.test("parseTorrent() sets private for any non-zero integer, as libtorrent does", () => {
  strictEqual(parseTorrent(single({ private: 1 })).private, true);
  strictEqual(parseTorrent(single({ private: 2 })).private, true);
  strictEqual(parseTorrent(single({ private: 0 })).private, false);
  const text = parseTorrent(single({ private: "1" }));
  strictEqual(text.private, false);
  deepStrictEqual(text.warnings, ['"private" is a string, not an integer: ignored']);
});

Deno.test("parseTorrent() reads a hybrid torrent through its v1 keys", () => {
  const t = parseTorrent(single({
    "meta version": 2,
    "file tree": {
      "file.bin": { "": { length: 40000, "pieces root": new Uint8Array(32).fill(9) } },
    },
  }, { "piece layers": {} }));
  strictEqual(t.pieceCount, 3);
  strictEqual(t.totalLength, 40000);
});

Deno.test("parseTorrent() applies libtorrent's meta version rules", () => {
  const root = new Uint8Array(32).fill(9);
  const tree = (length: number) => ({ "file.bin": { "": { length, "pieces root": root } } });
  refuses(single({ "meta version": 3 }), /"meta version" 3 is not supported/);
  refuses(single({ "file tree": tree(40000) }), /"file tree" needs "meta version" 2/);
  refuses(single({ "meta version": 2 }), /needs a "file tree"/);
  refuses(
    single({ "meta version": 2, "file tree": tree(40000), "piece length": 20000 }),
    /must be a power of two/,
  );
  refuses(
    single({ "meta version": 2, "file tree": tree(40001) }),
    /describe different files/,
  );
  refuses(
    single({ "meta version": 2, "file tree": { "file.bin": { "": { length: 40000 } } } }),
    /no valid "pieces root"/,
  );
});

Deno.test("parseTorrent() sanitises names and renames duplicate paths, with a warning each", () => {
  const t = parseTorrent(multi(
    [
      { length: 10000, path: ["a/b.txt"] },
      { length: 10000, path: ["AB.TXT"] },
      { length: 20000, path: [".", "", "x", "..", "a.txt"] },
    ],
    { name: "top:level." },
  ));
  strictEqual(t.name, "top:level.", "POSIX keeps what only Windows reserves");
  deepStrictEqual(t.files.map((f) => f.path.join("/")), [
    "top:level./ab.txt",
    "top:level./AB.1.TXT",
    "top:level./_/x/a.txt",
  ]);
  deepStrictEqual(t.warnings, [
    'file 0: path "a/b.txt" became "ab.txt"',
    'file 2: path ".//x/../a.txt" became "_/x/a.txt"',
    'file 1: path "AB.TXT" became "AB.1.TXT" ' +
    "(another file or folder has that name)",
  ]);
  const windows = parseTorrent(multi([{ length: 40000, path: ["a?"] }], { name: "top:level." }), {
    windows: true,
  });
  deepStrictEqual(windows.files[0].path, ["top_level", "a_"]);
});

Deno.test("parseTorrent() names a torrent whose name sanitises to nothing by its info hash", () => {
  for (const name of ["..", ".", "/"]) {
    const one = parseTorrent(single({ name }));
    strictEqual(one.name, one.infoHashHex);
    deepStrictEqual(one.files[0].path, [one.infoHashHex]);
    deepStrictEqual(one.warnings, [`name ${JSON.stringify(name)} became "${one.infoHashHex}"`]);
    const folder = parseTorrent(multi([{ length: 40000, path: ["a"] }], { name }));
    deepStrictEqual(folder.files[0].path, [folder.infoHashHex, "a"]);
  }
  strictEqual(parseTorrent(single({ name: "" })).name, "_");
});

Deno.test("parseTorrent() names an empty path _, numbered like any duplicate", () => {
  const t = parseTorrent(multi([
    { length: 10000, path: [] },
    { length: 10000, path: [".."] },
    { length: 20000, path: ["..", "."] },
  ]));
  deepStrictEqual(t.files.map((f) => f.path.join("/")), ["folder/_", "folder/_.1", "folder/_.2"]);
  strictEqual(t.warnings[0], 'file 0: empty path became "_"');
});

Deno.test("parseTorrent() ignores bytes after the dictionary and hashes the original info", () => {
  const bytes = single();
  const t = parseTorrent(concatBytes([bytes, utf8("trailing junk")]));
  strictEqual(t.infoHashHex, parseTorrent(bytes).infoHashHex);
  deepStrictEqual(t.warnings, ["ignored 13 bytes after the torrent's dictionary"]);
});

Deno.test("parseTorrent() keeps out-of-range optional values out of the result, with warnings", () => {
  const t = parseTorrent(single({}, {
    "creation date": 10 ** 15,
    comment: 5,
    "created by": ["x"],
  }));
  strictEqual(t.creationDate, undefined);
  strictEqual(t.comment, undefined);
  strictEqual(t.createdBy, undefined);
  deepStrictEqual(t.warnings, [
    '"comment" is an integer, not a string: ignored',
    '"created by" is a list, not a string: ignored',
    '"creation date" 1000000000000000 is out of the range of dates: ignored',
  ]);
  for (const date of [-1, "2020", 10n ** 20n, 8.64e12 + 1]) {
    const dropped = parseTorrent(single({}, { "creation date": date }));
    strictEqual(dropped.creationDate, undefined, String(date));
    strictEqual(dropped.warnings.length, 1, String(date));
  }
  const edge = parseTorrent(single({}, { "creation date": 8.64e12 }));
  strictEqual(new Date(edge.creationDate! * 1000).toISOString(), "+275760-09-13T00:00:00.000Z");
  const repaired = parseTorrent(single({}, {
    comment: "plain",
    "comment.utf-8": new Uint8Array([0x62, 0xff, 0x63]),
  }));
  strictEqual(repaired.comment, "b_c");
});

Deno.test("parseTorrent() caps warnings and counts the rest", () => {
  const files = Array.from({ length: 150 }, (_, i) => ({ length: 1, path: ["..", `f${i}`] }));
  const t = parseTorrent(multi(files, {}, {}, 1));
  strictEqual(t.warnings.length, MAX_TORRENT_WARNINGS);
  strictEqual(t.warnings.at(-1), "51 more warnings");
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
  refuses(single({ length: -1 }), /"length" of the file must not be negative/);
  refuses(single({ length: "40000" }), /"length" of the file must be an integer/);
  refuses(single({ length: undefined }), /"length" of the file is missing/);
  refuses(single({ length: 2n ** 60n }), /"length" of the file is larger than 17592186028031/);
  refuses(single({ name: undefined }), /"name" is missing/);
  refuses(single({ name: 3 }), /"name" is missing or not a string/);
  refuses(multi([], {}, {}, 0), /total length is 0/);
  refuses(
    multi([{ length: 1, path: "a" }], {}, {}, 1),
    /"path" of file 0 is missing or not a list/,
  );
  refuses(multi([{ length: 1, path: ["a", 5] }], {}, {}, 1), /component that is not a string/);
  refuses(multi([{ length: 1 }], {}, {}, 1), /"path" of file 0 is missing or not a list/);
  refuses(multi([{ path: ["a"] }], {}, {}, 1), /"length" of file 0 is missing/);
  refuses(multi(["x"] as unknown as Dict[], {}, {}, 1), /file 0 is not a dictionary/);
  refuses(
    encodeBencode({ info: { files: "x", name: "n", "piece length": 1, pieces: hashes(1) } }),
    /"length" of the file is missing/,
    // libtorrent reads a torrent whose "files" is not a list as a single-file torrent
  );
  refuses(
    multi(
      Array.from({ length: 17 }, (_, i) => ({ length: 17592186028031, path: [`f${i}`] })),
      { "piece length": 2 ** 29 },
      {},
      1,
    ),
    /total length is larger than 2\^48 - 1/,
  );
  refuses(
    single({ length: 2 ** 21 + 1, "piece length": 1, pieces: hashes(1) }),
    /2097153 pieces is more than 2097152/,
  );
});

Deno.test("parseTorrent() keeps traversal attempts inside the torrent's folder", () => {
  const t = parseTorrent(multi([
    { length: 10000, path: ["..", "..", "etc", "passwd"] },
    { length: 10000, path: ["/etc/passwd"] },
    { length: 10000, path: ["C:\\Windows"] },
    { length: 10000, path: ["a/../../b"] },
  ]));
  deepStrictEqual(t.files.map((f) => f.path.join("/")), [
    "folder/etc/passwd",
    "folder/etcpasswd",
    "folder/C:Windows",
    "folder/a....b",
  ]);
  strictEqual(t.warnings[0], 'file 0: path "../../etc/passwd" became "etc/passwd"');
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
