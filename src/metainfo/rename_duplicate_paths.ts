/** A file as {@linkcode renameDuplicatePaths} sees it; `path` is renamed in place. */
export interface PathEntry {
  /** Sanitised path components, the torrent's name first. */
  path: readonly string[];
  /** Length in bytes. */
  readonly length: number;
  /** A BEP 47 padding file. */
  readonly padding: boolean;
  /**
   * A padding file listed without a path: libtorrent files it under `.pad/<length>` outside the
   * torrent's folder, so it is compared without the name (`path` still starts with the name).
   */
  readonly outsideRoot?: boolean;
}

/** One rename made by {@linkcode renameDuplicatePaths}. */
export interface PathRename {
  /** Index of the file in the list. */
  readonly index: number;
  /** Its path before. */
  readonly from: readonly string[];
  /** Its path after. */
  readonly to: readonly string[];
}

const UPPER = /[A-Z]/;

/** ASCII-only lower case, as libtorrent compares names. */
function fold(text: string): string {
  return UPPER.test(text) ? text.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : text;
}

/** Both paths have the same folders (all but the last component). */
function sameParent(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length - 1; i++) if (a[i] !== b[i]) return false;
  return true;
}

function keyOf(file: PathEntry): string {
  return (file.outsideRoot ? file.path.slice(1) : file.path).join("/");
}

/**
 * Renames files whose paths collide, with libtorrent 2.0.8's rules
 * (`resolve_duplicate_filenames`), so both clients write the same names:
 * - names compare without regard to ASCII case (`A.TXT` collides with `a.txt`);
 * - a file also collides with any folder of the torrent, and the folder wins;
 * - the later file is renamed by inserting `.1`, `.2`, ... before its extension
 *   (`a.txt` -> `a.1.txt`, `README` -> `README.1`), taking the first number that collides with
 *   nothing seen so far;
 * - padding files may collide with padding files of the same length.
 * @param files The files in torrent order; colliding ones get a new `path`.
 * @returns Every rename, in order.
 * @example
 * ```ts
 * import { renameDuplicatePaths } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual } from "node:assert/strict";
 * const files = [
 *   { path: ["t", "a.txt"], length: 1, padding: false },
 *   { path: ["t", "A.TXT"], length: 1, padding: false },
 *   { path: ["t", "d"], length: 1, padding: false },
 *   { path: ["t", "d", "x"], length: 1, padding: false },
 * ];
 * renameDuplicatePaths(files);
 * deepStrictEqual(files.map((f) => f.path.join("/")), ["t/a.txt", "t/A.1.TXT", "t/d.1", "t/d/x"]);
 * ```
 */
export function renameDuplicatePaths(files: PathEntry[]): PathRename[] {
  // Every folder first, so that no file may take a folder's name.
  const taken = new Map<string, number>();
  const FOLDER = -1;
  let previous: readonly string[] = [];
  for (const { path } of files) {
    // Files of one folder usually come together: a parent seen just before is already taken.
    if (sameParent(path, previous)) continue;
    previous = path;
    let folder = path[0];
    for (let end = 2; end < path.length; end++) {
      folder += `/${path[end - 1]}`;
      taken.set(fold(folder), FOLDER);
    }
  }
  const renames: PathRename[] = [];
  for (let index = 0; index < files.length; index++) {
    const file = files[index];
    const key = keyOf(file);
    const folded = fold(key);
    const other = taken.get(folded);
    if (other === undefined) {
      taken.set(folded, index);
      continue;
    }
    if (
      other !== FOLDER && file.padding && files[other].padding &&
      files[other].length === file.length
    ) continue;
    const slash = key.lastIndexOf("/");
    const dot = key.lastIndexOf(".");
    const [base, extension] = dot > slash && dot > 0
      ? [key.slice(0, dot), key.slice(dot)]
      : [key, ""];
    let candidate = key;
    for (let n = 1;; n++) {
      candidate = withSuffix(base, `.${n}${extension}`);
      if (!taken.has(fold(candidate))) break;
    }
    taken.set(fold(candidate), index);
    const from = file.path;
    const to = [...from.slice(0, -1), candidate.slice(candidate.lastIndexOf("/") + 1)];
    file.path = to;
    renames.push({ index, from, to });
  }
  return renames;
}

const encoder = new TextEncoder();

/**
 * `base + suffix`, with the last path component of `base` shortened (by whole characters) so
 * that the renamed component stays within 255 bytes.
 */
function withSuffix(base: string, suffix: string): string {
  const slash = base.lastIndexOf("/");
  const folder = base.slice(0, slash + 1);
  let name = base.slice(slash + 1);
  const room = 255 - encoder.encode(suffix).length;
  while (name.length > 1 && encoder.encode(name).length > room) {
    name = [...name].slice(0, -1).join("");
  }
  return `${folder}${name}${suffix}`;
}
