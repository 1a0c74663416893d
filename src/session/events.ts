/** Progress of a download or seed, as the session reports it about twice a second. */
export interface ProgressEvent {
  /** Event kind. */
  readonly type: "progress";
  /** Pieces verified. */
  readonly have: number;
  /** Pieces in the torrent. */
  readonly pieceCount: number;
  /** Bytes of verified data (padding included). */
  readonly haveBytes: number;
  /** Bytes in the torrent. */
  readonly totalBytes: number;
  /** Bytes of the pieces wanted (those holding bytes of a selected file). */
  readonly wantedBytes: number;
  /** Of those, the bytes verified. */
  readonly wantedHaveBytes: number;
  /** Payload bytes received this session. */
  readonly downloaded: number;
  /** Payload bytes sent this session. */
  readonly uploaded: number;
  /** Receive rate, bytes per second. */
  readonly downRate: number;
  /** Send rate, bytes per second. */
  readonly upRate: number;
  /** Peers connected now. */
  readonly peers: number;
  /** Peer addresses known (connected or not). */
  readonly knownPeers: number;
  /** `true` once every piece is here and we only upload. */
  readonly seeding: boolean;
}

/** Everything a session reports, in order. */
export type SessionEvent =
  | { readonly type: "checking"; readonly checked: number; readonly total: number }
  | {
    readonly type: "ready";
    readonly have: number;
    readonly pieceCount: number;
    readonly port?: number;
    /** Pieces hashed to find out what is on disk (0 when the resume data vouched for all). */
    readonly hashed: number;
    /** Pieces taken from the resume data without hashing. */
    readonly trusted: number;
  }
  | ProgressEvent
  | { readonly type: "piece"; readonly index: number; readonly from: readonly string[] }
  | {
    readonly type: "peer";
    readonly change: "connected" | "disconnected";
    readonly address: string;
    readonly reason?: string;
  }
  | {
    /** A magnet link's info dictionary is being fetched (BEP 9). */
    readonly type: "metadata";
    /** Peers that offer it. */
    readonly peers: number;
    /** Peers connected. */
    readonly connected: number;
    /** Bytes of it received. */
    readonly received: number;
    /** Its size, once a peer said. */
    readonly total: number | undefined;
  }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "complete"; readonly downloaded: number; readonly seconds: number }
  | { readonly type: "stopped"; readonly have: number; readonly pieceCount: number };
