// `shoal create` and `shoal verify`: making a torrent of files, and checking files against one.

import { pieceSize } from "../src/metainfo/geometry.ts";
import { parseTorrent } from "../src/metainfo/parse_torrent.ts";
import { HashPool } from "../src/sha1/hash_pool.ts";
import { checkPieces } from "../src/storage/check_pieces.ts";
import { createTorrent } from "../src/storage/create_torrent.ts";
import { TorrentStorage } from "../src/storage/torrent_storage.ts";
import { parse, parseCount, printable, readTorrent, UsageError } from "./args.ts";
import { formatBytes, renderBar } from "./format_units.ts";

/**
 * `shoal create <path> -o <out.torrent>`.
 * @param args The arguments after `create`.
 * @param write Writes text to standard output.
 * @returns The exit code.
 */
export async function commandCreate(
  args: string[],
  write: (text: string) => void,
): Promise<number> {
  const line = (text: string) => write(text + "\n");
  const { values, positionals } = parse(args, {
    tracker: { type: "string", multiple: true, short: "t" },
    "piece-length": { type: "string" },
    private: { type: "boolean" },
    comment: { type: "string" },
    output: { type: "string", short: "o" },
    "web-seed": { type: "string", multiple: true },
  });
  const source = positionals[0];
  if (!source) throw new UsageError("create needs a file or folder");
  const output = values.output as string | undefined;
  if (!output) throw new UsageError("create needs -o <out.torrent>");
  const trackers = (values.tracker as string[] | undefined) ?? [];
  for (const url of trackers) {
    if (!/^(https?|udp):\/\/[^\s]+$/i.test(url)) {
      throw new UsageError(`--tracker needs an http(s) or udp URL, got "${url}"`);
    }
  }
  const pieceLength = parseCount(
    values["piece-length"] as string | undefined,
    "piece-length",
    16384,
  );
  if (pieceLength !== undefined && (pieceLength & (pieceLength - 1)) !== 0) {
    throw new UsageError("--piece-length must be a power of two of at least 16 KiB");
  }
  const bar = Deno.stdout.isTerminal();
  const started = performance.now();
  const bytes = await createTorrent(source, {
    trackers: trackers.map((url) => [url]),
    pieceLength,
    private: values.private as boolean | undefined,
    comment: values.comment as string | undefined,
    urlList: values["web-seed"] as string[] | undefined,
    onProgress: bar
      ? (done, total) =>
        write(`\r\x1b[2Khashing ${renderBar(done / total, 30)} ${(100 * done / total).toFixed(1)}%`)
      : undefined,
  });
  if (bar) write("\r\x1b[2K");
  await Deno.writeFile(output, bytes);
  const meta = parseTorrent(bytes);
  const seconds = (performance.now() - started) / 1000;
  line(
    `created ${output}: ${meta.name}, ${
      formatBytes(meta.totalLength)
    }, ${meta.pieceCount} pieces of ${
      formatBytes(meta.pieceLength)
    }, info hash ${meta.infoHashHex} (${seconds.toFixed(1)} s)`,
  );
  return 0;
}

/**
 * `shoal verify <file.torrent> [-o DIR] [--json]`: hashes the data on disk.
 * @param args The arguments after `verify`.
 * @param signal Aborted on Ctrl-C.
 * @param write Writes text to standard output.
 * @returns 0 when complete, 1 otherwise.
 */
export async function commandVerify(
  args: string[],
  signal: AbortSignal,
  write: (text: string) => void,
): Promise<number> {
  const line = (text: string) => write(text + "\n");
  const { values, positionals } = parse(args, {
    output: { type: "string", short: "o" },
    json: { type: "boolean" },
  });
  const meta = await readTorrent(positionals[0]);
  if (!values.json) { for (const w of meta.warnings) line(`warning: ${printable(w)}`); }
  const dir = (values.output as string | undefined) ?? ".";
  const bar = !values.json && Deno.stdout.isTerminal();
  await using pool = new HashPool();
  await using storage = await TorrentStorage.open(meta, dir);
  // Piece buffers go round between the disk and the hash workers (as in a session's check):
  // no new buffer per piece.
  const spare: Uint8Array[] = [];
  const source = {
    fileSizes: () => storage.fileSizes(),
    readPiece: (index: number) => {
      const size = pieceSize(meta, index);
      return storage.readBlock(index, 0, size, size === meta.pieceLength ? spare.pop() : undefined);
    },
  };
  const have = await checkPieces(meta, source, {
    hash: async (data) => {
      const hashed = await pool.hash(data);
      if (hashed.data.length === meta.pieceLength && hashed.data.byteOffset === 0) {
        spare.push(hashed.data);
      }
      return hashed.digest;
    },
    concurrency: 16,
    signal,
    onProgress: bar
      ? (checked, total) =>
        write(`\r\x1b[2Kchecking ${renderBar(checked / total, 30)} ${checked}/${total}`)
      : undefined,
  });
  if (bar) write("\r\x1b[2K");
  if (values.json) {
    line(
      JSON.stringify({
        infoHash: meta.infoHashHex,
        valid: have.count,
        pieceCount: have.size,
        complete: have.complete,
      }),
    );
  } else {
    line(
      `${meta.name}: ${have.count} of ${have.size} pieces valid${
        have.complete ? " (complete)" : ""
      }`,
    );
  }
  return have.complete ? 0 : 1;
}
