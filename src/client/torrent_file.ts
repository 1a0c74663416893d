import type { FileEntry } from "../metainfo/types.ts";
import { type FilePriority, filePriorityName } from "../storage/file_selection.ts";
import { createFileStream, type FileStreamOptions, type StreamSource } from "./file_stream.ts";

/** What a {@linkcode TorrentFile} asks of its torrent. */
export interface TorrentFileOwner extends StreamSource {
  /** The file's priority level now (0 skip, 1 normal, 2 high). */
  priorityOf(index: number): number;
  /** Verified bytes of the file now. */
  bytesDoneOf(index: number): number;
}

/**
 * One file of a torrent as a client sees it (padding files are not listed): where it goes, how
 * much of it is here, how much it is wanted, and a stream of its bytes.
 */
export class TorrentFile {
  /** Its index among the torrent's files (as `shoal info` numbers them). */
  readonly index: number;
  /** Its path below the download folder, `/`-separated; the first part is the torrent's name. */
  readonly path: string;
  /** Its length in bytes. */
  readonly length: number;
  /** Offset of its first byte in the torrent's data. */
  readonly offset: number;
  readonly #owner: TorrentFileOwner;

  /**
   * Made by the torrent.
   * @param index Index among the listed files.
   * @param entry The file in the torrent's metadata.
   * @param owner The torrent.
   */
  constructor(index: number, entry: FileEntry, owner: TorrentFileOwner) {
    this.index = index;
    this.path = entry.path.join("/");
    this.length = entry.length;
    this.offset = entry.offset;
    this.#owner = owner;
  }

  /** How much the file is wanted: `"skip"`, `"normal"` or `"high"`. */
  get priority(): FilePriority {
    return filePriorityName(this.#owner.priorityOf(this.index));
  }

  /** Bytes of the file verified so far. */
  get bytesDone(): number {
    return this.#owner.bytesDoneOf(this.index);
  }

  /**
   * The file's bytes in order, from `start` up to (not including) `end`: read from disk where
   * the pieces are there, otherwise waited for while the pieces at the read position and a
   * readahead window after it are fetched first. Cancelling the stream drops its priority.
   * @param options `start` and `end` byte offsets in the file, and a signal.
   * @returns The bytes.
   * @throws {RangeError} If the range is outside the file.
   */
  stream(options: FileStreamOptions = {}): ReadableStream<Uint8Array> {
    return createFileStream(this.#owner, this, options);
  }

  /**
   * The file as a plain object (for JSON).
   * @returns Index, path, length, priority and bytes done.
   */
  toJSON(): {
    index: number;
    path: string;
    length: number;
    priority: FilePriority;
    bytesDone: number;
  } {
    return {
      index: this.index,
      path: this.path,
      length: this.length,
      priority: this.priority,
      bytesDone: this.bytesDone,
    };
  }
}
