import type { Metainfo } from "../metainfo/types.ts";
import type { RateLimiter } from "../peer/rate_limiter.ts";
import type { ActivePiece } from "../scheduler/active_piece.ts";
import type { MemoryBudget } from "../scheduler/memory_budget.ts";
import { PieceScheduler } from "../scheduler/piece_scheduler.ts";
import type { HashPool } from "../sha1/hash_pool.ts";
import { piecePrioritiesFor } from "../storage/file_selection.ts";
import { ResumeWriter } from "../storage/resume_writer.ts";
import type { TorrentStorage } from "../storage/torrent_storage.ts";
import type { Bitfield } from "../bytes/bitfield.ts";
import { ChokeDriver } from "../upload/choke_driver.ts";
import { UploadServer } from "../upload/upload_server.ts";
import { Announcer } from "./announcer.ts";
import { Connector, type DialSlots } from "./connector.ts";
import type { SessionEvent } from "./events.ts";
import type { PeerBook } from "./peer_book.ts";
import { PeerHandler } from "./peer_handler.ts";
import { PexExchange } from "./pex_exchange.ts";
import { PieceVerifier } from "./piece_verifier.ts";
import type { SessionStats } from "./stats.ts";
import type { SwarmPeer } from "./swarm_peer.ts";
import { encodeReserved } from "../wire/handshake.ts";

/** Our handshake's reserved bytes when we run a DHT node: extension, fast and DHT bits. */
export const DHT_RESERVED: Uint8Array = encodeReserved({ extended: true, fast: true, dht: true });

/** The parts of a running torrent, built once its data on disk is known. */
export interface Parts {
  readonly storage: TorrentStorage;
  readonly scheduler: PieceScheduler<SwarmPeer>;
  readonly resume: ResumeWriter;
  readonly upload: UploadServer;
  readonly choker: ChokeDriver<SwarmPeer>;
  readonly pex: PexExchange;
  readonly handler: PeerHandler;
  readonly connector: Connector;
  readonly announcer: Announcer | undefined;
  /** The file priorities in force (one level per file). */
  filePriorities: Uint8Array;
}

/** What {@linkcode buildParts} wires the parts to. */
export interface PartsContext {
  readonly metainfo: Metainfo;
  readonly peerId: Uint8Array;
  readonly dir: string;
  readonly resumeDir?: string;
  readonly storage: TorrentStorage;
  readonly have: Bitfield;
  readonly filePriorities: Uint8Array;
  readonly sequential: boolean;
  readonly pool: HashPool;
  readonly budget?: MemoryBudget;
  readonly maxActiveBytes?: number;
  readonly uploadLimit: RateLimiter;
  readonly downloadLimit: RateLimiter;
  readonly peers: Map<string, SwarmPeer>;
  readonly book: PeerBook;
  readonly stats: SessionStats;
  readonly signal: AbortSignal;
  readonly trackers: boolean;
  readonly trackerTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly snubTimeoutMs?: number;
  readonly port: () => number | undefined;
  readonly maxPeers: () => number;
  readonly dhtPort?: number;
  readonly dialSlots?: DialSlots;
  readonly onExternalAddress?: (ip: string, source: string) => void;
  readonly onDhtNode?: (address: { host: string; port: number }) => void;
  /** `false` while paused, or once a finished torrent stops seeding. */
  readonly wantsPeers: () => boolean;
  readonly emit: (event: SessionEvent) => void;
  readonly spawn: (task: Promise<unknown>) => void;
  readonly onVerified: (piece: ActivePiece) => Promise<void>;
}

/**
 * Builds a torrent's parts and wires them to each other and to the session (see the map at
 * the top of torrent_session.ts).
 * @param ctx What the session provides.
 * @returns The parts.
 */
export function buildParts(ctx: PartsContext): Parts {
  const { metainfo, storage, have, peers, book, stats, signal } = ctx;
  const scheduler = new PieceScheduler<SwarmPeer>(metainfo, have, {
    budget: ctx.budget,
    maxActiveBytes: ctx.maxActiveBytes,
    sequential: ctx.sequential,
  });
  scheduler.setPriorities(piecePrioritiesFor(metainfo, ctx.filePriorities, ctx.sequential));
  const warn = (message: string) => ctx.emit({ type: "warning", message });
  const missingReported = new Set<string>();
  const addAddresses = (addresses: readonly { host: string; port: number }[]) => {
    for (const address of addresses) book.add(address, performance.now());
    connector.dial();
  };
  const upload = new UploadServer({
    info: metainfo,
    storage,
    have,
    limit: ctx.uploadLimit,
    budget: ctx.budget,
    onMissing: (_index, error) => {
      if (missingReported.has(error.path)) return;
      missingReported.add(error.path);
      warn(`${error.path} is gone from disk: its pieces are no longer served (${error.message})`);
    },
    onSent: (peer, bytes) => {
      const now = performance.now();
      (peer as SwarmPeer).upRate.add(bytes, now);
      stats.addUploaded(bytes, now);
    },
  });
  const choker = new ChokeDriver<SwarmPeer>(
    peers,
    () => scheduler.finished,
    (peer) => upload.onChoked(peer),
  );
  const pex = new PexExchange(!metainfo.private, peers, addAddresses);
  const verifier: PieceVerifier = new PieceVerifier({
    metainfo,
    scheduler,
    pool: ctx.pool,
    storage,
    peers,
    stopped: () => signal.aborted,
    isBanned: (id) => connector.isBanned(id),
    ban: (peer) => connector.ban(peer),
    onVerified: (piece) => {
      upload.forgetPiece(piece.index);
      return ctx.onVerified(piece);
    },
    onWarning: warn,
  });
  const handler = new PeerHandler({
    scheduler,
    upload,
    choker,
    pex,
    stats,
    downloadLimit: ctx.downloadLimit,
    signal,
    port: ctx.port,
    requestTimeoutMs: ctx.requestTimeoutMs,
    snubTimeoutMs: ctx.snubTimeoutMs,
    emit: ctx.emit,
    onPieceComplete: (piece) => ctx.spawn(verifier.verify(piece)),
    infoBytes: metainfo.infoBytes,
    infoHash: metainfo.infoHash,
    dhtPort: ctx.dhtPort,
    onDhtNode: ctx.onDhtNode,
    onExternalAddress: ctx.onExternalAddress,
  });
  const connector: Connector = new Connector({
    infoHash: metainfo.infoHash,
    pieceCount: metainfo.pieceCount,
    peerId: ctx.peerId,
    reserved: ctx.dhtPort === undefined ? undefined : DHT_RESERVED,
    signal,
    book,
    peers,
    maxPeers: ctx.maxPeers,
    seeding: () => scheduler.finished,
    wantsPeers: ctx.wantsPeers,
    spawn: ctx.spawn,
    runPeer: (peer) => handler.run(peer),
    dialSlots: ctx.dialSlots,
    budget: ctx.budget,
  });
  const announcer = ctx.trackers && metainfo.announce.length > 0
    ? new Announcer({
      metainfo,
      peerId: ctx.peerId,
      port: ctx.port,
      left: () => bytesLeft(metainfo, scheduler),
      stats,
      timeoutMs: ctx.trackerTimeoutMs,
      onPeers: addAddresses,
      onExternalAddress: ctx.onExternalAddress,
      onWarning: warn,
    })
    : undefined;
  const parts: Parts = {
    storage,
    scheduler,
    upload,
    choker,
    pex,
    handler,
    connector,
    announcer,
    filePriorities: ctx.filePriorities.slice(),
    resume: new ResumeWriter(
      ctx.dir,
      metainfo,
      storage,
      have,
      () => parts.filePriorities,
      ctx.resumeDir,
    ),
  };
  return parts;
}

/** Bytes of the wanted pieces we still lack: the tracker's `left` (selection only). */
function bytesLeft(metainfo: Metainfo, scheduler: PieceScheduler<SwarmPeer>): number {
  let left = 0;
  const { have, priorities } = scheduler;
  const last = metainfo.pieceCount - 1;
  for (let i = 0; i <= last; i++) {
    if (have.has(i) || priorities.get(i) === 0) continue;
    left += i === last ? metainfo.totalLength - last * metainfo.pieceLength : metainfo.pieceLength;
  }
  return left;
}
