// `shoal info`: what a .torrent file or a magnet link holds (with --fetch, a magnet's metadata
// fetched from the swarm).

import { Client } from "../src/client/client.ts";
import { parseMagnet } from "../src/metainfo/magnet.ts";
import type { Metainfo } from "../src/metainfo/types.ts";
import { formatPeerAddress } from "../src/wire/peer_address.ts";
import {
  CLIENT_OPTIONS,
  clientFlags,
  parse,
  parseNumber,
  printable,
  readTorrent,
  UsageError,
} from "./args.ts";
import { formatBytes } from "./format_units.ts";

/** How long `info --fetch` waits for a magnet's metadata by default. */
const FETCH_TIMEOUT_S = 120;

/**
 * `shoal info <file.torrent | magnet:?...> [--json] [--fetch]`.
 * @param args The arguments after `info`.
 * @param signal Aborted on Ctrl-C.
 * @param line Writes one line to standard output.
 * @returns The exit code.
 */
export async function commandInfo(
  args: string[],
  signal: AbortSignal,
  line: (text: string) => void,
): Promise<number> {
  const { values, positionals } = parse(args, {
    ...CLIENT_OPTIONS,
    fetch: { type: "boolean" },
    "fetch-timeout": { type: "string" },
  });
  const target = positionals[0];
  if (!target) throw new UsageError("info needs a .torrent file or a magnet link");
  if (target.startsWith("magnet:")) {
    const link = parseMagnet(target);
    if (values.fetch) {
      const seconds = parseNumber(values["fetch-timeout"] as string | undefined, "fetch-timeout") ??
        FETCH_TIMEOUT_S;
      const flags = clientFlags(values);
      await using client = new Client({
        listen: false,
        dht: flags.dht,
        dhtNodes: flags.dhtNodes,
        dhtReadOnly: flags.dhtReadOnly,
        stateDir: flags.stateDir,
        trackerTimeoutMs: flags.trackerTimeoutMs,
        listenHost: flags.listenHost,
      });
      const timeout = AbortSignal.timeout(seconds * 1000);
      let meta: Metainfo;
      try {
        meta = await client.fetchMetainfo(link, {
          peers: flags.peers,
          signal: AbortSignal.any([signal, timeout]),
        });
      } catch (error) {
        if (timeout.aborted && !signal.aborted) {
          throw new Error(`Cannot fetch the metadata: no peer gave it within ${seconds} s`);
        }
        throw error;
      }
      printTorrent(meta, !!values.json, line);
      return 0;
    }
    if (values.json) {
      line(JSON.stringify({ ...link, infoHash: link.infoHashHex, infoHashHex: undefined }));
      return 0;
    }
    line(`name:       ${link.name === undefined ? "(not given)" : printable(link.name)}`);
    line(`info hash:  ${link.infoHashHex}`);
    line(
      `trackers:   ${
        link.trackers.length === 0 ? "none" : link.trackers.map(printable).join("\n            ")
      }`,
    );
    if (link.peers.length > 0) {
      line(`peers:      ${printable(link.peers.map(formatPeerAddress).join(", "))}`);
    }
    if (link.webSeeds.length > 0) {
      line(`web seeds:  ${link.webSeeds.map(printable).join("\n            ")}`);
    }
    if (link.selectOnly) line(`select:     files ${link.selectOnly.join(", ")}`);
    return 0;
  }
  printTorrent(await readTorrent(target), !!values.json, line);
  return 0;
}

/** Prints a torrent's metadata as text (warnings first) or as one JSON object. */
function printTorrent(meta: Metainfo, json: boolean, line: (text: string) => void): void {
  const files = meta.files.filter((f) => !f.padding);
  if (json) {
    line(JSON.stringify({
      name: meta.name,
      infoHash: meta.infoHashHex,
      totalBytes: meta.totalLength,
      pieceLength: meta.pieceLength,
      pieceCount: meta.pieceCount,
      private: meta.private,
      trackers: meta.announce,
      webSeeds: meta.urlList,
      dhtNodes: meta.nodes,
      comment: meta.comment,
      createdBy: meta.createdBy,
      creationDate: meta.creationDate,
      warnings: meta.warnings,
      files: files.map((f, index) => ({ index, path: f.path.join("/"), length: f.length })),
    }));
    return;
  }
  for (const warning of meta.warnings) line(`warning: ${printable(warning)}`);
  line(`name:        ${printable(meta.name)}`);
  line(`info hash:   ${meta.infoHashHex}`);
  line(
    `size:        ${formatBytes(meta.totalLength)} (${
      meta.totalLength.toLocaleString("en-US")
    } bytes)`,
  );
  line(
    `pieces:      ${meta.pieceCount.toLocaleString("en-US")} x ${formatBytes(meta.pieceLength)}`,
  );
  line(`private:     ${meta.private ? "yes" : "no"}`);
  if (meta.comment) line(`comment:     ${printable(meta.comment)}`);
  if (meta.createdBy) line(`created by:  ${printable(meta.createdBy)}`);
  if (meta.creationDate !== undefined) {
    const date = new Date(meta.creationDate * 1000);
    if (!Number.isNaN(date.getTime())) {
      line(`created:     ${date.toISOString().replace(".000Z", "Z")}`);
    }
  }
  if (meta.announce.length === 0) line("trackers:    none");
  meta.announce.forEach((tier, i) =>
    line(
      `${i === 0 ? "trackers:    " : "             "}tier ${i + 1}: ${printable(tier.join(", "))}`,
    )
  );
  if (meta.urlList.length > 0) line(`web seeds:   ${printable(meta.urlList.join(", "))}`);
  if (meta.nodes.length > 0) {
    line(`dht nodes:   ${printable(meta.nodes.map((n) => `${n.host}:${n.port}`).join(", "))}`);
  }
  line(`files:       ${files.length}`);
  line(fileTree(files).map((entry) => `  ${entry}`).join("\n")); // one write, not one per file
}

/**
 * Renders file paths as an indented tree, folders first seen first, each file with the index
 * `--files` and `shoal cat` take.
 */
function fileTree(files: readonly { path: readonly string[]; length: number }[]): string[] {
  const out: string[] = [];
  const open: string[] = [];
  const width = String(Math.max(0, files.length - 1)).length;
  files.forEach((file, index) => {
    let common = 0;
    while (
      common < open.length && common < file.path.length - 1 && open[common] === file.path[common]
    ) common++;
    open.length = common;
    for (let depth = common; depth < file.path.length - 1; depth++) {
      out.push(`${"  ".repeat(depth)}${printable(file.path[depth])}/`);
      open.push(file.path[depth]);
    }
    const depth = file.path.length - 1;
    out.push(
      `${"  ".repeat(depth)}[${String(index).padStart(width)}] ${printable(file.path[depth])}  (${
        formatBytes(file.length)
      })`,
    );
  });
  return out;
}
