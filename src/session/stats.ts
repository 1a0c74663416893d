import type { Bitfield } from "../bytes/bitfield.ts";
import { pieceSize } from "../metainfo/geometry.ts";
import type { TorrentInfo } from "../metainfo/types.ts";
import { RateMeter } from "../scheduler/rate_meter.ts";
import type { ProgressEvent, SessionEvent } from "./events.ts";

/**
 * One torrent's transfer counters: payload bytes down and up, their rates, and when the
 * download started and completed. Turns them into `progress` and `complete` events.
 */
export class SessionStats {
  /** Payload bytes received (every accepted block, duplicates included). */
  downloaded = 0;
  /** Payload bytes sent. */
  uploaded = 0;
  /** Rate of payload received. */
  readonly downRate: RateMeter = new RateMeter();
  /** Rate of payload sent. */
  readonly upRate: RateMeter = new RateMeter();
  /** When the session started transferring (ms, performance clock). */
  startedAtMs = 0;
  /** When the last missing piece verified, once it has. */
  completedAtMs: number | undefined;

  /**
   * Counts received payload.
   * @param bytes Block length.
   * @param nowMs The time.
   */
  addDownloaded(bytes: number, nowMs: number): void {
    this.downloaded += bytes;
    this.downRate.add(bytes, nowMs);
  }

  /**
   * Counts sent payload.
   * @param bytes Bytes of blocks sent.
   * @param nowMs The time.
   */
  addUploaded(bytes: number, nowMs: number): void {
    this.uploaded += bytes;
    this.upRate.add(bytes, nowMs);
  }

  /**
   * The `progress` event for the current state.
   * @param info The torrent.
   * @param have Verified pieces.
   * @param wanted Whether a piece is wanted (its priority is above 0).
   * @param finished Every wanted piece is verified.
   * @param peers Connected peers.
   * @param knownPeers Peers known (connected or not).
   * @returns The event.
   */
  progressEvent(
    info: TorrentInfo,
    have: Bitfield,
    wanted: (index: number) => boolean,
    finished: boolean,
    peers: number,
    knownPeers: number,
  ): ProgressEvent {
    const now = performance.now();
    let wantedBytes = 0, wantedHaveBytes = 0;
    const last = have.size - 1;
    for (let i = 0; i <= last; i++) {
      if (!wanted(i)) continue;
      const size = i === last ? info.totalLength - last * info.pieceLength : info.pieceLength;
      wantedBytes += size;
      if (have.has(i)) wantedHaveBytes += size;
    }
    return {
      type: "progress",
      have: have.count,
      pieceCount: have.size,
      haveBytes: bytesHave(info, have),
      totalBytes: info.totalLength,
      wantedBytes,
      wantedHaveBytes,
      downloaded: this.downloaded,
      uploaded: this.uploaded,
      downRate: this.downRate.rate(now),
      upRate: this.upRate.rate(now),
      peers,
      knownPeers: Math.max(knownPeers, peers),
      seeding: finished,
    };
  }

  /**
   * The `complete` event: bytes downloaded and seconds from start to completion.
   * @returns The event.
   */
  completeEvent(): SessionEvent {
    const seconds = ((this.completedAtMs ?? performance.now()) - this.startedAtMs) / 1000;
    return { type: "complete", downloaded: this.downloaded, seconds };
  }
}

/** Bytes of the verified pieces (the last piece may be short). */
function bytesHave(info: TorrentInfo, have: Bitfield): number {
  if (have.complete) return info.totalLength;
  let bytes = have.count * info.pieceLength;
  const last = have.size - 1;
  if (have.has(last)) bytes += pieceSize(info, last) - info.pieceLength;
  return bytes;
}
