/**
 * The metainfo layer: torrent files, magnet links, piece and file geometry. Pure.
 *
 * @example
 * ```ts
 * import { encodeTorrentFile, metainfoFromInfo } from "@shoal/shoal/metainfo";
 * import { parseTorrent } from "@shoal/shoal";
 * import { strictEqual } from "node:assert/strict";
 * const info = new TextEncoder().encode(
 *   "d6:lengthi5e4:name5:hello12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae",
 * );
 * strictEqual(parseTorrent(encodeTorrentFile(info)).infoHashHex, metainfoFromInfo(info).infoHashHex);
 * ```
 * @module
 */

export {
  encodeTorrentFile,
  metainfoFromInfo,
  type MetainfoFromInfoOptions,
} from "./torrent_from_info.ts";
export type { Metainfo, TorrentFile, TorrentInfo } from "./types.ts";
