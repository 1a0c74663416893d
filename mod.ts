/**
 * shoal: a BitTorrent client and library for Deno.
 *
 * @example
 * ```ts
 * import { decodeBencode } from "@shoal/shoal";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(decodeBencode(new TextEncoder().encode("i3e")), 3);
 * ```
 * @module
 */

export { binaryToBytes, bytesToBinary, concatBytes, equalBytes, utf8 } from "./src/bytes/bytes.ts";
export { decodeHex, encodeHex } from "./src/bytes/hex.ts";
export { Bitfield } from "./src/bytes/bitfield.ts";
export { Sha1, sha1 } from "./src/sha1/sha1.ts";
export { VERSION } from "./src/version.ts";
export type { BencodeDict, BencodeSpan, BencodeValue } from "./src/bencode/types.ts";
export {
  BencodeError,
  type BencodePrefix,
  decodeBencode,
  type DecodeBencodeOptions,
  decodeBencodePrefix,
  MAX_BENCODE_DEPTH,
} from "./src/bencode/decode.ts";
export { type BencodeInput, encodeBencode } from "./src/bencode/encode.ts";
export { bencodeText, isBencodeDict, isBencodeInteger } from "./src/bencode/fields.ts";
export type { Metainfo, TorrentFile, TorrentInfo } from "./src/metainfo/types.ts";
export {
  BLOCK_SIZE,
  blockCount,
  blockSize,
  expectedPieceCount,
  type FileSpan,
  fileSpans,
  type PieceGeometry,
  pieceSize,
} from "./src/metainfo/geometry.ts";

// Sections below are appended by each part of the project (one `export` block per module).
export {
  RATE_BUCKET_MS,
  RATE_WINDOW_MS,
  RateMeter,
  type RateMeterOptions,
} from "./src/scheduler/rate_meter.ts";
export {
  type ChokeDecision,
  type ChokerPeer,
  type ChokerView,
  chooseUnchoked,
  DEFAULT_UNCHOKE_SLOTS,
  NEW_PEER_OPTIMISTIC_WEIGHT,
  NEW_PEER_WINDOW_MS,
  OPTIMISTIC_ROTATE_MS,
  type OptimisticUnchoke,
  RECHOKE_INTERVAL_MS,
} from "./src/upload/choker.ts";
export { RateLimiter, type RateLimiterOptions } from "./src/peer/rate_limiter.ts";
export {
  HashPool,
  type HashPoolOptions,
  type HashResult,
  MAX_DEFAULT_HASH_POOL_SIZE,
  type VerifyResult,
} from "./src/sha1/hash_pool.ts";
export { type PickerView, pickPiece, RANDOM_FIRST_PIECES } from "./src/scheduler/piece_picker.ts";
export {
  ActivePiece,
  blockKey,
  blockOfKey,
  type BlockOutcome,
  type BlockRequest,
  DEFAULT_MAX_ACTIVE_BYTES,
  EXPIRED,
  PieceScheduler,
  type PieceSchedulerOptions,
  type SchedulerPeer,
} from "./src/scheduler/piece_scheduler.ts";
export { Notifier } from "./src/scheduler/notifier.ts";
export {
  checkRequest,
  type RequestContext,
  type RequestVerdict,
} from "./src/upload/check_request.ts";
export { EventQueue } from "./src/session/event_queue.ts";
export type { ProgressEvent, SessionEvent } from "./src/session/events.ts";
export { formatBytes, formatDuration, formatRate, renderBar } from "./cli/format_units.ts";
export { MAX_KNOWN_PEERS, PeerBook, RETRY_BASE_MS, RETRY_MAX_MS } from "./src/session/peer_book.ts";
export {
  IncompleteDataError,
  type SeedLimits,
  TICK_MS,
  TorrentSession,
  type TorrentSessionOptions,
} from "./src/session/torrent_session.ts";
export { MAX_CONCURRENT_DIALS } from "./src/session/connector.ts";
export { MAX_HASH_FAILURES } from "./src/session/piece_verifier.ts";
export { MAX_QUEUED_UPLOADS } from "./src/upload/upload_server.ts";
export { RESUME_SAVE_INTERVAL_MS } from "./src/storage/resume_writer.ts";
export { REQUEST_TIMEOUT_MS, SNUB_TIMEOUT_MS } from "./src/scheduler/request_pipeline.ts";
export {
  type ListeningTorrent,
  MAX_PENDING_HANDSHAKES,
  PeerListener,
  type PeerListenerOptions,
} from "./src/client/peer_listener.ts";
export {
  DEMO_FILES,
  DEMO_LEECHERS,
  DEMO_SEED_RATE,
  type DemoOptions,
  runDemo,
} from "./cli/run_demo.ts";
export { type StorageAction, StorageError, toStorageError } from "./src/storage/storage_error.ts";
export {
  DEFAULT_MAX_OPEN_FILES,
  type FileAccess,
  FileHandleCache,
  type FileHandleCacheOptions,
} from "./src/storage/file_handles.ts";
export { TorrentStorage, type TorrentStorageOptions } from "./src/storage/torrent_storage.ts";
export {
  loadResume,
  RESUME_FOLDER,
  RESUME_VERSION,
  resumePath,
  saveResume,
} from "./src/storage/resume.ts";
export {
  checkPieces,
  type CheckPiecesOptions,
  DEFAULT_CHECK_CONCURRENCY,
  type PieceSource,
} from "./src/storage/check_pieces.ts";
export { ProtocolError } from "./src/wire/protocol_error.ts";
export {
  decodeCompactPeers,
  decodeIpAddress,
  encodeCompactPeer,
  encodeCompactPeers,
  encodeIpAddress,
  formatPeerAddress,
  type PeerAddress,
} from "./src/wire/peer_address.ts";
export {
  decodeHandshake,
  decodeReserved,
  encodeHandshake,
  encodeReserved,
  type Handshake,
  HANDSHAKE_LENGTH,
  type HandshakeExtensions,
  type HandshakeInput,
  OUR_RESERVED,
} from "./src/wire/handshake.ts";
export {
  type DecodedMessage,
  decodeMessage,
  type DecodeMessageOptions,
  encodedMessageLength,
  encodeMessage,
  encodeMessageInto,
  encodePieceHeader,
  MAX_FRAME_BYTES,
  type PeerMessage,
  type PeerMessageType,
  PIECE_HEADER_BYTES,
} from "./src/wire/message.ts";
export {
  decodeExtensionHandshake,
  encodeExtensionHandshake,
  EXTENSION_HANDSHAKE_ID,
  type ExtensionHandshake,
} from "./src/wire/extension.ts";
export {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  type MetadataMessage,
} from "./src/wire/metadata.ts";
export {
  decodePex,
  encodePex,
  PEX_FLAG_ENCRYPTION,
  PEX_FLAG_HOLEPUNCH,
  PEX_FLAG_REACHABLE,
  PEX_FLAG_SEED,
  PEX_FLAG_UTP,
  type PexMessage,
} from "./src/wire/pex.ts";
export { generatePeerId, PEER_ID_PREFIX } from "./src/wire/peer_id.ts";
export { PeerError } from "./src/peer/peer_error.ts";
export {
  acceptPeer,
  type AcceptPeerOptions,
  CONNECT_TIMEOUT_MS,
  connectPeer,
  type ConnectPeerOptions,
  IDLE_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  PeerConnection,
  type PeerConnectionInit,
  type PeerConnectionOptions,
  READ_BUFFER_BYTES,
} from "./src/peer/connection.ts";
export { TrackerError } from "./src/tracker/tracker_error.ts";
export type {
  AnnounceEvent,
  AnnounceOptions,
  AnnounceRequest,
  AnnounceResponse,
} from "./src/tracker/types.ts";
export {
  clampAnnounceInterval,
  DEFAULT_ANNOUNCE_INTERVAL_SECONDS,
  MAX_ANNOUNCE_INTERVAL_SECONDS,
  MIN_ANNOUNCE_INTERVAL_SECONDS,
  parseAnnounceResponse,
} from "./src/tracker/parse_announce_response.ts";
export { percentEncodeBytes } from "./src/tracker/percent_encode_bytes.ts";
export { buildAnnounceUrl } from "./src/tracker/build_announce_url.ts";
export { MAX_TRACKER_RESPONSE_BYTES } from "./src/tracker/read_capped_body.ts";
export { announceHttp, DEFAULT_HTTP_TIMEOUT_MS } from "./src/tracker/announce_http.ts";
export {
  openUdpSocket,
  type OpenUdpSocketOptions,
  type UdpMessage,
  type UdpSocket,
} from "./src/tracker/udp_socket.ts";
export {
  decodeUdpTrackerResponse,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  encodeUdpScrapeRequest,
  MAX_UDP_SCRAPE_HASHES,
  UDP_TRACKER_PROTOCOL_ID,
  type UdpScrapeEntry,
  type UdpTrackerResponse,
} from "./src/tracker/udp_tracker_packets.ts";
export {
  DEFAULT_UDP_MAX_RETRANSMITS,
  DEFAULT_UDP_RETRANSMIT_BASE_MS,
  UDP_CONNECTION_ID_TTL_MS,
} from "./src/tracker/udp_tracker_transport.ts";
export { announceUdp } from "./src/tracker/announce_udp.ts";
export { scrapeUdp } from "./src/tracker/scrape_udp.ts";
export { announce } from "./src/tracker/announce.ts";
export {
  type AnnounceFunction,
  type TieredAnnounceResponse,
  TrackerTiers,
  type TrackerTiersOptions,
} from "./src/tracker/tracker_tiers.ts";
export {
  ANNOUNCE_EVENT_TIMEOUT_MS,
  ANNOUNCE_RETRY_INITIAL_MS,
  ANNOUNCE_RETRY_MAX_MS,
  announceEvent,
  announcePeers,
  type AnnouncePeersOptions,
} from "./src/tracker/announce_peers.ts";
export { TorrentError } from "./src/metainfo/torrent_error.ts";
export { MAX_PIECE_LENGTH, parseTorrent } from "./src/metainfo/parse_torrent.ts";
export {
  MAX_PATH_COMPONENT_BYTES,
  sanitizePathComponent,
  sanitizeTorrentPath,
} from "./src/metainfo/sanitize_path.ts";
export {
  formatMagnet,
  type FormatMagnetInput,
  MagnetError,
  type MagnetLink,
  type MagnetPeer,
  MAX_SELECT_ONLY_INDICES,
  parseMagnet,
} from "./src/metainfo/magnet.ts";
export {
  chooseTorrentPieceLength,
  MAX_CHOSEN_PIECE_LENGTH,
  MIN_CHOSEN_PIECE_LENGTH,
  TARGET_MAX_PIECES,
} from "./src/metainfo/choose_piece_length.ts";
export {
  encodeTorrent,
  type EncodeTorrentFile,
  type EncodeTorrentOptions,
} from "./src/metainfo/encode_torrent.ts";
export {
  CREATED_BY,
  createTorrent,
  CreateTorrentError,
  type CreateTorrentOptions,
} from "./src/storage/create_torrent.ts";
export {
  computeMseSecret,
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  deriveMseCiphers,
  encodeMsePublicKey,
  generateMsePrivateKey,
  modPow,
  MSE_GENERATOR,
  MSE_KEY_BYTES,
  MSE_MAX_PAD_BYTES,
  MSE_PRIME,
  MSE_PRIVATE_KEY_BYTES,
  MSE_RC4_DISCARD_BYTES,
  MSE_VC_BYTES,
  type MseAllow,
  type MseCiphers,
  mseCryptoBits,
  mseMaskReq2Hash,
  mseReq1Hash,
  mseReq2Hash,
  Rc4,
  selectMseCrypto,
} from "./src/wire/mse_crypto.ts";
export {
  isPlainHandshakeStart,
  MSE_HANDSHAKE_TIMEOUT_MS,
  MSE_MAX_INITIAL_PAYLOAD_BYTES,
  mseAccept,
  type MseAccepted,
  type MseAcceptOptions,
  MseConn,
  mseConnect,
  type MseConnectOptions,
  type MseConnInit,
  PrefixedConn,
} from "./src/peer/mse.ts";
