import { dirname } from "node:path";
import { StorageError, toStorageError } from "./storage_error.ts";
import { closeQuietly } from "../util/io_helpers.ts";

/** How a file is needed: `"read"` never creates it; `"write"` opens it read-write, creating it. */
export type FileAccess = "read" | "write";

/** Options for {@linkcode FileHandleCache}. */
export interface FileHandleCacheOptions {
  /** Most files kept open at once (least recently used ones are closed first). Default 64. */
  maxOpenFiles?: number;
}

/** Default for {@linkcode FileHandleCacheOptions.maxOpenFiles}. */
export const DEFAULT_MAX_OPEN_FILES = 64;

interface Entry {
  readonly path: string;
  file: Deno.FsFile | undefined;
  writable: boolean;
  /** Operations queued or running on this path; an entry in use is never closed by eviction. */
  users: number;
  /** Settles when the last queued operation on this path is done (a per-path lock). */
  tail: Promise<void>;
}

/**
 * An LRU cache of open files keyed by path. Operations on one path run one at a time, so a
 * `seek` followed by `read`/`write` never interleaves with another on the same handle.
 * Files are opened read-only until something needs to write them, then reopened read-write
 * (created if missing, never truncated, parent folders created as needed).
 * @example
 * ```ts
 * import { FileHandleCache } from "@shoal/shoal/storage";
 * import { strictEqual } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await using files = new FileHandleCache({ maxOpenFiles: 2 });
 * await files.use(`${dir}/sub/a.bin`, "write", async (file) => {
 *   await file.write(new Uint8Array([1, 2, 3]));
 * });
 * strictEqual((await Deno.stat(`${dir}/sub/a.bin`)).size, 3);
 * await files.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileHandleCache {
  /** Most files kept open at once. */
  readonly maxOpenFiles: number;
  /** Entries in least-recently-used-first order (a Map keeps insertion order). */
  #entries = new Map<string, Entry>();
  /** Paths written since they were last synced. */
  #dirty = new Set<string>();
  #openCount = 0;
  #closing: Promise<void> | undefined;

  /**
   * Makes an empty cache.
   * @param options `maxOpenFiles` (default 64).
   * @throws {RangeError} If `maxOpenFiles` is not a positive integer.
   */
  constructor(options: FileHandleCacheOptions = {}) {
    const max = options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxOpenFiles must be a positive integer, got ${max}`);
    }
    this.maxOpenFiles = max;
  }

  /** Number of files open right now (may exceed the limit briefly while all are in use). */
  get openCount(): number {
    return this.#openCount;
  }

  /**
   * Runs `fn` with the open file for `path`, alone on that path (other calls for the same
   * path wait their turn). The handle must not be kept after `fn` settles.
   * @param path Absolute file path.
   * @param access `"read"` (the file must exist) or `"write"` (created if missing).
   * @param fn The operation, given the open file.
   * @returns What `fn` returns.
   * @throws {StorageError} If the file cannot be opened (`code` `"EMISSING"` when reading a
   * missing file), or if the cache is closed (`code` `"ECLOSED"`).
   */
  async use<T>(
    path: string,
    access: FileAccess,
    fn: (file: Deno.FsFile) => Promise<T>,
  ): Promise<T> {
    if (this.#closing) {
      throw new StorageError(`Storage is closed: cannot use ${path}`, path, "ECLOSED");
    }
    let entry = this.#entries.get(path);
    if (entry) this.#entries.delete(path);
    else entry = { path, file: undefined, writable: false, users: 0, tail: Promise.resolve() };
    this.#entries.set(path, entry); // most recently used goes last
    entry.users++;
    const previous = entry.tail;
    let release!: () => void;
    entry.tail = new Promise<void>((resolve) => release = resolve);
    try {
      await previous;
      const file = await this.#open(entry, access);
      if (access === "write") this.#dirty.add(path);
      return await fn(file);
    } finally {
      if (access === "write") this.#dirty.add(path); // also when a sync ran meanwhile
      entry.users--;
      release();
      if (entry.users === 0 && entry.file === undefined && this.#entries.get(path) === entry) {
        this.#entries.delete(path);
      }
      this.#evict();
    }
  }

  async #open(entry: Entry, access: FileAccess): Promise<Deno.FsFile> {
    if (entry.file && (access === "read" || entry.writable)) return entry.file;
    if (entry.file) {
      closeQuietly(entry.file);
      entry.file = undefined;
      this.#openCount--;
    }
    const path = entry.path;
    let file: Deno.FsFile;
    if (access === "read") {
      try {
        file = await Deno.open(path, { read: true });
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new StorageError(`Data missing: ${path} does not exist`, path, "EMISSING", {
            cause: error,
          });
        }
        throw toStorageError(error, path, "opening");
      }
    } else {
      const options = { read: true, write: true, create: true };
      try {
        file = await Deno.open(path, options);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw toStorageError(error, path, "opening");
        const parent = dirname(path);
        try {
          await Deno.mkdir(parent, { recursive: true });
        } catch (mkdirError) {
          throw toStorageError(mkdirError, parent, "creating");
        }
        try {
          file = await Deno.open(path, options);
        } catch (retryError) {
          throw toStorageError(retryError, path, "opening");
        }
      }
    }
    entry.file = file;
    entry.writable = access === "write";
    this.#openCount++;
    this.#evict();
    return file;
  }

  /** Closes least recently used idle files until at most `maxOpenFiles` are open. */
  #evict(): void {
    if (this.#openCount <= this.maxOpenFiles) return;
    for (const entry of this.#entries.values()) {
      if (this.#openCount <= this.maxOpenFiles) break;
      if (entry.users > 0 || !entry.file) continue;
      closeQuietly(entry.file);
      entry.file = undefined;
      this.#openCount--;
      this.#entries.delete(entry.path);
    }
  }

  /**
   * Flushes the data of every file written since its last sync to the disk (fdatasync),
   * reopening files that were closed by eviction. Every write that finished before the call is
   * on disk when it returns. An open file is flushed beside its running writes rather than
   * after them, so a long flush does not hold up the download.
   * @returns When all are flushed.
   * @throws {StorageError} If a flush fails.
   */
  async sync(): Promise<void> {
    const paths = [...this.#dirty];
    await Promise.all(paths.map(async (path) => {
      this.#dirty.delete(path);
      const entry = this.#entries.get(path);
      try {
        if (entry?.file && entry.writable) {
          const file = entry.file;
          entry.users++; // pinned: eviction must not close it under the flush
          try {
            await file.syncData();
          } finally {
            entry.users--;
            this.#evict();
          }
        } else {
          await this.use(path, "write", (file) => file.syncData());
        }
      } catch (error) {
        this.#dirty.add(path);
        throw toStorageError(error, path, "syncing");
      }
    }));
  }

  /**
   * Waits for the operations on one path, then closes its handle and forgets it (before the
   * file is deleted or renamed).
   * @param path The file.
   * @returns When forgotten.
   */
  async forget(path: string): Promise<void> {
    const entry = this.#entries.get(path);
    if (!entry) return;
    await entry.tail;
    if (entry.users > 0) return; // used again meanwhile: keep it
    if (entry.file) {
      closeQuietly(entry.file);
      entry.file = undefined;
      this.#openCount--;
    }
    this.#entries.delete(path);
    this.#dirty.delete(path);
  }

  /**
   * Waits for running operations, then closes every file. Later `use` calls fail.
   * Idempotent.
   * @returns When all files are closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#entries.values()].map((entry) => entry.tail));
      for (const entry of this.#entries.values()) {
        if (entry.file) {
          closeQuietly(entry.file);
          entry.file = undefined;
          this.#openCount--;
        }
      }
      this.#entries.clear();
    })();
    return this.#closing;
  }

  /**
   * Same as {@linkcode FileHandleCache.close}, for `await using`.
   * @returns When all files are closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
