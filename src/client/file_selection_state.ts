import type { Bitfield } from "../bytes/bitfield.ts";
import type { Metainfo } from "../metainfo/types.ts";
import {
  FILE_PRIORITY_LEVEL,
  type FilePriority,
  piecePrioritiesFor,
} from "../storage/file_selection.ts";
import type { AddOptions } from "./torrent_types.ts";

/**
 * A torrent's file selection: one level per metadata file (padding included), and the map from
 * the listed files (padding files are not listed) to those entries.
 */
export class FileSelectionState {
  /** Per entry of `metainfo.files`: 0 skip, 1 normal, 2 high. */
  readonly levels: Uint8Array;
  /** Listed file `i` is `metainfo.files[entryOf[i]]`. */
  readonly entryOf: readonly number[];
  readonly #metainfo: Metainfo;

  /**
   * Builds the selection a torrent starts with.
   * @param metainfo The torrent.
   * @param wanted `AddOptions.files`: indices of listed files, or a predicate; all by default.
   * @param selectOnly A magnet link's `so=` indices (into `metainfo.files`), used when `wanted` is absent.
   */
  constructor(metainfo: Metainfo, wanted: AddOptions["files"], selectOnly?: readonly number[]) {
    this.#metainfo = metainfo;
    this.entryOf = metainfo.files.flatMap((file, i) => (file.padding ? [] : [i]));
    this.levels = new Uint8Array(metainfo.files.length).fill(FILE_PRIORITY_LEVEL.normal);
    let selected: ((listed: number) => boolean) | undefined;
    if (typeof wanted === "function") {
      selected = (listed) => {
        const entry = metainfo.files[this.entryOf[listed]];
        return wanted({ index: listed, path: entry.path.join("/"), length: entry.length });
      };
    } else if (wanted !== undefined) {
      selected = (listed) => wanted.includes(listed);
    } else if (selectOnly !== undefined) {
      const entries = new Set(selectOnly);
      selected = (listed) => entries.has(this.entryOf[listed]);
    }
    if (!selected) return;
    for (let listed = 0; listed < this.entryOf.length; listed++) {
      if (!selected(listed)) this.levels[this.entryOf[listed]] = FILE_PRIORITY_LEVEL.skip;
    }
  }

  /** Number of listed files. */
  get count(): number {
    return this.entryOf.length;
  }

  /**
   * Sets listed files' priorities (all checked before any changes).
   * @param priorities Listed file index -> priority.
   * @throws {RangeError} For an index out of range or an unknown priority.
   */
  set(priorities: ReadonlyMap<number, FilePriority>): void {
    for (const [index, priority] of priorities) {
      if (!Number.isInteger(index) || index < 0 || index >= this.entryOf.length) {
        throw new RangeError(
          `Cannot set a priority: no file ${index} (${this.entryOf.length} files)`,
        );
      }
      if (!Object.hasOwn(FILE_PRIORITY_LEVEL, priority)) {
        throw new RangeError(`Cannot set a priority: unknown priority ${JSON.stringify(priority)}`);
      }
    }
    for (const [index, priority] of priorities) {
      this.levels[this.entryOf[index]] = FILE_PRIORITY_LEVEL[priority];
    }
  }

  /**
   * Whether some selected piece is missing.
   * @param have The verified pieces.
   * @returns `true` when more is wanted.
   */
  wantsMore(have: Bitfield): boolean {
    const wanted = piecePrioritiesFor(this.#metainfo, this.levels, false);
    for (let i = 0; i < wanted.length; i++) if (wanted[i] > 0 && !have.has(i)) return true;
    return false;
  }
}
