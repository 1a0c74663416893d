import { join } from "node:path";
import { type MagnetLink, parseMagnet } from "../metainfo/magnet.ts";
import { parseTorrent } from "../metainfo/parse_torrent.ts";
import type { Metainfo } from "../metainfo/types.ts";

/** The largest `.torrent` or `.magnet` file the watch folder reads (16 MiB). */
export const MAX_WATCHED_FILE_BYTES: number = 16 * 1024 * 1024;
/** How long a file must be left alone before it is read (it may still be being written). */
export const WATCH_SETTLE_MS = 300;

/** A torrent found in the watch folder. */
export type WatchedTorrent =
  | {
    readonly type: "torrent";
    readonly path: string;
    readonly bytes: Uint8Array;
    readonly metainfo: Metainfo;
  }
  | {
    readonly type: "magnet";
    readonly path: string;
    readonly uri: string;
    readonly link: MagnetLink;
  };

/** Options for {@linkcode WatchFolder}. */
export interface WatchFolderOptions {
  /** Adds a torrent; a throw leaves the file where it is (it is tried again at the next start). */
  onTorrent(found: WatchedTorrent): Promise<void>;
  /** Told when a file was taken (`added`), set aside (`invalid`) or could not be added (`failed`). */
  onOutcome?(outcome: {
    readonly path: string;
    readonly result: "added" | "invalid" | "failed";
    readonly reason?: string;
  }): void;
  /** Quiet time before a file is read (default {@linkcode WATCH_SETTLE_MS}). */
  settleMs?: number;
}

const WATCHED = /\.(torrent|magnet)$/i;

/**
 * Reads one dropped file into a torrent source.
 * @param path The file.
 * @param bytes Its content.
 * @returns The torrent or magnet link.
 * @throws {Error} Why it is not a usable `.torrent` or `.magnet` file.
 */
function readWatched(path: string, bytes: Uint8Array): WatchedTorrent {
  if (/\.torrent$/i.test(path)) {
    return { type: "torrent", path, bytes, metainfo: parseTorrent(bytes) };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("Cannot parse magnet file: not UTF-8 text");
  }
  const uri = text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== "") ?? "";
  return { type: "magnet", path, uri, link: parseMagnet(uri) };
}

/**
 * Watches a folder for `.torrent` and `.magnet` files (a `.magnet` file holds a magnet link on
 * its first line). Files there at the start are taken too. Each file is read once it has been
 * left alone for a moment; a torrent added is renamed with `.added` (as Transmission does),
 * a file that fails to parse with `.invalid`; one the daemon could not add for another reason
 * (a disk error, its data in use) stays, and is tried again at the next start.
 * @example
 * ```ts
 * import { WatchFolder } from "@shoal/shoal/daemon";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const outcome = Promise.withResolvers<string>();
 * await using watch = WatchFolder.start(dir, {
 *   onTorrent: async () => {},
 *   onOutcome: (o) => outcome.resolve(o.result),
 * });
 * await Deno.writeTextFile(`${dir}/broken.torrent`, "not bencode");
 * strictEqual(await outcome.promise, "invalid");
 * await watch.close();
 * await Deno.stat(`${dir}/broken.torrent.invalid`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class WatchFolder implements AsyncDisposable {
  /** The folder. */
  readonly dir: string;
  readonly #options: WatchFolderOptions;
  readonly #watcher: Deno.FsWatcher;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #busy = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  #closed = false;

  private constructor(dir: string, options: WatchFolderOptions) {
    this.dir = dir;
    this.#options = options;
    this.#watcher = Deno.watchFs(dir, { recursive: false });
    this.#loop = this.#run();
  }

  /**
   * Starts watching (the folder must exist).
   * @param dir The folder.
   * @param options What to do with what is found.
   * @returns The running watch.
   * @throws {Deno.errors.NotFound} If the folder does not exist.
   */
  static start(dir: string, options: WatchFolderOptions): WatchFolder {
    return new WatchFolder(dir, options);
  }

  async #run(): Promise<void> {
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        if (entry.isFile && WATCHED.test(entry.name)) this.#schedule(join(this.dir, entry.name));
      }
    } catch {
      // the folder went away; the watcher says so below
    }
    try {
      for await (const event of this.#watcher) {
        if (event.kind === "remove" || event.kind === "access") continue;
        for (const path of event.paths) if (WATCHED.test(path)) this.#schedule(path);
      }
    } catch {
      // closed
    }
  }

  #schedule(path: string): void {
    if (this.#closed) return;
    clearTimeout(this.#timers.get(path));
    this.#timers.set(
      path,
      setTimeout(() => {
        this.#timers.delete(path);
        const task = this.#take(path).finally(() => this.#busy.delete(task));
        this.#busy.add(task);
      }, this.#options.settleMs ?? WATCH_SETTLE_MS),
    );
  }

  async #take(path: string): Promise<void> {
    let bytes: Uint8Array;
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) return;
      if (info.size > MAX_WATCHED_FILE_BYTES) {
        return await this.#setAside(path, `it is over ${MAX_WATCHED_FILE_BYTES} bytes`);
      }
      bytes = await Deno.readFile(path);
    } catch {
      return; // gone already (renamed by us, or by the user)
    }
    let found: WatchedTorrent;
    try {
      found = readWatched(path, bytes);
    } catch (error) {
      return await this.#setAside(path, error instanceof Error ? error.message : String(error));
    }
    try {
      await this.#options.onTorrent(found);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#options.onOutcome?.({ path, result: "failed", reason });
      return;
    }
    await Deno.rename(path, `${path}.added`).catch(() => {});
    this.#options.onOutcome?.({ path, result: "added" });
  }

  async #setAside(path: string, reason: string): Promise<void> {
    await Deno.rename(path, `${path}.invalid`).catch(() => {});
    this.#options.onOutcome?.({ path, result: "invalid", reason });
  }

  /**
   * Stops watching; files being added are finished first. Idempotent.
   * @returns When stopped.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const timer of this.#timers.values()) clearTimeout(timer);
      this.#timers.clear();
      try {
        this.#watcher.close();
      } catch {
        // already closed
      }
    }
    await this.#loop;
    await Promise.allSettled([...this.#busy]);
  }

  /**
   * Same as {@linkcode WatchFolder.close}, for `await using`.
   * @returns When stopped.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
