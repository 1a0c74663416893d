import { dirname, relative, resolve, sep } from "node:path";
import type { TorrentInfo } from "../metainfo/types.ts";
import { StorageError, toStorageError } from "./storage_error.ts";

async function realPathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(path);
  } catch {
    return undefined;
  }
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isSymlink;
  } catch {
    return false;
  }
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Refuses to write through a symbolic link already in the download folder that leads out of
 * it: every folder a torrent's files go in, and every file already there, must resolve inside
 * the folder. (The metadata's paths are sanitised already; this guards against what is on
 * disk.)
 * @param root The download folder (absolute).
 * @param paths The absolute paths of the torrent's files.
 * @returns When checked.
 * @throws {StorageError} `"EESCAPE"` naming the link and where it leads.
 */
export async function checkNoEscapingLinks(root: string, paths: readonly string[]): Promise<void> {
  const realRoot = await realPathOrUndefined(root);
  if (realRoot === undefined) return; // the folder does not exist yet: nothing can be linked
  const checked = new Set<string>();
  const check = async (path: string) => {
    if (checked.has(path) || !inside(path, root) || path === root) return;
    checked.add(path);
    if (!(await isSymlink(path))) return;
    const target = await realPathOrUndefined(path);
    if (target !== undefined && !inside(target, realRoot)) {
      throw new StorageError(
        `Path escapes the download folder: ${path} is a symbolic link to ${target}`,
        path,
        "EESCAPE",
      );
    }
  };
  for (const path of paths) {
    for (
      let folder = dirname(path);
      inside(folder, root) && folder !== root;
      folder = dirname(folder)
    ) {
      if (checked.has(folder)) break;
      await check(folder);
    }
    await check(path);
  }
}

/**
 * Gives a complete torrent's files their BEP 47 attributes: executable files get their `x`
 * bits, and symbolic links are created, each only if its target stays inside the torrent's
 * folder (a link to itself, or out of the folder, is skipped with a warning). Existing links
 * are left alone.
 * @param info The torrent.
 * @param root The download folder (absolute).
 * @returns One line per link skipped or attribute that could not be set.
 */
export async function applyFileAttributes(info: TorrentInfo, root: string): Promise<string[]> {
  const warnings: string[] = [];
  const top = resolve(root, info.files[0]?.path[0] ?? info.name);
  for (const file of info.files) {
    if (file.padding) continue;
    const path = resolve(root, ...file.path);
    if (file.symlink && file.symlinkPath) {
      const target = resolve(root, ...file.symlinkPath);
      const shown = file.path.join("/");
      if (target === path || !inside(target, top) || !inside(path, top)) {
        warnings.push(`Skipped the symbolic link ${shown}: its target leaves the torrent`);
        continue;
      }
      if (await isSymlink(path)) continue;
      try {
        await Deno.mkdir(dirname(path), { recursive: true });
        await Deno.symlink(relative(dirname(path), target), path);
      } catch (error) {
        warnings.push(
          `Cannot create the symbolic link ${shown}: ${
            toStorageError(error, path, "creating").message
          }`,
        );
      }
    } else if (file.executable && Deno.build.os !== "windows") {
      try {
        const mode = (await Deno.stat(path)).mode ?? 0o644;
        await Deno.chmod(path, mode | ((mode & 0o444) >> 2));
      } catch (error) {
        warnings.push(
          `Cannot make ${file.path.join("/")} executable: ${
            toStorageError(error, path, "writing").message
          }`,
        );
      }
    }
  }
  return warnings;
}
