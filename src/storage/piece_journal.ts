import { toStorageError } from "./storage_error.ts";

/**
 * An append-only list of the pieces verified and written since the last resume save, kept
 * beside the resume file (`<info hash>.journal`). It is not flushed piece by piece: after a
 * crash it names the pieces that may be on disk but are not in the resume file yet, so the
 * restart hashes only those instead of the whole torrent. Each save of the resume file
 * empties it of what the save recorded. Four big-endian bytes per piece index.
 *
 * Appends are synchronous writes (4 bytes into the page cache, no thread hop, no promise):
 * when `append` returns, the entry survives the process being killed, so a piece reported as
 * written is always found by the restart.
 */
export class PieceJournal {
  readonly #path: string;
  #file: Deno.FsFile | undefined;
  #closed = false;
  readonly #entry = new Uint8Array(4);

  /**
   * Makes a journal at `path` (the file is created on the first append).
   * @param path Where the journal lives.
   */
  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Records a written piece (synchronously; see the class notes).
   * @param index The piece.
   * @returns A settled promise: resolved once written, rejected if it could not be.
   * @throws {StorageError} (rejection) If the journal cannot be written.
   */
  append(index: number): Promise<void> {
    return this.#run(() => {
      this.#file ??= Deno.openSync(this.#path, { write: true, create: true, append: true });
      new DataView(this.#entry.buffer).setUint32(0, index);
      let done = 0;
      while (done < 4) done += this.#file.writeSync(this.#entry.subarray(done));
    });
  }

  /**
   * Starts the journal over after a resume save: it then holds only `keep`, the pieces written
   * since the save's snapshot (they are in neither the resume file nor, otherwise, anywhere).
   * Synchronous like `append`, so no append can fall between the truncation and the rewrite.
   * @param keep Pieces to keep recorded.
   * @returns A settled promise.
   * @throws {StorageError} (rejection) If the journal cannot be rewritten.
   */
  reset(keep: Iterable<number> = []): Promise<void> {
    return this.#run(() => {
      const kept = [...keep];
      if (!this.#file && kept.length === 0) {
        try {
          Deno.truncateSync(this.#path, 0);
        } catch {
          // no journal yet: nothing to empty
        }
        return;
      }
      this.#file ??= Deno.openSync(this.#path, { write: true, create: true, append: true });
      this.#file.truncateSync(0);
      const entries = new Uint8Array(kept.length * 4);
      const view = new DataView(entries.buffer);
      kept.forEach((index, i) => view.setUint32(i * 4, index));
      let done = 0;
      while (done < entries.length) done += this.#file.writeSync(entries.subarray(done));
    });
  }

  /**
   * Closes the file. Idempotent.
   * @returns When closed.
   */
  close(): Promise<void> {
    this.#closed = true;
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
    return Promise.resolve();
  }

  #run(task: () => void): Promise<void> {
    if (this.#closed) return Promise.resolve();
    try {
      task();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(toStorageError(error, this.#path, "writing"));
    }
  }
}

/**
 * Reads the piece indices a journal holds (a partial last entry is ignored).
 * @param path The journal.
 * @param pieceCount Indices at or past this are ignored.
 * @returns The indices, without duplicates; none when there is no journal.
 */
export async function readJournal(path: string, pieceCount: number): Promise<number[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return [];
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seen = new Set<number>();
  for (let at = 0; at + 4 <= bytes.length; at += 4) {
    const index = view.getUint32(at);
    if (index < pieceCount) seen.add(index);
  }
  return [...seen];
}
