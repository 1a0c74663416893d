import type { ProgressEvent, SessionEvent } from "../session/events.ts";
import type { SeedLimits, TorrentSessionOptions } from "../session/session_options.ts";
import type { PeerAddress } from "../wire/peer_address.ts";

/** Where a torrent is in its life. */
export type TorrentState =
  | "fetching-metadata"
  | "checking"
  | "downloading"
  | "seeding"
  | "paused"
  | "completed"
  | "stopped"
  | "error";

/** What a torrent's `events()` yields: its session's events, plus state changes and errors. */
export type TorrentEvent =
  | Exclude<SessionEvent, ProgressEvent>
  | (ProgressEvent & {
    /** Bytes of the client's memory budget in use. */
    readonly memoryBytes: number;
    /** The client's memory budget. */
    readonly memoryLimit: number;
  })
  | { readonly type: "state"; readonly state: TorrentState }
  | {
    /** A magnet link's metadata verified: the name and files are known now. */
    readonly type: "metainfo";
    readonly name: string;
    readonly files: number;
    readonly totalBytes: number;
  }
  | { readonly type: "error"; readonly message: string };

/** Options for `client.add()`. */
export interface AddOptions {
  /** Download folder (default: the client's `dir`). */
  dir?: string;
  /**
   * Which files to fetch: indices into `torrent.files` (as `shoal info` numbers them), or a
   * predicate; every file by default (for a magnet link with `so=`, those files). The others
   * are skipped (priority `"skip"`).
   */
  files?: readonly number[] | ((file: { index: number; path: string; length: number }) => boolean);
  /** Download in order, first and last piece of each selected file first. */
  sequential?: boolean;
  /** Add it paused (the data is checked; nothing is sent or fetched until `resume()`). */
  paused?: boolean;
  /** Keep seeding once the selection is complete (default `true`), or until a limit. */
  seed?: boolean | SeedLimits;
  /** Refuse to start unless every piece is already here (a seed-only torrent). */
  requireComplete?: boolean;
  /** Peers to connect to directly. */
  peers?: readonly PeerAddress[];
  /** Use the torrent's trackers (default `true`). */
  trackers?: boolean;
}

/** The parts of the client a torrent shares, as the client hands them over. */
export type SharedSessionOptions = Omit<
  TorrentSessionOptions,
  | "dir"
  | "filePriorities"
  | "sequential"
  | "paused"
  | "seed"
  | "peers"
  | "trackers"
  | "signal"
  | "requireComplete"
>;

/** A torrent's figures now. */
export interface TorrentStats {
  /** Payload bytes per second received. */
  readonly downloadRate: number;
  /** Payload bytes per second sent. */
  readonly uploadRate: number;
  /** Payload bytes received since it was added (this run). */
  readonly downloaded: number;
  /** Payload bytes sent since it was added (this run). */
  readonly uploaded: number;
  /** Connected peers. */
  readonly peers: number;
  /** Known peers (connected or not). */
  readonly knownPeers: number;
  /** Bytes of the whole torrent (0 until a magnet's metadata arrives). */
  readonly totalBytes: number;
  /** Bytes of the selected files. */
  readonly selectedBytes: number;
  /** Of those, verified. */
  readonly selectedDoneBytes: number;
  /** Seconds left at the current rate (Infinity when unknown). */
  readonly etaSeconds: number;
  /** Uploaded / torrent size. */
  readonly ratio: number;
}

/** A connected peer, for status displays. */
export interface PeerInfo {
  /** `host:port`. */
  readonly address: string;
  /** Its client name and version, when it said (BEP 10 `v`). */
  readonly client: string;
  /** Payload bytes per second from it. */
  readonly downloadRate: number;
  /** Payload bytes per second to it. */
  readonly uploadRate: number;
  /**
   * Letters: `d` we want its pieces, `u` it wants ours, `C` it chokes us, `c` we choke it,
   * `o` we dialled it, `i` it dialled us.
   */
  readonly flags: string;
}
