/**
 * shoal: a BitTorrent client and library for Deno, with no dependencies.
 *
 * A {@linkcode Client} runs many torrents behind one port: `.torrent` files and magnet links,
 * trackers, the DHT and peer exchange, file selection, streaming reads while a file downloads,
 * pause and resume, and one memory budget for the whole client.
 *
 * ```ts ignore
 * import { Client } from "@shoal/shoal";
 *
 * await using client = new Client({ dir: "downloads", port: 6881 });
 * const torrent = await client.add("ubuntu.torrent", { files: [0, 2] }); // or "magnet:?xt=..."
 * for await (const event of torrent.events()) {
 *   if (event.type === "progress") console.log(`${(torrent.progress * 100).toFixed(1)}%`);
 *   if (event.type === "complete") break;
 * }
 * const file = torrent.files[2]; // { index, path, length, priority, bytesDone }
 * await file.stream({ start: 1 << 20 }).pipeTo(Deno.stdout.writable); // in order, while it downloads
 * await client.remove(torrent, { deleteData: false });
 * ```
 *
 * The protocol layers are subpath exports: `@shoal/shoal/bencode`, `/bytes`, `/metainfo`,
 * `/wire`, `/peer`, `/tracker`, `/dht`, `/storage`, `/scheduler`, `/upload`, `/sha1`.
 * @module
 */

export {
  Client,
  type ClientOptions,
  type ClientStats,
  DEFAULT_CLIENT_MAX_PEERS,
  type TorrentSource,
} from "./src/client/client.ts";
export {
  type AddOptions,
  type PeerInfo,
  Torrent,
  type TorrentEvent,
  type TorrentState,
  type TorrentStats,
} from "./src/client/torrent.ts";
export { TorrentFile } from "./src/client/torrent_file.ts";
export type { FileStreamOptions } from "./src/client/file_stream.ts";
export type { FilePriority } from "./src/storage/file_selection.ts";
export type { TrackerStatus } from "./src/session/announcer.ts";
export type { ProgressEvent, SessionEvent } from "./src/session/events.ts";
export { IncompleteDataError, type SeedLimits } from "./src/session/session_options.ts";
export {
  DEFAULT_MEMORY_BYTES,
  MemoryBudget,
  type MemoryUse,
} from "./src/scheduler/memory_budget.ts";
export type { FileEntry, Metainfo, TorrentInfo } from "./src/metainfo/types.ts";
export { parseTorrent, type ParseTorrentOptions } from "./src/metainfo/parse_torrent.ts";
export { TorrentError } from "./src/metainfo/torrent_error.ts";
export {
  formatMagnet,
  type FormatMagnetInput,
  MagnetError,
  type MagnetLink,
  type MagnetPeer,
  parseMagnet,
} from "./src/metainfo/magnet.ts";
export {
  createTorrent,
  CreateTorrentError,
  type CreateTorrentOptions,
} from "./src/storage/create_torrent.ts";
export { StorageError } from "./src/storage/storage_error.ts";
export { Sha1, sha1 } from "./src/sha1/sha1.ts";
export {
  HashPool,
  type HashPoolOptions,
  type HashResult,
  type VerifyResult,
} from "./src/sha1/hash_pool.ts";
export { BencodeError } from "./src/bencode/decode.ts";
export { ProtocolError } from "./src/wire/protocol_error.ts";
export type { PeerAddress } from "./src/wire/peer_address.ts";
export { PeerError } from "./src/peer/peer_error.ts";
export { TrackerError } from "./src/tracker/tracker_error.ts";
export { KrpcError } from "./src/dht/krpc_error.ts";
export { VERSION } from "./src/version.ts";
