import type { TorrentState } from "../client/torrent.ts";
import type { TorrentSummary } from "./torrent_json.ts";

/**
 * What `GET /api/v1/events` sends (each as one Server-Sent Event named after its `type`):
 * torrents added and removed, progress (at most twice a second per torrent), checking
 * progress, a magnet link's info fetched, state changes, completion and errors.
 */
export type DaemonEvent =
  | { readonly type: "added"; readonly torrent: TorrentSummary }
  | { readonly type: "removed"; readonly infoHash: string }
  | { readonly type: "progress"; readonly torrent: TorrentSummary }
  | {
    readonly type: "checking";
    readonly infoHash: string;
    readonly checked: number;
    readonly total: number;
  }
  | {
    readonly type: "state";
    readonly infoHash: string;
    readonly state: TorrentState;
    readonly torrent: TorrentSummary;
  }
  | { readonly type: "complete"; readonly infoHash: string; readonly torrent: TorrentSummary }
  | { readonly type: "metainfo"; readonly infoHash: string; readonly torrent: TorrentSummary }
  | { readonly type: "error"; readonly infoHash?: string; readonly message: string };
