// What `shoal download`, `seed` and `cat` show while torrents run: a live progress line per
// torrent and a total line on a terminal, a status line every few seconds otherwise, one JSON
// event per line with --json, or nothing with --quiet.

import type { Torrent, TorrentEvent } from "../src/client/torrent.ts";
import { printable } from "./args.ts";
import { formatBytes, formatDuration, formatRate, renderBar } from "./format_units.ts";

/** How progress is shown. */
export type OutputMode = "json" | "quiet" | "bar" | "lines";

/** Lines mode prints a status line this often. */
const LINES_EVERY_MS = 5_000;
/** A terminal redraws at most this often. */
const REDRAW_MS = 250;

interface Row {
  torrent: Torrent;
  last?: TorrentEvent;
  checking?: { checked: number; total: number };
  metadata?: { peers: number; received: number; total: number | undefined };
}

/**
 * The progress display for one or more torrents of a client.
 */
export class Display {
  readonly #mode: OutputMode;
  readonly #write: (text: string) => void;
  readonly #rows: Row[] = [];
  #drawn = 0;
  #finished = false;
  #lastDrawMs = 0;
  #lastLinesMs = 0;

  /**
   * Makes a display.
   * @param mode How to show progress.
   * @param write Where text goes (stdout, or stderr for `cat`).
   */
  constructor(mode: OutputMode, write: (text: string) => void) {
    this.#mode = mode;
    this.#write = write;
  }

  /**
   * Shows a torrent's events until it stops (or the client closes).
   * @param torrent The torrent.
   * @param onEvent Also told every event (the command tracks completion with it).
   * @returns When its events end.
   */
  async watch(torrent: Torrent, onEvent?: (event: TorrentEvent) => void): Promise<void> {
    const row: Row = { torrent };
    this.#rows.push(row);
    for await (const event of torrent.events()) {
      onEvent?.(event);
      this.#event(row, event);
    }
  }

  /**
   * Prints a line above the live lines.
   * @param text The line (already printable).
   */
  line(text: string): void {
    if (this.#mode === "json") return;
    this.#clear();
    this.#write(text + "\n");
    if (!this.#finished) this.#draw(true);
  }

  /** Clears the live lines for good (before the final summary): later events draw nothing. */
  finish(): void {
    this.#clear();
    this.#finished = true;
  }

  #event(row: Row, event: TorrentEvent): void {
    if (this.#mode === "json") {
      this.#write(JSON.stringify({ infoHash: row.torrent.infoHash, ...event }) + "\n");
      return;
    }
    if (event.type === "warning") {
      if (this.#mode !== "quiet") this.line(`warning: ${printable(event.message)}`);
      return;
    }
    if (event.type === "error") return; // the command reports it once, on standard error
    if (event.type === "checking") row.checking = event;
    if (event.type === "metadata") row.metadata = event;
    if (event.type === "ready") row.checking = undefined;
    if (event.type === "progress" || event.type === "state") row.last = event;
    if (this.#mode === "bar") this.#draw(event.type === "state");
    else if (this.#mode === "lines") this.#lines();
  }

  #lines(): void {
    const now = performance.now();
    if (this.#finished || now - this.#lastLinesMs < LINES_EVERY_MS) return;
    this.#lastLinesMs = now;
    for (const row of this.#rows) this.#write(this.#text(row) + "\n");
  }

  #clear(): void {
    if (this.#mode !== "bar" || this.#drawn === 0) return;
    let out = "\r\x1b[2K";
    for (let i = 1; i < this.#drawn; i++) out += "\x1b[1A\x1b[2K";
    this.#write(out);
    this.#drawn = 0;
  }

  #draw(force = false): void {
    if (this.#mode !== "bar" || this.#finished) return;
    const now = performance.now();
    if (!force && now - this.#lastDrawMs < REDRAW_MS) return;
    this.#lastDrawMs = now;
    const lines = this.#rows.map((row) => this.#text(row));
    if (this.#rows.length > 1) lines.push(this.#total());
    this.#clear();
    this.#write(lines.join("\n"));
    this.#drawn = lines.length;
  }

  #text(row: Row): string {
    const t = row.torrent;
    const many = this.#rows.length > 1;
    const name = many ? printable(t.name).slice(0, 28).padEnd(28) + " " : "";
    const stats = t.stats();
    const peers = `peers ${stats.peers}/${stats.knownPeers}`;
    switch (t.state) {
      case "fetching-metadata": {
        const m = row.metadata;
        const got = m?.total ? `  ${formatBytes(m.received)} of ${formatBytes(m.total)}` : "";
        return `${name}fetching metadata from ${m?.peers ?? 0} peer${
          m?.peers === 1 ? "" : "s"
        }${got}`;
      }
      case "checking": {
        const c = row.checking;
        const fraction = c && c.total > 0 ? c.checked / c.total : 0;
        return `${name}checking ${renderBar(fraction, 24)} ${c ? `${c.checked}/${c.total}` : ""}`;
      }
      case "seeding":
        return `${many ? name : `seeding ${printable(t.name)}  `}↑ ${
          formatRate(stats.uploadRate)
        }  ` +
          `uploaded ${formatBytes(stats.uploaded)}  ratio ${stats.ratio.toFixed(2)}  ${peers}`;
      case "error":
        return `${name}error: ${printable(t.error ?? "")}`;
      default: {
        // downloading, or paused, completed, stopped: the same bar, with the state for the ETA
        const fraction = t.progress;
        const eta = t.state === "downloading" ? `ETA ${formatDuration(stats.etaSeconds)}` : t.state;
        return `${name}${renderBar(fraction, 24)} ${(fraction * 100).toFixed(1).padStart(5)}%  ↓ ${
          formatRate(stats.downloadRate).padStart(10)
        }  ↑ ${formatRate(stats.uploadRate).padStart(10)}  ${eta}  ${peers}`;
      }
    }
  }

  #total(): string {
    let down = 0, up = 0, done = 0;
    for (const row of this.#rows) {
      const stats = row.torrent.stats();
      down += stats.downloadRate;
      up += stats.uploadRate;
      if (row.torrent.progress >= 1) done++;
    }
    return `${"total".padEnd(28)} ${done}/${this.#rows.length} done  ↓ ${
      formatRate(down).padStart(10)
    }  ↑ ${formatRate(up).padStart(10)}`;
  }
}
