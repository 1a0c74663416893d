import type { Torrent, TorrentState } from "../client/torrent.ts";
import type { FilePriority } from "../storage/file_selection.ts";
import { mediaTypeFor } from "./media_type.ts";

/** A torrent as the API lists it (camelCase; rates in bytes per second). */
export interface TorrentSummary {
  /** 40 lowercase hex digits. */
  readonly infoHash: string;
  /** Its name. */
  readonly name: string;
  /** Where it is in its life. */
  readonly state: TorrentState;
  /** Fraction of the selected files verified, 0 to 1. */
  readonly progress: number;
  /** Payload bytes per second received. */
  readonly downloadRate: number;
  /** Payload bytes per second sent. */
  readonly uploadRate: number;
  /** Connected peers. */
  readonly peers: number;
  /** Known peers, connected or not. */
  readonly knownPeers: number;
  /** Seconds left at the current rate; `null` when unknown. */
  readonly etaSeconds: number | null;
  /** Uploaded this run / size. */
  readonly ratio: number;
  /** Bytes of every file. */
  readonly size: number;
  /** Bytes of the selected files. */
  readonly selectedSize: number;
  /** Of those, verified. */
  readonly doneSize: number;
  /** Payload bytes received this run. */
  readonly downloaded: number;
  /** Payload bytes sent this run. */
  readonly uploaded: number;
  /** Why it stopped, in state `error`; otherwise `null`. */
  readonly error: string | null;
  /** Its download folder. */
  readonly dir: string;
  /** Sequential download. */
  readonly sequential: boolean;
  /** When it was added (ISO 8601). */
  readonly addedAt: string | null;
  /** `false` for a magnet link whose info is not fetched yet. */
  readonly hasMetadata: boolean;
}

/** One file of a torrent, as the API shows it. */
export interface FileJson {
  /** Index among the torrent's files (padding files not counted). */
  readonly index: number;
  /** `/`-separated path below the download folder. */
  readonly path: string;
  /** Bytes. */
  readonly length: number;
  /** Bytes verified. */
  readonly bytesDone: number;
  /** `skip`, `normal` or `high`. */
  readonly priority: FilePriority;
  /** The `Content-Type` the stream route serves it with. */
  readonly mediaType: string;
}

/** One connected peer, as the API shows it. */
export interface PeerJson {
  /** `host:port`. */
  readonly address: string;
  /** The client it says it is. */
  readonly client: string;
  /** Bytes per second from it. */
  readonly downloadRate: number;
  /** Bytes per second to it. */
  readonly uploadRate: number;
  /** `d` we want its data, `u` it wants ours, `C` it chokes us, `c` we choke it, `o`/`i` out/in. */
  readonly flags: string;
}

/** One tracker and what it last said, as the API shows it. */
export interface TrackerJson {
  /** The announce URL. */
  readonly url: string;
  /** Its tier, from 0. */
  readonly tier: number;
  /** `idle`, `working` or `failed`. */
  readonly status: string;
  /** Last announce (ISO 8601), or `null`. */
  readonly lastAnnounceAt: string | null;
  /** Peers it gave last. */
  readonly peers: number | null;
  /** Seeders it reported. */
  readonly seeders: number | null;
  /** Leechers it reported. */
  readonly leechers: number | null;
  /** Why its last announce failed. */
  readonly error: string | null;
}

/** A torrent with its files, trackers, peers and pieces. */
export interface TorrentDetail extends TorrentSummary {
  /** Every file. */
  readonly files: readonly FileJson[];
  /** Every tracker. */
  readonly trackers: readonly TrackerJson[];
  /** The connected peers. */
  readonly peerList: readonly PeerJson[];
  /** Piece states: how many, their length, how many are verified, and which (base64 bitfield). */
  readonly pieces: {
    readonly count: number;
    readonly length: number;
    readonly have: number;
    readonly bitfield: string;
  };
}

/** What a summary reads of a torrent (a `Torrent` has all of it). */
export type SummarySource =
  & Pick<Torrent, "infoHash" | "name" | "state" | "progress" | "error" | "dir" | "sequential">
  & { stats(): ReturnType<Torrent["stats"]>; readonly metainfo?: { readonly totalLength: number } };

/** What a detail view reads of a torrent (a `Torrent` has all of it). */
export type DetailSource =
  & Omit<SummarySource, "metainfo">
  & Pick<Torrent, "trackers" | "peers" | "pieces">
  & {
    readonly files: readonly Pick<
      Torrent["files"][number],
      "index" | "path" | "length" | "bytesDone" | "priority"
    >[];
    readonly metainfo?: {
      readonly totalLength: number;
      readonly pieceCount: number;
      readonly pieceLength: number;
    };
  };

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

/**
 * A torrent as the API lists it. Infinite figures (an unknown ETA) become `null` or 0, so
 * the result is plain JSON.
 * @param torrent The torrent (or any view with its fields).
 * @param addedAt When the daemon added it, if known.
 * @returns Name, state, progress, rates, peers, ETA, ratio, sizes and error.
 * @example
 * ```ts
 * import { torrentSummary } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const summary = torrentSummary({
 *   infoHash: "ab".repeat(20), name: "film", state: "downloading", progress: 0.5,
 *   error: undefined, dir: "/data", sequential: false, metainfo: { totalLength: 2048 },
 *   stats: () => ({
 *     downloadRate: 0, uploadRate: 0, downloaded: 1024, uploaded: 0, peers: 0, knownPeers: 0,
 *     totalBytes: 2048, selectedBytes: 2048, selectedDoneBytes: 1024, etaSeconds: Infinity, ratio: 0,
 *   }),
 * });
 * strictEqual(summary.etaSeconds, null);
 * strictEqual(summary.doneSize, 1024);
 * ```
 */
export function torrentSummary(torrent: SummarySource, addedAt?: string): TorrentSummary {
  const stats = torrent.stats();
  const metainfo = torrent.metainfo;
  return {
    infoHash: torrent.infoHash,
    name: torrent.name,
    state: torrent.state,
    progress: finite(torrent.progress),
    downloadRate: finite(stats.downloadRate),
    uploadRate: finite(stats.uploadRate),
    peers: stats.peers,
    knownPeers: stats.knownPeers,
    etaSeconds: Number.isFinite(stats.etaSeconds) ? Math.round(stats.etaSeconds) : null,
    ratio: finite(stats.ratio),
    size: metainfo?.totalLength ?? 0,
    selectedSize: stats.selectedBytes,
    doneSize: stats.selectedDoneBytes,
    downloaded: stats.downloaded,
    uploaded: stats.uploaded,
    error: torrent.error ?? null,
    dir: torrent.dir,
    sequential: torrent.sequential,
    addedAt: addedAt ?? null,
    hasMetadata: metainfo !== undefined,
  };
}

/**
 * The files of a torrent, as the API shows them, each with the media type it streams as.
 * @param torrent The torrent (or any view with its files).
 * @returns One entry per file.
 * @example
 * ```ts
 * import { torrentFiles } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const files = torrentFiles({
 *   files: [{ index: 0, path: "film/a.webm", length: 10, bytesDone: 0, priority: "high" }],
 * });
 * strictEqual(files[0].mediaType, "video/webm");
 * ```
 */
export function torrentFiles(torrent: Pick<DetailSource, "files">): FileJson[] {
  return torrent.files.map((file) => ({
    index: file.index,
    path: file.path,
    length: file.length,
    bytesDone: file.bytesDone,
    priority: file.priority,
    mediaType: mediaTypeFor(file.path),
  }));
}

/**
 * A torrent with its files, trackers, peers and piece states (the verified pieces as a
 * base64 BEP 3 bitfield: the first piece is the high bit of the first byte).
 * @param torrent The torrent (or any view with its fields).
 * @param addedAt When the daemon added it, if known.
 * @returns Everything the detail view shows.
 * @example
 * ```ts
 * import { torrentDetail } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const detail = torrentDetail({
 *   infoHash: "ab".repeat(20), name: "film", state: "seeding", progress: 1,
 *   error: undefined, dir: "/data", sequential: false,
 *   metainfo: { totalLength: 40_000, pieceCount: 3, pieceLength: 16384 },
 *   stats: () => ({
 *     downloadRate: 0, uploadRate: 0, downloaded: 0, uploaded: 0, peers: 0, knownPeers: 0,
 *     totalBytes: 40_000, selectedBytes: 40_000, selectedDoneBytes: 40_000, etaSeconds: 0, ratio: 0,
 *   }),
 *   files: [], trackers: [], peers: [], pieces: () => new Uint8Array([0b1110_0000]),
 * });
 * strictEqual(detail.pieces.have, 3);
 * strictEqual(detail.pieces.bitfield, "4A==");
 * ```
 */
export function torrentDetail(torrent: DetailSource, addedAt?: string): TorrentDetail {
  const metainfo = torrent.metainfo;
  const bitfield = torrent.pieces();
  let have = 0;
  for (const byte of bitfield) {
    let b = byte;
    while (b) {
      have += b & 1;
      b >>= 1;
    }
  }
  return {
    ...torrentSummary(torrent, addedAt),
    files: torrentFiles(torrent),
    trackers: torrent.trackers.map((t) => ({
      url: t.url,
      tier: t.tier,
      status: t.status,
      lastAnnounceAt: t.lastAnnounceAt === undefined
        ? null
        : new Date(t.lastAnnounceAt).toISOString(),
      peers: t.peers ?? null,
      seeders: t.seeders ?? null,
      leechers: t.leechers ?? null,
      error: t.error ?? null,
    })),
    peerList: torrent.peers.map((p) => ({
      address: p.address,
      client: p.client,
      downloadRate: finite(p.downloadRate),
      uploadRate: finite(p.uploadRate),
      flags: p.flags,
    })),
    pieces: {
      count: metainfo?.pieceCount ?? 0,
      length: metainfo?.pieceLength ?? 0,
      have,
      bitfield: encodeBase64(bitfield),
    },
  };
}
