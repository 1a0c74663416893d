import { toStorageError } from "./storage_error.ts";

/**
 * An append-only list of the pieces verified and written since the last resume save, kept
 * beside the resume file (`<info hash>.journal`). It is not flushed piece by piece: after a
 * crash it names the pieces that may be on disk but are not in the resume file yet, so the
 * restart hashes only those instead of the whole torrent. Each save of the resume file
 * empties it. Four big-endian bytes per piece index.
 */
export class PieceJournal {
  readonly #path: string;
  #file: Deno.FsFile | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * Makes a journal at `path` (the file is created on the first append).
   * @param path Where the journal lives.
   */
  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Records a written piece (queued; written in order).
   * @param index The piece.
   * @returns When written.
   * @throws {StorageError} If the journal cannot be written.
   */
  append(index: number): Promise<void> {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, index);
    return this.#queue(async () => {
      this.#file ??= await Deno.open(this.#path, { write: true, create: true, append: true });
      let done = 0;
      while (done < bytes.length) done += await this.#file.write(bytes.subarray(done));
    });
  }

  /**
   * Empties the journal (after the resume file recorded everything in it).
   * @returns When emptied.
   * @throws {StorageError} If the journal cannot be truncated.
   */
  reset(): Promise<void> {
    return this.#queue(async () => {
      if (this.#file) await this.#file.truncate(0);
      else await Deno.truncate(this.#path, 0).catch(() => {});
    });
  }

  /**
   * Closes the file. Idempotent.
   * @returns When closed.
   */
  async close(): Promise<void> {
    await this.#chain.catch(() => {});
    this.#closed = true;
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
  }

  #queue(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.catch(() => {}).then(async () => {
      if (this.#closed) return;
      try {
        await task();
      } catch (error) {
        throw toStorageError(error, this.#path, "writing");
      }
    });
    this.#chain = run;
    return run;
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
