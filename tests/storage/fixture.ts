// Test helper: builds a TorrentInfo and its data from a file list.
import { encodeHex } from "../../src/bytes/hex.ts";
import type { FileEntry, TorrentInfo } from "../../src/metainfo/types.ts";
import { sha1 } from "../../src/sha1/sha1.ts";

/** A file to put in a test torrent. */
export interface FixtureFile {
  path: string[];
  length: number;
  padding?: boolean;
}

/** A test torrent with its whole data (padding bytes are zero). */
export interface Fixture {
  info: TorrentInfo;
  data: Uint8Array;
  /** The expected content of every file, in `info.files` order. */
  fileData: Uint8Array[];
  piece(index: number): Uint8Array;
}

/** Deterministic pseudo-random bytes. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Builds a torrent from `files`, with data from `seed`. */
export function makeFixture(files: FixtureFile[], pieceLength: number, seed = 1): Fixture {
  let offset = 0;
  const torrentFiles: FileEntry[] = files.map((f) => {
    const file = { path: f.path, length: f.length, offset, padding: f.padding ?? false };
    offset += f.length;
    return file;
  });
  const totalLength = offset;
  const data = randomBytes(totalLength, seed);
  for (const f of torrentFiles) if (f.padding) data.fill(0, f.offset, f.offset + f.length);
  const pieceCount = Math.ceil(totalLength / pieceLength);
  const pieceHashes = new Uint8Array(pieceCount * 20);
  const piece = (i: number) =>
    data.subarray(i * pieceLength, Math.min(totalLength, (i + 1) * pieceLength));
  for (let i = 0; i < pieceCount; i++) pieceHashes.set(sha1(piece(i)), i * 20);
  const infoHash = sha1(randomBytes(64, seed + 1000));
  const info: TorrentInfo = {
    infoHash,
    infoHashHex: encodeHex(infoHash),
    infoBytes: new Uint8Array(0),
    name: files[0].path[0],
    pieceLength,
    pieceCount,
    pieceHashes,
    totalLength,
    files: torrentFiles,
    multiFile: files.length > 1 || files[0].path.length > 1,
    private: false,
  };
  const fileData = torrentFiles.map((f) => data.slice(f.offset, f.offset + f.length));
  return { info, data, fileData, piece };
}

/**
 * A multi-file torrent, piece length 1024: pieces span several files; there are zero-length
 * files and a padding file in the middle.
 *   t/a.bin 1500 | t/empty1 0 | t/sub/b.bin 700 | t/.pad/872 (padding) | t/sub/empty2 0 |
 *   t/c.bin 2500 | t/d.bin 300   => 5872 bytes, 6 pieces
 */
export function multiFileFixture(seed = 1): Fixture {
  return makeFixture(
    [
      { path: ["t", "a.bin"], length: 1500 },
      { path: ["t", "empty1"], length: 0 },
      { path: ["t", "sub", "b.bin"], length: 700 },
      { path: ["t", ".pad", "872"], length: 872, padding: true },
      { path: ["t", "sub", "empty2"], length: 0 },
      { path: ["t", "c.bin"], length: 2500 },
      { path: ["t", "d.bin"], length: 300 },
    ],
    1024,
    seed,
  );
}

/** Shuffles a copy of `items` with a fixed seed. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  const r = randomBytes(out.length * 4, seed);
  const view = new DataView(r.buffer);
  for (let i = out.length - 1; i > 0; i--) {
    const j = view.getUint32(i * 4) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Tells whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Asserts two byte arrays are equal, naming the first difference (cheap for big arrays). */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}
