/**
 * Torrent files read the way libtorrent 2.0.8 reads them: the building blocks behind
 * `parseTorrent` that sanitise paths, rename colliding files, check BEP 47 symlinks, apply
 * BEP 52's `meta version` rules and repair UTF-8 text. `parseTorrent`, `TorrentError`, the
 * `Metainfo` types and the older sanitisers are exported from `@shoal/shoal`.
 *
 * @example
 * ```ts
 * import { renameDuplicatePaths } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual } from "node:assert/strict";
 * const files = [
 *   { path: ["t", "a.txt"], length: 1, padding: false },
 *   { path: ["t", "a.txt"], length: 1, padding: false },
 * ];
 * renameDuplicatePaths(files);
 * deepStrictEqual(files[1].path, ["t", "a.1.txt"]);
 * ```
 * @module
 */

export {
  decodeUtf8Codepoint,
  quoteTorrentText,
  type RepairedText,
  repairUtf8,
  type Utf8Codepoint,
} from "./repair_utf8.ts";
export type { SanitizePathOptions } from "./sanitize_path.ts";
export { type PathEntry, type PathRename, renameDuplicatePaths } from "./rename_duplicate_paths.ts";
export {
  resolveSymlinkTargets,
  type SymlinkEntry,
  type SymlinkTarget,
} from "./resolve_symlinks.ts";
export {
  MAX_FILE_LENGTH,
  type RawTorrentFile,
  readTorrentFiles,
  type ReadTorrentFilesOptions,
} from "./read_torrent_files.ts";
export { checkMetaVersion, type MetaVersionContext } from "./check_meta_version.ts";
export { MAX_PIECE_COUNT, MAX_TOTAL_LENGTH, type ParseTorrentOptions } from "./parse_torrent.ts";
export { MAX_TORRENT_WARNINGS } from "./types.ts";
// Referenced by the signatures above (also exported from `@shoal/shoal`).
export type { BencodeDict, BencodeValue } from "../bencode/types.ts";
export {
  encodeTorrentFile,
  metainfoFromInfo,
  type MetainfoFromInfoOptions,
} from "./torrent_from_info.ts";
export type { FileEntry, Metainfo, TorrentInfo } from "./types.ts";
export {
  BLOCK_SIZE,
  blockCount,
  blockSize,
  expectedPieceCount,
  type FileSpan,
  fileSpans,
  type PieceGeometry,
  pieceSize,
} from "./geometry.ts";
export { MAX_PIECE_LENGTH } from "./parse_torrent.ts";
export {
  MAX_PATH_COMPONENT_BYTES,
  sanitizePathComponent,
  sanitizeTorrentPath,
} from "./sanitize_path.ts";
export {
  formatMagnet,
  type FormatMagnetInput,
  MagnetError,
  type MagnetLink,
  type MagnetPeer,
  MAX_SELECT_ONLY_INDICES,
  parseMagnet,
} from "./magnet.ts";
export {
  chooseTorrentPieceLength,
  MAX_CHOSEN_PIECE_LENGTH,
  MIN_CHOSEN_PIECE_LENGTH,
  TARGET_MAX_PIECES,
} from "./choose_piece_length.ts";
export {
  encodeTorrent,
  type EncodeTorrentFile,
  type EncodeTorrentOptions,
} from "./encode_torrent.ts";
export { TorrentError } from "./torrent_error.ts";
export { parseTorrent } from "./parse_torrent.ts";
