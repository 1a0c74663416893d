import type { TorrentInfo } from "../metainfo/types.ts";
import type { ActivePiece } from "../scheduler/active_piece.ts";
import { applyFileAttributes } from "../storage/data_links.ts";
import { piecePrioritiesFor } from "../storage/file_selection.ts";
import type { SessionEvent } from "./events.ts";
import { type TorrentSessionOptions, wantsSeeding } from "./session_options.ts";
import type { Parts } from "./session_parts.ts";
import type { SessionStats } from "./stats.ts";
import type { SwarmPeer } from "./swarm_peer.ts";

/** What {@linkcode Completion} needs from the session. */
export interface CompletionInit {
  /** The session's `seed` and `requireComplete` options. */
  readonly options: Pick<TorrentSessionOptions, "seed" | "requireComplete">;
  /** The torrent's size (for the seed ratio). */
  readonly totalLength: number;
  /** Transfer counters (completion time, uploaded bytes). */
  readonly stats: SessionStats;
  /** The connected peers. */
  readonly peers: ReadonlyMap<string, SwarmPeer>;
  /** Session events. */
  readonly emit: (event: SessionEvent) => void;
  /** The current progress event. */
  readonly progress: () => SessionEvent;
  /** Runs a background task the session tracks. */
  readonly spawn: (task: Promise<unknown>) => void;
}

/**
 * When a torrent is done: after each verified piece it records the piece (resume journal,
 * background flushes) and, once every wanted piece is there, saves resume data, tells the
 * trackers (for a complete torrent), reports `complete` and drops interest in every peer.
 * It also decides whether seeding goes on (ratio and time limits).
 */
export class Completion {
  readonly #init: CompletionInit;
  #reported = false;
  #completing = false;

  /**
   * Makes the tracker of completion.
   * @param init The session's options, counters, peers and hooks.
   */
  constructor(init: CompletionInit) {
    this.#init = init;
  }

  /** `true` once `complete` was reported (and not reopened since). */
  get reported(): boolean {
    return this.#reported;
  }

  /**
   * Notes that the torrent was already done when it started.
   * @param parts The torrent's parts.
   * @returns When its files have their attributes.
   */
  async doneAtStart(parts: Parts): Promise<void> {
    this.#init.stats.completedAtMs = this.#init.stats.startedAtMs;
    this.#reported = true;
    await this.#applyAttributes(parts);
  }

  /** Executable bits and symbolic links (BEP 47), once every piece is on disk. */
  async #applyAttributes(parts: Parts): Promise<void> {
    if (!parts.scheduler.have.complete) return;
    for (const message of await applyFileAttributes(parts.storage.info, parts.storage.dir)) {
      this.#init.emit({ type: "warning", message });
    }
  }

  /** More pieces are wanted now: the torrent will complete again later. */
  reopen(): void {
    this.#reported = false;
    this.#init.stats.completedAtMs = undefined;
  }

  /**
   * `false` once seeding should end (a limit is reached, or seeding was not asked for).
   * @returns Whether to keep seeding.
   */
  wantsSeeding(): boolean {
    return wantsSeeding(this.#init.options, this.#init.stats, this.#init.totalLength);
  }

  /**
   * Applies the file priorities and the sequential switch to the scheduler; the download goes
   * on if more is wanted now, or completes if what is left is no longer wanted.
   * @param parts The torrent's parts (`filePriorities` already updated).
   * @param info The torrent.
   * @param sequential Sequential download.
   * @param active Network activity runs (dial at once when more is wanted).
   */
  applySelection(parts: Parts, info: TorrentInfo, sequential: boolean, active: boolean): void {
    const { scheduler } = parts;
    const wasFinished = scheduler.finished;
    scheduler.sequential = sequential;
    scheduler.setPriorities(piecePrioritiesFor(info, parts.filePriorities, sequential));
    if (wasFinished && !scheduler.finished) {
      this.reopen();
      if (active) parts.connector.dial();
    }
    parts.handler.updateInterests(true);
    if (!wasFinished && scheduler.finished && this.#init.stats.startedAtMs > 0) {
      this.#init.spawn(this.complete(parts));
    }
  }

  /**
   * Records a piece that was verified and written.
   * @param parts The torrent's parts.
   * @param piece The piece.
   * @returns When recorded (and, if it was the last wanted one, completion handled).
   */
  async pieceVerified(parts: Parts, piece: ActivePiece): Promise<void> {
    const { scheduler, resume } = parts;
    if (resume.pieceWritten(piece.index, piece.size) && !scheduler.finished) {
      this.#init.spawn(resume.save());
    }
    this.#init.emit({ type: "piece", index: piece.index, from: [...piece.contributors] });
    if (scheduler.finished && !this.#reported) await this.complete(parts);
  }

  /**
   * Handles completion: saves resume data, reports `complete`, drops interest in peers.
   * @param parts The torrent's parts.
   * @returns When done.
   */
  async complete(parts: Parts): Promise<void> {
    if (this.#completing) return;
    this.#completing = true;
    this.#init.stats.completedAtMs = performance.now();
    try {
      await parts.resume.save();
    } finally {
      this.#completing = false;
    }
    if (parts.scheduler.have.complete) parts.announcer?.completed();
    await this.#applyAttributes(parts);
    this.#init.emit(this.#init.progress());
    this.#init.emit(this.#init.stats.completeEvent());
    // Only now: the tick loop ends a torrent that does not seed once this is set, and the
    // events above must be queued first.
    this.#reported = true;
    for (const peer of this.#init.peers.values()) {
      if (peer.has.complete) peer.conn.close();
      else if (peer.amInterested) {
        peer.amInterested = false;
        peer.conn.send({ type: "not-interested" }).catch(() => {});
      }
    }
  }
}
