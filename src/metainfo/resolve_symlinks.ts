/** A file as {@linkcode resolveSymlinkTargets} sees it. */
export interface SymlinkEntry {
  /** Sanitised path components, the torrent's name first. */
  readonly path: readonly string[];
  /** For a BEP 47 symlink: its sanitised target, relative to the torrent's folder. */
  readonly symlink?: readonly string[];
}

/** Where {@linkcode resolveSymlinkTargets} leaves one symlink. */
export interface SymlinkTarget {
  /** The target, relative to the torrent's folder (the link's own path when it was invalid). */
  readonly target: readonly string[];
  /** `false` when the target was not a file or folder of the torrent. */
  readonly valid: boolean;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function join(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return `${a}/${b}`;
}

/** Index of the first "/" at or after `from`, else the length (libtorrent's `lsplit_path`). */
function branchEnd(path: string, from: number): number {
  const slash = path.indexOf("/", from);
  return slash < 0 ? path.length : slash;
}

/**
 * Checks every BEP 47 symlink of a multi-file torrent the way libtorrent 2.0.8 does
 * (`file_storage::sanitize_symlinks`): a target must name a file or a folder of the torrent,
 * either from the torrent's folder or from the link's own folder, possibly through other
 * symlinks (each followed at most once). A target that does not is replaced by the link's own
 * path, so that no link can ever point outside the torrent.
 * @param files The files in torrent order (paths before duplicates are renamed).
 * @returns For each file, its final target, or `undefined` when it is not a symlink.
 * @example
 * ```ts
 * import { resolveSymlinkTargets } from "@shoal/shoal/metainfo";
 * import { deepStrictEqual } from "node:assert/strict";
 * const out = resolveSymlinkTargets([
 *   { path: ["t", "a"] },
 *   { path: ["t", "sub", "l1"], symlink: ["a"] },
 *   { path: ["t", "l2"], symlink: ["etc", "passwd"] },
 * ]);
 * deepStrictEqual(out[1], { target: ["a"], valid: true });
 * deepStrictEqual(out[2], { target: ["l2"], valid: false });
 * ```
 */
export function resolveSymlinkTargets(
  files: readonly SymlinkEntry[],
): (SymlinkTarget | undefined)[] {
  const results: (SymlinkTarget | undefined)[] = files.map(() => undefined);
  if (!files.some((file) => file.symlink !== undefined)) return results;
  const inner = files.map((file) => file.path.slice(1).join("/"));
  const fileIndex = new Map<string, number>();
  for (const [index, path] of inner.entries()) if (!fileIndex.has(path)) fileIndex.set(path, index);
  const branches = new Set(inner.map(parentOf));
  const folders = new Set<string>();
  for (const branch of branches) {
    for (let p = branch; p !== ""; p = parentOf(p)) folders.add(p);
  }
  const targets = new Map<number, string>();
  const folderLinks = new Map<string, string>();
  const pending: number[] = [];
  const isLink = (index: number | undefined): boolean =>
    index !== undefined && files[index].symlink !== undefined;
  for (const [index, file] of files.entries()) {
    if (file.symlink === undefined) continue;
    const self = inner[index];
    const target = file.symlink.join("/");
    const relative = join(parentOf(self), target);
    // A folder, or a link that may stand for one, can be followed by the second pass.
    let found: string | undefined;
    let folderLike = false;
    if (fileIndex.has(target)) [found, folderLike] = [target, isLink(fileIndex.get(target))];
    else if (folders.has(target)) [found, folderLike] = [target, true];
    else if (branches.has(relative) || folders.has(relative)) {
      [found, folderLike] = [relative, true];
    } else if (fileIndex.has(relative)) {
      [found, folderLike] = [relative, isLink(fileIndex.get(relative))];
    }
    if (found !== undefined) {
      targets.set(index, found);
      if (folderLike) folderLinks.set(self, found);
      continue;
    }
    targets.set(index, target);
    folderLinks.set(self, target);
    pending.push(index);
  }
  for (const index of pending) {
    let target = targets.get(index)!;
    const followed = new Set<string>();
    let ok = true;
    for (let end = branchEnd(target, 0); end < target.length;) {
      const branch = target.slice(0, end);
      if (folders.has(branch)) {
        end = branchEnd(target, end + 1);
        continue;
      }
      const via = folderLinks.get(branch);
      if (via === undefined || followed.has(branch)) {
        ok = false;
        break;
      }
      followed.add(branch);
      target = join(via, target.slice(end + 1));
      end = branchEnd(target, 1);
    }
    if (ok && !fileIndex.has(target) && !folders.has(target)) ok = false;
    if (!ok) targets.set(index, inner[index]);
    results[index] = { target: targets.get(index)!.split("/"), valid: ok };
  }
  for (const [index, target] of targets) {
    results[index] ??= { target: target.split("/"), valid: true };
  }
  return results;
}
